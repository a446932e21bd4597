//! The outbox part of the conformance suite: events written with their record (and only then),
//! fan-out, per-subject order, leases and their heartbeat, retries, dead letters and replay,
//! stopped endpoints, expired credentials, webhook endpoints, the review list and merchant
//! isolation. The worker side (claims and their results) is in `outbox/delivery.rs`.
//!
//! Every call takes an explicit `now`; nothing sleeps. The times lie in the past of the test
//! machine's clock, as real claims do (Redis never starts a lease later than its own clock).

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use switchboard_core::{PaymentRecord, TopUpRecord};

mod delivery;

use super::{sample_payment, sample_refund, sample_topup};
use crate::{
    Delivery, DeliveryResult, Endpoint, EventTarget, OutboxEvent, RefundInsert, Store,
    UpdateOutcome, WebhookEndpoint, EXPIRED_REASON, STOPPED_REASON,
};

const PAID: &str = "org.camaraproject.carrier-billing.v0.payment-completed";
const TOPUP_DONE: &str = "topup.completed";
const TOPUP_FAILED: &str = "topup.failed";
const LEASE: u64 = 30_000;

/// `secs` seconds after a fixed instant of 2025.
fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(secs)
}

fn sink(url: &str) -> Endpoint {
    Endpoint {
        id: format!("sink:{url}"),
        url: url.into(),
        bearer: Some("token-1".into()),
        bearer_expires_at: None,
    }
}

fn to_sink(url: &str) -> EventTarget {
    EventTarget::Sink {
        endpoint: sink(url),
    }
}

fn event(id: &str, merchant: &str, subject: &str, kind: &str, target: EventTarget) -> OutboxEvent {
    OutboxEvent {
        event_id: id.into(),
        event_type: kind.into(),
        merchant_id: merchant.into(),
        subject: subject.into(),
        created_at: at(0),
        correlator: Some(format!("corr-{id}")),
        body: format!("{{\"id\":\"{id}\",\"text\":\"é {{x}}\\n\"}}"),
        target,
    }
}

fn endpoint(id: &str, events: &[&str], created: i64) -> WebhookEndpoint {
    WebhookEndpoint {
        id: id.into(),
        url: format!("https://hooks.example/{id}"),
        events: events.iter().map(|e| e.to_string()).collect(),
        description: Some(format!("endpoint {id}")),
        created_at: at(created),
        stopped: false,
    }
}

/// Writes `events` with the next version of a payment (inserted on its first use).
async fn emit(store: &dyn Store, p: &mut PaymentRecord, events: &[OutboxEvent]) {
    if p.version == 1
        && store
            .get_payment(&p.merchant_id, &p.id)
            .await
            .unwrap()
            .is_none()
    {
        store.insert_payment(p, &[]).await.unwrap();
    }
    p.version += 1;
    assert_eq!(
        store
            .update_payment(p, p.version - 1, &[], events)
            .await
            .unwrap(),
        UpdateOutcome::Updated
    );
}

/// Writes `events` with the next version of a top-up (inserted on its first use).
async fn emit_topup(store: &dyn Store, t: &mut TopUpRecord, events: &[OutboxEvent]) {
    if store
        .get_topup(&t.merchant_id, &t.id)
        .await
        .unwrap()
        .is_none()
    {
        store.insert_topup(t).await.unwrap();
    }
    t.version += 1;
    assert_eq!(
        store.update_topup(t, t.version - 1, events).await.unwrap(),
        UpdateOutcome::Updated
    );
}

async fn claim(store: &dyn Store, merchant: &str, worker: &str, now: i64) -> Vec<Delivery> {
    store
        .claim_deliveries(merchant, worker, at(now), LEASE, 100)
        .await
        .unwrap()
}

