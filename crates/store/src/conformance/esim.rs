//! eSIM orders: one order per merchant key, keys apart from the top-ups', compare-and-set, reads
//! scoped to the merchant, one winner among concurrent claims.

use std::future::Future;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use switchboard_core::topup::EsimOrder;
use switchboard_core::{ApiError, ErrorCode, EsimOrderRecord, EsimOrderStatus, NewEsimOrder};

use crate::{EsimInsert, Store, TopUpInsert, UpdateOutcome};

/// A claimed order of `merchant` for product `p` under `key` (none: the order's id is its key).
pub fn sample_esim_order(merchant: &str, key: Option<&str>) -> EsimOrderRecord {
    let at = Utc
        .with_ymd_and_hms(2026, 1, 1, 10, 0, 0)
        .single()
        .expect("valid date");
    EsimOrderRecord::claimed(
        NewEsimOrder {
            merchant_id: merchant.into(),
            product_id: "p".into(),
            external_order_id: key.map(str::to_string),
        },
        "op".into(),
        at,
        at,
    )
}

pub async fn run<S, F, Fut>(fresh: &F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    claims_once_per_merchant(&fresh().await).await;
    keys_apart_from_top_ups_and_unusual(&fresh().await).await;
    compare_and_set_and_round_trip(&fresh().await).await;
    concurrent_claims_have_one_winner(Arc::new(fresh().await)).await;
}

async fn claims_once_per_merchant(store: &dyn Store) {
    let first = sample_esim_order("m1", Some("o-1"));
    assert_eq!(
        store.insert_esim_order(&first).await.unwrap(),
        EsimInsert::Inserted
    );
    let again = sample_esim_order("m1", Some("o-1"));
    match store.insert_esim_order(&again).await.unwrap() {
        EsimInsert::Existing(existing) => assert_eq!(*existing, first),
        other => panic!("expected the first order, got {other:?}"),
    }
    assert_eq!(store.get_esim_order("m1", &again.id).await.unwrap(), None);
    // The same key is another merchant's own; reads never cross merchants.
    let theirs = sample_esim_order("m2", Some("o-1"));
    assert_eq!(
        store.insert_esim_order(&theirs).await.unwrap(),
        EsimInsert::Inserted
    );
    assert_eq!(store.get_esim_order("m2", &first.id).await.unwrap(), None);
    assert_eq!(
        store.get_esim_order("m1", &first.id).await.unwrap(),
        Some(first)
    );
    // Orders without a merchant key never meet.
    for _ in 0..2 {
        let anonymous = sample_esim_order("m1", None);
        assert_eq!(
            store.insert_esim_order(&anonymous).await.unwrap(),
            EsimInsert::Inserted
        );
    }
}

async fn keys_apart_from_top_ups_and_unusual(store: &dyn Store) {
    let topup = super::sample_topup("t1", "m1", "x:{1}");
    assert_eq!(
        store.insert_topup(&topup).await.unwrap(),
        TopUpInsert::Inserted
    );
    for key in ["x:{1}", "x", "x:%7B1%7D", "ü } {"] {
        let order = sample_esim_order("m1", Some(key));
        assert_eq!(
            store.insert_esim_order(&order).await.unwrap(),
            EsimInsert::Inserted,
            "{key}"
        );
    }
}

async fn compare_and_set_and_round_trip(store: &dyn Store) {
    let claimed = sample_esim_order("m1", Some("o-2"));
    store.insert_esim_order(&claimed).await.unwrap();
    let mut ordered = claimed.clone();
    ordered.channel_id = Some("globaltopup".into());
    ordered.take_order(
        &EsimOrder {
            order_id: "up-9".into(),
            status: "completed".into(),
            product_id: "p".into(),
            iccid: Some("8933000000000000017".into()),
            qr_code: "LPA:1$smdp.example.test$K-1".into(),
            created_at: claimed.created_at,
        },
        claimed.created_at,
    );
    ordered.version = 2;
    assert_eq!(
        store.update_esim_order(&ordered, 1).await.unwrap(),
        UpdateOutcome::Updated
    );
    let mut stale = claimed.clone();
    stale.refuse(&ApiError::of(ErrorCode::Unavailable), claimed.created_at);
    stale.version = 2;
    assert_eq!(
        store.update_esim_order(&stale, 1).await.unwrap(),
        UpdateOutcome::Conflict(Box::new(ordered.clone()))
    );
    let read = store.get_esim_order("m1", &claimed.id).await.unwrap();
    assert_eq!(read.as_ref(), Some(&ordered));
    assert_eq!(read.map(|r| r.status), Some(EsimOrderStatus::Ordered));
    // Another merchant's write of the same id finds nothing.
    let mut foreign = ordered.clone();
    foreign.merchant_id = "m2".into();
    foreign.version = 3;
    assert_eq!(
        store.update_esim_order(&foreign, 2).await.unwrap(),
        UpdateOutcome::Missing
    );
    // A failure keeps the error the merchant was told.
    let mut failed = sample_esim_order("m1", Some("o-3"));
    store.insert_esim_order(&failed).await.unwrap();
    failed.refuse(
        &ApiError::new(ErrorCode::ServiceNotApplicable, "not an eSIM product"),
        failed.created_at,
    );
    failed.version = 2;
    store.update_esim_order(&failed, 1).await.unwrap();
    let read = store.get_esim_order("m1", &failed.id).await.unwrap();
    assert_eq!(read.and_then(|r| r.failure), failed.failure);
}

async fn concurrent_claims_have_one_winner<S: Store>(store: Arc<S>) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_esim_order(&sample_esim_order("m1", Some("race")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut inserted = 0;
    for task in tasks {
        if task.await.unwrap() == EsimInsert::Inserted {
            inserted += 1;
        }
    }
    assert_eq!(inserted, 1);
}
