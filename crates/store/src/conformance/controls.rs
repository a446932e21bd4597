//! Routing controls and the audit log: versioned compare-and-set, the change and its audit entry
//! together, newest entries first.

use std::future::Future;

use chrono::{TimeZone, Utc};

use crate::{AuditEntry, Store};

fn entry(n: i64, actor: &str) -> AuditEntry {
    AuditEntry {
        at: Utc.timestamp_opt(1_800_000_000 + n, 0).unwrap(),
        actor: actor.to_string(),
        action: format!("PATCH /admin/channels/c{n}"),
        before: r#"{"state":"enabled"}"#.to_string(),
        after: r#"{"state":"disabled"}"#.to_string(),
    }
}

pub async fn run<S, F, Fut>(fresh: &F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    a_change_is_versioned_and_audited(&fresh().await).await;
}

async fn a_change_is_versioned_and_audited(store: &dyn Store) {
    let start = store.routing_controls().await.unwrap();
    assert_eq!((start.version, start.document.as_str()), (0, ""));
    assert!(store.audit_log(10).await.unwrap().is_empty());

    let doc = r#"{"channels":{"a{b}":{"state":"disabled"}}}"#;
    assert_eq!(
        store
            .set_routing_controls(0, doc, &entry(1, "alice"))
            .await
            .unwrap(),
        Some(1)
    );
    // A writer that read version 0 lost the race: nothing written, no audit entry.
    assert_eq!(
        store
            .set_routing_controls(0, "{}", &entry(2, "bob"))
            .await
            .unwrap(),
        None
    );
    let now = store.routing_controls().await.unwrap();
    assert_eq!((now.version, now.document.as_str()), (1, doc));
    assert_eq!(
        store
            .set_routing_controls(1, "{}", &entry(3, "bob"))
            .await
            .unwrap(),
        Some(2)
    );

    let log = store.audit_log(10).await.unwrap();
    assert_eq!(
        log,
        vec![entry(3, "bob"), entry(1, "alice")],
        "newest first"
    );
    assert_eq!(store.audit_log(1).await.unwrap(), vec![entry(3, "bob")]);
    assert!(store.audit_log(0).await.unwrap().is_empty());
}
