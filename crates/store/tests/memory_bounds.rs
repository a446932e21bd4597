//! The memory store stays bounded: claims expire after the idempotency TTL (as on Redis), finished
//! records go the TTL after they finished, and the record count is capped without ever dropping a
//! record that is still unsettled or marked for review.

use std::time::Duration;

use switchboard_core::{PaymentStatus, TopUpStatus};
use switchboard_store::conformance::{sample_payment, sample_topup};
use switchboard_store::{
    IdempotencyKey, InsertOutcome, MemorySettings, MemoryStore, Store, StoreError, TopUpInsert,
};

fn cc(key: &str) -> IdempotencyKey {
    IdempotencyKey::ClientCorrelator(key.into())
}

fn store(ttl_ms: u64, max_records: usize) -> MemoryStore {
    MemoryStore::with_settings(MemorySettings {
        idempotency_ttl: Duration::from_millis(ttl_ms),
        max_records,
    })
}

fn pending(id: &str) -> switchboard_core::PaymentRecord {
    let mut p = sample_payment(id, "m1", 1);
    p.status = PaymentStatus::Processing;
    p.next_check_at = Some(chrono::Utc::now());
    p
}

async fn insert(
    store: &MemoryStore,
    p: &switchboard_core::PaymentRecord,
    key: &str,
) -> InsertOutcome {
    store.insert_payment(p, &[cc(key)]).await.unwrap()
}

#[tokio::test]
async fn after_the_ttl_finished_records_go_and_every_claim_is_free_again() {
    let store = store(60, 100);
    let done = sample_payment("p1", "m1", 1);
    assert_eq!(insert(&store, &done, "c1").await, InsertOutcome::Inserted);
    assert_eq!(
        insert(&store, &pending("p2"), "c2").await,
        InsertOutcome::Inserted
    );
    let topup = sample_topup("t1", "m1", "x1");
    assert_eq!(
        store.insert_topup(&topup).await.unwrap(),
        TopUpInsert::Inserted
    );
    let mut completed = topup.clone();
    completed.status = TopUpStatus::Completed;
    completed.version = 2;
    store.update_topup(&completed, 1, &[]).await.unwrap();
    // Within the TTL the claim answers the original.
    assert!(matches!(
        insert(&store, &sample_payment("p1-again", "m1", 1), "c1").await,
        InsertOutcome::Existing { .. }
    ));
    tokio::time::sleep(Duration::from_millis(120)).await;
    // The next write sweeps what expired.
    assert_eq!(
        insert(&store, &sample_payment("p3", "m1", 2), "c3").await,
        InsertOutcome::Inserted
    );
    assert!(
        store.get_payment("m1", "p1").await.unwrap().is_none(),
        "finished: gone"
    );
    assert!(
        store.get_topup("m1", "t1").await.unwrap().is_none(),
        "finished top-up: gone"
    );
    assert!(
        store.get_payment("m1", "p2").await.unwrap().is_some(),
        "unsettled: kept"
    );
    let listed = store
        .list_payments("m1", &Default::default())
        .await
        .unwrap();
    let ids: Vec<&str> = listed.items.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p3", "p2"], "the list index lost the dropped payment");
    assert_eq!(listed.total, 2);
    // As on Redis the claims expired, also the unsettled payment's.
    assert_eq!(
        insert(&store, &sample_payment("p4", "m1", 3), "c1").await,
        InsertOutcome::Inserted
    );
    assert_eq!(
        insert(&store, &sample_payment("p5", "m1", 3), "c2").await,
        InsertOutcome::Inserted
    );
    assert_eq!(
        store
            .insert_topup(&sample_topup("t2", "m1", "x1"))
            .await
            .unwrap(),
        TopUpInsert::Inserted
    );
    // The unsettled one is still due for reconciliation.
    let due = store
        .due_for_reconciliation(&["m1".into()], chrono::Utc::now(), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, "p2");
}

#[tokio::test]
async fn at_the_cap_the_oldest_finished_record_goes_first() {
    let store = store(3_600_000, 3);
    for (i, id) in ["p1", "p2", "p3"].iter().enumerate() {
        let p = sample_payment(id, "m1", i as u32);
        assert_eq!(insert(&store, &p, id).await, InsertOutcome::Inserted);
    }
    assert_eq!(
        insert(&store, &sample_payment("p4", "m1", 4), "p4").await,
        InsertOutcome::Inserted
    );
    assert!(store.get_payment("m1", "p1").await.unwrap().is_none());
    for id in ["p2", "p3", "p4"] {
        assert!(store.get_payment("m1", id).await.unwrap().is_some(), "{id}");
    }
    assert_eq!(
        store
            .list_payments("m1", &Default::default())
            .await
            .unwrap()
            .total,
        3
    );
}

#[tokio::test]
async fn unsettled_records_are_never_dropped_and_a_full_store_refuses_with_a_typed_error() {
    let store = store(3_600_000, 2);
    let a = pending("a");
    assert_eq!(insert(&store, &a, "a").await, InsertOutcome::Inserted);
    let mut reviewed = sample_payment("b", "m1", 2);
    reviewed.needs_review = true;
    assert_eq!(
        insert(&store, &reviewed, "b").await,
        InsertOutcome::Inserted
    );
    let refused = store
        .insert_payment(&sample_payment("c", "m1", 3), &[cc("c")])
        .await;
    assert!(matches!(refused, Err(StoreError::Full(_))), "{refused:?}");
    assert!(
        store.get_payment("m1", "c").await.unwrap().is_none(),
        "nothing written"
    );
    let topup = store.insert_topup(&sample_topup("t", "m1", "x")).await;
    assert!(matches!(topup, Err(StoreError::Full(_))));
    assert!(store.get_payment("m1", "a").await.unwrap().is_some());
    assert!(store.get_payment("m1", "b").await.unwrap().is_some());
    // Once one settles, it is what makes room.
    let mut settled = a.clone();
    settled.status = PaymentStatus::Succeeded;
    settled.next_check_at = None;
    settled.version = 2;
    store.update_payment(&settled, 1, &[], &[]).await.unwrap();
    assert_eq!(
        insert(&store, &sample_payment("c", "m1", 3), "c").await,
        InsertOutcome::Inserted
    );
    assert!(store.get_payment("m1", "a").await.unwrap().is_none());
    assert!(
        store.get_payment("m1", "b").await.unwrap().is_some(),
        "the review stays"
    );
}

#[tokio::test]
async fn a_payment_with_an_unsettled_refund_stays() {
    let store = store(3_600_000, 1);
    let paid = sample_payment("p", "m1", 1);
    assert_eq!(insert(&store, &paid, "p").await, InsertOutcome::Inserted);
    // Processing: still waiting on the operator.
    let refund = switchboard_store::conformance::sample_refund("r", "m1", "p", "0.5", 1);
    store
        .insert_refund(
            &refund,
            &[],
            paid.payment_amount.charging_information.amount,
        )
        .await
        .unwrap();
    let refused = store
        .insert_payment(&sample_payment("q", "m1", 2), &[cc("q")])
        .await;
    assert!(matches!(refused, Err(StoreError::Full(_))), "{refused:?}");
    assert!(store.get_payment("m1", "p").await.unwrap().is_some());
    assert!(store.get_refund("m1", "p", "r").await.unwrap().is_some());
}
