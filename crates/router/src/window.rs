//! The rolling window of one channel operation: a ring of 10 buckets, each a tenth of the window,
//! holding answered and failed calls and a coarse latency histogram of the answered ones. Recording
//! is relaxed atomic adds; the first recorder of a new period resets its bucket (compare-and-set on
//! the period number), so a few counts racing that reset may be lost — never a lock on the hot path.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Buckets in the ring.
pub const SLOTS: u64 = 10;
/// Upper bounds (ms) of the latency bins; a last bin holds anything slower.
const BOUNDS_MS: [u32; 13] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000,
];
const BINS: usize = BOUNDS_MS.len() + 1;
/// What the last (unbounded) bin reports as its p95.
const SLOWEST_MS: u32 = 20_000;

#[derive(Default)]
struct Bucket {
    /// Period number + 1 (0: never used).
    period: AtomicU64,
    answered: AtomicU32,
    failed: AtomicU32,
    latency: [AtomicU32; BINS],
}

impl Bucket {
    fn clear(&self) {
        self.answered.store(0, Ordering::Relaxed);
        self.failed.store(0, Ordering::Relaxed);
        for bin in &self.latency {
            bin.store(0, Ordering::Relaxed);
        }
    }
}

/// Calls in the window and their p95 latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowStats {
    /// Answered: a success or a business refusal (the channel worked).
    pub answered: u32,
    /// Technical failures: not reached, timeout, 5xx, "not processed".
    pub failed: u32,
    /// Upper bound of the latency bin holding the 95th percentile of answered calls (0: none).
    pub p95_ms: u32,
}

impl WindowStats {
    pub fn calls(&self) -> u32 {
        self.answered + self.failed
    }
}

pub struct Window {
    bucket_ms: u64,
    buckets: [Bucket; SLOTS as usize],
}

impl Window {
    pub fn new(window_ms: u64) -> Window {
        Window {
            bucket_ms: (window_ms / SLOTS).max(1),
            buckets: Default::default(),
        }
    }

    fn bucket(&self, now_ms: u64) -> &Bucket {
        let period = now_ms / self.bucket_ms + 1;
        let bucket = &self.buckets[(period % SLOTS) as usize];
        let seen = bucket.period.load(Ordering::Acquire);
        if seen != period
            && bucket
                .period
                .compare_exchange(seen, period, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            bucket.clear();
        }
        bucket
    }

    pub fn answered(&self, now_ms: u64, latency_ms: u64) {
        let bucket = self.bucket(now_ms);
        bucket.answered.fetch_add(1, Ordering::Relaxed);
        let bin = BOUNDS_MS
            .iter()
            .position(|&b| latency_ms <= u64::from(b))
            .unwrap_or(BINS - 1);
        bucket.latency[bin].fetch_add(1, Ordering::Relaxed);
    }

    pub fn failed(&self, now_ms: u64) {
        self.bucket(now_ms).failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Forgets everything (a circuit that closes starts afresh).
    pub fn clear(&self) {
        for bucket in &self.buckets {
            bucket.period.store(0, Ordering::Release);
            bucket.clear();
        }
    }

    pub fn stats(&self, now_ms: u64) -> WindowStats {
        let current = now_ms / self.bucket_ms + 1;
        let mut stats = WindowStats::default();
        let mut latency = [0u32; BINS];
        for bucket in &self.buckets {
            let period = bucket.period.load(Ordering::Acquire);
            if period == 0 || period > current || current - period >= SLOTS {
                continue;
            }
            stats.answered += bucket.answered.load(Ordering::Relaxed);
            stats.failed += bucket.failed.load(Ordering::Relaxed);
            for (sum, bin) in latency.iter_mut().zip(&bucket.latency) {
                *sum += bin.load(Ordering::Relaxed);
            }
        }
        let total: u32 = latency.iter().sum();
        if total > 0 {
            // The smallest bin reaching 95 % of the answered calls.
            let need = (u64::from(total) * 95).div_ceil(100);
            let mut seen = 0u64;
            for (i, &n) in latency.iter().enumerate() {
                seen += u64::from(n);
                if seen >= need {
                    stats.p95_ms = BOUNDS_MS.get(i).copied().unwrap_or(SLOWEST_MS);
                    break;
                }
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_and_the_p95_within_the_window_only() {
        let w = Window::new(10_000);
        for i in 0..95 {
            w.answered(500 + i, 8);
        }
        for _ in 0..5 {
            w.answered(600, 900);
        }
        w.failed(700);
        let s = w.stats(900);
        assert_eq!((s.answered, s.failed), (100, 1));
        assert_eq!(s.p95_ms, 10, "95 of 100 within 10 ms");
        w.answered(800, 900);
        assert_eq!(w.stats(900).p95_ms, 1_000, "now more than 5 % are slow");
        // 10 s later the first calls have left the window.
        w.answered(10_650, 3);
        let later = w.stats(10_650);
        assert_eq!((later.answered, later.failed), (1, 0));
        assert_eq!(w.stats(30_000), WindowStats::default());
    }

    #[test]
    fn clear_forgets() {
        let w = Window::new(1_000);
        w.failed(10);
        w.clear();
        assert_eq!(w.stats(10).calls(), 0);
    }
}
