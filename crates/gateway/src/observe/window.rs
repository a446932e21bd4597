//! Rolling statistics of one channel or operator: a ring of 10-second buckets covering the last hour,
//! each a set of atomic counters. Recording is relaxed atomic adds; a bucket is reset by the first
//! recorder of a new 10 s period (compare-and-set on its period number), so a few counts racing that
//! reset may be lost — good enough for a dashboard, and never a lock on the request path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use switchboard_core::ErrorCode;

use super::histogram::{bucket_of, BUCKETS};

/// Seconds per bucket.
pub const BUCKET_SECS: u64 = 10;
/// Buckets kept: one hour.
pub const SLOTS: usize = 360;

/// How one attempt ended, as the stats count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    Succeeded,
    /// Refused: by the operator, or by a rule before anything was sent.
    Refused,
    /// Not reached, or no answer in time.
    TechnicalFailure,
    /// Accepted and still processing upstream.
    Pending,
}

/// Plain totals of one bucket (or of several, summed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub attempts: u64,
    pub succeeded: u64,
    pub refused: u64,
    pub technical_failures: u64,
    pub latency: [u64; BUCKETS],
    /// Counts by position in [`ErrorCode::ALL`].
    pub errors: Vec<u64>,
}

impl Default for Totals {
    fn default() -> Self {
        Totals {
            attempts: 0,
            succeeded: 0,
            refused: 0,
            technical_failures: 0,
            latency: [0; BUCKETS],
            errors: vec![0; ErrorCode::ALL.len()],
        }
    }
}

impl Totals {
    pub fn add(&mut self, other: &Totals) {
        self.attempts += other.attempts;
        self.succeeded += other.succeeded;
        self.refused += other.refused;
        self.technical_failures += other.technical_failures;
        for (a, b) in self.latency.iter_mut().zip(other.latency.iter()) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(other.errors.iter()) {
            *a += b;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.attempts == 0
    }

    /// Technical success: the share of attempts that got an answer.
    pub fn success_rate(&self) -> Option<f64> {
        (self.attempts > 0).then(|| {
            self.attempts.saturating_sub(self.technical_failures) as f64 / self.attempts as f64
        })
    }
}

fn error_index(code: ErrorCode) -> usize {
    ErrorCode::ALL
        .iter()
        .position(|c| *c == code)
        .unwrap_or_default()
}

#[derive(Debug)]
struct Slot {
    /// The 10 s period number this slot holds, plus one (0: never used).
    period: AtomicU64,
    attempts: AtomicU64,
    succeeded: AtomicU64,
    refused: AtomicU64,
    technical_failures: AtomicU64,
    latency: [AtomicU64; BUCKETS],
    errors: Box<[AtomicU64]>,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            period: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            technical_failures: AtomicU64::new(0),
            latency: Default::default(),
            errors: ErrorCode::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Slot {
    fn counters(&self) -> impl Iterator<Item = &AtomicU64> {
        [
            &self.attempts,
            &self.succeeded,
            &self.refused,
            &self.technical_failures,
        ]
        .into_iter()
        .chain(self.latency.iter())
        .chain(self.errors.iter())
    }

    /// Makes this slot hold `period` (resetting it if it held an older one).
    fn enter(&self, period: u64) {
        let tag = period + 1;
        let held = self.period.load(Ordering::Acquire);
        if held != tag
            && self
                .period
                .compare_exchange(held, tag, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            for c in self.counters() {
                c.store(0, Ordering::Relaxed);
            }
        }
    }

    fn totals(&self) -> Totals {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Totals {
            attempts: load(&self.attempts),
            succeeded: load(&self.succeeded),
            refused: load(&self.refused),
            technical_failures: load(&self.technical_failures),
            latency: std::array::from_fn(|i| load(&self.latency[i])),
            errors: self.errors.iter().map(load).collect(),
        }
    }
}

/// One hour of 10 s buckets.
#[derive(Debug)]
pub struct Window {
    slots: Box<[Slot]>,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
        }
    }
}

