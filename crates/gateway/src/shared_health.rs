//! Shared health (Redis store): the circuit windows become the fleet's. Every second each replica
//! adds what its channels recorded since its last flush (answered, failed, latency bins, per
//! channel operation) into the store's per-second buckets — the same `add_stats` buckets the fleet
//! stats use (`observe/fleet.rs`), under series `health:<channel>:<operation>` — then reads the
//! buckets of each window back, takes its own part out, and hands the rest to the router
//! (`Health::set_fleet`). All of it off the request path: a payment gains no round trip.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::web;
use switchboard_adapter::Capability;
use switchboard_router::{Counts, LATENCY_BINS};
use switchboard_store::{StatsBucket, Store, StoreError};
use tokio::task::JoinHandle;

use crate::state::AppState;

/// How often a replica flushes and reads back.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

fn series(channel: &str, capability: Capability) -> String {
    let name = serde_json::to_value(capability)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!("health:{channel}:{name}")
}

/// Counts as store fields: `a` answered, `f` failed, `l<i>` latency bin `i`; zeros left out.
fn to_fields(c: &Counts) -> BTreeMap<String, u64> {
    let mut f = BTreeMap::new();
    for (name, n) in [("a", c.answered), ("f", c.failed)] {
        if n > 0 {
            f.insert(name.to_string(), n);
        }
    }
    for (i, n) in c.latency.iter().enumerate().filter(|(_, n)| **n > 0) {
        f.insert(format!("l{i}"), *n);
    }
    f
}

fn from_fields(f: &BTreeMap<String, u64>) -> Counts {
    let mut c = Counts::default();
    for (name, &n) in f {
        match name.as_str() {
            "a" => c.answered = n,
            "f" => c.failed = n,
            other => {
                if let Some(i) = other
                    .strip_prefix('l')
                    .and_then(|i| i.parse::<usize>().ok())
                {
                    if i < LATENCY_BINS {
                        c.latency[i] = n;
                    }
                }
            }
        }
    }
    c
}

/// One channel operation as the syncer follows it.
#[derive(Default)]
struct Followed {
    /// Totals at the last successful flush.
    flushed: Counts,
    /// What this replica added, per second, within the window.
    own: VecDeque<(u64, Counts)>,
}

/// The state of one replica's sync (kept between ticks).
#[derive(Default)]
pub struct Syncer {
    followed: HashMap<String, Followed>,
}

impl Syncer {
    /// Flushes this replica's new counts, then reads each window back and sets the fleet's part.
    pub async fn sync(
        &mut self,
        state: &AppState,
        store: &dyn Store,
        now_secs: u64,
    ) -> Result<(), StoreError> {
        let mut targets = Vec::new();
        for channel in state.router().channels() {
            for capability in channel.capabilities.iter() {
                targets.push((channel.clone(), capability, series(&channel.id, capability)));
            }
        }
        // 1. Flush: what each window counted since the last flush, as this second's bucket.
        let mut pending = Vec::new();
        for (channel, capability, name) in &targets {
            let totals = channel.health.totals(*capability);
            let followed = self.followed.entry(name.clone()).or_default();
            let delta = totals.minus(&followed.flushed);
            if !delta.is_empty() {
                pending.push((name.clone(), totals, delta));
            }
        }
        if !pending.is_empty() {
            let buckets: Vec<StatsBucket> = pending
                .iter()
                .map(|(name, _, delta)| StatsBucket {
                    series: name.clone(),
                    period: now_secs,
                    counts: to_fields(delta),
                })
                .collect();
            store.add_stats(&buckets).await?;
            for (name, totals, delta) in pending {
                let followed = self.followed.entry(name).or_default();
                followed.flushed = totals;
                followed.own.push_back((now_secs, delta));
            }
        }
        // 2. Read back every window and take this replica's part out.
        let names: Vec<String> = targets.iter().map(|(_, _, n)| n.clone()).collect();
        let longest = targets
            .iter()
            .map(|(c, _, _)| c.health.settings().window_secs)
            .max()
            .unwrap_or(0);
        let from = now_secs.saturating_sub(longest.saturating_sub(1));
        let read = store.stats(&names, from, now_secs).await?;
        let mut merged: HashMap<&str, Vec<(u64, Counts)>> = HashMap::new();
        for bucket in &read {
            merged
                .entry(bucket.series.as_str())
                .or_default()
                .push((bucket.period, from_fields(&bucket.counts)));
        }
        for (channel, capability, name) in &targets {
            let start = now_secs.saturating_sub(channel.health.settings().window_secs - 1);
            let sum = |items: &mut dyn Iterator<Item = &(u64, Counts)>| {
                items
                    .filter(|(p, _)| *p >= start)
                    .fold(Counts::default(), |acc, (_, c)| acc.plus(c))
            };
            let all = merged
                .get(name.as_str())
                .map_or(Counts::default(), |b| sum(&mut b.iter()));
            let followed = self.followed.entry(name.clone()).or_default();
            while followed.own.front().is_some_and(|(p, _)| *p < start) {
                followed.own.pop_front();
            }
            let own = sum(&mut followed.own.iter());
            channel.health.set_fleet(*capability, &all.minus(&own));
        }
        Ok(())
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Syncs every [`SYNC_EVERY`] (Redis store only).
pub fn spawn(state: web::Data<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut syncer = Syncer::default();
        let mut tick = tokio::time::interval(SYNC_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let store = state.store.clone();
            if let Err(e) = syncer.sync(&state, store.as_ref(), unix_now()).await {
                // Kept: the next tick flushes the same counts again.
                tracing::warn!(error = %e, "cannot share channel health");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_series_name_the_operation() {
        let mut c = Counts {
            answered: 4,
            failed: 2,
            ..Counts::default()
        };
        c.latency[3] = 4;
        assert_eq!(from_fields(&to_fields(&c)), c);
        assert!(!to_fields(&Counts::default()).contains_key("a"));
        assert_eq!(
            series("dcb", Capability::TwoStepPayment),
            "health:dcb:two_step_payment"
        );
    }
}
