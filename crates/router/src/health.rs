//! A channel's health: one circuit breaker and rolling window per operation (payment, refund,
//! top-up, …), so a channel whose refunds fail still takes payments. See `circuit.rs` for the
//! breaker and `window.rs` for the window.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use switchboard_adapter::{Capability, CircuitSettings};

use crate::circuit::{Admission, Breaker, CircuitState};
use crate::window::WindowStats;

/// What one upstream call says about the channel's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallHealth {
    /// The channel answered: a success or a business refusal (denied, insufficient credit, unknown
    /// subscriber are outcomes, not health).
    Answered(Duration),
    /// Technical: not reached, timeout, 5xx, "not processed".
    Failed,
    /// Says nothing (the operation is not offered, the record is unknown upstream).
    Neutral,
}

/// Operations with a breaker of their own: every [`Capability`].
const OPERATIONS: usize = 6;

fn slot(capability: Capability) -> usize {
    match capability {
        Capability::Payment => 0,
        Capability::TwoStepPayment => 1,
        Capability::PaymentStatus => 2,
        Capability::Refund => 3,
        Capability::Topup => 4,
        Capability::Lookup => 5,
    }
}

/// Milliseconds on a monotonic clock shared by every breaker of the process.
pub fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

pub struct Health {
    operations: [Breaker; OPERATIONS],
}

impl Default for Health {
    fn default() -> Self {
        Health::new(CircuitSettings::default())
    }
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("circuit", &self.circuit())
            .finish()
    }
}

impl Health {
    pub fn new(settings: CircuitSettings) -> Health {
        Health {
            operations: std::array::from_fn(|_| Breaker::new(settings)),
        }
    }

    pub fn settings(&self) -> &CircuitSettings {
        self.operations[0].settings()
    }

    pub(crate) fn breaker(&self, capability: Capability) -> &Breaker {
        &self.operations[slot(capability)]
    }

    /// May a new request for `capability` be sent now (see [`Admission`])? Status queries and
    /// reconciliation do not ask: they keep their own backoff.
    pub fn admit(&self, capability: Capability) -> Admission {
        self.admit_at(capability, now_ms())
    }

    pub fn admit_at(&self, capability: Capability, now_ms: u64) -> Admission {
        self.breaker(capability).admit(now_ms)
    }

    /// Records what a call for `capability` said about the channel.
    pub fn record(&self, capability: Capability, call: CallHealth) {
        self.record_at(capability, call, now_ms())
    }

    pub fn record_at(&self, capability: Capability, call: CallHealth, now_ms: u64) {
        let breaker = self.breaker(capability);
        match call {
            CallHealth::Answered(took) => breaker.record_answer(now_ms, took.as_millis() as u64),
            CallHealth::Failed => breaker.record_failure(now_ms),
            CallHealth::Neutral => breaker.record_neutral(),
        }
    }

    /// The circuit of one operation now.
    pub fn circuit_of(&self, capability: Capability) -> CircuitState {
        self.state_of_at(capability, now_ms())
    }

    /// The breaker's state of one operation at `now_ms`.
    pub fn state_of_at(&self, capability: Capability, now_ms: u64) -> CircuitState {
        self.breaker(capability).state_at(now_ms)
    }

    /// The window of one operation now.
    pub fn stats_of(&self, capability: Capability) -> WindowStats {
        self.breaker(capability).window.stats(now_ms())
    }

    /// The channel's circuit as one summary: the worst state across its operations.
    pub fn circuit(&self) -> CircuitState {
        self.circuit_at(now_ms())
    }

    pub fn circuit_at(&self, now_ms: u64) -> CircuitState {
        self.operations
            .iter()
            .map(|b| b.state_at(now_ms))
            .max()
            .unwrap_or(CircuitState::Closed)
    }

    /// Technical failures in a row of the operation with the longest run.
    pub fn consecutive_failures(&self) -> u32 {
        self.operations
            .iter()
            .map(Breaker::consecutive_failures)
            .max()
            .unwrap_or(0)
    }

    /// Every circuit of the channel is closed.
    pub fn is_healthy(&self) -> bool {
        self.circuit() == CircuitState::Closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_has_its_own_circuit_and_the_summary_is_the_worst() {
        let h = Health::default();
        let threshold = CircuitSettings::CONSECUTIVE_FAILURES;
        for _ in 0..threshold {
            h.record_at(Capability::Refund, CallHealth::Failed, 1_000);
        }
        assert_eq!(h.admit_at(Capability::Payment, 1_000), Admission::Pass);
        assert!(!h.admit_at(Capability::Refund, 1_000).allowed());
        assert_eq!(h.circuit_at(1_000), CircuitState::Open);
        assert_eq!(h.consecutive_failures(), threshold);
        // A business refusal is an answer: it does not count against the payment circuit.
        for _ in 0..10 {
            h.record_at(
                Capability::Payment,
                CallHealth::Answered(Duration::from_millis(3)),
                1_000,
            );
        }
        let cool = CircuitSettings::COOL_DOWN_MS;
        assert_eq!(h.circuit_at(1_000 + cool), CircuitState::HalfOpen);
        h.record_at(Capability::Refund, CallHealth::Neutral, 1_000 + cool);
        assert_eq!(h.circuit_at(1_000 + cool), CircuitState::HalfOpen);
    }
}
