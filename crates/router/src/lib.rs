//! Routing: which operator a number belongs to, and which channels can serve it.

mod circuit;
mod control;
mod explain;
mod hash;
mod health;
mod number_plan;
mod ported;
mod score;
mod weight;
mod window;

use std::collections::HashMap;
use std::sync::Arc;

use switchboard_adapter::{Adapter, Capabilities, Capability};
use switchboard_core::{ApiError, ErrorCode, Msisdn};

pub use circuit::{Admission, CircuitState};
pub use control::{ChannelControl, ChannelState, CircuitOverride, Controls, InFlight};
pub use explain::{explain, Ranked};
pub use health::{now_ms, CallHealth, Health};
pub use number_plan::{NumberPlan, NumberPlanError, OperatorInfo};
pub use ported::{
    Compacted, Compaction, MnpTable, PortedBuilder, PortedError, PortedNumbers, PortedTo,
    MAX_OPERATORS,
};
pub use score::{assess, Assessment, RoutingPolicy};
pub use switchboard_adapter::CircuitSettings;
pub use weight::priority_order;
pub use window::{Counts, WindowStats, BINS as LATENCY_BINS};

/// A ready channel: its adapter and what it may be used for.
pub struct Channel {
    pub id: String,
    pub adapter: Arc<dyn Adapter>,
    /// Configured capabilities cut to what the adapter supports.
    pub capabilities: Capabilities,
    pub priority: u32,
    /// Prior share of traffic among usable channels of the same priority (see [`RoutingPolicy`]).
    pub weight: u32,
    pub operators: Vec<String>,
    pub health: Health,
    /// What ops set at run time (state, weight, priority, circuit override).
    pub control: ChannelControl,
}

impl Channel {
    /// The priority routing uses now: ops' override, else the configured one.
    pub fn routing_priority(&self) -> u32 {
        self.control.priority().unwrap_or(self.priority)
    }

    /// The weight routing uses now: ops' override, else the configured one.
    pub fn routing_weight(&self) -> u32 {
        self.control.weight().unwrap_or(self.weight)
    }

    /// Whether new requests may be routed here (not disabled or draining by ops).
    pub fn takes_new_requests(&self) -> bool {
        self.control.state() == ChannelState::Enabled
    }

    /// The circuit of `capability` at `now_ms`, ops' override first.
    pub fn circuit_at(&self, capability: Capability, now_ms: u64) -> CircuitState {
        match self.control.circuit() {
            CircuitOverride::Open => CircuitState::Open,
            CircuitOverride::Closed => CircuitState::Closed,
            CircuitOverride::Auto => self.health.state_of_at(capability, now_ms),
        }
    }

    /// The channel's circuit as one summary (the worst of its operations), ops' override first.
    pub fn circuit(&self) -> CircuitState {
        match self.control.circuit() {
            CircuitOverride::Open => CircuitState::Open,
            CircuitOverride::Closed => CircuitState::Closed,
            CircuitOverride::Auto => self.health.circuit(),
        }
    }

    /// May a new request for `capability` be sent now? Ops' override first, then the breaker.
    pub fn admit(&self, capability: Capability) -> Admission {
        match self.control.circuit() {
            CircuitOverride::Open => Admission::Refused {
                retry_after_ms: self.health.settings().cool_down_ms,
            },
            CircuitOverride::Closed => Admission::Pass,
            CircuitOverride::Auto => self.health.admit(capability),
        }
    }
}

/// `Retry-After` of a request whose operator's channels are all paused by ops.
pub const PAUSED_RETRY_AFTER_SECS: u64 = 30;

/// Why a request cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("no operator serves this number")]
    UnknownNumber,
    #[error("operator {operator} has no channel for {capability:?}")]
    NoChannel {
        operator: String,
        capability: Capability,
    },
    /// The operator has channels for it, all taken out of routing by ops (disabled or draining).
    #[error("every channel of operator {operator} for {capability:?} is paused by ops")]
    Paused {
        operator: String,
        capability: Capability,
    },
}