/// `(event_id, subject)` of each delivery, in order.
fn seen(deliveries: &[Delivery]) -> Vec<(String, String)> {
    deliveries
        .iter()
        .map(|d| (d.event_id.clone(), d.subject.clone()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(e, s)| (e.to_string(), s.to_string()))
        .collect()
}

async fn finish(store: &dyn Store, merchant: &str, id: &str, result: DeliveryResult, now: i64) {
    assert!(
        store
            .finish_delivery(merchant, id, &result, at(now))
            .await
            .unwrap(),
        "{id} is queued"
    );
}

/// Every outbox check, each on a fresh store.
pub(super) async fn run<S, F, Fut>(fresh: &F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    events_are_written_with_their_record_only(&fresh().await).await;
    fan_out_follows_the_endpoints_registered_at_write_time(&fresh().await).await;
    delivery::each_subject_leaves_in_order_and_a_retry_blocks_it(&fresh().await).await;
    delivery::dead_letters_free_their_subject(&fresh().await).await;
    delivery::expired_leases_pass_to_another_worker(&fresh().await).await;
    delivery::claiming_again_keeps_the_lease_alive(&fresh().await).await;
    delivery::gone_stops_the_endpoint_until_a_replay(&fresh().await).await;
    delivery::expired_credentials_go_to_the_dead_letters(&fresh().await).await;
    webhook_endpoints_put_list_remove(&fresh().await).await;
    review_list_holds_every_kind_oldest_first(&fresh().await).await;
    merchants_never_see_each_others_outbox(&fresh().await).await;
    delivery::concurrent_claims_hand_each_delivery_to_one_worker(Arc::new(fresh().await)).await;
    a_backlog_spreads_over_the_workers_by_their_free_slots(&fresh().await).await;
}

/// A worker takes at most `limit` (its free slots) new deliveries per claim, so two workers on one
/// backlog share it instead of the first one taking everything.
async fn a_backlog_spreads_over_the_workers_by_their_free_slots(store: &dyn Store) {
    let mut p = sample_payment("p1", "m1", 1);
    let events: Vec<OutboxEvent> = (0..10)
        .map(|i| {
            event(
                &format!("e{i}"),
                "m1",
                &format!("s{i}"),
                PAID,
                to_sink("https://a"),
            )
        })
        .collect();
    emit(store, &mut p, &events).await;
    let take = |worker: &'static str, limit: usize| async move {
        let got = store
            .claim_deliveries("m1", worker, at(1), LEASE, limit)
            .await
            .unwrap();
        got.into_iter().map(|d| d.event_id).collect::<Vec<_>>()
    };
    let names = |range: std::ops::Range<usize>| range.map(|i| format!("e{i}")).collect::<Vec<_>>();
    assert_eq!(take("a", 3).await, names(0..3));
    assert_eq!(take("b", 3).await, names(3..6), "b is not starved by a");
    for d in store
        .claim_deliveries("m1", "a", at(1), LEASE, 3)
        .await
        .unwrap()
    {
        assert!(store
            .finish_delivery("m1", &d.id, &DeliveryResult::Delivered, at(1))
            .await
            .unwrap());
    }
    assert_eq!(
        take("a", 3).await,
        names(6..9),
        "a takes at most its limit more per claim"
    );
    // b still holds its own and is handed them again (its lease renewed); the last one is left
    // to whoever claims with room.
    assert_eq!(take("b", 3).await, names(3..6));
    let c = take("c", 5).await;
    assert!(c.len() <= 1, "{c:?}");
}

