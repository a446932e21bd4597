//! The behaviour every [`Store`] backend must show. Each backend's tests call [`run_all`] with a
//! factory for fresh, empty stores, so memory, Redis and Redis Cluster are held to the same rules.

mod controls;
mod esim;
mod limits;
mod lists;
pub mod mnp;
mod outbox;
mod stats;

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use switchboard_core::{
    ApiError, ChargingInformation, ChargingMetaData, Msisdn, PaymentAmount, PaymentFlow,
    PaymentItem, PaymentRecord, PaymentStatus, PendingAction, Phase, Sink, SinkCredential,
    TopUpRecord, TopUpStatus, ValidationInfo,
};

use crate::{
    IdempotencyKey, InsertOutcome, PaymentQuery, SortOrder, Store, StoreError, TopUpInsert,
    UpdateOutcome,
};

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
        correlator: None,
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

/// A pending top-up of `merchant` claiming `external_tx_id`, created at a fixed time, not scheduled
/// for reconciliation.
pub fn sample_topup(id: &str, merchant: &str, external_tx_id: &str) -> TopUpRecord {
    let created: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 1, 1, 10, 0, 0)
        .single()
        .expect("valid date");
    TopUpRecord {
        id: id.into(),
        merchant_id: merchant.into(),
        external_tx_id: external_tx_id.into(),
        msisdn: Msisdn::parse("+79161234567").expect("valid sample"),
        product_id: "mts-ru-topup".into(),
        operator_id: "mts-ru".into(),
        channel_id: Some("globaltopup".into()),
        amount: "100".parse().expect("valid amount"),
        currency: switchboard_core::Currency::parse("RUB").expect("valid sample"),
        status: TopUpStatus::Pending,
        upstream_reference: TopUpRecord::upstream_reference_for(id),
        upstream_tx_id: None,
        operator_tx_id: None,
        credited: None,
        failure_reason: None,
        created_at: created,
        updated_at: created,
        completed_at: None,
        fingerprint: "fp".into(),
        version: 1,
        reconcile_attempts: 0,
        next_check_at: None,
        needs_review: false,
    }
}

fn cc(key: &str) -> IdempotencyKey {
    IdempotencyKey::ClientCorrelator(key.into())
}

fn rc(key: &str) -> IdempotencyKey {
    IdempotencyKey::ReferenceCode(key.into())
}

