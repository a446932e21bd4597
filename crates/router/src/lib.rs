//! Routing: which operator a number belongs to, and which channels can serve it.

mod explain;
mod hash;
mod health;
mod number_plan;
mod ported;
mod weight;

use std::collections::HashMap;
use std::sync::Arc;

use switchboard_adapter::{Adapter, Capabilities, Capability};
use switchboard_core::{ApiError, ErrorCode, Msisdn};

pub use explain::{explain, Ranked};
pub use health::{CircuitState, Health};
pub use number_plan::{NumberPlan, NumberPlanError, OperatorInfo};
pub use ported::{
    Compacted, Compaction, MnpTable, PortedBuilder, PortedError, PortedNumbers, PortedTo,
    MAX_OPERATORS,
};

/// A ready channel: its adapter and what it may be used for.
pub struct Channel {
    pub id: String,
    pub adapter: Arc<dyn Adapter>,
    /// Configured capabilities cut to what the adapter supports.
    pub capabilities: Capabilities,
    pub priority: u32,
    /// Share of traffic among healthy channels of the same priority.
    pub weight: u32,
    pub operators: Vec<String>,
    pub health: Health,
}

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
        }
    }
}

/// The decision for one request.
pub struct Route<'a> {
    pub operator: &'a OperatorInfo,
    /// Channels able to do the operation, best first.
    pub channels: Vec<Arc<Channel>>,
}

pub struct Router {
    plan: NumberPlan,
    /// Per operator of the plan (by index), its channels in priority order.
    by_operator: Vec<Vec<Arc<Channel>>>,
    by_id: HashMap<String, Arc<Channel>>,
}

impl Router {
    pub fn new(plan: NumberPlan, channels: Vec<Channel>) -> Router {
        let mut by_operator: Vec<Vec<Arc<Channel>>> = vec![Vec::new(); plan.operators().len()];
        let mut by_id = HashMap::new();
        for channel in channels {
            let channel = Arc::new(channel);
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
        // Healthy channels first, each group in priority order (the sort is stable); equal ones share
        // the traffic by weight.
        channels.sort_by_key(|c| !c.health.is_healthy());
        weight::spread(&mut channels, &mut rand::rng());

        if channels.is_empty() {
            return Err(RouteError::NoChannel {
                operator: operator.id.clone(),
                capability,
            });
        }
        Ok(Route { operator, channels })
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

    #[test]
    fn unhealthy_channels_go_behind_healthy_ones() {
        let r = router();
        let direct = r.channel("direct").unwrap();
        for _ in 0..health::FAILURE_THRESHOLD {
            direct.health.record_failure();
        }
        let route = r
            .route(&Msisdn::parse("+34600000001").unwrap(), Capability::Payment)
            .unwrap();
        let ids: Vec<_> = route.channels.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["backup", "direct"], "still tried, last");
        direct.health.record_answer();
        let route = r
            .route(&Msisdn::parse("+34600000001").unwrap(), Capability::Payment)
            .unwrap();
        assert_eq!(route.channels[0].id, "direct");
    }

    #[test]
    fn the_route_test_says_why_each_channel_is_where_it_is() {
        let r = router();
        let msisdn = Msisdn::parse("+34600000001").unwrap();
        let direct = r.channel("direct").unwrap();
        for _ in 0..health::FAILURE_THRESHOLD {
            direct.health.record_failure();
        }
        let ranked = explain(&r.route(&msisdn, Capability::Payment).unwrap());
        let ids: Vec<_> = ranked.iter().map(|c| c.channel.id.as_str()).collect();
        assert_eq!(ids, ["backup", "direct"]);
        assert!(
            ranked[0].reason.contains("circuit closed"),
            "{}",
            ranked[0].reason
        );
        assert!(
            ranked[1].reason.contains("circuit open"),
            "{}",
            ranked[1].reason
        );
        assert_eq!(
            direct.health.consecutive_failures(),
            health::FAILURE_THRESHOLD
        );
        direct.health.record_answer();
        assert_eq!(direct.health.circuit(), CircuitState::Closed);
    }

    #[test]
    fn equal_channels_share_traffic_by_weight() {
        use rand::SeedableRng;
        let mut heavy = channel("heavy", 100, &[Capability::Payment]);
        heavy.weight = 3;
        let light = channel("light", 100, &[Capability::Payment]);
        let backup = channel("backup", 200, &[Capability::Payment]);
        let all = [Arc::new(heavy), Arc::new(light), Arc::new(backup)];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut heavy_first = 0;
        for _ in 0..4000 {
            let mut order = all.to_vec();
            weight::spread(&mut order, &mut rng);
            assert_eq!(order[2].id, "backup", "lower priority stays last");
            heavy_first += usize::from(order[0].id == "heavy");
        }
        // Weight 3 against 1: about three quarters of the first picks.
        assert!((2800..3200).contains(&heavy_first), "{heavy_first}");
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