impl From<RouteError> for ApiError {
    fn from(e: RouteError) -> Self {
        match e {
            RouteError::UnknownNumber => ApiError::new(
                ErrorCode::IdentifierNotFound,
                "The phone number does not belong to a supported operator.",
            ),
            RouteError::NoChannel { capability, .. } => ApiError::new(
                ErrorCode::ServiceNotApplicable,
                match capability {
                    Capability::TwoStepPayment => "This operator does not offer two-step payments.",
                    _ => "This operation is not available for the subscriber's operator.",
                },
            ),
            RouteError::Paused { .. } => ApiError::new(
                ErrorCode::Unavailable,
                "The subscriber's operator is paused for maintenance. Try again later.",
            )
            .retry_after(PAUSED_RETRY_AFTER_SECS),
        }
    }
}

/// The decision for one request.
pub struct Route<'a> {
    pub operator: &'a OperatorInfo,
    /// Channels able to do the operation, best first; those with an open circuit last.
    pub channels: Vec<Arc<Channel>>,
    /// The operation it was routed for.
    pub capability: Capability,
    /// The scoring it was ordered by.
    pub policy: RoutingPolicy,
}

pub struct Router {
    plan: NumberPlan,
    policy: RoutingPolicy,
    /// Per operator of the plan (by index), its channels in priority order.
    by_operator: Vec<Vec<Arc<Channel>>>,
    by_id: HashMap<String, Arc<Channel>>,
}

impl Router {
    /// A router with the default [`RoutingPolicy`].
    pub fn new(plan: NumberPlan, channels: Vec<Channel>) -> Router {
        Router::with_policy(plan, channels, RoutingPolicy::default())
    }

    pub fn with_policy(plan: NumberPlan, channels: Vec<Channel>, policy: RoutingPolicy) -> Router {
        Router::with_shared_channels(plan, channels.into_iter().map(Arc::new).collect(), policy)
    }