/// Runs every check, each on a fresh store from `fresh`.
mod refunds;
pub use esim::sample_esim_order;
pub use refunds::sample_refund;

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
    updates_keep_the_indexes_right(&fresh().await).await;
    releases_only_keys_the_payment_still_holds(&fresh().await).await;
    unusual_ids_and_keys_stay_apart(&fresh().await).await;
    every_field_round_trips(&fresh().await).await;
    lists_by_subscriber_with_combined_filters(&fresh().await).await;
    reconciliation_is_ordered_and_limited(&fresh().await).await;
    concurrent_updates_have_one_winner(Arc::new(fresh().await)).await;
    topups_claim_once_per_merchant(&fresh().await).await;
    topups_apart_from_payments_and_with_unusual_ids(&fresh().await).await;
    topup_compare_and_set(&fresh().await).await;
    topups_are_scoped_to_the_merchant(&fresh().await).await;
    topup_due_index_follows_updates(&fresh().await).await;
    concurrent_topup_claims_have_one_winner(Arc::new(fresh().await)).await;
    concurrent_topup_updates_have_one_winner(Arc::new(fresh().await)).await;
    every_topup_field_round_trips(&fresh().await).await;
    single_use_markers(Arc::new(fresh().await)).await;

    refunds::run(&fresh).await;
    esim::run(&fresh).await;
    limits::run_all(&fresh).await;
    lists::run(&fresh).await;
    outbox::run(&fresh).await;
    mnp::run(&fresh).await;
    stats::run(&fresh).await;
    controls::run(&fresh).await;
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
        store.update_payment(&a, 1, &[], &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    match store.update_payment(&b, 1, &[], &[]).await.unwrap() {
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
        store.update_payment(&ghost, 1, &[], &[]).await.unwrap(),
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
            .update_payment(&rejected, 1, &[rc("r1")], &[])
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
    // A forged update from another merchant is refused (a backend that keeps payments per
    // merchant does not find it: Missing; one that finds it reports a conflict) and changes
    // nothing.
    let mut forged = sample_payment("p1", "m2", 1);
    forged.version = 2;
    forged.status = PaymentStatus::Denied;
    assert!(matches!(
        store.update_payment(&forged, 1, &[], &[]).await.unwrap(),
        UpdateOutcome::Conflict(_) | UpdateOutcome::Missing
    ));
    let kept = store.get_payment("m1", "p1").await.unwrap().unwrap();
    assert_eq!(
        (kept.merchant_id.as_str(), kept.version, kept.status),
        ("m1", 1, PaymentStatus::Succeeded)
    );
    assert!(store.get_payment("m2", "p1").await.unwrap().is_none());
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
    store
        .update_payment(&settled_now, 1, &[], &[])
        .await
        .unwrap();
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

async fn total(store: &dyn Store, merchant: &str, query: PaymentQuery) -> usize {
    store.list_payments(merchant, &query).await.unwrap().total
}

fn due_ids(found: &[PaymentRecord]) -> Vec<&str> {
    found.iter().map(|p| p.id.as_str()).collect()
}

/// Every write moves the payment in or out of the list and reconciliation indexes, and list
/// filters see its current status and metadata, not those it was inserted with.
async fn updates_keep_the_indexes_right(store: &dyn Store) {
    let now = Utc::now();
    let m1 = ["m1".to_string()];
    let statuses = |s: PaymentStatus| PaymentQuery {
        statuses: vec![s],
        ..Default::default()
    };
    let shop = || PaymentQuery {
        merchant_identifier: Some("shop".into()),
        ..Default::default()
    };
    let mut p = sample_payment("p1", "m1", 1);
    p.phase = Phase::Submitting;
    p.status = PaymentStatus::Processing;
    p.next_check_at = Some(now - Duration::seconds(1));
    store.insert_payment(&p, &[]).await.unwrap();
    assert_eq!(total(store, "m1", PaymentQuery::default()).await, 0);
    let due = store.due_for_reconciliation(&m1, now, 10).await.unwrap();
    assert_eq!(due_ids(&due), ["p1"], "submitting payments are reconciled");

    let mut live = p.clone();
    live.phase = Phase::Live;
    live.version = 2;
    assert_eq!(
        store.update_payment(&live, 1, &[], &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    assert_eq!(total(store, "m1", PaymentQuery::default()).await, 1);
    assert_eq!(
        total(store, "m1", statuses(PaymentStatus::Processing)).await,
        1
    );

    let mut done = live.clone();
    done.status = PaymentStatus::Succeeded;
    done.next_check_at = None;
    done.payment_amount.charging_meta_data = Some(ChargingMetaData {
        merchant_identifier: Some("shop".into()),
        ..Default::default()
    });
    done.version = 3;
    store.update_payment(&done, 2, &[], &[]).await.unwrap();
    assert_eq!(
        total(store, "m1", statuses(PaymentStatus::Processing)).await,
        0
    );
    assert_eq!(
        total(store, "m1", statuses(PaymentStatus::Succeeded)).await,
        1
    );
    assert_eq!(total(store, "m1", shop()).await, 1);
    assert!(store
        .due_for_reconciliation(&m1, now, 10)
        .await
        .unwrap()
        .is_empty());

    let mut plain = done.clone();
    plain.payment_amount.charging_meta_data = None;
    plain.version = 4;
    store.update_payment(&plain, 3, &[], &[]).await.unwrap();
    assert_eq!(total(store, "m1", shop()).await, 0);

    // A payment that waits on the operator again is due again.
    let mut recheck = plain.clone();
    recheck.status = PaymentStatus::Reserved;
    recheck.next_check_at = Some(now - Duration::seconds(1));
    recheck.version = 5;
    store.update_payment(&recheck, 4, &[], &[]).await.unwrap();
    let due = store.due_for_reconciliation(&m1, now, 10).await.unwrap();
    assert_eq!((due.len(), due[0].version), (1, 5));

    let mut hidden = recheck.clone();
    hidden.phase = Phase::Rejected(ApiError::of(switchboard_core::ErrorCode::PaymentDenied));
    hidden.version = 6;
    store.update_payment(&hidden, 5, &[], &[]).await.unwrap();
    assert_eq!(total(store, "m1", PaymentQuery::default()).await, 0);
    assert!(store
        .due_for_reconciliation(&m1, now, 10)
        .await
        .unwrap()
        .is_empty());
}

/// A release frees a key only while it still belongs to the releasing payment.
async fn releases_only_keys_the_payment_still_holds(store: &dyn Store) {
    let p1 = sample_payment("p1", "m1", 1);
    store.insert_payment(&p1, &[rc("r1")]).await.unwrap();
    let mut v2 = p1.clone();
    v2.version = 2;
    store
        .update_payment(&v2, 1, &[rc("r1")], &[])
        .await
        .unwrap();
    let p2 = sample_payment("p2", "m1", 2);
    assert_eq!(
        store.insert_payment(&p2, &[rc("r1")]).await.unwrap(),
        InsertOutcome::Inserted
    );
    // p1 releasing again must not free p2's claim.
    let mut v3 = v2.clone();
    v3.version = 3;
    assert_eq!(
        store
            .update_payment(&v3, 2, &[rc("r1")], &[])
            .await
            .unwrap(),
        UpdateOutcome::Updated
    );
    let p3 = sample_payment("p3", "m1", 3);
    match store.insert_payment(&p3, &[rc("r1")]).await.unwrap() {
        InsertOutcome::Existing { existing, .. } => assert_eq!(existing.id, "p2"),
        other => panic!("expected existing, got {other:?}"),
    }
}

/// Ids and keys are opaque text: braces, colons and non-ASCII neither collide nor leak.
async fn unusual_ids_and_keys_stay_apart(store: &dyn Store) {
    let merchants = ["m{1}", "m{1}:x", "}m{", "m 1/ü"];
    for (i, merchant) in merchants.iter().enumerate() {
        let p = sample_payment(&format!("p{{{i}}}:a/é"), merchant, 1);
        assert_eq!(
            store
                .insert_payment(&p, &[cc("}{"), rc("a:b{c}")])
                .await
                .unwrap(),
            InsertOutcome::Inserted,
            "{merchant}"
        );
    }
    for (i, merchant) in merchants.iter().enumerate() {
        let id = format!("p{{{i}}}:a/é");
        assert_eq!(
            store.get_payment(merchant, &id).await.unwrap().unwrap().id,
            id
        );
        for other in merchants.iter().filter(|m| *m != merchant) {
            assert!(store.get_payment(other, &id).await.unwrap().is_none());
        }
        let page = store
            .list_payments(merchant, &PaymentQuery::default())
            .await
            .unwrap();
        assert_eq!((page.total, page.items[0].id.as_str()), (1, id.as_str()));
        let again = sample_payment(&format!("q{i}"), merchant, 2);
        match store.insert_payment(&again, &[cc("}{")]).await.unwrap() {
            InsertOutcome::Existing { existing, .. } => assert_eq!(existing.id, id),
            other => panic!("expected existing, got {other:?}"),
        }
    }
    // Keys that differ only in kind or in escaped characters are different keys.
    let p = sample_payment("k1", "m{1}", 3);
    assert_eq!(
        store
            .insert_payment(&p, &[rc("}{"), cc("a:b{c"), cc("%7D%7B")])
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
}

/// What is read back is exactly what was written, every optional part included.
async fn every_field_round_trips(store: &dyn Store) {
    let mut p = sample_payment("full", "m1", 7);
    p.flow = PaymentFlow::TwoStep;
    p.status = PaymentStatus::Reserved;
    p.version = 41;
    p.client_correlator = Some("cc-1".into());
    p.payment_amount.charging_meta_data = Some(ChargingMetaData {
        merchant_name: Some("Shop".into()),
        merchant_identifier: Some("shop-1".into()),
        channel: Some("web".into()),
        ..Default::default()
    });
    p.payment_amount.payment_details = Some(vec![PaymentItem {
        id: "item-1".into(),
        amount: "1.005".parse().expect("valid amount"),
        currency: switchboard_core::Currency::parse("EUR").expect("valid sample"),
        description: "Sword".into(),
        is_tax_included: Some(true),
        tax_amount: None,
    }]);
    p.upstream_id = Some("up-1".into());
    p.server_reference_code = Some("srv-1".into());
    p.validation_info = Some(ValidationInfo::Validate {
        authorization_id: "auth-1".into(),
    });
    p.validation_attempts = 2;
    p.pending_action = Some(PendingAction::Confirm);
    p.sink = Some(Sink::parse("https://merchant.example/notify").expect("valid sink"));
    p.sink_credential = Some(SinkCredential {
        access_token: "token".into(),
        access_token_expires_utc: p.created_at + Duration::hours(1),
    });
    p.updated_at = p.created_at + Duration::milliseconds(1234);
    p.payment_date = Some(p.created_at + Duration::nanoseconds(123_456_789));
    p.denial_reason = Some("none".into());
    p.needs_review = true;
    p.reconcile_attempts = 3;
    p.next_check_at = Some(p.created_at + Duration::seconds(30));
    store.insert_payment(&p, &[cc("cc-1")]).await.unwrap();
    assert_eq!(
        store.get_payment("m1", "full").await.unwrap().as_ref(),
        Some(&p)
    );
    let page = store
        .list_payments("m1", &PaymentQuery::default())
        .await
        .unwrap();
    assert_eq!(page.items, [p.clone()]);
    match store.update_payment(&p, 40, &[], &[]).await.unwrap() {
        UpdateOutcome::Conflict(now) => assert_eq!(*now, p),
        other => panic!("expected conflict, got {other:?}"),
    }
}

/// Phone-bound listing, filters together, ties on the creation time, and pages past the end.
async fn lists_by_subscriber_with_combined_filters(store: &dyn Store) {
    let other = Msisdn::parse("+34600000002").expect("valid sample");
    for minute in 0..6u32 {
        let mut p = sample_payment(&format!("p{minute}"), "m1", minute);
        if minute % 2 == 1 {
            p.msisdn = other.clone();
        }
        if minute >= 4 {
            p.status = PaymentStatus::Denied;
        }
        store.insert_payment(&p, &[]).await.unwrap();
    }
    // Same creation time as p3: ordered by id after it.
    let mut tie = sample_payment("p3b", "m1", 3);
    tie.msisdn = other.clone();
    store.insert_payment(&tie, &[]).await.unwrap();

    let base = Utc
        .with_ymd_and_hms(2026, 1, 1, 10, 0, 0)
        .single()
        .expect("valid date");
    let mine = PaymentQuery {
        msisdn: Some(other.clone()),
        order: SortOrder::Asc,
        ..Default::default()
    };
    let page = store.list_payments("m1", &mine).await.unwrap();
    let ids: Vec<_> = page.items.iter().map(|p| p.id.as_str()).collect();
    assert_eq!((ids, page.total), (vec!["p1", "p3", "p3b", "p5"], 4));

    let combined = PaymentQuery {
        msisdn: Some(other),
        statuses: vec![PaymentStatus::Succeeded, PaymentStatus::Denied],
        created_gte: Some(base + Duration::minutes(3)),
        order: SortOrder::Desc,
        page: 1,
        per_page: 2,
        ..Default::default()
    };
    let page = store.list_payments("m1", &combined).await.unwrap();
    let ids: Vec<_> = page.items.iter().map(|p| p.id.as_str()).collect();
    assert_eq!((ids, page.total), (vec!["p5", "p3b"], 3));
    let second = PaymentQuery {
        page: 2,
        ..combined.clone()
    };
    let page = store.list_payments("m1", &second).await.unwrap();
    let ids: Vec<_> = page.items.iter().map(|p| p.id.as_str()).collect();
    assert_eq!((ids, page.total), (vec!["p3"], 3));
    let beyond = PaymentQuery {
        page: 9,
        ..combined
    };
    let page = store.list_payments("m1", &beyond).await.unwrap();
    assert_eq!((page.items.len(), page.total), (0, 3));

    let exact = PaymentQuery {
        created_gte: Some(base + Duration::minutes(3)),
        created_lte: Some(base + Duration::minutes(3)),
        ..Default::default()
    };
    assert_eq!(total(store, "m1", exact).await, 2, "bounds are inclusive");
}

/// Earliest first across merchants, at most `limit`, nothing from merchants not asked for.
async fn reconciliation_is_ordered_and_limited(store: &dyn Store) {
    let now = Utc::now();
    for (id, merchant, ago) in [
        ("a", "m1", 5),
        ("b", "m2", 30),
        ("c", "m1", 20),
        ("d", "m3", 40),
    ] {
        let mut p = sample_payment(id, merchant, 1);
        p.status = PaymentStatus::Processing;
        p.next_check_at = Some(now - Duration::seconds(ago));
        store.insert_payment(&p, &[]).await.unwrap();
    }
    let asked = ["m1".to_string(), "m2".to_string()];
    let found = store.due_for_reconciliation(&asked, now, 2).await.unwrap();
    assert_eq!(due_ids(&found), ["b", "c"]);
    let all = store.due_for_reconciliation(&asked, now, 10).await.unwrap();
    assert_eq!(due_ids(&all), ["b", "c", "a"]);
    assert!(store
        .due_for_reconciliation(&asked, now, 0)
        .await
        .unwrap()
        .is_empty());
    let early = store
        .due_for_reconciliation(&asked, now - Duration::seconds(25), 10)
        .await
        .unwrap();
    assert_eq!(due_ids(&early), ["b"]);
}

async fn concurrent_updates_have_one_winner<S: Store>(store: Arc<S>) {
    let mut p = sample_payment("p1", "m1", 1);
    p.status = PaymentStatus::Processing;
    store.insert_payment(&p, &[]).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16u32 {
        let store = store.clone();
        let mut next = p.clone();
        next.version = 2;
        next.validation_attempts = i;
        tasks.push(tokio::spawn(async move {
            store.update_payment(&next, 1, &[], &[]).await.unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        match t.await.unwrap() {
            UpdateOutcome::Updated => winners += 1,
            UpdateOutcome::Conflict(now) => assert_eq!(now.version, 2),
            UpdateOutcome::Missing => panic!("the payment exists"),
        }
    }
    assert_eq!(winners, 1);
}

async fn topups_claim_once_per_merchant(store: &dyn Store) {
    let t1 = sample_topup("t1", "m1", "x1");
    assert_eq!(
        store.insert_topup(&t1).await.unwrap(),
        TopUpInsert::Inserted
    );
    // The holder comes back whole; nothing of the refused top-up is written.
    let t2 = sample_topup("t2", "m1", "x1");
    assert_eq!(
        store.insert_topup(&t2).await.unwrap(),
        TopUpInsert::Existing(Box::new(t1.clone()))
    );
    assert!(store.get_topup("m1", "t2").await.unwrap().is_none());
    let t2 = sample_topup("t2", "m1", "x2");
    assert_eq!(
        store.insert_topup(&t2).await.unwrap(),
        TopUpInsert::Inserted
    );
    // The same external_tx_id is free for another merchant.
    let t3 = sample_topup("t3", "m2", "x1");
    assert_eq!(
        store.insert_topup(&t3).await.unwrap(),
        TopUpInsert::Inserted
    );
    assert_eq!(store.get_topup("m1", "t1").await.unwrap(), Some(t1.clone()));
    assert_eq!(store.get_topup("m2", "t3").await.unwrap(), Some(t3));
    // A claim stays with its holder after the holder moves on.
    let mut done = t1.clone();
    done.status = TopUpStatus::Completed;
    done.version = 2;
    store.update_topup(&done, 1, &[]).await.unwrap();
    let t4 = sample_topup("t4", "m1", "x1");
    assert_eq!(
        store.insert_topup(&t4).await.unwrap(),
        TopUpInsert::Existing(Box::new(done))
    );
    // A reused Switchboard id is a bug, not a claim: refused, and its external_tx_id stays free.
    let reused = sample_topup("t1", "m1", "x9");
    assert!(matches!(
        store.insert_topup(&reused).await,
        Err(StoreError::Corrupt(_))
    ));
    let t9 = sample_topup("t9", "m1", "x9");
    assert_eq!(
        store.insert_topup(&t9).await.unwrap(),
        TopUpInsert::Inserted
    );
}

/// Top-ups and payments share merchants but not ids or keys; ids and keys are opaque text.
async fn topups_apart_from_payments_and_with_unusual_ids(store: &dyn Store) {
    let t = sample_topup("same", "m1", "same");
    store.insert_topup(&t).await.unwrap();
    let p = sample_payment("same", "m1", 1);
    assert_eq!(
        store
            .insert_payment(&p, &[cc("same"), rc("same")])
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
    assert_eq!(store.get_topup("m1", "same").await.unwrap(), Some(t));
    assert_eq!(store.get_payment("m1", "same").await.unwrap(), Some(p));

    let merchants = ["m{1}", "m{1}:x", "}m{", "m 1/ü"];
    for (i, merchant) in merchants.iter().enumerate() {
        let t = sample_topup(&format!("t{{{i}}}:a/é"), merchant, "}{:x");
        assert_eq!(
            store.insert_topup(&t).await.unwrap(),
            TopUpInsert::Inserted,
            "{merchant}"
        );
    }
    for (i, merchant) in merchants.iter().enumerate() {
        let id = format!("t{{{i}}}:a/é");
        assert_eq!(
            store.get_topup(merchant, &id).await.unwrap().unwrap().id,
            id
        );
        for other in merchants.iter().filter(|m| *m != merchant) {
            assert!(store.get_topup(other, &id).await.unwrap().is_none());
        }
        let again = sample_topup(&format!("u{i}"), merchant, "}{:x");
        match store.insert_topup(&again).await.unwrap() {
            TopUpInsert::Existing(holder) => assert_eq!(holder.id, id),
            other => panic!("expected existing, got {other:?}"),
        }
        // Escaped look-alikes are different keys.
        let lookalike = sample_topup(&format!("v{i}"), merchant, "%7D%7B%3Ax");
        assert_eq!(
            store.insert_topup(&lookalike).await.unwrap(),
            TopUpInsert::Inserted
        );
    }
}

async fn topup_compare_and_set(store: &dyn Store) {
    let t = sample_topup("t1", "m1", "x1");
    store.insert_topup(&t).await.unwrap();
    let now = t.created_at + Duration::seconds(5);
    let mut a = t.clone();
    a.move_to(TopUpStatus::Completed, now).unwrap();
    a.version = 2;
    let mut b = t.clone();
    b.move_to(TopUpStatus::Failed, now).unwrap();
    b.failure_reason = Some("declined".into());
    b.version = 2;
    assert_eq!(
        store.update_topup(&a, 1, &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    assert_eq!(
        store.update_topup(&b, 1, &[]).await.unwrap(),
        UpdateOutcome::Conflict(Box::new(a.clone()))
    );
    assert_eq!(store.get_topup("m1", "t1").await.unwrap(), Some(a.clone()));
    // A version from the future is a conflict too.
    let mut c = a.clone();
    c.version = 4;
    assert_eq!(
        store.update_topup(&c, 3, &[]).await.unwrap(),
        UpdateOutcome::Conflict(Box::new(a.clone()))
    );
    c.version = 3;
    assert_eq!(
        store.update_topup(&c, 2, &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    assert_eq!(
        store.get_topup("m1", "t1").await.unwrap().unwrap().version,
        3
    );
    let ghost = sample_topup("nope", "m1", "x2");
    assert_eq!(
        store.update_topup(&ghost, 1, &[]).await.unwrap(),
        UpdateOutcome::Missing
    );
    // An update never creates: the ghost is still not there, and its external_tx_id is free.
    assert!(store.get_topup("m1", "nope").await.unwrap().is_none());
    assert_eq!(
        store
            .insert_topup(&sample_topup("t2", "m1", "x2"))
            .await
            .unwrap(),
        TopUpInsert::Inserted
    );
}

async fn topups_are_scoped_to_the_merchant(store: &dyn Store) {
    let now = Utc::now();
    let t = sample_topup("t1", "m1", "x1");
    store.insert_topup(&t).await.unwrap();
    assert!(store.get_topup("m2", "t1").await.unwrap().is_none());
    // A forged update from another merchant is refused (Missing when top-ups are kept per
    // merchant, Conflict when the backend finds the real one) and changes nothing anywhere.
    let mut forged = sample_topup("t1", "m2", "x1");
    forged.status = TopUpStatus::Pending;
    forged.next_check_at = Some(now - Duration::seconds(1));
    forged.version = 2;
    assert!(matches!(
        store.update_topup(&forged, 1, &[]).await.unwrap(),
        UpdateOutcome::Conflict(_) | UpdateOutcome::Missing
    ));
    forged.status = TopUpStatus::Failed;
    assert!(matches!(
        store.update_topup(&forged, 1, &[]).await.unwrap(),
        UpdateOutcome::Conflict(_) | UpdateOutcome::Missing
    ));
    assert_eq!(store.get_topup("m1", "t1").await.unwrap(), Some(t));
    assert!(store.get_topup("m2", "t1").await.unwrap().is_none());
    let both = ["m1".to_string(), "m2".to_string()];
    assert!(store.due_topups(&both, now, 10).await.unwrap().is_empty());
}

fn topup_ids(found: &[TopUpRecord]) -> Vec<&str> {
    found.iter().map(|t| t.id.as_str()).collect()
}

/// The due index holds exactly the unsettled, scheduled top-ups, and every update moves a
/// top-up in or out of it.
async fn topup_due_index_follows_updates(store: &dyn Store) {
    let now = Utc::now();
    let scheduled = |id: &str, merchant: &str, at: Option<DateTime<Utc>>| {
        let mut t = sample_topup(id, merchant, &format!("x-{id}"));
        t.next_check_at = at;
        t
    };
    let a = scheduled("a", "m1", Some(now - Duration::seconds(5)));
    let b = scheduled("b", "m2", Some(now - Duration::seconds(30)));
    let c = scheduled("c", "m1", Some(now - Duration::seconds(20)));
    let later = scheduled("later", "m1", Some(now + Duration::seconds(60)));
    let unscheduled = scheduled("unscheduled", "m1", None);
    let mut done = scheduled("done", "m1", Some(now - Duration::seconds(1)));
    done.status = TopUpStatus::Completed;
    let mut failed = scheduled("failed", "m2", Some(now - Duration::seconds(1)));
    failed.status = TopUpStatus::Failed;
    let elsewhere = scheduled("elsewhere", "m3", Some(now - Duration::seconds(40)));
    for t in [&a, &b, &c, &later, &unscheduled, &done, &failed, &elsewhere] {
        assert_eq!(store.insert_topup(t).await.unwrap(), TopUpInsert::Inserted);
    }
    let asked = ["m1".to_string(), "m2".to_string()];
    let found = store.due_topups(&asked, now, 10).await.unwrap();
    assert_eq!(topup_ids(&found), ["b", "c", "a"]);
    assert_eq!(found[0], b, "due top-ups come back whole");
    let found = store.due_topups(&asked, now, 2).await.unwrap();
    assert_eq!(topup_ids(&found), ["b", "c"]);
    assert!(store.due_topups(&asked, now, 0).await.unwrap().is_empty());
    assert!(store.due_topups(&[], now, 10).await.unwrap().is_empty());
    let early = store
        .due_topups(&asked, now - Duration::seconds(25), 10)
        .await
        .unwrap();
    assert_eq!(topup_ids(&early), ["b"]);
    let m1_twice = ["m1".to_string(), "m1".to_string()];
    let found = store.due_topups(&m1_twice, now, 10).await.unwrap();
    assert_eq!(
        topup_ids(&found),
        ["c", "a"],
        "a merchant named twice counts once"
    );

    // Settled top-ups leave the index, even with next_check_at still set.
    let mut c2 = c.clone();
    c2.move_to(TopUpStatus::Completed, now).unwrap();
    c2.version = 2;
    assert_eq!(
        store.update_topup(&c2, 1, &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    let mut b2 = b.clone();
    b2.move_to(TopUpStatus::Failed, now).unwrap();
    b2.next_check_at = None;
    b2.version = 2;
    assert_eq!(
        store.update_topup(&b2, 1, &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    let found = store.due_topups(&asked, now, 10).await.unwrap();
    assert_eq!(topup_ids(&found), ["a"]);
    // What left the index takes no place within the limit (c was due before a).
    let found = store.due_topups(&asked, now, 1).await.unwrap();
    assert_eq!(topup_ids(&found), ["a"]);

    // Rescheduled: due later, at its new time, with its new contents.
    let mut a2 = a.clone();
    a2.reconcile_attempts = 1;
    a2.next_check_at = Some(now + Duration::seconds(90));
    a2.version = 2;
    assert_eq!(
        store.update_topup(&a2, 1, &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    assert!(store.due_topups(&asked, now, 10).await.unwrap().is_empty());
    let found = store
        .due_topups(&asked, now + Duration::seconds(120), 10)
        .await
        .unwrap();
    assert_eq!(topup_ids(&found), ["later", "a"]);
    assert_eq!(found[1], a2);

    // Scheduled by an update: enters the index.
    let mut u2 = unscheduled.clone();
    u2.next_check_at = Some(now - Duration::seconds(1));
    u2.version = 2;
    assert_eq!(
        store.update_topup(&u2, 1, &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    let found = store.due_topups(&asked, now, 10).await.unwrap();
    assert_eq!(found, [u2.clone()]);

    // Unscheduled again while pending: leaves it.
    let mut u3 = u2.clone();
    u3.next_check_at = None;
    u3.version = 3;
    assert_eq!(
        store.update_topup(&u3, 2, &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    assert!(store.due_topups(&asked, now, 10).await.unwrap().is_empty());
    let found = store
        .due_topups(&asked, now + Duration::seconds(120), 1)
        .await
        .unwrap();
    assert_eq!(topup_ids(&found), ["later"]);

    // A refused update moves nothing.
    let mut stale = u2.clone();
    stale.version = 3;
    assert!(matches!(
        store.update_topup(&stale, 2, &[]).await.unwrap(),
        UpdateOutcome::Conflict(_)
    ));
    assert!(store.due_topups(&asked, now, 10).await.unwrap().is_empty());
    let m3 = ["m3".to_string()];
    assert_eq!(
        topup_ids(&store.due_topups(&m3, now, 10).await.unwrap()),
        ["elsewhere"]
    );
}

async fn concurrent_topup_claims_have_one_winner<S: Store>(store: Arc<S>) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let t = sample_topup(&format!("t{i}"), "m1", "same");
            store.insert_topup(&t).await.unwrap()
        }));
    }
    let mut winners = Vec::new();
    let mut holders = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            TopUpInsert::Inserted => winners.push(format!("t{i}")),
            TopUpInsert::Existing(holder) => holders.push(holder.id),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert!(holders.iter().all(|h| *h == winners[0]), "{holders:?}");
    for i in 0..16 {
        let id = format!("t{i}");
        let stored = store.get_topup("m1", &id).await.unwrap();
        assert_eq!(stored.is_some(), id == winners[0], "{id}");
    }
}

async fn concurrent_topup_updates_have_one_winner<S: Store>(store: Arc<S>) {
    let t = sample_topup("t1", "m1", "x1");
    store.insert_topup(&t).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16u32 {
        let store = store.clone();
        let mut next = t.clone();
        next.version = 2;
        next.reconcile_attempts = i;
        tasks.push(tokio::spawn(async move {
            store.update_topup(&next, 1, &[]).await.unwrap()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        match task.await.unwrap() {
            UpdateOutcome::Updated => winners += 1,
            UpdateOutcome::Conflict(now) => assert_eq!(now.version, 2),
            UpdateOutcome::Missing => panic!("the top-up exists"),
        }
    }
    assert_eq!(winners, 1);
}

/// What is read back is exactly what was written, every optional part included, whichever way
/// it is read (get, the holder of a claim, a conflict, the due index).
async fn every_topup_field_round_trips(store: &dyn Store) {
    let mut t = sample_topup("full", "m1", "ext-1");
    t.msisdn = Msisdn::parse("+447700900123").expect("valid sample");
    t.product_id = "vodafone-uk-bundle-10gb".into();
    t.operator_id = "vodafone-uk".into();
    t.channel_id = Some("ding".into());
    t.amount = "12.345".parse().expect("valid amount");
    t.currency = switchboard_core::Currency::parse("GBP").expect("valid sample");
    t.upstream_tx_id = Some("up-1".into());
    t.operator_tx_id = Some("op-tx-1".into());
    t.credited = Some(serde_json::json!({
        "type": "bundle",
        "data_mb": 10240,
        "price": {"amount": 12.345, "currency": "GBP"},
        "notes": ["ü", "{braces}:colons"],
        "nothing": null,
        "big": u64::MAX,
    }));
    t.failure_reason = Some("provider said: \"retry\"".into());
    t.updated_at = t.created_at + Duration::milliseconds(1234);
    t.completed_at = Some(t.created_at + Duration::nanoseconds(123_456_789));
    t.fingerprint = "sha256:abc".into();
    // Beyond what a double holds exactly: versions are compared as text.
    t.version = (1u64 << 60) + 1;
    t.reconcile_attempts = 3;
    t.next_check_at = Some(t.created_at + Duration::nanoseconds(30_000_000_001));
    store.insert_topup(&t).await.unwrap();
    assert_eq!(
        store.get_topup("m1", "full").await.unwrap().as_ref(),
        Some(&t)
    );
    let again = sample_topup("other", "m1", "ext-1");
    assert_eq!(
        store.insert_topup(&again).await.unwrap(),
        TopUpInsert::Existing(Box::new(t.clone()))
    );
    assert_eq!(
        store.update_topup(&t, 1u64 << 60, &[]).await.unwrap(),
        UpdateOutcome::Conflict(Box::new(t.clone()))
    );
    let due_at = t.next_check_at.expect("scheduled") + Duration::seconds(1);
    assert_eq!(
        store
            .due_topups(&["m1".to_string()], due_at, 10)
            .await
            .unwrap(),
        [t.clone()]
    );
    let mut next = t.clone();
    next.version = t.version + 1;
    next.status = TopUpStatus::Completed;
    next.upstream_tx_id = None;
    next.credited = None;
    assert_eq!(
        store.update_topup(&next, t.version, &[]).await.unwrap(),
        UpdateOutcome::Updated
    );
    assert_eq!(store.get_topup("m1", "full").await.unwrap(), Some(next));
}

async fn single_use_markers<S: Store>(store: Arc<S>) {
    assert!(store.use_once("ciba:a", 60).await.unwrap());
    assert!(
        !store.use_once("ciba:a", 60).await.unwrap(),
        "a second use is refused"
    );
    assert!(
        store.use_once("ciba:b", 60).await.unwrap(),
        "markers are independent"
    );
    assert!(store.use_once("{x}:odd", 60).await.unwrap());
    // Concurrent redemptions of one token: exactly one wins.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.use_once("ciba:race", 60).await.unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
}
