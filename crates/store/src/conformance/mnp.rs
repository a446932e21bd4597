//! Conformance for the MNP overrides: the table, its paging, and the versioned change log a
//! replica syncs from.

use std::collections::BTreeMap;

use switchboard_core::Msisdn;

use crate::{valid_cursor, OverrideChange, OverrideChanges, Store};

/// The log length for [`a_replica_catches_up_after_trim`]: backends build such a store themselves
/// (`with_mnp_log_len`).
pub const SHORT_LOG: usize = 4;

fn num(i: u64) -> Msisdn {
    Msisdn::parse(&format!("+34{}", 600_000_000 + i)).expect("valid sample")
}

/// Every check that needs no special store, each on a fresh store.
pub(super) async fn run<S, F, Fut>(fresh: &F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    set_replace_remove_and_list(&fresh().await).await;
    changes_are_versioned_and_logged(&fresh().await).await;
    pages_walk_a_large_table(&fresh().await).await;
}

/// The whole table, walked `limit` at a time, ordered by number.
async fn all(store: &dyn Store, limit: usize) -> (Vec<(Msisdn, String)>, usize) {
    let mut out = BTreeMap::new();
    let (mut cursor, mut pages) = (None, 0);
    loop {
        let page = store
            .operator_override_page(cursor.as_deref(), limit)
            .await
            .unwrap();
        pages += 1;
        out.extend(page.entries);
        match page.next {
            Some(next) => {
                assert!(valid_cursor(&next), "{next}");
                cursor = Some(next);
            }
            None => return (out.into_iter().collect(), pages),
        }
        assert!(pages < 10_000, "the walk ends");
    }
}

async fn set_replace_remove_and_list(store: &dyn Store) {
    let a = num(2);
    let b = num(1);
    let c = Msisdn::parse("+447700900123").expect("valid sample");
    assert!(all(store, 10).await.0.is_empty());
    assert!(!store.remove_operator_override(&a).await.unwrap());
    store
        .set_operator_override(&a, "movistar-es")
        .await
        .unwrap();
    store.set_operator_override(&b, "orange-es").await.unwrap();
    store.set_operator_override(&c, "op{1}:x ü").await.unwrap();
    // Replacing keeps one entry per number.
    store
        .set_operator_override(&a, "vodafone-es")
        .await
        .unwrap();
    assert_eq!(
        all(store, 2).await.0,
        [
            (b.clone(), "orange-es".to_string()),
            (a.clone(), "vodafone-es".to_string()),
            (c.clone(), "op{1}:x ü".to_string()),
        ]
    );
    assert!(store.remove_operator_override(&a).await.unwrap());
    assert!(!store.remove_operator_override(&a).await.unwrap());
    assert_eq!(
        all(store, 10).await.0,
        [
            (b.clone(), "orange-es".to_string()),
            (c.clone(), "op{1}:x ü".to_string()),
        ]
    );
    assert!(store.remove_operator_override(&b).await.unwrap());
    assert!(store.remove_operator_override(&c).await.unwrap());
    assert!(all(store, 10).await.0.is_empty());
}

fn change(version: u64, i: u64, operator: Option<&str>) -> OverrideChange {
    OverrideChange {
        version,
        msisdn: num(i),
        operator_id: operator.map(str::to_string),
    }
}

async fn changes_are_versioned_and_logged(store: &dyn Store) {
    let empty = |head| OverrideChanges::Changes {
        head,
        changes: vec![],
    };
    assert_eq!(store.operator_override_version().await.unwrap(), 0);
    assert_eq!(
        store.operator_override_changes(0, 10).await.unwrap(),
        empty(0)
    );
    store.set_operator_override(&num(1), "a").await.unwrap();
    store.set_operator_override(&num(1), "a").await.unwrap();
    store.set_operator_override(&num(2), "b").await.unwrap();
    store.set_operator_override(&num(1), "c{x}").await.unwrap();
    assert!(!store.remove_operator_override(&num(3)).await.unwrap());
    assert!(store.remove_operator_override(&num(2)).await.unwrap());
    assert_eq!(
        store.operator_override_version().await.unwrap(),
        4,
        "writes that change nothing are not versions"
    );
    assert_eq!(
        store.operator_override_changes(0, 10).await.unwrap(),
        OverrideChanges::Changes {
            head: 4,
            changes: vec![
                change(1, 1, Some("a")),
                change(2, 2, Some("b")),
                change(3, 1, Some("c{x}")),
                change(4, 2, None),
            ]
        }
    );
    assert_eq!(
        store.operator_override_changes(1, 2).await.unwrap(),
        OverrideChanges::Changes {
            head: 4,
            changes: vec![change(2, 2, Some("b")), change(3, 1, Some("c{x}"))]
        },
        "after the version asked for, at most the limit"
    );
    assert_eq!(
        store.operator_override_changes(4, 10).await.unwrap(),
        empty(4)
    );
    assert_eq!(
        store.operator_override_changes(9, 10).await.unwrap(),
        OverrideChanges::Trimmed { head: 4 },
        "a replica ahead of the store (reset behind it) must reload"
    );
}

