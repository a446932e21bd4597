//! Why a route's channels are in the order they are: the route test of `/admin/route`.

use std::sync::Arc;

use crate::score::assess;
use crate::{now_ms, Channel, CircuitOverride, CircuitState, Route};

/// One channel of a route, best first, with the reason for its place.
#[derive(Clone)]
pub struct Ranked {
    pub channel: Arc<Channel>,
    pub reason: String,
}

/// The route's channels with the reason for each place: usable channels (circuit closed or
/// half-open) by priority, equal priorities by score (a weighted draw, with an exploration share),
/// eliminated ones behind their peers, open circuits last and skipped.
pub fn explain(route: &Route<'_>) -> Vec<Ranked> {
    let now = now_ms();
    let policy = &route.policy;
    let assessed: Vec<_> = route
        .channels
        .iter()
        .map(|c| (c, assess(c, route.capability, policy, now)))
        .collect();
    assessed
        .iter()
        .map(|(c, a)| {
            let mut reason = format!(
                "priority {}, circuit {}",
                c.routing_priority(),
                a.circuit.name()
            );
            if c.control.priority().is_some() || c.control.weight().is_some() {
                reason.push_str(" (priority/weight set by ops)");
            }
            match a.circuit {
                CircuitState::Open if c.control.circuit() == CircuitOverride::Open => {
                    reason.push_str(", forced open by ops: skipped for new requests");
                }
                CircuitState::Open => {
                    let until = c.health.breaker(route.capability).open_until(now);
                    reason.push_str(&format!(
                        ", skipped for new requests (behind every usable channel) for {} s more",
                        until.saturating_sub(now).div_ceil(1_000)
                    ));
                }
                CircuitState::HalfOpen => {
                    reason.push_str(&format!(
                        ", probing: {} request(s) at a time",
                        c.health.settings().half_open_probes
                    ));
                }
                CircuitState::Closed => {}
            }
            let peers = assessed
                .iter()
                .filter(|(p, pa)| {
                    p.routing_priority() == c.routing_priority() && pa.circuit != CircuitState::Open
                })
                .count();
            if a.circuit != CircuitState::Open && peers > 1 {
                let s = &a.stats;
                let success = if s.calls() == 0 {
                    "no calls yet".to_string()
                } else {
                    format!(
                        "{} % success of {} calls, p95 {} ms",
                        u64::from(s.answered) * 100 / u64::from(s.calls()),
                        s.calls(),
                        s.p95_ms
                    )
                };
                reason.push_str(&format!(
                    ", score {:.3} (weight {}, {success}) among {peers} channels of this priority \
                     (weighted random order by score; {} % of decisions explore)",
                    a.score,
                    c.routing_weight().max(1),
                    policy.exploration_percent
                ));
                if a.eliminated {
                    reason.push_str(&format!(
                        ", eliminated: under the {} % success floor, behind its peers until it recovers",
                        policy.elimination_floor_percent
                    ));
                }
            }
            Ranked {
                channel: Arc::clone(c),
                reason,
            }
        })
        .collect()
}