/// Events join the outbox in the step that writes their record, for payments, refunds and
/// top-ups alike; a refused write (conflict, missing) queues nothing.
async fn events_are_written_with_their_record_only(store: &dyn Store) {
    let mut p = sample_payment("p1", "m1", 1);
    store.insert_payment(&p, &[]).await.unwrap();
    let e1 = event("e1", "m1", "payment:p1", PAID, to_sink("https://a"));
    let mut stale = p.clone();
    stale.version = 3;
    assert!(matches!(
        store
            .update_payment(&stale, 2, &[], std::slice::from_ref(&e1))
            .await
            .unwrap(),
        UpdateOutcome::Conflict(_)
    ));
    let mut ghost = sample_payment("ghost", "m1", 1);
    ghost.version = 2;
    assert_eq!(
        store
            .update_payment(&ghost, 1, &[], std::slice::from_ref(&e1))
            .await
            .unwrap(),
        UpdateOutcome::Missing
    );
    assert!(claim(store, "m1", "w", 100).await.is_empty());

    emit(store, &mut p, std::slice::from_ref(&e1)).await;
    let got = claim(store, "m1", "w", 100).await;
    assert_eq!(got.len(), 1);
    let d = &got[0];
    assert_eq!(
        (
            d.event_id.as_str(),
            d.event_type.as_str(),
            d.merchant_id.as_str()
        ),
        ("e1", PAID, "m1")
    );
    assert_eq!((d.subject.as_str(), d.created_at), ("payment:p1", at(0)));
    assert_eq!((&d.correlator, &d.body), (&e1.correlator, &e1.body));
    assert_eq!(d.endpoint, sink("https://a"), "the bearer travels with it");
    assert_eq!(
        (d.attempts, d.next_attempt_at, &d.last_error),
        (0, at(0), &None)
    );
    finish(store, "m1", &d.id, DeliveryResult::Delivered, 100).await;
    // An update without events queues nothing.
    emit(store, &mut p, &[]).await;
    assert!(claim(store, "m1", "w", 100).await.is_empty());

    // Top-ups.
    let mut t = sample_topup("t1", "m1", "x1");
    store.insert_topup(&t).await.unwrap();
    let e2 = event("e2", "m1", "topup:t1", TOPUP_DONE, to_sink("https://b"));
    let mut stale = t.clone();
    stale.version = 5;
    assert!(matches!(
        store
            .update_topup(&stale, 4, std::slice::from_ref(&e2))
            .await
            .unwrap(),
        UpdateOutcome::Conflict(_)
    ));
    let ghost = sample_topup("ghost", "m1", "x2");
    assert_eq!(
        store
            .update_topup(&ghost, 1, std::slice::from_ref(&e2))
            .await
            .unwrap(),
        UpdateOutcome::Missing
    );
    assert!(claim(store, "m1", "w", 100).await.is_empty());
    emit_topup(store, &mut t, &[e2]).await;

    // Refunds.
    let mut r = sample_refund("r1", "m1", "p1", "1", 1);
    assert_eq!(
        store
            .insert_refund(&r, &[], "1.5".parse().unwrap())
            .await
            .unwrap(),
        RefundInsert::Inserted
    );
    let e3 = event(
        "e3",
        "m1",
        "refund:r1",
        "refund-completed",
        to_sink("https://a"),
    );
    let e4 = event(
        "e4",
        "m1",
        "refund:r1",
        "refund-completed",
        to_sink("https://b"),
    );
    r.version = 2;
    assert!(matches!(
        store
            .update_refund(&r, 7, &[], std::slice::from_ref(&e3))
            .await
            .unwrap(),
        UpdateOutcome::Conflict(_)
    ));
    assert_eq!(
        store.update_refund(&r, 1, &[], &[e3, e4]).await.unwrap(),
        UpdateOutcome::Updated
    );
    // Two events of one write: both queued, in order (same subject: one at a time).
    let got = claim(store, "m1", "w", 100).await;
    assert_eq!(
        seen(&got),
        pairs(&[("e2", "topup:t1"), ("e3", "refund:r1")])
    );
    finish(store, "m1", &got[1].id, DeliveryResult::Delivered, 100).await;
    assert_eq!(
        seen(&claim(store, "m1", "w", 100).await),
        pairs(&[("e2", "topup:t1"), ("e4", "refund:r1")])
    );
}

/// A fan-out event goes to each endpoint registered, not stopped and wanting its type when it is
/// written; later registrations and removals change only later events.
async fn fan_out_follows_the_endpoints_registered_at_write_time(store: &dyn Store) {
    let mut t = sample_topup("t1", "m1", "x1");
    // No endpoint registered: nothing is queued.
    emit_topup(
        store,
        &mut t,
        &[event(
            "e0",
            "m1",
            "topup:t1",
            TOPUP_DONE,
            EventTarget::MerchantEndpoints,
        )],
    )
    .await;
    assert!(claim(store, "m1", "w", 10).await.is_empty());

    for e in [
        endpoint("w1", &[], 1),
        endpoint("w2", &[TOPUP_FAILED], 2),
        endpoint("w3", &["other", TOPUP_DONE], 3),
    ] {
        store.put_webhook_endpoint("m1", &e).await.unwrap();
    }
    let fan = |id: &str| {
        event(
            id,
            "m1",
            "topup:t1",
            TOPUP_DONE,
            EventTarget::MerchantEndpoints,
        )
    };
    emit_topup(store, &mut t, &[fan("e1")]).await;
    store
        .put_webhook_endpoint("m1", &endpoint("w4", &[], 4))
        .await
        .unwrap();
    assert!(store.remove_webhook_endpoint("m1", "w1").await.unwrap());
    emit_topup(store, &mut t, &[fan("e2")]).await;

    let got = claim(store, "m1", "w", 10).await;
    // e1 → w1 (removed since, still queued) and w3; e2 → w3 (behind e1 on its subject) and w4.
    assert_eq!(
        seen(&got),
        pairs(&[
            ("e1", "topup:t1|w1"),
            ("e1", "topup:t1|w3"),
            ("e2", "topup:t1|w4"),
        ])
    );
    assert_eq!(
        got[0].endpoint,
        Endpoint {
            id: "w1".into(),
            url: "https://hooks.example/w1".into(),
            bearer: None,
            bearer_expires_at: None,
        }
    );
    finish(store, "m1", &got[1].id, DeliveryResult::Delivered, 11).await;
    let next = claim(store, "m1", "w", 12).await;
    assert_eq!(
        seen(&next),
        pairs(&[
            ("e1", "topup:t1|w1"),
            ("e2", "topup:t1|w3"),
            ("e2", "topup:t1|w4"),
        ])
    );
    // A failure event: only w2 and the unfiltered w4 want it.
    emit_topup(
        store,
        &mut t,
        &[event(
            "e3",
            "m1",
            "topup:t2",
            TOPUP_FAILED,
            EventTarget::MerchantEndpoints,
        )],
    )
    .await;
    let subjects: Vec<String> = claim(store, "m1", "w", 13)
        .await
        .into_iter()
        .filter(|d| d.event_id == "e3")
        .map(|d| d.subject)
        .collect();
    assert_eq!(subjects, ["topup:t2|w2", "topup:t2|w4"]);
}

