//! The refund part of the conformance suite: claims, the remaining-amount guard (also under
//! concurrency), compare-and-set, scoping, lists and the due index.

use std::future::Future;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use switchboard_core::{Amount, Currency, Phase, RefundRecord, RefundStatus, RefundType};

use crate::{IdempotencyKey, RefundInsert, RefundQuery, SortOrder, Store, UpdateOutcome};

fn amount(text: &str) -> Amount {
    text.parse().unwrap()
}

/// A live `processing` partial refund of `payment` created `minute` minutes into 2026.
pub fn sample_refund(
    id: &str,
    merchant: &str,
    payment: &str,
    value: &str,
    minute: u32,
) -> RefundRecord {
    let created = Utc.with_ymd_and_hms(2026, 1, 1, 0, minute, 0).unwrap();
    RefundRecord {
        id: id.into(),
        merchant_id: merchant.into(),
        payment_id: payment.into(),
        refund_type: RefundType::Partial,
        amount: amount(value),
        currency: Currency::parse("EUR").unwrap(),
        charging_information: None,
        merchant_identifier: None,
        refund_details: None,
        reason: Some("broken".into()),
        client_correlator: None,
        reference_code: format!("ref-{id}"),
        phase: Phase::Live,
        status: RefundStatus::Processing,
        channel_id: Some("ch".into()),
        upstream_correlator: RefundRecord::upstream_correlator_for(id),
        upstream_id: None,
        sink: None,
        sink_credential: None,
        correlator: None,
        created_at: created,
        updated_at: created,
        refund_date: None,
        denial_reason: None,
        version: 1,
        next_check_at: None,
        reconcile_attempts: 0,
        needs_review: false,
        fingerprint: format!("f-{id}"),
    }
}

fn cc(v: &str) -> IdempotencyKey {
    IdempotencyKey::ClientCorrelator(v.into())
}

fn rc(v: &str) -> IdempotencyKey {
    IdempotencyKey::ReferenceCode(v.into())
}

pub(super) async fn run<S, F, Fut>(fresh: &F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    refund_claims_and_guard(&fresh().await).await;
    total_refund_takes_exactly_what_is_left(&fresh().await).await;
    denied_refunds_release_and_cas_works(&fresh().await).await;
    refunds_are_scoped(&fresh().await).await;
    refund_lists_filter_sort_and_paginate(&fresh().await).await;
    refund_due_index_follows_updates(&fresh().await).await;
    concurrent_refunds_never_exceed_the_payment(Arc::new(fresh().await)).await;
}

async fn refund_claims_and_guard(store: &dyn Store) {
    let paid = amount("80");
    let r1 = sample_refund("r1", "m1", "p1", "20", 1);
    assert_eq!(
        store
            .insert_refund(&r1, &[cc("c1"), rc("x1")], paid)
            .await
            .unwrap(),
        RefundInsert::Inserted
    );
    // The same clientCorrelator finds the refund, even when the new one would not fit.
    let big = sample_refund("r2", "m1", "p1", "79", 2);
    match store
        .insert_refund(&big, &[cc("c1"), rc("x2")], paid)
        .await
        .unwrap()
    {
        RefundInsert::Existing { key, existing } => {
            assert_eq!(key, cc("c1"));
            assert_eq!(*existing, r1);
        }
        other => panic!("expected Existing, got {other:?}"),
    }
    // Over what is left: nothing written, the keys stay free.
    assert_eq!(
        store
            .insert_refund(&big, &[cc("c2"), rc("x2")], paid)
            .await
            .unwrap(),
        RefundInsert::OverRemaining {
            remaining: amount("60")
        }
    );
    assert_eq!(store.get_refund("m1", "p1", "r2").await.unwrap(), None);
    let fits = sample_refund("r3", "m1", "p1", "59.999", 3);
    assert_eq!(
        store
            .insert_refund(&fits, &[cc("c2"), rc("x2")], paid)
            .await
            .unwrap(),
        RefundInsert::Inserted
    );
    // Refund keys live apart from payment keys, and per merchant.
    let other = sample_refund("r1", "m2", "p1", "80", 1);
    assert_eq!(
        store
            .insert_refund(&other, &[cc("c1"), rc("x1")], paid)
            .await
            .unwrap(),
        RefundInsert::Inserted
    );
    let all = store.payment_refunds("m1", "p1").await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["r1", "r3"]
    );
    assert_eq!(
        switchboard_core::refund::remaining_amount(paid, &all),
        amount("0.001")
    );
}

