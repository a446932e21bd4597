//! Why a route's channels are in the order they are: the route test of `/admin/route`.

use std::sync::Arc;

use crate::{Channel, CircuitState, Route};

/// One channel of a route, best first, with the reason for its place.
#[derive(Clone)]
pub struct Ranked {
    pub channel: Arc<Channel>,
    pub reason: String,
}

/// The route's channels with the reason for each place. Channels with an open circuit go behind
/// the others; among equals (same circuit, same priority) the order is a weighted draw.
pub fn explain(route: &Route<'_>) -> Vec<Ranked> {
    let rank = |c: &Channel| (c.health.circuit(), c.priority);
    route
        .channels
        .iter()
        .map(|c| {
            let circuit = c.health.circuit();
            let peers: Vec<&Arc<Channel>> = route
                .channels
                .iter()
                .filter(|p| rank(p) == rank(c))
                .collect();
            let mut reason = format!("priority {}, circuit {}", c.priority, name(circuit));
            if circuit != CircuitState::Closed {
                reason.push_str(", behind channels whose circuit is closed");
            }
            if peers.len() > 1 {
                let total: u32 = peers.iter().map(|p| p.weight.max(1)).sum();
                reason.push_str(&format!(
                    ", weight {} of {} among {} equal channels (weighted random order)",
                    c.weight.max(1),
                    total,
                    peers.len()
                ));
            }
            Ranked {
                channel: c.clone(),
                reason,
            }
        })
        .collect()
}

fn name(state: CircuitState) -> &'static str {
    match state {
        CircuitState::Closed => "closed",
        CircuitState::HalfOpen => "half-open",
        CircuitState::Open => "open",
    }
}
