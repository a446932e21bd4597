//! The behaviour every [`Store`] backend must show. Each backend's tests call [`run_all`] with a
//! factory for fresh, empty stores, so memory, Redis and Redis Cluster are held to the same rules.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use switchboard_core::{
    ApiError, ChargingInformation, ChargingMetaData, Msisdn, PaymentAmount, PaymentFlow,
    PaymentRecord, PaymentStatus, Phase,
};

use crate::{IdempotencyKey, InsertOutcome, PaymentQuery, SortOrder, Store, UpdateOutcome};

/// A visible payment of `merchant` created at `minute` past a fixed hour.
pub fn sample_payment(id: &str, merchant: &str, minute: u32) -> PaymentRecord {
    let created: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 1, 1, 10, minute, 0)
        .single()
        .expect("valid date");
    let amount: ChargingInformation = ChargingInformation {
        amount: "1.5".parse().expect("valid amount"),
        currency: switchboard_core::Currency::parse("EUR").expect("valid sample"),
        description: "test".into(),
        is_tax_included: None,
        tax_amount: None,
    };
    PaymentRecord {
        id: id.into(),
        merchant_id: merchant.into(),
        flow: PaymentFlow::OneStep,
        phase: Phase::Live,
        status: PaymentStatus::Succeeded,
        version: 1,
        msisdn: Msisdn::parse("+34600000001").expect("valid sample"),
        operator_id: "op".into(),
        channel_id: Some("ch".into()),
        client_correlator: None,
        reference_code: format!("ref-{id}"),
        payment_amount: PaymentAmount {
            charging_information: amount,
            charging_meta_data: None,
            payment_details: None,
        },
        upstream_correlator: PaymentRecord::upstream_correlator_for(id),
        upstream_id: None,
        server_reference_code: None,
        validation_info: None,
        validation_attempts: 0,
        pending_action: None,
        sink: None,
        sink_credential: None,
        created_at: created,
        updated_at: created,
        payment_date: None,
        denial_reason: None,
        fingerprint: "fp".into(),
        needs_review: false,
        reconcile_attempts: 0,
        next_check_at: None,
    }
}

fn cc(key: &str) -> IdempotencyKey {
    IdempotencyKey::ClientCorrelator(key.into())
}

fn rc(key: &str) -> IdempotencyKey {
    IdempotencyKey::ReferenceCode(key.into())
}

/// Runs every check, each on a fresh store from `fresh`.
pub async fn run_all<S, F, Fut>(fresh: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    claims_keys_once_per_merchant(&fresh().await).await;
    compare_and_set_detects_concurrent_writers(&fresh().await).await;
    released_keys_can_be_claimed_again(&fresh().await).await;
    reads_are_scoped_to_the_merchant(&fresh().await).await;
    lists_filter_sort_and_paginate(&fresh().await).await;
    reconciliation_sees_only_due_unsettled_payments(&fresh().await).await;
    concurrent_claims_have_one_winner(Arc::new(fresh().await)).await;
}

async fn claims_keys_once_per_merchant(store: &dyn Store) {
    let p1 = sample_payment("p1", "m1", 1);
    let keys = [cc("c1"), rc("r1")];
    assert_eq!(
        store.insert_payment(&p1, &keys).await.unwrap(),
        InsertOutcome::Inserted
    );
    let p2 = sample_payment("p2", "m1", 2);
    match store
        .insert_payment(&p2, &[cc("c1"), rc("r2")])
        .await
        .unwrap()
    {
        InsertOutcome::Existing { key, existing } => {
            assert_eq!(key, cc("c1"));
            assert_eq!(existing.id, "p1");
        }
        other => panic!("expected existing, got {other:?}"),
    }
    match store
        .insert_payment(&p2, &[cc("c2"), rc("r1")])
        .await
        .unwrap()
    {
        InsertOutcome::Existing { key, .. } => assert_eq!(key, rc("r1")),
        other => panic!("expected existing, got {other:?}"),
    }
    // Nothing of the refused insert was written: p2's own keys are still free.
    assert!(store.get_payment("m1", "p2").await.unwrap().is_none());
    assert_eq!(
        store
            .insert_payment(&p2, &[cc("c2"), rc("r2")])
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
    // The same key is free for another merchant.
    let other = sample_payment("p3", "m2", 3);
    assert_eq!(
        store.insert_payment(&other, &keys).await.unwrap(),
        InsertOutcome::Inserted
    );
}

async fn compare_and_set_detects_concurrent_writers(store: &dyn Store) {
    let mut p = sample_payment("p1", "m1", 1);
    p.status = PaymentStatus::Processing;
    store.insert_payment(&p, &[]).await.unwrap();
    let mut a = p.clone();
    a.status = PaymentStatus::Succeeded;
    a.version = 2;
    let mut b = p.clone();
    b.status = PaymentStatus::Denied;
    b.version = 2;
    assert_eq!(
        store.update_payment(&a, 1, &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    match store.update_payment(&b, 1, &[]).await.unwrap() {
        UpdateOutcome::Conflict(now) => assert_eq!(now.status, PaymentStatus::Succeeded),
        other => panic!("expected conflict, got {other:?}"),
    }
    let stored = store.get_payment("m1", "p1").await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.version),
        (PaymentStatus::Succeeded, 2)
    );
    let ghost = sample_payment("nope", "m1", 1);
    assert_eq!(
        store.update_payment(&ghost, 1, &[]).await.unwrap(),
        UpdateOutcome::Missing
    );
}

async fn released_keys_can_be_claimed_again(store: &dyn Store) {
    let mut p = sample_payment("p1", "m1", 1);
    p.phase = Phase::Submitting;
    store
        .insert_payment(&p, &[cc("c1"), rc("r1")])
        .await
        .unwrap();
    let mut rejected = p.clone();
    rejected.phase = Phase::Rejected(ApiError::of(switchboard_core::ErrorCode::PaymentDenied));
    rejected.version = 2;
    assert_eq!(
        store
            .update_payment(&rejected, 1, &[rc("r1")])
            .await
            .unwrap(),
        UpdateOutcome::Updated
    );
    let retry = sample_payment("p2", "m1", 2);
    // The clientCorrelator still replays the refusal; the referenceCode is free again.
    match store.insert_payment(&retry, &[cc("c1")]).await.unwrap() {
        InsertOutcome::Existing { existing, .. } => {
            assert!(matches!(existing.phase, Phase::Rejected(_)))
        }
        other => panic!("expected existing, got {other:?}"),
    }
    assert_eq!(
        store
            .insert_payment(&retry, &[cc("c2"), rc("r1")])
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
}

async fn reads_are_scoped_to_the_merchant(store: &dyn Store) {
    store
        .insert_payment(&sample_payment("p1", "m1", 1), &[])
        .await
        .unwrap();
    assert!(store.get_payment("m1", "p1").await.unwrap().is_some());
    assert!(store.get_payment("m2", "p1").await.unwrap().is_none());
    let page = store
        .list_payments("m2", &PaymentQuery::default())
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total), (0, 0));
    // A forged update from another merchant is refused.
    let mut forged = sample_payment("p1", "m2", 1);
    forged.version = 2;
    assert!(matches!(
        store.update_payment(&forged, 1, &[]).await.unwrap(),
        UpdateOutcome::Conflict(_)
    ));
}