async fn pages_walk_a_large_table(store: &dyn Store) {
    // Past Redis's small-hash encoding (128 or 512 entries), so the scan really pages.
    for i in 0..1000 {
        store
            .set_operator_override(&num(i), &format!("op{}", i % 7))
            .await
            .unwrap();
    }
    let (listed, pages) = all(store, 100).await;
    assert_eq!(listed.len(), 1000);
    assert!(listed.iter().all(|(m, op)| {
        let i = m.digits()[2..].parse::<u64>().unwrap() - 600_000_000;
        *op == format!("op{}", i % 7)
    }));
    assert!(pages > 1, "a large table comes in pages");
}

/// A replica's copy: the protocol of `mnp.rs`, as the gateway runs it.
#[derive(Default)]
struct Replica {
    table: BTreeMap<Msisdn, String>,
    version: u64,
    reloads: usize,
}

impl Replica {
    async fn reload(&mut self, store: &dyn Store) {
        self.version = store.operator_override_version().await.unwrap();
        self.table = all(store, 3).await.0.into_iter().collect();
        self.reloads += 1;
    }

    async fn sync(&mut self, store: &dyn Store) {
        loop {
            match store
                .operator_override_changes(self.version, 2)
                .await
                .unwrap()
            {
                OverrideChanges::Trimmed { .. } => self.reload(store).await,
                OverrideChanges::Changes { head, changes } => {
                    for c in &changes {
                        assert_eq!(c.version, self.version + 1, "consecutive versions");
                        match &c.operator_id {
                            Some(op) => self.table.insert(c.msisdn.clone(), op.clone()),
                            None => self.table.remove(&c.msisdn),
                        };
                        self.version = c.version;
                    }
                    if changes.is_empty() {
                        assert_eq!(self.version, head);
                        return;
                    }
                }
            }
        }
    }
}

/// On a store whose log keeps [`SHORT_LOG`] changes: a replica that falls behind the log reloads
/// the table, and one that keeps up never does; writes during a reload are not lost.
pub async fn a_replica_catches_up_after_trim(store: &dyn Store) {
    let truth = |store| async move { all(store, 100).await.0 };
    for i in 0..10 {
        store.set_operator_override(&num(i), "a").await.unwrap();
    }
    let mut replica = Replica::default();
    replica.sync(store).await;
    assert_eq!(
        replica.reloads, 1,
        "ten changes are past a log of {SHORT_LOG}"
    );
    assert_eq!(
        replica
            .table
            .iter()
            .map(|(m, o)| (m.clone(), o.clone()))
            .collect::<Vec<_>>(),
        truth(store).await
    );

    // Within the log: incremental.
    store.set_operator_override(&num(1), "b").await.unwrap();
    store.remove_operator_override(&num(2)).await.unwrap();
    store.set_operator_override(&num(20), "c").await.unwrap();
    replica.sync(store).await;
    assert_eq!(replica.reloads, 1, "caught up from the log");
    assert_eq!(replica.version, 13);
    assert_eq!(replica.table.len(), 10);
    assert_eq!(replica.table.get(&num(1)).map(String::as_str), Some("b"));

    // Behind the log: reload, then incremental again.
    for i in 30..30 + SHORT_LOG as u64 + 2 {
        store.set_operator_override(&num(i), "d").await.unwrap();
    }
    replica.sync(store).await;
    assert_eq!(replica.reloads, 2);
    let now: Vec<_> = replica.table.clone().into_iter().collect();
    assert_eq!(now, truth(store).await);

    // A write in the middle of a walk is settled by the changes replayed after it.
    let since = store.operator_override_version().await.unwrap();
    let first = store.operator_override_page(None, 3).await.unwrap();
    store.remove_operator_override(&num(0)).await.unwrap();
    store.set_operator_override(&num(3), "e").await.unwrap();
    let mut walked = Replica {
        table: first.entries.into_iter().collect(),
        version: since,
        reloads: 0,
    };
    let mut cursor = first.next;
    while let Some(c) = cursor {
        let page = store.operator_override_page(Some(&c), 3).await.unwrap();
        walked.table.extend(page.entries);
        cursor = page.next;
    }
    walked.sync(store).await;
    assert_eq!(walked.reloads, 0);
    let now: Vec<_> = walked.table.into_iter().collect();
    assert_eq!(now, truth(store).await);
}