async fn webhook_endpoints_put_list_remove(store: &dyn Store) {
    assert!(store.webhook_endpoints("m1").await.unwrap().is_empty());
    let mut w2 = endpoint("w{2}:x", &[TOPUP_DONE], 2);
    let w1 = endpoint("w1", &[], 2);
    let w0 = endpoint("w0", &[TOPUP_DONE, TOPUP_FAILED], 5);
    for e in [&w2, &w1, &w0] {
        store.put_webhook_endpoint("m1", e).await.unwrap();
    }
    assert_eq!(
        store.webhook_endpoints("m1").await.unwrap(),
        [w1.clone(), w2.clone(), w0.clone()],
        "oldest first, ties by id"
    );
    // Replaced by id; `stopped` is the store's to set.
    w2.url = "https://hooks.example/new".into();
    w2.description = None;
    w2.stopped = true;
    store.put_webhook_endpoint("m1", &w2).await.unwrap();
    w2.stopped = false;
    assert_eq!(
        store.webhook_endpoints("m1").await.unwrap(),
        [w1.clone(), w2.clone(), w0.clone()]
    );
    assert!(store.remove_webhook_endpoint("m1", "w1").await.unwrap());
    assert!(!store.remove_webhook_endpoint("m1", "w1").await.unwrap());
    assert_eq!(store.webhook_endpoints("m1").await.unwrap(), [w2, w0]);
    assert!(store.webhook_endpoints("m2").await.unwrap().is_empty());
    assert!(!store.remove_webhook_endpoint("m2", "w0").await.unwrap());
}

fn payment_ids(payments: &[PaymentRecord]) -> Vec<&str> {
    payments.iter().map(|p| p.id.as_str()).collect()
}

