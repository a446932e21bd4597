//! The fleet view of the rolling stats (Redis store): every replica adds what its windows counted
//! since its last flush into the store's shared buckets every ~2 s, off the request path, and
//! `/admin/stats` on any replica reads the merged buckets back (`scope: "fleet"`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use actix_web::web;
use switchboard_core::ErrorCode;
use switchboard_store::{StatsBucket, Store, StoreError};
use tokio::task::JoinHandle;

use super::histogram::BUCKETS;
use super::stats::Buckets;
use super::window::{period_of, Totals, SLOTS};
use super::Observer;
use crate::state::AppState;

/// How often a replica publishes.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// The series name of channel / operator `id` in the store.
fn channel_series(id: &str) -> String {
    format!("channel:{id}")
}

fn operator_series(id: &str) -> String {
    format!("operator:{id}")
}

/// Totals as store fields: `a` attempts, `s` succeeded, `r` refused, `t` technical failures,
/// `l<i>` latency bucket `i`, `e:<code>` errors. Zero counts are left out.
pub fn to_fields(t: &Totals) -> BTreeMap<String, u64> {
    let mut f = BTreeMap::new();
    for (name, n) in [
        ("a", t.attempts),
        ("s", t.succeeded),
        ("r", t.refused),
        ("t", t.technical_failures),
    ] {
        if n > 0 {
            f.insert(name.to_string(), n);
        }
    }
    for (i, n) in t.latency.iter().enumerate().filter(|(_, n)| **n > 0) {
        f.insert(format!("l{i}"), *n);
    }
    for (code, n) in ErrorCode::ALL
        .iter()
        .zip(&t.errors)
        .filter(|(_, n)| **n > 0)
    {
        f.insert(format!("e:{}", code.as_str()), *n);
    }
    f
}

/// The inverse of [`to_fields`]; unknown fields (another version's) are ignored.
pub fn from_fields(f: &BTreeMap<String, u64>) -> Totals {
    let mut t = Totals::default();
    for (name, &n) in f {
        match name.as_str() {
            "a" => t.attempts = n,
            "s" => t.succeeded = n,
            "r" => t.refused = n,
            "t" => t.technical_failures = n,
            other => {
                if let Some(i) = other
                    .strip_prefix('l')
                    .and_then(|i| i.parse::<usize>().ok())
                {
                    if i < BUCKETS {
                        t.latency[i] = n;
                    }
                } else if let Some(code) = other.strip_prefix("e:").and_then(ErrorCode::from_code) {
                    if let Some(i) = ErrorCode::ALL.iter().position(|c| *c == code) {
                        t.errors[i] = n;
                    }
                }
            }
        }
    }
    t
}

/// `now - before`, field by field (a bucket reset under a racing recorder never goes negative).
fn delta(now: &Totals, before: &Totals) -> Totals {
    let sub = |a: u64, b: u64| a.saturating_sub(b);
    Totals {
        attempts: sub(now.attempts, before.attempts),
        succeeded: sub(now.succeeded, before.succeeded),
        refused: sub(now.refused, before.refused),
        technical_failures: sub(now.technical_failures, before.technical_failures),
        latency: std::array::from_fn(|i| sub(now.latency[i], before.latency[i])),
        errors: now
            .errors
            .iter()
            .zip(&before.errors)
            .map(|(a, b)| sub(*a, *b))
            .collect(),
    }
}

/// What one replica has already published, per `(series, period)`.
#[derive(Debug, Default)]
pub struct Publisher {
    published: HashMap<(String, u64), Totals>,
}

impl Publisher {
    /// The buckets to add for what `observe` counted since the last call, at `now_secs`.
    /// `commit` must follow a successful write.
    pub fn pending(&self, observe: &Observer, now_secs: u64) -> Vec<(StatsBucket, Totals)> {
        let now = period_of(now_secs);
        // The bucket that just closed and the open one.
        let from = now.saturating_sub(1);
        let labels = &observe.labels;
        let mut out = Vec::new();
        let series = labels
            .configured_channels()
            .iter()
            .enumerate()
            .map(|(i, id)| (channel_series(id), observe.channel_window(i)))
            .chain(
                labels
                    .configured_operators()
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (operator_series(id), observe.operator_window(i))),
            );
        for (name, window) in series {
            for (period, totals) in window.buckets(from, now) {
                let before = self
                    .published
                    .get(&(name.clone(), period))
                    .cloned()
                    .unwrap_or_default();
                let d = delta(&totals, &before);
                let counts = to_fields(&d);
                if !counts.is_empty() {
                    out.push((
                        StatsBucket {
                            series: name.clone(),
                            period,
                            counts,
                        },
                        totals,
                    ));
                }
            }
        }
        out
    }

    /// Records `published` as written; forgets periods that can no longer change.
    pub fn commit(&mut self, published: Vec<(StatsBucket, Totals)>, now_secs: u64) {
        for (bucket, totals) in published {
            self.published
                .insert((bucket.series, bucket.period), totals);
        }
        let oldest = period_of(now_secs).saturating_sub(2);
        self.published.retain(|(_, p), _| *p >= oldest);
    }
}

