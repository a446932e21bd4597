//! Runtime control of a channel by ops (`PATCH /admin/channels/{id}`): taken out of routing
//! (disabled, or draining: what is in flight finishes, nothing new is sent), re-weighted,
//! re-prioritised, or its circuit forced open or closed. Atomics, read on every routing decision;
//! the gateway sets them from the store's routing controls on every replica.

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

/// Whether a channel takes new requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelState {
    Enabled,
    /// Requests in flight finish; no new one is sent.
    Draining,
    Disabled,
}

/// An operator's override of the circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitOverride {
    /// The breaker decides.
    Auto,
    /// Skipped for new requests, whatever the breaker says.
    Open,
    /// Used, whatever the breaker says.
    Closed,
}

/// No override of the configured priority or weight.
const UNSET: u32 = u32::MAX;

/// One channel's runtime controls. The default is "as configured".
#[derive(Debug)]
pub struct ChannelControl {
    state: AtomicU8,
    circuit: AtomicU8,
    priority: AtomicU32,
    weight: AtomicU32,
    in_flight: AtomicU32,
}

impl Default for ChannelControl {
    fn default() -> Self {
        ChannelControl {
            state: AtomicU8::new(0),
            circuit: AtomicU8::new(0),
            priority: AtomicU32::new(UNSET),
            weight: AtomicU32::new(UNSET),
            in_flight: AtomicU32::new(0),
        }
    }
}

/// The controls as a value: what ops set (`None`: as configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Controls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ChannelState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit: Option<CircuitOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

impl Controls {
    /// `self` with every field `change` sets replaced.
    pub fn merged(self, change: Controls) -> Controls {
        Controls {
            state: change.state.or(self.state),
            circuit: change.circuit.or(self.circuit),
            priority: change.priority.or(self.priority),
            weight: change.weight.or(self.weight),
        }
    }
}

impl ChannelControl {
    /// Sets every control; fields left `None` go back to the configuration.
    pub fn apply(&self, controls: &Controls) {
        let state = match controls.state.unwrap_or(ChannelState::Enabled) {
            ChannelState::Enabled => 0,
            ChannelState::Draining => 1,
            ChannelState::Disabled => 2,
        };
        let circuit = match controls.circuit.unwrap_or(CircuitOverride::Auto) {
            CircuitOverride::Auto => 0,
            CircuitOverride::Open => 1,
            CircuitOverride::Closed => 2,
        };
        self.state.store(state, Ordering::Relaxed);
        self.circuit.store(circuit, Ordering::Relaxed);
        self.priority
            .store(controls.priority.unwrap_or(UNSET), Ordering::Relaxed);
        self.weight
            .store(controls.weight.unwrap_or(UNSET), Ordering::Relaxed);
    }

    pub fn state(&self) -> ChannelState {
        match self.state.load(Ordering::Relaxed) {
            0 => ChannelState::Enabled,
            1 => ChannelState::Draining,
            _ => ChannelState::Disabled,
        }
    }

    pub fn circuit(&self) -> CircuitOverride {
        match self.circuit.load(Ordering::Relaxed) {
            0 => CircuitOverride::Auto,
            1 => CircuitOverride::Open,
            _ => CircuitOverride::Closed,
        }
    }

    /// The priority ops set, if any.
    pub fn priority(&self) -> Option<u32> {
        Some(self.priority.load(Ordering::Relaxed)).filter(|p| *p != UNSET)
    }

    /// The weight ops set, if any.
    pub fn weight(&self) -> Option<u32> {
        Some(self.weight.load(Ordering::Relaxed)).filter(|w| *w != UNSET)
    }

    /// Requests being sent through the channel now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Counts one request in flight until the guard drops.
    pub fn sending(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }
}

/// One request in flight on a channel (see [`ChannelControl::sending`]).
pub struct InFlight<'a>(&'a ChannelControl);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_apply_and_fall_back_to_the_configuration() {
        let c = ChannelControl::default();
        assert_eq!(
            (c.state(), c.circuit(), c.priority(), c.weight()),
            (ChannelState::Enabled, CircuitOverride::Auto, None, None)
        );
        let set = Controls {
            state: Some(ChannelState::Draining),
            circuit: Some(CircuitOverride::Open),
            priority: Some(7),
            weight: Some(0),
        };
        c.apply(&set);
        assert_eq!(
            (c.state(), c.circuit(), c.priority(), c.weight()),
            (
                ChannelState::Draining,
                CircuitOverride::Open,
                Some(7),
                Some(0)
            )
        );
        c.apply(&Controls::default());
        assert_eq!((c.state(), c.priority()), (ChannelState::Enabled, None));
        let merged = set.merged(Controls {
            state: Some(ChannelState::Enabled),
            ..Controls::default()
        });
        assert_eq!(merged.state, Some(ChannelState::Enabled));
        assert_eq!(merged.priority, Some(7));
    }

    #[test]
    fn in_flight_counts_until_the_guard_drops() {
        let c = ChannelControl::default();
        let a = c.sending();
        let b = c.sending();
        assert_eq!(c.in_flight(), 2);
        drop(a);
        drop(b);
        assert_eq!(c.in_flight(), 0);
    }
}