    /// A router over channels another router may hold too (a configuration reload keeps the
    /// channels that did not change: their adapter, tokens, health and ops' controls).
    pub fn with_shared_channels(
        plan: NumberPlan,
        channels: Vec<Arc<Channel>>,
        policy: RoutingPolicy,
    ) -> Router {
        let mut by_operator: Vec<Vec<Arc<Channel>>> = vec![Vec::new(); plan.operators().len()];
        let mut by_id = HashMap::new();
        for channel in channels {
            for op in &channel.operators {
                if let Some(i) = plan.index_of(op) {
                    by_operator[i].push(channel.clone());
                }
            }
            by_id.insert(channel.id.clone(), channel);
        }
        for list in &mut by_operator {
            list.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.id.cmp(&b.id)));
        }
        Router {
            plan,
            policy,
            by_operator,
            by_id,
        }
    }

    pub fn operator_for(&self, msisdn: &Msisdn) -> Result<&OperatorInfo, RouteError> {
        self.plan.lookup(msisdn).ok_or(RouteError::UnknownNumber)
    }

    /// The operator a number belongs to now: where `ported` says it went, else the number plan's.
    pub fn operator_now(
        &self,
        msisdn: &Msisdn,
        ported: &PortedNumbers,
    ) -> Result<&OperatorInfo, RouteError> {
        let index = match ported.get(msisdn) {
            Some(PortedTo::Plan(i)) => Some(i),
            Some(PortedTo::Unknown(_)) => None,
            None => self.plan.lookup_index(msisdn),
        };
        index
            .map(|i| &self.plan.operators()[i])
            .ok_or(RouteError::UnknownNumber)
    }

    /// Number → operator → the channels able to do `capability`, in priority order.
    pub fn route(&self, msisdn: &Msisdn, capability: Capability) -> Result<Route<'_>, RouteError> {
        let operator = self.operator_for(msisdn)?;
        self.route_operator(operator, capability)
    }

    /// As [`Router::route`], with the operator a number belongs to now (MNP first).
    pub fn route_now(
        &self,
        msisdn: &Msisdn,
        ported: &PortedNumbers,
        capability: Capability,
    ) -> Result<Route<'_>, RouteError> {
        let operator = self.operator_now(msisdn, ported)?;
        self.route_operator(operator, capability)
    }

    /// The channels of a known operator (e.g. from an MNP override) able to do `capability`.
    pub fn route_to(
        &self,
        operator_id: &str,
        capability: Capability,
    ) -> Result<Route<'_>, RouteError> {
        let operator = self
            .plan
            .operator(operator_id)
            .ok_or(RouteError::UnknownNumber)?;
        self.route_operator(operator, capability)
    }

    fn route_operator<'a>(
        &'a self,
        operator: &'a OperatorInfo,
        capability: Capability,
    ) -> Result<Route<'a>, RouteError> {
        let mut channels: Vec<Arc<Channel>> = self
            .plan
            .index_of(&operator.id)
            .and_then(|i| self.by_operator.get(i))
            .map(|list| {
                list.iter()
                    .filter(|c| c.capabilities.contains(capability))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if channels.is_empty() {
            return Err(RouteError::NoChannel {
                operator: operator.id.clone(),
                capability,
            });
        }
        channels.retain(|c| c.takes_new_requests());
        if channels.is_empty() {
            return Err(RouteError::Paused {
                operator: operator.id.clone(),
                capability,
            });
        }
        self.order(&mut channels, capability);
        Ok(Route {
            operator,
            channels,
            capability,
            policy: self.policy,
        })
    }

    /// Orders channels for a new `capability` request by the routing rule: usable ones by priority,
    /// equal priorities by score, open circuits last (for callers that choose their own channel set,
    /// like a top-up product's providers).
    pub fn order(&self, channels: &mut [Arc<Channel>], capability: Capability) {
        self.order_with(channels, capability, now_ms(), &mut rand::rng());
    }

    /// As [`Router::order`], with the clock and the randomness given (tests, benchmarks).
    pub fn order_with<R: rand::Rng>(
        &self,
        channels: &mut [Arc<Channel>],
        capability: Capability,
        now_ms: u64,
        rng: &mut R,
    ) {
        score::order(channels, capability, &self.policy, now_ms, rng);
    }

    pub fn policy(&self) -> &RoutingPolicy {
        &self.policy
    }

    /// The channel a payment was sent through (for later operations on it).
    pub fn channel(&self, id: &str) -> Option<Arc<Channel>> {
        self.by_id.get(id).cloned()
    }

    pub fn channels(&self) -> impl Iterator<Item = &Arc<Channel>> {
        self.by_id.values()
    }

    pub fn plan(&self) -> &NumberPlan {
        &self.plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;

    struct Dummy;

    #[async_trait]
    impl Adapter for Dummy {
        fn kind(&self) -> &'static str {
            "dummy"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::of(&[Capability::Payment, Capability::TwoStepPayment])
        }
    }

    fn channel(id: &str, priority: u32, caps: &[Capability]) -> Channel {
        Channel {
            id: id.into(),
            adapter: Arc::new(Dummy),
            capabilities: Capabilities::of(caps),
            priority,
            weight: 1,
            operators: vec!["movistar-es".into()],
            health: Health::default(),
            control: Default::default(),
        }
    }

    fn router() -> Router {
        let plan = NumberPlan::new(vec![
            OperatorInfo::new("movistar-es", "ES", &["+346", "+347"], &["EUR"]),
            OperatorInfo::new("telekom-de", "DE", &["+4915", "+4916"], &["EUR"]),
        ])
        .unwrap();
        Router::new(
            plan,
            vec![
                channel("backup", 200, &[Capability::Payment]),
                channel(
                    "direct",
                    100,
                    &[Capability::Payment, Capability::TwoStepPayment],
                ),
            ],
        )
    }

    #[test]
    fn routes_by_prefix_in_priority_order() {
        let r = router();
        let route = r
            .route(&Msisdn::parse("+34600000001").unwrap(), Capability::Payment)
            .unwrap();
        assert_eq!(route.operator.id, "movistar-es");
        let ids: Vec<_> = route.channels.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["direct", "backup"]);
        let two = r
            .route(
                &Msisdn::parse("+34700000001").unwrap(),
                Capability::TwoStepPayment,
            )
            .unwrap();
        assert_eq!(two.channels.len(), 1);
    }

    const FAILURES: u32 = CircuitSettings::CONSECUTIVE_FAILURES;

    fn fail(c: &Channel, capability: Capability, times: u32, now: u64) {
        for _ in 0..times {
            c.health.record_at(capability, CallHealth::Failed, now);
        }
    }

    fn ids(channels: &[Arc<Channel>]) -> Vec<&str> {
        channels.iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn open_circuits_go_last_and_half_open_ones_keep_their_place() {
        use rand::SeedableRng;
        let r = router();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let direct = r.channel("direct").unwrap();
        fail(&direct, Capability::Payment, FAILURES, 1_000);
        let mut order = vec![direct.clone(), r.channel("backup").unwrap()];
        r.order_with(&mut order, Capability::Payment, 1_000, &mut rng);
        assert_eq!(ids(&order), ["backup", "direct"], "listed, last");
        assert!(!direct.health.admit_at(Capability::Payment, 1_000).allowed());
        // Only the payment circuit opened: a two-step payment still goes direct.
        let mut two = vec![direct.clone()];
        r.order_with(&mut two, Capability::TwoStepPayment, 1_000, &mut rng);
        assert_eq!(
            direct.health.admit_at(Capability::TwoStepPayment, 1_000),
            Admission::Pass
        );
        // After the cool-down it is half-open and first again by priority, so probes reach it.
        let later = 1_000 + CircuitSettings::COOL_DOWN_MS;
        r.order_with(&mut order, Capability::Payment, later, &mut rng);
        assert_eq!(ids(&order), ["direct", "backup"]);
        assert_eq!(
            direct.health.admit_at(Capability::Payment, later),
            Admission::Probe
        );
    }

    #[test]
    fn the_route_test_says_why_each_channel_is_where_it_is() {
        let r = router();
        let msisdn = Msisdn::parse("+34600000001").unwrap();
        let direct = r.channel("direct").unwrap();
        fail(&direct, Capability::Payment, FAILURES, now_ms());
        let ranked = explain(&r.route(&msisdn, Capability::Payment).unwrap());
        let ids: Vec<_> = ranked.iter().map(|c| c.channel.id.as_str()).collect();
        assert_eq!(ids, ["backup", "direct"]);
        assert!(
            ranked[0].reason.contains("circuit closed"),
            "{}",
            ranked[0].reason
        );
        assert!(
            ranked[1].reason.contains("circuit open") && ranked[1].reason.contains("skipped"),
            "{}",
            ranked[1].reason
        );
        assert_eq!(direct.health.consecutive_failures(), FAILURES);
        assert_eq!(direct.health.circuit(), CircuitState::Open);
        assert_eq!(direct.health.circuit().gauge(), 2);
    }

    #[test]
    fn the_route_test_names_the_score_of_equal_channels() {
        let mut a = channel("a", 100, &[Capability::Payment]);
        a.weight = 2;
        let b = channel("b", 100, &[Capability::Payment]);
        let r = Router::new(router().plan.clone(), vec![a, b]);
        let ranked = explain(&r.route_to("movistar-es", Capability::Payment).unwrap());
        for c in &ranked {
            assert!(c.reason.contains("score"), "{}", c.reason);
            assert!(
                c.reason.contains("5 % of decisions explore"),
                "{}",
                c.reason
            );
        }
    }

    /// Runs `n` decisions over `channels` and counts how often each leads.
    fn leads(
        r: &Router,
        channels: &[Arc<Channel>],
        n: usize,
        now: u64,
        seed: u64,
    ) -> HashMap<String, usize> {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut counts = HashMap::new();
        for _ in 0..n {
            let mut order = channels.to_vec();
            r.order_with(&mut order, Capability::Payment, now, &mut rng);
            *counts.entry(order[0].id.clone()).or_insert(0) += 1;
        }
        counts
    }

    fn answer(c: &Channel, times: u32, ms: u64, now: u64) {
        for _ in 0..times {
            c.health.record_at(
                Capability::Payment,
                CallHealth::Answered(std::time::Duration::from_millis(ms)),
                now,
            );
        }
    }

    /// Two channels of equal priority and weight, plus a backup, none with a closed-circuit trip:
    /// a circuit that never opens (the tests look at scores only).
    fn peers() -> (Router, [Arc<Channel>; 3]) {
        let lenient = CircuitSettings {
            consecutive_failures: 1_000,
            failure_rate_percent: 100,
            ..CircuitSettings::default()
        };
        let mut list = Vec::new();
        for (id, priority) in [("a", 100), ("b", 100), ("backup", 200)] {
            let mut c = channel(id, priority, &[Capability::Payment]);
            c.health = Health::new(lenient);
            list.push(c);
        }
        let r = Router::new(router().plan.clone(), list);
        let all = ["a", "b", "backup"].map(|id| r.channel(id).unwrap());
        (r, all)
    }

    #[test]
    fn equal_channels_without_history_share_traffic_by_weight() {
        let mut heavy = channel("heavy", 100, &[Capability::Payment]);
        heavy.weight = 3;
        let light = channel("light", 100, &[Capability::Payment]);
        let backup = channel("backup", 200, &[Capability::Payment]);
        let r = Router::new(router().plan.clone(), vec![heavy, light, backup]);
        let all = ["heavy", "light", "backup"].map(|id| r.channel(id).unwrap());
        let counts = leads(&r, &all, 4000, 1_000, 7);
        assert_eq!(counts.get("backup"), None, "lower priority never leads");
        // Weight 3 against 1: about three quarters (exploration moves a few percent).
        let heavy_first = counts["heavy"];
        assert!((2700..3200).contains(&heavy_first), "{heavy_first}");
    }

    #[test]
    fn a_lower_success_rate_earns_less_traffic() {
        let (r, all) = peers();
        answer(&all[0], 100, 20, 1_000);
        answer(&all[1], 70, 20, 1_000);
        fail(&all[1], Capability::Payment, 30, 1_000);
        let counts = leads(&r, &all, 4000, 1_000, 11);
        // Scores 1.0 and (75/105)^4 ≈ 0.26: b leads about a fifth of the time.
        let b = counts["b"];
        assert!((500..1100).contains(&b), "{counts:?}");
    }

    #[test]
    fn a_slower_channel_earns_less_traffic() {
        let (r, all) = peers();
        answer(&all[0], 100, 20, 1_000);
        answer(&all[1], 100, 1_800, 1_000);
        let counts = leads(&r, &all, 4000, 1_000, 3);
        // p95 20 ms against 2 000 ms with a 500 ms scale: 0.96 against 0.2.
        let b = counts["b"];
        assert!((400..1000).contains(&b), "{counts:?}");
    }

    #[test]
    fn a_channel_under_the_floor_is_eliminated_but_explored_and_recovers() {
        let (r, all) = peers();
        answer(&all[0], 50, 20, 1_000);
        answer(&all[1], 5, 20, 1_000);
        fail(&all[1], Capability::Payment, 25, 1_000);
        let a = assess(&all[1], Capability::Payment, r.policy(), 1_000);
        assert!(a.eliminated, "{a:?}");
        let counts = leads(&r, &all, 4000, 1_000, 5);
        // Only exploration puts it first: half of the 5 % (it is one of two).
        let b = counts.get("b").copied().unwrap_or(0);
        assert!((50..150).contains(&b), "{counts:?}");
        // With no exploration it never leads.
        let strict = Router::with_policy(
            r.plan.clone(),
            Vec::new(),
            RoutingPolicy {
                exploration_percent: 0,
                ..RoutingPolicy::default()
            },
        );
        assert_eq!(leads(&strict, &all, 500, 1_000, 5).get("b"), None);
        // Explored traffic that succeeds lifts it over the floor: it competes again.
        answer(&all[1], 40, 20, 1_000);
        assert!(!assess(&all[1], Capability::Payment, r.policy(), 1_000).eliminated);
        assert!(leads(&strict, &all, 500, 1_000, 5)["b"] > 50);
    }

    #[test]
    fn the_same_seed_gives_the_same_decisions() {
        let (r, all) = peers();
        assert_eq!(
            leads(&r, &all, 200, 1_000, 42),
            leads(&r, &all, 200, 1_000, 42)
        );
    }

    #[test]
    fn the_policy_is_checked() {
        assert!(RoutingPolicy::default().problems().is_empty());
        let bad = RoutingPolicy {
            exploration_percent: 101,
            elimination_floor_percent: 0,
            latency_scale_ms: 0,
        };
        assert_eq!(bad.problems().len(), 2);
        assert!(CircuitSettings::default().problems().is_empty());
    }

    #[test]
    fn routes_straight_to_a_known_operator() {
        let r = router();
        let route = r
            .route_to("movistar-es", Capability::TwoStepPayment)
            .unwrap();
        assert_eq!(route.channels[0].id, "direct");
        assert_eq!(
            r.route_to("atlantis", Capability::Payment).err(),
            Some(RouteError::UnknownNumber)
        );
    }

    #[test]
    fn unknown_numbers_are_identifier_not_found() {
        let r = router();
        let err = r
            .route(&Msisdn::parse("+33600000001").unwrap(), Capability::Payment)
            .err()
            .unwrap();
        assert_eq!(ApiError::from(err).code, ErrorCode::IdentifierNotFound);
    }

    #[test]
    fn ops_controls_steer_new_requests() {
        let r = router();
        let msisdn = Msisdn::parse("+34600000001").unwrap();
        let ids = |r: &Router| -> Vec<String> {
            r.route(&msisdn, Capability::Payment)
                .map(|route| route.channels.iter().map(|c| c.id.clone()).collect())
                .unwrap_or_default()
        };
        let direct = r.channel("direct").unwrap();
        // A priority set by ops reorders; draining takes the channel out of new requests.
        direct.control.apply(&Controls {
            priority: Some(300),
            ..Controls::default()
        });
        assert_eq!(ids(&r), ["backup", "direct"]);
        direct.control.apply(&Controls {
            state: Some(ChannelState::Draining),
            ..Controls::default()
        });
        assert_eq!(ids(&r), ["backup"]);
        // Every capable channel paused: 503-worthy, not "not applicable".
        r.channel("backup").unwrap().control.apply(&Controls {
            state: Some(ChannelState::Disabled),
            ..Controls::default()
        });
        let err = r.route(&msisdn, Capability::Payment).err().unwrap();
        assert!(matches!(err, RouteError::Paused { .. }), "{err:?}");
        assert_eq!(ApiError::from(err).code, ErrorCode::Unavailable);
        // A forced-open circuit refuses new requests; forced closed passes whatever the breaker says.
        direct.control.apply(&Controls {
            circuit: Some(CircuitOverride::Open),
            ..Controls::default()
        });
        assert!(!direct.admit(Capability::Payment).allowed());
        assert_eq!(
            direct.circuit_at(Capability::Payment, now_ms()),
            CircuitState::Open
        );
        for _ in 0..CircuitSettings::CONSECUTIVE_FAILURES {
            direct
                .health
                .record(Capability::Payment, CallHealth::Failed);
        }
        direct.control.apply(&Controls {
            circuit: Some(CircuitOverride::Closed),
            ..Controls::default()
        });
        assert_eq!(direct.admit(Capability::Payment), Admission::Pass);
        direct.control.apply(&Controls::default());
        assert!(
            !direct.admit(Capability::Payment).allowed(),
            "the breaker's own verdict"
        );
    }

    #[test]
    fn operator_without_a_capable_channel_is_not_applicable() {
        let r = router();
        let err = r
            .route(
                &Msisdn::parse("+491500000001").unwrap(),
                Capability::Payment,
            )
            .err()
            .unwrap();
        assert_eq!(
            err,
            RouteError::NoChannel {
                operator: "telekom-de".into(),
                capability: Capability::Payment
            }
        );
        assert_eq!(ApiError::from(err).code, ErrorCode::ServiceNotApplicable);
    }

    #[test]
    fn a_ported_number_routes_to_its_new_operator() {
        let r = router();
        let moved = Msisdn::parse("+34600000009").unwrap();
        let lost = Msisdn::parse("+34600000010").unwrap();
        let mut ported = PortedNumbers::new(r.plan());
        ported.set(r.plan(), &moved, Some("telekom-de")).unwrap();
        ported.set(r.plan(), &lost, Some("atlantis")).unwrap();
        assert_eq!(r.operator_now(&moved, &ported).unwrap().id, "telekom-de");
        assert_eq!(
            r.route_now(&moved, &ported, Capability::Payment).err(),
            Some(RouteError::NoChannel {
                operator: "telekom-de".into(),
                capability: Capability::Payment
            }),
            "telekom-de has no channel here"
        );
        assert_eq!(
            r.route_now(&lost, &ported, Capability::Payment).err(),
            Some(RouteError::UnknownNumber),
            "ported to an operator the plan does not know"
        );
        let home = Msisdn::parse("+34600000001").unwrap();
        let route = r.route_now(&home, &ported, Capability::Payment).unwrap();
        assert_eq!(route.operator.id, "movistar-es");
    }
}
