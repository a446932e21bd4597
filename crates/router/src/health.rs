//! A channel's recent health: after a few consecutive failures (unreachable or no answer) it is put
//! behind its healthy peers for a cool-down, so requests go to the best *healthy* channel first. An
//! unhealthy channel is still tried as a last resort. (Full circuit breakers come later.)

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Consecutive failures that mark a channel unhealthy.
pub const FAILURE_THRESHOLD: u32 = 3;
/// How long an unhealthy channel waits behind the others.
pub const COOL_DOWN_MS: u64 = 10_000;

/// A channel's circuit as ops see it (`/admin/channels`, `switchboard_channel_health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Traffic flows.
    Closed,
    /// Probing after a cool-down.
    HalfOpen,
    /// Put aside after failures.
    Open,
}

impl CircuitState {
    /// The number exported as `switchboard_channel_health` (3 is a channel disabled in configuration).
    pub fn gauge(self) -> i64 {
        match self {
            CircuitState::Closed => 0,
            CircuitState::HalfOpen => 1,
            CircuitState::Open => 2,
        }
    }
}

#[derive(Debug, Default)]
pub struct Health {
    consecutive_failures: AtomicU32,
    down_until_ms: AtomicU64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

impl Health {
    /// The channel answered (success or a definite refusal).
    pub fn record_answer(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.down_until_ms.store(0, Ordering::Relaxed);
    }

    /// The channel could not be reached or did not answer in time.
    pub fn record_failure(&self) {
        self.record_failure_at(now_ms());
    }

    fn record_failure_at(&self, now: u64) {
        let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= FAILURE_THRESHOLD {
            self.down_until_ms
                .store(now + COOL_DOWN_MS, Ordering::Relaxed);
        }
    }

    /// The circuit today: open while cooling down, else closed.
    pub fn circuit(&self) -> CircuitState {
        if self.is_healthy() {
            CircuitState::Closed
        } else {
            CircuitState::Open
        }
    }

    /// Failures (unreachable or no answer) since the last answer.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures.load(Ordering::Relaxed)
    }

    pub fn is_healthy(&self) -> bool {
        self.is_healthy_at(now_ms())
    }

    fn is_healthy_at(&self, now: u64) -> bool {
        self.down_until_ms.load(Ordering::Relaxed) <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhealthy_after_the_threshold_until_the_cool_down_or_an_answer() {
        let h = Health::default();
        for _ in 0..FAILURE_THRESHOLD - 1 {
            h.record_failure_at(1_000);
        }
        assert!(h.is_healthy_at(1_000));
        h.record_failure_at(1_000);
        assert!(!h.is_healthy_at(1_000));
        assert!(h.is_healthy_at(1_000 + COOL_DOWN_MS));
        h.record_answer();
        assert!(h.is_healthy_at(1_000));
    }
}