async fn lists_filter_sort_and_paginate(store: &dyn Store) {
    for minute in 0..12u32 {
        let mut p = sample_payment(&format!("p{minute:02}"), "m1", minute);
        if minute % 3 == 0 {
            p.status = PaymentStatus::Denied;
        }
        if minute == 5 {
            p.payment_amount.charging_meta_data = Some(ChargingMetaData {
                merchant_identifier: Some("shop-5".into()),
                ..Default::default()
            });
        }
        if minute == 11 {
            p.phase = Phase::Submitting; // invisible
        }
        store.insert_payment(&p, &[]).await.unwrap();
    }
    let all = store
        .list_payments("m1", &PaymentQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total, 11, "submitting payments are not listed");
    assert_eq!(all.items.len(), 10);
    assert_eq!(all.items[0].id, "p10", "newest first by default");
    let q = PaymentQuery {
        order: SortOrder::Asc,
        page: 2,
        per_page: 4,
        ..Default::default()
    };
    let page = store.list_payments("m1", &q).await.unwrap();
    let ids: Vec<_> = page.items.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p04", "p05", "p06", "p07"]);
    let denied = PaymentQuery {
        statuses: vec![PaymentStatus::Denied],
        ..Default::default()
    };
    assert_eq!(store.list_payments("m1", &denied).await.unwrap().total, 4);
    let base = Utc
        .with_ymd_and_hms(2026, 1, 1, 10, 0, 0)
        .single()
        .expect("valid date");
    let range = PaymentQuery {
        created_gte: Some(base + Duration::minutes(2)),
        created_lte: Some(base + Duration::minutes(4)),
        ..Default::default()
    };
    assert_eq!(store.list_payments("m1", &range).await.unwrap().total, 3);
    let shop = PaymentQuery {
        merchant_identifier: Some("shop-5".into()),
        ..Default::default()
    };
    let found = store.list_payments("m1", &shop).await.unwrap();
    assert_eq!((found.total, found.items[0].id.as_str()), (1, "p05"));
    let beyond = PaymentQuery {
        page: 5,
        per_page: 10,
        ..Default::default()
    };
    assert!(store
        .list_payments("m1", &beyond)
        .await
        .unwrap()
        .items
        .is_empty());
}

async fn reconciliation_sees_only_due_unsettled_payments(store: &dyn Store) {
    let now = Utc::now();
    let mut due = sample_payment("due", "m1", 1);
    due.status = PaymentStatus::Processing;
    due.next_check_at = Some(now - Duration::seconds(1));
    let mut later = sample_payment("later", "m1", 2);
    later.status = PaymentStatus::Processing;
    later.next_check_at = Some(now + Duration::seconds(60));
    let mut settled = sample_payment("settled", "m1", 3);
    settled.next_check_at = Some(now - Duration::seconds(1));
    let mut review = due.clone();
    review.id = "review".into();
    review.needs_review = true;
    let mut elsewhere = due.clone();
    elsewhere.id = "elsewhere".into();
    elsewhere.merchant_id = "m2".into();
    for p in [&due, &later, &settled, &review, &elsewhere] {
        store.insert_payment(p, &[]).await.unwrap();
    }
    let found = store
        .due_for_reconciliation(&["m1".to_string()], now, 10)
        .await
        .unwrap();
    let ids: Vec<_> = found.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["due"]);
    let both = store
        .due_for_reconciliation(&["m1".to_string(), "m2".to_string()], now, 10)
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    // A payment moved on by an update is no longer due.
    let mut settled_now = due.clone();
    settled_now.status = PaymentStatus::Succeeded;
    settled_now.next_check_at = None;
    settled_now.version = 2;
    store.update_payment(&settled_now, 1, &[]).await.unwrap();
    assert!(store
        .due_for_reconciliation(&["m1".to_string()], now, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn concurrent_claims_have_one_winner<S: Store>(store: Arc<S>) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let p = sample_payment(&format!("p{i}"), "m1", 1);
            store.insert_payment(&p, &[cc("same")]).await.unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap() == InsertOutcome::Inserted {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}