/// Records marked `needs_review`, per kind, oldest first, at most `limit` each, of the merchants
/// asked for; an update that clears the mark takes the record off the list.
async fn review_list_holds_every_kind_oldest_first(store: &dyn Store) {
    let mut p1 = sample_payment("p1", "m1", 5);
    p1.needs_review = true;
    store.insert_payment(&p1, &[]).await.unwrap();
    let mut p2 = sample_payment("p2", "m1", 1);
    store.insert_payment(&p2, &[]).await.unwrap();
    p2.needs_review = true;
    emit(store, &mut p2, &[]).await;
    store
        .insert_payment(&sample_payment("p3", "m1", 0), &[])
        .await
        .unwrap();
    let mut p4 = sample_payment("p4", "m2", 3);
    p4.needs_review = true;
    store.insert_payment(&p4, &[]).await.unwrap();
    let mut p5 = sample_payment("p5", "m3", 0);
    p5.needs_review = true;
    store.insert_payment(&p5, &[]).await.unwrap();

    let mut r1 = sample_refund("r1", "m1", "p1", "1", 2);
    store
        .insert_refund(&r1, &[], "1.5".parse().unwrap())
        .await
        .unwrap();
    r1.needs_review = true;
    r1.version = 2;
    store.update_refund(&r1, 1, &[], &[]).await.unwrap();
    store
        .insert_refund(
            &sample_refund("r2", "m1", "p2", "1", 1),
            &[],
            "1.5".parse().unwrap(),
        )
        .await
        .unwrap();

    let mut t1 = sample_topup("t1", "m2", "x1");
    t1.created_at = at(50);
    store.insert_topup(&t1).await.unwrap();
    t1.needs_review = true;
    emit_topup(store, &mut t1, &[]).await;
    let mut t2 = sample_topup("t2", "m1", "x2");
    t2.created_at = at(40);
    t2.needs_review = true;
    store.insert_topup(&t2).await.unwrap();

    let asked = ["m1".to_string(), "m2".to_string(), "m1".to_string()];
    let list = store.review_list(&asked, 10).await.unwrap();
    assert_eq!(payment_ids(&list.payments), ["p2", "p4", "p1"]);
    assert_eq!(list.payments[0], p2, "records come back whole");
    assert_eq!(list.refunds, [r1.clone()]);
    assert_eq!(list.topups, [t2.clone(), t1.clone()]);
    let two = store.review_list(&asked, 2).await.unwrap();
    assert_eq!(payment_ids(&two.payments), ["p2", "p4"]);
    assert_eq!(two.topups.len(), 2);

    p2.needs_review = false;
    emit(store, &mut p2, &[]).await;
    t1.needs_review = false;
    emit_topup(store, &mut t1, &[]).await;
    r1.needs_review = false;
    r1.version = 3;
    store.update_refund(&r1, 2, &[], &[]).await.unwrap();
    let list = store.review_list(&asked, 10).await.unwrap();
    assert_eq!(payment_ids(&list.payments), ["p4", "p1"]);
    assert!(list.refunds.is_empty());
    assert_eq!(list.topups, [t2]);
    assert_eq!(
        store.review_list(&[], 10).await.unwrap(),
        Default::default()
    );
    assert_eq!(
        store.review_list(&asked, 0).await.unwrap(),
        Default::default()
    );
}

/// Another merchant's deliveries, dead letters and endpoints do not exist for a merchant.
async fn merchants_never_see_each_others_outbox(store: &dyn Store) {
    store
        .put_webhook_endpoint("m1", &endpoint("w1", &[], 1))
        .await
        .unwrap();
    let mut p = sample_payment("p1", "m1", 1);
    emit(
        store,
        &mut p,
        &[event("e1", "m1", "S", PAID, to_sink("https://a"))],
    )
    .await;
    let mut t = sample_topup("t1", "m2", "x1");
    emit_topup(
        store,
        &mut t,
        &[event(
            "e2",
            "m2",
            "topup:t1",
            TOPUP_DONE,
            EventTarget::MerchantEndpoints,
        )],
    )
    .await;
    assert_eq!(store.outbox_pending("m1").await.unwrap(), 1);
    assert!(
        claim(store, "m2", "w", 10).await.is_empty(),
        "m1's endpoints are not m2's"
    );
    let got = claim(store, "m1", "w", 10).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        store.outbox_pending("m1").await.unwrap(),
        1,
        "a leased delivery still waits"
    );
    let id = &got[0].id;
    assert!(!store
        .finish_delivery("m2", id, &DeliveryResult::Delivered, at(11))
        .await
        .unwrap());
    let dead = DeliveryResult::DeadLetter {
        reason: "no".into(),
    };
    finish(store, "m1", id, dead, 11).await;
    assert_eq!(store.outbox_pending("m1").await.unwrap(), 0);
    assert_eq!(store.outbox_pending("m2").await.unwrap(), 0);
    assert!(store.dead_letters("m2").await.unwrap().is_empty());
    assert!(!store.replay_dead_letter("m2", id, at(12)).await.unwrap());
    assert_eq!(store.dead_letters("m1").await.unwrap().len(), 1);
    for unknown in ["nope", "", "999-0", "1-2-3", "{x}"] {
        assert!(
            !store
                .finish_delivery("m1", unknown, &DeliveryResult::Delivered, at(12))
                .await
                .unwrap(),
            "{unknown}"
        );
        assert!(!store
            .replay_dead_letter("m1", unknown, at(12))
            .await
            .unwrap());
    }
}
