//! The circuit breaker of one channel operation: closed → open when technical failures pass the
//! rate threshold over the window (with a minimum of calls) or come `consecutive_failures` in a
//! row; open → half-open once `cool_down_ms` has passed, letting `half_open_probes` requests through
//! at once; half-open → closed after `close_after` probe successes in a row, → open on a probe
//! failure. Atomics only: an admission is one or two loads on a closed circuit.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use switchboard_adapter::CircuitSettings;

use crate::window::Window;

/// A channel's circuit as ops see it (`/admin/channels`, `switchboard_channel_health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Traffic flows.
    Closed,
    /// Probing after a cool-down: a few requests go through.
    HalfOpen,
    /// Put aside after failures: nothing new is sent until the cool-down ends.
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

    pub fn name(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::HalfOpen => "half-open",
            CircuitState::Open => "open",
        }
    }

    fn from_u8(v: u8) -> CircuitState {
        match v {
            1 => CircuitState::HalfOpen,
            2 => CircuitState::Open,
            _ => CircuitState::Closed,
        }
    }
}

/// May a new request go through this circuit now?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: go.
    Pass,
    /// Half-open: go, as one of the probes.
    Probe,
    /// Open (or every probe slot taken): skip the channel; worth trying again in this many ms.
    Refused { retry_after_ms: u64 },
}

impl Admission {
    pub fn allowed(self) -> bool {
        !matches!(self, Admission::Refused { .. })
    }
}

/// How long a half-open circuit with its probe slots taken asks callers to wait.
const PROBE_WAIT_MS: u64 = 1_000;

pub struct Breaker {
    settings: CircuitSettings,
    state: AtomicU8,
    /// Technical failures since the last answer.
    consecutive_failures: AtomicU32,
    opened_at_ms: AtomicU64,
    /// Probes admitted and not finished (half-open).
    probes: AtomicU32,
    /// Probe successes in a row (half-open).
    probe_successes: AtomicU32,
    /// When the last probe was admitted: slots held longer than a cool-down are taken back (a
    /// request dropped before its answer was recorded never frees its slot).
    last_probe_ms: AtomicU64,
    pub(crate) window: Window,
}

impl Breaker {
    pub fn new(settings: CircuitSettings) -> Breaker {
        Breaker {
            settings,
            state: AtomicU8::new(0),
            consecutive_failures: AtomicU32::new(0),
            opened_at_ms: AtomicU64::new(0),
            probes: AtomicU32::new(0),
            probe_successes: AtomicU32::new(0),
            last_probe_ms: AtomicU64::new(0),
            window: Window::new(settings.window_secs.saturating_mul(1_000)),
        }
    }

    pub fn settings(&self) -> &CircuitSettings {
        &self.settings
    }