/// Publishes this replica's counts every [`FLUSH_EVERY`] (Redis store only).
pub fn spawn_publisher(state: web::Data<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut publisher = Publisher::default();
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = super::unix_now();
            let pending = publisher.pending(&state.observe, now);
            if pending.is_empty() {
                continue;
            }
            let buckets: Vec<StatsBucket> = pending.iter().map(|(b, _)| b.clone()).collect();
            match state.store.add_stats(&buckets).await {
                Ok(()) => publisher.commit(pending, now),
                // Kept: the next tick adds the same counts again.
                Err(e) => tracing::warn!(error = %e, "cannot publish rolling stats"),
            }
        }
    })
}

/// The fleet's merged buckets of the last hour, read once for one document.
pub struct Fleet {
    channels: Vec<Vec<(u64, Totals)>>,
    operators: Vec<Vec<(u64, Totals)>>,
}

impl Fleet {
    pub async fn read(
        store: &dyn Store,
        observe: &Observer,
        now_secs: u64,
    ) -> Result<Fleet, StoreError> {
        let now = period_of(now_secs);
        let from = now.saturating_sub(SLOTS as u64 - 1);
        let labels = &observe.labels;
        let load = |names: Vec<String>| async move {
            let got = store.stats(&names, from, now).await?;
            let mut per: HashMap<&str, Vec<(u64, Totals)>> = HashMap::new();
            for b in &got {
                per.entry(b.series.as_str())
                    .or_default()
                    .push((b.period, from_fields(&b.counts)));
            }
            Ok::<_, StoreError>(
                names
                    .iter()
                    .map(|n| per.remove(n.as_str()).unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
        };
        let channels = load(
            labels
                .configured_channels()
                .iter()
                .map(|c| channel_series(c))
                .collect(),
        )
        .await?;
        let operators = load(
            labels
                .configured_operators()
                .iter()
                .map(|o| operator_series(o))
                .collect(),
        )
        .await?;
        Ok(Fleet {
            channels,
            operators,
        })
    }
}

fn within(buckets: &[(u64, Totals)], from: u64, to: u64) -> Vec<(u64, Totals)> {
    buckets
        .iter()
        .filter(|(p, _)| (from..=to).contains(p))
        .cloned()
        .collect()
}

impl Buckets for Fleet {
    fn channel(&self, i: usize, from: u64, to: u64) -> Vec<(u64, Totals)> {
        within(&self.channels[i], from, to)
    }
    fn operator(&self, i: usize, from: u64, to: u64) -> Vec<(u64, Totals)> {
        within(&self.operators[i], from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::window::Tally;

    #[test]
    fn fields_round_trip() {
        let mut t = Totals {
            attempts: 4,
            succeeded: 2,
            refused: 1,
            technical_failures: 1,
            ..Totals::default()
        };
        t.latency[3] = 2;
        t.errors[1] = 1;
        assert_eq!(from_fields(&to_fields(&t)), t);
        assert!(to_fields(&Totals::default()).is_empty());
    }

    #[test]
    fn the_publisher_sends_each_count_once() {
        let config = crate::config::defaults_for_test();
        let observe = Observer::new(&config);
        let now = 1_800_000_005;
        let w = observe.channel_window(0);
        w.record(now, Tally::Succeeded, None, None);
        let mut p = Publisher::default();
        let first = p.pending(&observe, now);
        // The channel and nothing else (operator windows were not fed directly).
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].0.counts["a"], 1);
        p.commit(first, now);
        assert!(p.pending(&observe, now).is_empty());
        w.record(now + 1, Tally::Refused, None, None);
        let second = p.pending(&observe, now + 1);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].0.counts.get("a"), Some(&1));
        assert_eq!(second[0].0.counts.get("s"), None);
        assert_eq!(second[0].0.counts.get("r"), Some(&1));
    }
}
