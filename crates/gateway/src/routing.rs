//! Which operator a number belongs to *now*: an MNP override (a ported number) wins over the number
//! plan. Overrides live in the store; each replica keeps a compact copy (`switchboard_router`'s
//! `MnpTable`), loads it whole once, then every `routing.overrides_refresh_ms` fetches only the
//! changes since the version it holds (the store's change log; a full reload only when the log was
//! trimmed past it). The payment path reads the copy in process: no extra store round trip.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use switchboard_adapter::Capability;
use switchboard_core::{ApiError, Msisdn};
use switchboard_router::{MnpTable, NumberPlan, OperatorInfo, PortedBuilder, PortedNumbers, Route};
use switchboard_store::{OverrideChange, OverrideChanges, Store, StoreError};
use tokio::task::JoinHandle;

use crate::state::{AppState, Live};

/// Overrides per page of a full load.
const LOAD_PAGE: usize = 10_000;
/// Changes per store call of a sync.
const SYNC_BATCH: usize = 10_000;

/// This replica's copy of the MNP override table.
pub struct Overrides {
    table: Arc<MnpTable>,
}

/// What one [`Overrides::sync`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Synced {
    /// Changes applied.
    pub changes: usize,
    /// Full loads it took (the log had been trimmed past this replica's version).
    pub reloads: usize,
}

impl Overrides {
    pub fn new(plan: &NumberPlan) -> Overrides {
        Overrides {
            table: Arc::new(MnpTable::new(PortedNumbers::new(plan))),
        }
    }

    /// The table, for an in-process lookup (hold it briefly).
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, PortedNumbers> {
        self.table.read()
    }

    /// The operator id a number is ported to, if it is.
    pub fn get(&self, plan: &NumberPlan, msisdn: &Msisdn) -> Option<String> {
        self.read().operator_id(plan, msisdn).map(str::to_string)
    }

    /// Applies a change this replica just made in the store, before the next sync brings it.
    pub fn set(&self, plan: &NumberPlan, msisdn: &Msisdn, operator: Option<&str>) {
        if let Err(e) = self.table.write(|t| t.set(plan, msisdn, operator)) {
            tracing::warn!(error = %e, "MNP override not applied locally");
        }
    }

    /// The store version this copy reflects.
    pub fn version(&self) -> u64 {
        self.read().version()
    }

    /// Loads the whole table: the version first, then the pages; changes made meanwhile are
    /// replayed by the next sync.
    pub async fn reload(&self, store: &dyn Store, plan: &NumberPlan) -> Result<(), StoreError> {
        let version = store.operator_override_version().await?;
        let mut builder = PortedBuilder::new(plan);
        let (mut cursor, mut skipped) = (None::<String>, 0usize);
        loop {
            let page = store
                .operator_override_page(cursor.as_deref(), LOAD_PAGE)
                .await?;
            for (msisdn, operator) in &page.entries {
                skipped += usize::from(builder.push(msisdn, operator).is_err());
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if skipped > 0 {
            tracing::warn!(skipped, "MNP overrides naming too many distinct operators");
        }
        let table = builder.finish(version);
        tracing::info!(
            version,
            overrides = table.base_len(),
            bytes = table.heap_bytes(),
            "MNP overrides loaded"
        );
        self.table.replace(table);
        Ok(())
    }

    /// Brings the copy up to the store's version: the changes since the version it holds, or a full
    /// load when the log no longer has them.
    pub async fn sync(&self, store: &dyn Store, plan: &NumberPlan) -> Result<Synced, StoreError> {
        let mut done = Synced::default();
        loop {
            match store
                .operator_override_changes(self.version(), SYNC_BATCH)
                .await?
            {
                OverrideChanges::Trimmed { .. } => {
                    // At most one reload per sync: a store that keeps answering `Trimmed` after one
                    // is reset behind us; the next tick tries again.
                    if done.reloads > 0 {
                        return Ok(done);
                    }
                    self.reload(store, plan).await?;
                    done.reloads += 1;
                }
                OverrideChanges::Changes { head, changes } => {
                    done.changes += changes.len();
                    let at = self.table.write(|t| apply(t, plan, &changes));
                    if changes.is_empty() || at >= head {
                        return Ok(done);
                    }
                }
            }
        }
    }

    /// Merges a grown delta into the compact array (a blocking merge: run it off the reactor).
    pub fn compact(&self) -> bool {
        self.table.compact_if_needed()
    }
}

/// Applies consecutive changes; returns the version reached.
fn apply(table: &mut PortedNumbers, plan: &NumberPlan, changes: &[OverrideChange]) -> u64 {
    for change in changes {
        if change.version != table.version() + 1 {
            // Never the case for a store keeping its contract; a gap would silently lose a change.
            tracing::warn!(
                at = table.version(),
                got = change.version,
                "MNP change log not consecutive"
            );
        }
        if let Err(e) = table.set(plan, &change.msisdn, change.operator_id.as_deref()) {
            tracing::warn!(error = %e, "MNP change not applied");
        }
        table.set_version(change.version);
    }
    table.version()
}

/// The operator a number belongs to now: its MNP override, else the number plan.
pub fn operator_of<'a>(live: &'a Live, msisdn: &Msisdn) -> Result<&'a OperatorInfo, ApiError> {
    live.router
        .operator_now(msisdn, &live.overrides.read())
        .map_err(ApiError::from)
}

