//! The Redis side of the fleet's rolling stats: hash `{<prefix>:stats:<series>}:<period>` per
//! series and 10 s period (field → count), added to with HINCRBY and expiring after an hour. The
//! series is the hash tag, so one pipeline per series stays in one Cluster slot.

use std::collections::BTreeMap;

use super::RedisStore;
use crate::stats::{StatsBucket, STATS_RETENTION_SECS};
use crate::StoreError;

impl RedisStore {
    pub(super) async fn add_stats_impl(&self, buckets: &[StatsBucket]) -> Result<(), StoreError> {
        let mut by_series: BTreeMap<&str, Vec<&StatsBucket>> = BTreeMap::new();
        for b in buckets.iter().filter(|b| !b.counts.is_empty()) {
            by_series.entry(b.series.as_str()).or_default().push(b);
        }
        for (series, buckets) in by_series {
            let mut pipe = redis::pipe();
            for b in buckets {
                let key = self.keys.stats(series, b.period);
                for (field, n) in &b.counts {
                    pipe.hincr(&key, field, *n).ignore();
                }
                // Counted from the bucket's end, so the whole hour stays readable.
                pipe.expire(&key, (STATS_RETENTION_SECS + 60) as i64)
                    .ignore();
            }
            let mut conn = self.conn.clone();
            self.call::<()>("add_stats", pipe.query_async(&mut conn))
                .await?;
        }
        Ok(())
    }

    pub(super) async fn stats_impl(
        &self,
        series: &[String],
        from: u64,
        to: u64,
    ) -> Result<Vec<StatsBucket>, StoreError> {
        let mut out = Vec::new();
        for s in series {
            let periods: Vec<u64> = (from..=to).collect();
            let mut pipe = redis::pipe();
            for p in &periods {
                pipe.hgetall(self.keys.stats(s, *p));
            }
            let mut conn = self.conn.clone();
            let replies: Vec<BTreeMap<String, u64>> =
                self.call("stats", pipe.query_async(&mut conn)).await?;
            for (period, counts) in periods.into_iter().zip(replies) {
                if !counts.is_empty() {
                    out.push(StatsBucket {
                        series: s.clone(),
                        period,
                        counts,
                    });
                }
            }
        }
        Ok(out)
    }
}