async fn total_refund_takes_exactly_what_is_left(store: &dyn Store) {
    let paid = amount("80");
    store
        .insert_refund(&sample_refund("a", "m1", "p1", "20", 1), &[rc("a")], paid)
        .await
        .unwrap();
    let mut total = sample_refund("t", "m1", "p1", "80", 2);
    total.refund_type = RefundType::Total;
    assert_eq!(
        store.insert_refund(&total, &[rc("t")], paid).await.unwrap(),
        RefundInsert::OverRemaining {
            remaining: amount("60")
        }
    );
    total.amount = amount("60");
    assert_eq!(
        store.insert_refund(&total, &[rc("t")], paid).await.unwrap(),
        RefundInsert::Inserted
    );
    // Nothing is left: neither a partial nor another total fits.
    let after = sample_refund("b", "m1", "p1", "0.001", 3);
    assert_eq!(
        store.insert_refund(&after, &[rc("b")], paid).await.unwrap(),
        RefundInsert::OverRemaining {
            remaining: Amount::ZERO
        }
    );
}

async fn denied_refunds_release_and_cas_works(store: &dyn Store) {
    let paid = amount("80");
    let r = sample_refund("r", "m1", "p1", "80", 1);
    store.insert_refund(&r, &[rc("r")], paid).await.unwrap();
    let mut denied = r.clone();
    denied.status = RefundStatus::Denied;
    denied.version = 2;
    assert_eq!(
        store.update_refund(&denied, 1, &[], &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    let mut stale = r.clone();
    stale.version = 2;
    stale.status = RefundStatus::Succeeded;
    match store.update_refund(&stale, 1, &[], &[]).await.unwrap() {
        UpdateOutcome::Conflict(now) => assert_eq!(*now, denied),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(
        store
            .update_refund(&sample_refund("zz", "m1", "p1", "1", 1), 1, &[], &[])
            .await
            .unwrap(),
        UpdateOutcome::Missing
    );
    // Denied released all 80; a refused (Rejected) one releases too, and frees its key.
    let again = sample_refund("r2", "m1", "p1", "80", 2);
    assert_eq!(
        store
            .insert_refund(&again, &[rc("r2")], paid)
            .await
            .unwrap(),
        RefundInsert::Inserted
    );
    let mut refused = again.clone();
    refused.phase = Phase::Rejected(switchboard_core::ApiError::of(
        switchboard_core::ErrorCode::RefundDenied,
    ));
    refused.version = 2;
    assert_eq!(
        store
            .update_refund(&refused, 1, &[rc("r2")], &[])
            .await
            .unwrap(),
        UpdateOutcome::Updated
    );
    let third = sample_refund("r3", "m1", "p1", "80", 3);
    assert_eq!(
        store
            .insert_refund(&third, &[rc("r2")], paid)
            .await
            .unwrap(),
        RefundInsert::Inserted
    );
    assert_eq!(
        store.get_refund("m1", "p1", "r2").await.unwrap(),
        Some(refused)
    );
}

async fn refunds_are_scoped(store: &dyn Store) {
    let r = sample_refund("r", "m1", "p1", "1", 1);
    store
        .insert_refund(&r, &[rc("r")], amount("5"))
        .await
        .unwrap();
    assert_eq!(store.get_refund("m1", "p1", "r").await.unwrap(), Some(r));
    assert_eq!(store.get_refund("m2", "p1", "r").await.unwrap(), None);
    assert_eq!(store.get_refund("m1", "p2", "r").await.unwrap(), None);
    assert_eq!(
        store
            .list_refunds("m2", "p1", &RefundQuery::default())
            .await
            .unwrap()
            .total,
        0
    );
    assert!(store.payment_refunds("m2", "p1").await.unwrap().is_empty());
    // Another payment's refunds hold nothing against this one.
    assert_eq!(
        store
            .insert_refund(
                &sample_refund("q", "m1", "p2", "5", 1),
                &[rc("q")],
                amount("5")
            )
            .await
            .unwrap(),
        RefundInsert::Inserted
    );
}

async fn refund_lists_filter_sort_and_paginate(store: &dyn Store) {
    let paid = amount("1000");
    for (i, status) in [
        RefundStatus::Succeeded,
        RefundStatus::Processing,
        RefundStatus::Denied,
        RefundStatus::Succeeded,
        RefundStatus::Succeeded,
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = sample_refund(&format!("r{i}"), "m1", "p1", "1", i as u32 + 1);
        r.status = status;
        if i % 2 == 0 {
            r.merchant_identifier = Some("shop-a".into());
        }
        store.insert_refund(&r, &[rc(&r.id)], paid).await.unwrap();
    }
    let mut hidden = sample_refund("hidden", "m1", "p1", "1", 9);
    hidden.phase = Phase::Submitting;
    store
        .insert_refund(&hidden, &[rc("hidden")], paid)
        .await
        .unwrap();
    let ids = |page: crate::RefundPage| page.items.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let all = store
        .list_refunds("m1", "p1", &RefundQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total, 5, "submitting refunds are not listed");
    assert_eq!(ids(all), ["r4", "r3", "r2", "r1", "r0"]);
    let q = RefundQuery {
        order: SortOrder::Asc,
        page: 2,
        per_page: 2,
        ..RefundQuery::default()
    };
    let page = store.list_refunds("m1", "p1", &q).await.unwrap();
    assert_eq!(page.total, 5);
    assert_eq!(ids(page), ["r2", "r3"]);
    let q = RefundQuery {
        statuses: vec![RefundStatus::Succeeded],
        merchant_identifier: Some("shop-a".into()),
        ..RefundQuery::default()
    };
    let page = store.list_refunds("m1", "p1", &q).await.unwrap();
    assert_eq!(
        (page.total, ids(page)),
        (2, vec!["r4".to_string(), "r0".to_string()])
    );
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 2, 0).unwrap();
    let q = RefundQuery {
        created_gte: Some(start),
        created_lte: Some(start + Duration::minutes(1)),
        ..RefundQuery::default()
    };
    let page = store.list_refunds("m1", "p1", &q).await.unwrap();
    assert_eq!(ids(page), ["r2", "r1"]);
}

async fn refund_due_index_follows_updates(store: &dyn Store) {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 1, 0, 0).unwrap();
    let mut a = sample_refund("a", "m1", "p1", "1", 1);
    a.next_check_at = Some(t0);
    let mut b = sample_refund("b", "m2", "p1", "1", 1);
    b.next_check_at = Some(t0 - Duration::seconds(5));
    store
        .insert_refund(&a, &[rc("a")], amount("9"))
        .await
        .unwrap();
    store
        .insert_refund(&b, &[rc("b")], amount("9"))
        .await
        .unwrap();
    let merchants = vec!["m1".to_string(), "m2".to_string()];
    let due = store.due_refunds(&merchants, t0, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
    assert!(store
        .due_refunds(&merchants, t0 - Duration::seconds(6), 10)
        .await
        .unwrap()
        .is_empty());
    let mut settled = a.clone();
    settled.status = RefundStatus::Succeeded;
    settled.version = 2;
    store.update_refund(&settled, 1, &[], &[]).await.unwrap();
    let due = store.due_refunds(&merchants, t0, 10).await.unwrap();
    assert_eq!(due.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["b"]);
    assert_eq!(store.due_refunds(&merchants, t0, 0).await.unwrap(), vec![]);
}

async fn concurrent_refunds_never_exceed_the_payment<S: Store>(store: Arc<S>) {
    let paid = amount("10");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let r = sample_refund(&format!("c{i}"), "m1", "p1", "1.5", 1);
                store.insert_refund(&r, &[rc(&r.id)], paid).await.unwrap()
            })
        })
        .collect();
    let mut inserted = 0;
    for t in tasks {
        if t.await.unwrap() == RefundInsert::Inserted {
            inserted += 1;
        }
    }
    assert_eq!(inserted, 6, "6 × 1.5 fits in 10, a 7th does not");
    let all = store.payment_refunds("m1", "p1").await.unwrap();
    assert_eq!(
        switchboard_core::refund::remaining_amount(paid, &all),
        amount("1")
    );
}