/// Override first, then the number plan.
pub fn route<'a>(
    live: &'a Live,
    msisdn: &Msisdn,
    capability: Capability,
) -> Result<Route<'a>, ApiError> {
    live.router
        .route_now(msisdn, &live.overrides.read(), capability)
        .map_err(ApiError::from)
}

/// Loads the override table now, then syncs it every `interval`.
pub fn spawn_refresh(state: web::Data<AppState>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut loaded = false;
        loop {
            tick.tick().await;
            // The snapshot of this round: a reload may swap plan and table meanwhile.
            let live = state.live();
            let (store, plan) = (state.store.as_ref(), live.router.plan());
            let outcome = if loaded {
                live.overrides.sync(store, plan).await.map(|_| ())
            } else {
                live.overrides.reload(store, plan).await
            };
            match outcome {
                Ok(()) => loaded = true,
                Err(e) => tracing::warn!(error = %e, "MNP overrides not synced"),
            }
            let table = state.overrides().table.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || table.compact_if_needed()).await {
                tracing::warn!(error = %e, "MNP compaction failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_store::MemoryStore;

    fn plan() -> NumberPlan {
        NumberPlan::new(vec![
            OperatorInfo::new("movistar-es", "ES", &["+346"], &["EUR"]),
            OperatorInfo::new("telekom-de", "DE", &["+4915"], &["EUR"]),
        ])
        .unwrap()
    }

    fn n(i: u64) -> Msisdn {
        Msisdn::parse(&format!("+34{}", 600_000_000 + i)).unwrap()
    }

    #[test]
    fn local_set_and_remove() {
        let plan = plan();
        let o = Overrides::new(&plan);
        assert_eq!(o.get(&plan, &n(1)), None);
        o.set(&plan, &n(1), Some("telekom-de"));
        assert_eq!(o.get(&plan, &n(1)).as_deref(), Some("telekom-de"));
        o.set(&plan, &n(1), None);
        assert_eq!(o.get(&plan, &n(1)), None);
    }

    #[tokio::test]
    async fn loads_once_then_syncs_only_changes_and_reloads_after_a_trim() {
        let plan = plan();
        let store = MemoryStore::with_mnp_log_len(3);
        store
            .set_operator_override(&n(1), "telekom-de")
            .await
            .unwrap();
        store
            .set_operator_override(&n(2), "atlantis")
            .await
            .unwrap();
        let o = Overrides::new(&plan);
        o.reload(&store, &plan).await.unwrap();
        assert_eq!(o.version(), 2);
        assert_eq!(o.get(&plan, &n(2)).as_deref(), Some("atlantis"));

        store.remove_operator_override(&n(1)).await.unwrap();
        store
            .set_operator_override(&n(3), "movistar-es")
            .await
            .unwrap();
        let synced = o.sync(&store, &plan).await.unwrap();
        assert_eq!(
            synced,
            Synced {
                changes: 2,
                reloads: 0
            }
        );
        assert_eq!((o.version(), o.get(&plan, &n(1))), (4, None));
        assert_eq!(o.get(&plan, &n(3)).as_deref(), Some("movistar-es"));
        assert_eq!(o.sync(&store, &plan).await.unwrap(), Synced::default());

        for i in 10..15 {
            store
                .set_operator_override(&n(i), "telekom-de")
                .await
                .unwrap();
        }
        let synced = o.sync(&store, &plan).await.unwrap();
        assert_eq!(synced.reloads, 1, "five changes are past a log of three");
        assert_eq!(o.version(), 9);
        assert_eq!(o.get(&plan, &n(14)).as_deref(), Some("telekom-de"));
        assert_eq!(o.get(&plan, &n(3)).as_deref(), Some("movistar-es"));
    }
}