    fn raw(&self) -> CircuitState {
        CircuitState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// The state at `now`: an open circuit whose cool-down is over reads half-open (it becomes so
    /// at the next admission).
    pub fn state_at(&self, now_ms: u64) -> CircuitState {
        match self.raw() {
            CircuitState::Open if now_ms >= self.reopens_at() => CircuitState::HalfOpen,
            state => state,
        }
    }

    fn reopens_at(&self) -> u64 {
        self.opened_at_ms
            .load(Ordering::Acquire)
            .saturating_add(self.settings.cool_down_ms)
    }

    /// Until when (ms) an open circuit refuses everything; 0 when it is not open.
    pub fn open_until(&self, now_ms: u64) -> u64 {
        match self.state_at(now_ms) {
            CircuitState::Open => self.reopens_at(),
            _ => 0,
        }
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures.load(Ordering::Relaxed)
    }

    /// Asks to send one new request. A [`Admission::Probe`] must be followed by a `record_*`.
    pub fn admit(&self, now_ms: u64) -> Admission {
        match self.raw() {
            CircuitState::Closed => Admission::Pass,
            CircuitState::Open => {
                let reopens = self.reopens_at();
                if now_ms < reopens {
                    return Admission::Refused {
                        retry_after_ms: reopens - now_ms,
                    };
                }
                // Whoever moves it to half-open, everyone then competes for the probe slots.
                let _ = self.state.compare_exchange(
                    CircuitState::Open as u8,
                    CircuitState::HalfOpen as u8,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                self.probe(now_ms)
            }
            CircuitState::HalfOpen => self.probe(now_ms),
        }
    }

    fn probe(&self, now_ms: u64) -> Admission {
        let last = self.last_probe_ms.load(Ordering::Acquire);
        if now_ms >= last.saturating_add(self.settings.cool_down_ms)
            && self
                .last_probe_ms
                .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            // No probe admitted for a whole cool-down: whatever holds the slots is gone.
            self.probes.store(0, Ordering::Release);
        }
        let taken = self.probes.fetch_add(1, Ordering::AcqRel);
        if taken < self.settings.half_open_probes {
            self.last_probe_ms.store(now_ms, Ordering::Release);
            Admission::Probe
        } else {
            self.release_probe();
            Admission::Refused {
                retry_after_ms: PROBE_WAIT_MS,
            }
        }
    }

    fn release_probe(&self) {
        let _ = self
            .probes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// The channel answered (a success or a business refusal) in `latency_ms`.
    pub fn record_answer(&self, now_ms: u64, latency_ms: u64) {
        self.window.answered(now_ms, latency_ms);
        self.consecutive_failures.store(0, Ordering::Relaxed);
        if self.raw() == CircuitState::HalfOpen {
            self.release_probe();
            let successes = self.probe_successes.fetch_add(1, Ordering::AcqRel) + 1;
            if successes >= self.settings.close_after
                && self
                    .state
                    .compare_exchange(
                        CircuitState::HalfOpen as u8,
                        CircuitState::Closed as u8,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_ok()
            {
                // The failures that opened it are history.
                self.window.clear();
            }
        }
    }

    /// A technical failure: not reached, timeout, 5xx, "not processed".
    pub fn record_failure(&self, now_ms: u64) {
        self.window.failed(now_ms);
        let failures = self.consecutive_failures.fetch_add(1, Ordering::AcqRel) + 1;
        match self.raw() {
            CircuitState::HalfOpen => self.trip(CircuitState::HalfOpen, now_ms),
            CircuitState::Closed => {
                let s = self.window.stats(now_ms);
                let by_rate = s.calls() >= self.settings.min_calls
                    && u64::from(s.failed) * 100
                        >= u64::from(self.settings.failure_rate_percent) * u64::from(s.calls());
                if failures >= self.settings.consecutive_failures || by_rate {
                    self.trip(CircuitState::Closed, now_ms);
                }
            }
            CircuitState::Open => {}
        }
    }

    /// The call said nothing about the channel's health (e.g. the operation is not offered): frees
    /// a probe slot.
    pub fn record_neutral(&self) {
        if self.raw() == CircuitState::HalfOpen {
            self.release_probe();
        }
    }

    fn trip(&self, from: CircuitState, now_ms: u64) {
        // Ready for the next half-open before anyone can see it open.
        self.probes.store(0, Ordering::Release);
        self.probe_successes.store(0, Ordering::Release);
        self.opened_at_ms.store(now_ms, Ordering::Release);
        let _ = self.state.compare_exchange(
            from as u8,
            CircuitState::Open as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> CircuitSettings {
        CircuitSettings {
            consecutive_failures: 3,
            failure_rate_percent: 50,
            min_calls: 10,
            window_secs: 10,
            cool_down_ms: 5_000,
            half_open_probes: 2,
            close_after: 3,
        }
    }

    /// Opens `b` at `now` by consecutive failures.
    fn open(b: &Breaker, now: u64) {
        for _ in 0..b.settings.consecutive_failures {
            b.record_failure(now);
        }
        assert_eq!(b.state_at(now), CircuitState::Open);
    }

    #[test]
    fn closed_opens_after_consecutive_failures() {
        let b = Breaker::new(settings());
        b.record_failure(1_000);
        b.record_failure(1_000);
        assert_eq!(b.state_at(1_000), CircuitState::Closed);
        assert_eq!(b.admit(1_000), Admission::Pass);
        b.record_answer(1_000, 5);
        assert_eq!(b.consecutive_failures(), 0, "an answer breaks the run");
        b.record_failure(1_000);
        b.record_failure(1_000);
        assert_eq!(b.state_at(1_000), CircuitState::Closed);
        b.record_failure(1_001);
        assert_eq!(b.state_at(1_001), CircuitState::Open);
        assert_eq!(b.consecutive_failures(), 3);
        assert_eq!(
            b.admit(2_001),
            Admission::Refused {
                retry_after_ms: 4_000
            }
        );
        assert_eq!(b.open_until(2_001), 6_001);
    }

    #[test]
    fn closed_opens_on_the_failure_rate_once_there_are_enough_calls() {
        let b = Breaker::new(settings());
        // Alternating: never 3 in a row, but half of the calls fail.
        for i in 0..4 {
            b.record_answer(100 + i, 5);
            b.record_failure(100 + i);
        }
        assert_eq!(b.state_at(200), CircuitState::Closed, "8 calls < min_calls");
        b.record_answer(200, 5);
        b.record_failure(200);
        assert_eq!(b.state_at(200), CircuitState::Open, "5 of 10 failed");
    }

    #[test]
    fn a_failure_rate_below_the_threshold_keeps_it_closed() {
        let b = Breaker::new(settings());
        for i in 0..30 {
            b.record_answer(i, 5);
            b.record_answer(i, 5);
            b.record_failure(i);
        }
        assert_eq!(b.state_at(30), CircuitState::Closed, "a third failed");
    }

    #[test]
    fn old_failures_leave_the_window() {
        let b = Breaker::new(settings());
        for i in 0..4 {
            b.record_answer(i, 5);
            b.record_failure(i);
        }
        // 10 s later only new calls count: 1 failure in 2 calls is under min_calls.
        b.record_answer(20_000, 5);
        b.record_failure(20_000);
        assert_eq!(b.state_at(20_000), CircuitState::Closed);
    }

    #[test]
    fn open_half_opens_after_the_cool_down_with_limited_probes() {
        let b = Breaker::new(settings());
        open(&b, 1_000);
        assert!(!b.admit(5_999).allowed());
        assert_eq!(b.state_at(6_000), CircuitState::HalfOpen);
        assert_eq!(b.admit(6_000), Admission::Probe);
        assert_eq!(b.admit(6_000), Admission::Probe);
        assert_eq!(
            b.admit(6_000),
            Admission::Refused {
                retry_after_ms: PROBE_WAIT_MS
            },
            "two probes at once"
        );
        b.record_neutral();
        assert_eq!(
            b.admit(6_001),
            Admission::Probe,
            "a neutral call frees its slot"
        );
    }

    #[test]
    fn probe_slots_never_freed_are_taken_back_after_a_cool_down() {
        let b = Breaker::new(settings());
        open(&b, 1_000);
        // Two probes admitted, then dropped before their answers were recorded.
        assert_eq!(b.admit(6_000), Admission::Probe);
        assert_eq!(b.admit(6_001), Admission::Probe);
        assert!(!b.admit(10_000).allowed());
        assert_eq!(
            b.admit(11_001),
            Admission::Probe,
            "a cool-down after the last probe"
        );
        assert!(b.admit(11_001).allowed());
        assert!(!b.admit(11_002).allowed());
    }

    #[test]
    fn half_open_closes_after_consecutive_probe_successes() {
        let b = Breaker::new(settings());
        open(&b, 1_000);
        for i in 0..3 {
            assert_eq!(b.admit(6_000 + i), Admission::Probe);
            assert_eq!(b.state_at(6_000 + i), CircuitState::HalfOpen);
            b.record_answer(6_000 + i, 5);
        }
        assert_eq!(b.state_at(6_003), CircuitState::Closed);
        assert_eq!(b.admit(6_003), Admission::Pass);
        assert_eq!(b.window.stats(6_003).calls(), 0, "closing starts afresh");
    }

    #[test]
    fn a_probe_failure_opens_it_again_for_a_full_cool_down() {
        let b = Breaker::new(settings());
        open(&b, 1_000);
        assert_eq!(b.admit(6_000), Admission::Probe);
        b.record_answer(6_000, 5);
        assert_eq!(b.admit(6_100), Admission::Probe);
        b.record_failure(6_100);
        assert_eq!(b.state_at(6_100), CircuitState::Open);
        assert_eq!(b.open_until(6_100), 11_100);
        assert!(!b.admit(11_099).allowed());
        // The successes before the failure do not count towards closing.
        for i in 0..2 {
            assert_eq!(b.admit(11_100 + i), Admission::Probe);
            b.record_answer(11_100 + i, 5);
        }
        assert_eq!(b.state_at(11_102), CircuitState::HalfOpen);
        assert_eq!(b.admit(11_102), Admission::Probe);
        b.record_answer(11_102, 5);
        assert_eq!(b.state_at(11_102), CircuitState::Closed);
    }

    #[test]
    fn failures_while_open_change_nothing() {
        let b = Breaker::new(settings());
        open(&b, 1_000);
        // A call admitted before it opened fails late.
        b.record_failure(4_000);
        assert_eq!(b.open_until(4_000), 6_000, "the cool-down is not extended");
    }

    #[test]
    fn gauges() {
        assert_eq!(CircuitState::Closed.gauge(), 0);
        assert_eq!(CircuitState::HalfOpen.gauge(), 1);
        assert_eq!(CircuitState::Open.gauge(), 2);
        assert!(CircuitState::Open > CircuitState::HalfOpen);
    }
}
