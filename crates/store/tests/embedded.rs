//! The embedded store: the conformance suite every backend passes, and a reopen of the same data
//! directory that must give back everything acknowledged before.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, Utc};
use switchboard_core::{Msisdn, PaymentStatus, TopUpStatus};
use switchboard_store::conformance::{
    self, sample_esim_order, sample_payment, sample_refund, sample_topup,
};
use switchboard_store::testing::TempDir;
use switchboard_store::{
    AuditEntry, DeliveryResult, EmbeddedStore, Endpoint, EsimInsert, EventTarget, IdempotencyKey,
    InsertOutcome, OutboxEvent, OverrideChanges, RefundInsert, SpendOutcome, SpendPeriod, Store,
    TopUpInsert, UpdateOutcome, WebhookEndpoint,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_passes_the_store_conformance_suite() {
    let root = TempDir::new("embedded-conf");
    let next = AtomicUsize::new(0);
    conformance::run_all(|| async {
        let dir = root
            .path()
            .join(next.fetch_add(1, Ordering::Relaxed).to_string());
        EmbeddedStore::open(&dir).expect("opens a fresh data directory")
    })
    .await;
}

fn cc(v: &str) -> IdempotencyKey {
    IdempotencyKey::ClientCorrelator(v.into())
}

fn rc(v: &str) -> IdempotencyKey {
    IdempotencyKey::ReferenceCode(v.into())
}

fn number(text: &str) -> Msisdn {
    Msisdn::parse(text).expect("valid number")
}

fn event(id: &str, merchant: &str, target: EventTarget) -> OutboxEvent {
    OutboxEvent {
        event_id: id.into(),
        event_type: "topup.completed".into(),
        merchant_id: merchant.into(),
        subject: format!("subject-{id}"),
        created_at: Utc::now() - Duration::seconds(5),
        correlator: None,
        body: format!("{{\"id\":\"{id}\"}}"),
        target,
    }
}

fn sink(url: &str) -> EventTarget {
    EventTarget::Sink {
        endpoint: Endpoint {
            id: format!("sink:{url}"),
            url: url.into(),
            bearer: None,
            bearer_expires_at: None,
        },
    }
}

fn period() -> SpendPeriod {
    SpendPeriod {
        msisdn: number("+34600000001"),
        month: "2026-01".into(),
        currency: "EUR".into(),
    }
}

/// Writes one of everything the store keeps, then drops it.
async fn write_everything(store: &EmbeddedStore) {
    let now = Utc::now();
    let mut pending = sample_payment("p-pending", "m1", 1);
    pending.status = PaymentStatus::Processing;
    pending.next_check_at = Some(now - Duration::seconds(1));
    pending.client_correlator = Some("c-pending".into());
    let keys = [cc("c-pending"), rc("ref-p-pending")];
    assert_eq!(
        store.insert_payment(&pending, &keys).await.unwrap(),
        InsertOutcome::Inserted
    );

    let paid = sample_payment("p-paid", "m1", 2);
    let keys = [cc("c-paid"), rc("ref-p-paid")];
    assert_eq!(
        store.insert_payment(&paid, &keys).await.unwrap(),
        InsertOutcome::Inserted
    );
    let mut paid2 = paid.clone();
    paid2.version = 2;
    let events = [event("e-sink", "m1", sink("https://merchant.example/cb"))];
    assert_eq!(
        store
            .update_payment(&paid2, 1, &[rc("ref-p-paid")], &events)
            .await
            .unwrap(),
        UpdateOutcome::Updated
    );

    let topup = sample_topup("t1", "m1", "ext-1");
    assert_eq!(
        store.insert_topup(&topup).await.unwrap(),
        TopUpInsert::Inserted
    );
    let mut order = sample_esim_order("m1", Some("eo-1"));
    order.id = "esim_kept".into();
    assert_eq!(
        store.insert_esim_order(&order).await.unwrap(),
        EsimInsert::Inserted
    );
    order.channel_id = Some("globaltopup".into());
    order.version = 2;
    assert_eq!(
        store.update_esim_order(&order, 1).await.unwrap(),
        UpdateOutcome::Updated
    );
    let refund = sample_refund("r1", "m1", "p-paid", "0.5", 3);
    assert_eq!(
        store
            .insert_refund(
                &refund,
                &[cc("rc-1")],
                paid.payment_amount.charging_information.amount
            )
            .await
            .unwrap(),
        RefundInsert::Inserted
    );

    let endpoint = WebhookEndpoint {
        id: "we1".into(),
        url: "https://hooks.example/we1".into(),
        events: vec!["topup.completed".into()],
        description: None,
        created_at: now,
        stopped: false,
    };
    store.put_webhook_endpoint("m1", &endpoint).await.unwrap();
    let mut topup2 = topup.clone();
    topup2.version = topup.version + 1;
    topup2.status = TopUpStatus::Completed;
    let fan_out = [event("e-fan", "m1", EventTarget::MerchantEndpoints)];
    assert_eq!(
        store
            .update_topup(&topup2, topup.version, &fan_out)
            .await
            .unwrap(),
        UpdateOutcome::Updated
    );
    // A third event goes to the dead letters.
    let mut paid3 = paid2.clone();
    paid3.version = 3;
    let dead = [event("e-dead", "m1", sink("https://gone.example/cb"))];
    store.update_payment(&paid3, 2, &[], &dead).await.unwrap();
    let claimed = store
        .claim_deliveries("m1", "w0", Utc::now(), 30_000, 10)
        .await
        .unwrap();
    let dead_id = claimed
        .iter()
        .find(|d| d.event_id == "e-dead")
        .expect("the third event is claimable")
        .id
        .clone();
    let reason = DeliveryResult::DeadLetter {
        reason: "exhausted".into(),
    };
    assert!(store
        .finish_delivery("m1", &dead_id, &reason, Utc::now())
        .await
        .unwrap());

    store
        .set_operator_override(&number("+34600000002"), "op-b")
        .await
        .unwrap();
    store
        .set_operator_override(&number("+34600000003"), "op-c")
        .await
        .unwrap();
    assert!(store
        .remove_operator_override(&number("+34600000003"))
        .await
        .unwrap());
    assert!(matches!(
        store
            .reserve_spend(&period(), "p-pending", 1_500, 50_000)
            .await
            .unwrap(),
        SpendOutcome::Reserved { total: 1_500 }
    ));
    assert!(store.use_once("auth-req-1", 300).await.unwrap());
    for (version, doc) in [(0, "{\"a\":1}"), (1, "{\"a\":2}")] {
        let audit = AuditEntry {
            at: Utc::now(),
            actor: "ops".into(),
            action: format!("change {version}"),
            before: String::new(),
            after: doc.into(),
        };
        assert_eq!(
            store
                .set_routing_controls(version, doc, &audit)
                .await
                .unwrap(),
            Some(version + 1)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_store_gives_back_everything_it_acknowledged() {
    let dir = TempDir::new("embedded-reopen");
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        write_everything(&store).await;
    }
    let store = EmbeddedStore::open(dir.path()).expect("the closed data file opens again");

    // Payments, with their keys: a retry replays, a released key is free again.
    let pending = store.get_payment("m1", "p-pending").await.unwrap().unwrap();
    assert_eq!(pending.status, PaymentStatus::Processing);
    let paid = store.get_payment("m1", "p-paid").await.unwrap().unwrap();
    assert_eq!(paid.version, 3);
    let retry = sample_payment("p-retry", "m1", 9);
    match store
        .insert_payment(&retry, &[cc("c-pending"), rc("ref-p-retry")])
        .await
        .unwrap()
    {
        InsertOutcome::Existing { key, existing } => {
            assert_eq!(key, cc("c-pending"));
            assert_eq!(existing.id, "p-pending");
        }
        other => panic!("a retry after the restart must replay, got {other:?}"),
    }
    let reuse = sample_payment("p-reuse", "m1", 10);
    assert_eq!(
        store
            .insert_payment(&reuse, &[rc("ref-p-paid")])
            .await
            .unwrap(),
        InsertOutcome::Inserted,
        "a key released before the restart stays free"
    );
    let listed = store
        .list_payments("m1", &Default::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 3, "the list index is rebuilt");

    // Reconciliation sees the pending payment.
    let due = store
        .due_for_reconciliation(&["m1".to_string()], Utc::now(), 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["p-pending"]
    );

    // Top-ups and refunds, with their claims.
    let topup = store.get_topup("m1", "t1").await.unwrap().unwrap();
    assert_eq!(topup.status, TopUpStatus::Completed);
    let again = sample_topup("t2", "m1", "ext-1");
    assert!(matches!(
        store.insert_topup(&again).await.unwrap(),
        TopUpInsert::Existing(t) if t.id == "t1"
    ));
    let order = store.get_esim_order("m1", "esim_kept").await.unwrap();
    assert_eq!(
        order.map(|o| (o.version, o.channel_id)),
        Some((2, Some("globaltopup".into())))
    );
    assert!(matches!(
        store.insert_esim_order(&sample_esim_order("m1", Some("eo-1"))).await.unwrap(),
        EsimInsert::Existing(o) if o.id == "esim_kept"
    ));
    assert!(store
        .get_refund("m1", "p-paid", "r1")
        .await
        .unwrap()
        .is_some());
    let refund_retry = sample_refund("r2", "m1", "p-paid", "0.5", 4);
    assert!(matches!(
        store
            .insert_refund(&refund_retry, &[cc("rc-1")], "1.5".parse().unwrap())
            .await
            .unwrap(),
        RefundInsert::Existing { existing, .. } if existing.id == "r1"
    ));

    // The outbox: both pending events claimable again (leases restart), the dead letter kept.
    assert_eq!(store.outbox_pending("m1").await.unwrap(), 2);
    let claimed = store
        .claim_deliveries("m1", "w1", Utc::now(), 30_000, 10)
        .await
        .unwrap();
    let mut events: Vec<&str> = claimed.iter().map(|d| d.event_id.as_str()).collect();
    events.sort_unstable();
    assert_eq!(events, ["e-fan", "e-sink"]);
    let dead = store.dead_letters("m1").await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].delivery.event_id, "e-dead");
    assert_eq!(store.webhook_endpoints("m1").await.unwrap().len(), 1);
    // A new delivery gets a fresh id, not one handed out before the restart.
    assert!(store
        .replay_dead_letter("m1", &dead[0].delivery.id, Utc::now())
        .await
        .unwrap());
    let mut ids: Vec<String> = store
        .claim_deliveries("m1", "w1", Utc::now(), 30_000, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3);

    // MNP: the table and its version; a replica behind it reloads.
    let page = store.operator_override_page(None, 10).await.unwrap();
    assert_eq!(page.entries, [(number("+34600000002"), "op-b".to_string())]);
    assert_eq!(store.operator_override_version().await.unwrap(), 3);
    assert!(matches!(
        store.operator_override_changes(1, 10).await.unwrap(),
        OverrideChanges::Trimmed { head: 3 }
    ));

    // Routing controls and their audit log, newest first.
    let controls = store.routing_controls().await.unwrap();
    assert_eq!(
        (controls.version, controls.document.as_str()),
        (2, "{\"a\":2}")
    );
    let audit = store.audit_log(10).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["change 1", "change 0"]);

    // Limits: the reservation holds; a used single-use token stays used.
    assert_eq!(store.spent(&period()).await.unwrap(), 1_500);
    assert!(!store.use_once("auth-req-1", 300).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_of_the_same_directory_is_refused() {
    let dir = TempDir::new("embedded-twice");
    let _first = EmbeddedStore::open(dir.path()).unwrap();
    assert!(EmbeddedStore::open(dir.path()).is_err());
}
