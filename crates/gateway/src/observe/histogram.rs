//! One fixed, roughly logarithmic latency bucket layout, shared by the Prometheus histograms and the
//! rolling stats windows, and an atomic histogram over it: recording is a few relaxed atomic adds,
//! never a lock (the `prometheus-client` histogram takes a write lock per observation).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in milliseconds (a last bucket, +Inf, follows).
pub const BOUNDS_MS: [u64; 20] = [
    1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1_000, 1_500, 2_500, 5_000, 10_000,
    30_000,
];

/// Number of buckets, +Inf included.
pub const BUCKETS: usize = BOUNDS_MS.len() + 1;

/// The bucket `elapsed` falls in.
pub fn bucket_of(elapsed: Duration) -> usize {
    let ms = elapsed.as_secs_f64() * 1_000.0;
    BOUNDS_MS
        .iter()
        .position(|&b| ms <= b as f64)
        .unwrap_or(BOUNDS_MS.len())
}

/// The `q` quantile (0 < q ≤ 1) of bucket counts, as the upper bound of the bucket holding that
/// rank (the +Inf bucket reports the last finite bound). `None` with no observation.
pub fn quantile_ms(counts: &[u64; BUCKETS], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (i, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            let bound = BOUNDS_MS
                .get(i)
                .copied()
                .unwrap_or(BOUNDS_MS[BOUNDS_MS.len() - 1]);
            return Some(bound as f64);
        }
    }
    None
}

/// A lock-free histogram over [`BOUNDS_MS`] (sum kept in microseconds).
#[derive(Debug, Default)]
pub struct AtomicHistogram {
    counts: [AtomicU64; BUCKETS],
    sum_micros: AtomicU64,
}

impl AtomicHistogram {
    pub fn observe(&self, elapsed: Duration) {
        self.counts[bucket_of(elapsed)].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn counts(&self) -> [u64; BUCKETS] {
        std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed))
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    pub fn sum_seconds(&self) -> f64 {
        self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
    }

    /// Cumulative `(upper bound in seconds, count)` pairs, +Inf last, as Prometheus wants them.
    pub fn cumulative_seconds(&self) -> Vec<(f64, u64)> {
        let mut total = 0;
        self.counts()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                total += c;
                let bound = BOUNDS_MS
                    .get(i)
                    .map_or(f64::INFINITY, |&ms| ms as f64 / 1_000.0);
                (bound, total)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_inclusive_upper_bounds() {
        assert_eq!(bucket_of(Duration::from_micros(500)), 0);
        assert_eq!(bucket_of(Duration::from_millis(1)), 0);
        assert_eq!(bucket_of(Duration::from_micros(1_001)), 1);
        assert_eq!(bucket_of(Duration::from_millis(100)), 8);
        assert_eq!(bucket_of(Duration::from_secs(60)), BUCKETS - 1);
    }

    #[test]
    fn quantiles_follow_the_ranks() {
        let mut counts = [0u64; BUCKETS];
        assert_eq!(quantile_ms(&counts, 0.5), None);
        // 90 fast (≤ 10 ms), 9 at ≤ 100 ms, 1 slow (≤ 1 s).
        counts[bucket_of(Duration::from_millis(8))] = 90;
        counts[bucket_of(Duration::from_millis(90))] = 9;
        counts[bucket_of(Duration::from_millis(900))] = 1;
        assert_eq!(quantile_ms(&counts, 0.5), Some(10.0));
        assert_eq!(quantile_ms(&counts, 0.9), Some(10.0));
        assert_eq!(quantile_ms(&counts, 0.95), Some(100.0));
        assert_eq!(quantile_ms(&counts, 0.99), Some(100.0));
        assert_eq!(quantile_ms(&counts, 1.0), Some(1_000.0));
    }

    #[test]
    fn the_histogram_is_cumulative_with_inf_last() {
        let h = AtomicHistogram::default();
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(40));
        let cumulative = h.cumulative_seconds();
        assert_eq!(cumulative.len(), BUCKETS);
        assert_eq!(cumulative[2], (0.005, 1));
        assert_eq!(cumulative[BUCKETS - 1], (f64::INFINITY, 2));
        assert_eq!(h.count(), 2);
        assert!((h.sum_seconds() - 0.043).abs() < 1e-9);
    }
}
