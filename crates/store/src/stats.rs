//! Rolling stats shared by a fleet of replicas: each replica adds the counts of its 10 s buckets
//! into one shared bucket per `(series, period)`, and any replica reads the merged buckets back.
//! The store knows nothing of what the counts mean: a bucket is field name → count.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::StoreError;

/// How long a shared bucket is kept, in seconds (the longest window is one hour).
pub const STATS_RETENTION_SECS: u64 = 3_600;
/// Seconds per period (bucket).
pub const STATS_PERIOD_SECS: u64 = 10;

/// The counts of one series (a channel or an operator) in one 10 s period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsBucket {
    pub series: String,
    /// Unix seconds / [`STATS_PERIOD_SECS`].
    pub period: u64,
    /// Field → count to add (or, read back, the fleet's total).
    pub counts: BTreeMap<String, u64>,
}

/// The memory backend's buckets (one process: the "fleet" is this replica).
#[derive(Debug, Default)]
pub(crate) struct MemoryStats {
    buckets: Mutex<BTreeMap<(String, u64), BTreeMap<String, u64>>>,
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Unavailable("memory store poisoned".into())
}

impl MemoryStats {
    pub(crate) fn add(&self, buckets: &[StatsBucket]) -> Result<(), StoreError> {
        let mut map = self.buckets.lock().map_err(poisoned)?;
        for b in buckets {
            let entry = map.entry((b.series.clone(), b.period)).or_default();
            for (field, n) in &b.counts {
                *entry.entry(field.clone()).or_default() += n;
            }
        }
        if let Some(newest) = map.keys().map(|(_, p)| *p).max() {
            let oldest = newest.saturating_sub(STATS_RETENTION_SECS / STATS_PERIOD_SECS);
            map.retain(|(_, p), _| *p >= oldest);
        }
        Ok(())
    }

    pub(crate) fn read(
        &self,
        series: &[String],
        from: u64,
        to: u64,
    ) -> Result<Vec<StatsBucket>, StoreError> {
        let map = self.buckets.lock().map_err(poisoned)?;
        let mut out = Vec::new();
        for s in series {
            for ((_, period), counts) in map.range((s.clone(), from)..=(s.clone(), to)) {
                out.push(StatsBucket {
                    series: s.clone(),
                    period: *period,
                    counts: counts.clone(),
                });
            }
        }
        Ok(out)
    }
}