/// The 10 s period of a unix time.
pub fn period_of(unix_secs: u64) -> u64 {
    unix_secs / BUCKET_SECS
}

impl Window {
    /// Records one attempt at `unix_secs`.
    pub fn record(
        &self,
        unix_secs: u64,
        tally: Tally,
        latency: Option<Duration>,
        error: Option<ErrorCode>,
    ) {
        let period = period_of(unix_secs);
        let slot = &self.slots[(period % SLOTS as u64) as usize];
        slot.enter(period);
        slot.attempts.fetch_add(1, Ordering::Relaxed);
        let counter = match tally {
            Tally::Succeeded => Some(&slot.succeeded),
            Tally::Refused => Some(&slot.refused),
            Tally::TechnicalFailure => Some(&slot.technical_failures),
            Tally::Pending => None,
        };
        if let Some(c) = counter {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(elapsed) = latency {
            slot.latency[bucket_of(elapsed)].fetch_add(1, Ordering::Relaxed);
        }
        if let Some(code) = error {
            slot.errors[error_index(code)].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The non-empty buckets of the periods `from..=to`, as `(period, totals)`, oldest first.
    pub fn buckets(&self, from: u64, to: u64) -> Vec<(u64, Totals)> {
        let from = from.max(to.saturating_sub(SLOTS as u64 - 1));
        (from..=to)
            .filter_map(|period| {
                let slot = &self.slots[(period % SLOTS as u64) as usize];
                (slot.period.load(Ordering::Acquire) == period + 1)
                    .then(|| (period, slot.totals()))
                    .filter(|(_, t)| !t.is_empty())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::histogram::quantile_ms;

    fn sum(buckets: &[(u64, Totals)]) -> Totals {
        let mut t = Totals::default();
        for (_, b) in buckets {
            t.add(b);
        }
        t
    }

    #[test]
    fn counts_land_in_their_bucket_and_windows_sum_them() {
        let w = Window::default();
        let t0 = 1_800_000_000;
        w.record(t0, Tally::Succeeded, Some(Duration::from_millis(8)), None);
        w.record(
            t0 + 3,
            Tally::Refused,
            Some(Duration::from_millis(90)),
            Some(ErrorCode::TooManyRequests),
        );
        w.record(t0 + 15, Tally::TechnicalFailure, None, None);
        let now = period_of(t0 + 15);
        let all = w.buckets(now - 5, now);
        assert_eq!(all.len(), 2);
        let t = sum(&all);
        assert_eq!(
            (t.attempts, t.succeeded, t.refused, t.technical_failures),
            (3, 1, 1, 1)
        );
        assert_eq!(t.success_rate(), Some(2.0 / 3.0));
        assert_eq!(t.errors[error_index(ErrorCode::TooManyRequests)], 1);
        assert_eq!(quantile_ms(&t.latency, 0.5), Some(10.0));
        assert_eq!(quantile_ms(&t.latency, 0.99), Some(100.0));
        // Only the latest bucket in a one-bucket window.
        assert_eq!(sum(&w.buckets(now, now)).attempts, 1);
    }

    #[test]
    fn an_hour_later_the_slot_is_reused_from_zero() {
        let w = Window::default();
        let t0 = 1_800_000_000;
        w.record(t0, Tally::Succeeded, None, None);
        let later = t0 + SLOTS as u64 * BUCKET_SECS;
        w.record(later, Tally::Refused, None, None);
        let now = period_of(later);
        let t = sum(&w.buckets(0, now));
        assert_eq!((t.attempts, t.succeeded, t.refused), (1, 0, 1));
        // The old period is gone, not double-counted.
        assert!(w.buckets(period_of(t0), period_of(t0)).is_empty());
        assert_eq!(Totals::default().success_rate(), None);
    }
}
