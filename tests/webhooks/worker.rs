//! The delivery worker on the store's outbox: outages, 410 Gone, exhausted retries and replay, and a
//! worker that dies mid-delivery. Every scenario runs on the memory store (one test each) and on a
//! real `redis-server` (one test, scenarios in parallel, each in its own key namespace).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use switchboard_core::{PaymentRecord, PaymentStatus};
use switchboard_store::conformance::sample_payment;
use switchboard_store::testing::RedisServer;
use switchboard_store::{
    Endpoint, EventTarget, InsertOutcome, MemoryStore, OutboxEvent, RedisStore, Store,
    UpdateOutcome, STOPPED_REASON,
};
use switchboard_tests::{eventually, Receiver, Recorded, Respond};
use switchboard_webhooks::{payment_event, DeliveryWorker, RetryPolicy, Sender, WorkerConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{sender_for, PATIENCE, SECRET};

const MERCHANT: &str = "m-webhooks";
const SOURCE: &str = "https://switchboard.test/carrier-billing/v0.5";

fn policy(retries: usize) -> RetryPolicy {
    RetryPolicy {
        schedule: vec![Duration::from_millis(50); retries],
        throttle_floor: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(1),
        jitter: 0.0,
    }
}

fn config(policy: RetryPolicy) -> WorkerConfig {
    WorkerConfig {
        poll: Duration::from_millis(20),
        lease: Duration::from_secs(10),
        batch: 8,
        concurrency: 4,
        policy,
        ..WorkerConfig::default()
    }
}

/// A worker running in the background until [`Running::stop`] (or dropped with its task aborted).
struct Running {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    fn start(store: &Arc<dyn Store>, sender: Sender, config: WorkerConfig) -> Running {
        let worker = DeliveryWorker::new(
            store.clone(),
            sender,
            vec![(MERCHANT.to_string(), Some(SECRET.to_string()))],
            config,
        );
        let (shutdown, rx) = watch::channel(false);
        Running {
            shutdown,
            task: tokio::spawn(worker.run(rx)),
        }
    }

    async fn stop(self) {
        self.shutdown.send_replace(true);
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the worker stops")
            .expect("the worker task ends cleanly");
    }

    /// Kills the worker as a crash would: no graceful drain, no more heartbeats.
    async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// A payment whose successive states each write one outbox event to `url`.
struct Payment {
    record: PaymentRecord,
    url: String,
}

impl Payment {
    async fn create(store: &dyn Store, id: &str, url: &str) -> Payment {
        let mut record = sample_payment(id, MERCHANT, 0);
        record.status = PaymentStatus::Processing;
        let outcome = store.insert_payment(&record, &[]).await.unwrap();
        assert_eq!(outcome, InsertOutcome::Inserted);
        Payment {
            record,
            url: url.to_string(),
        }
    }

    /// Moves to `status` and writes its event with the state change; returns the event.
    async fn step(&mut self, store: &dyn Store, status: PaymentStatus) -> OutboxEvent {
        let expected = self.record.version;
        self.record.version += 1;
        self.record.status = status;
        self.record.updated_at = Utc::now();
        let ce = payment_event(&self.record, Utc::now(), SOURCE).expect("a visible status");
        let event = OutboxEvent {
            event_id: ce.id.clone(),
            event_type: ce.kind.clone(),
            merchant_id: MERCHANT.into(),
            subject: format!("payment:{}", self.record.id),
            created_at: Utc::now(),
            correlator: Some(format!("corr-{}", self.record.id)),
            body: String::from_utf8(ce.to_json()).unwrap(),
            target: EventTarget::Sink {
                endpoint: Endpoint {
                    id: format!("sink:{}", self.url),
                    url: self.url.clone(),
                    bearer: Some(format!("bearer-{}", self.record.id)),
                    bearer_expires_at: None,
                },
            },
        };
        let outcome = store
            .update_payment(&self.record, expected, &[], std::slice::from_ref(&event))
            .await
            .unwrap();
        assert_eq!(outcome, UpdateOutcome::Updated);
        event
    }
}

fn webhook_id(req: &Recorded) -> String {
    req.header("webhook-id").unwrap_or_default().to_string()
}

fn answered_ok(req: &Recorded) -> bool {
    matches!(req.answered, Some(s) if (200..300).contains(&s))
}

async fn outage_then_recovery(store: Arc<dyn Store>) {
    let receiver = Receiver::start(503).await;
    let url = receiver.url("/hooks");
    let statuses = [
        PaymentStatus::PendingValidation,
        PaymentStatus::Reserved,
        PaymentStatus::Succeeded,
    ];
    // event id -> (subject, position in its subject)
    let mut written = BTreeMap::new();
    for p in ["p1", "p2", "p3"] {
        let mut payment = Payment::create(&*store, p, &url).await;
        for (i, status) in statuses.iter().enumerate() {
            let event = payment.step(&*store, *status).await;
            written.insert(event.event_id, (event.subject, i));
        }
    }
    let worker = Running::start(&store, sender_for(&receiver), config(policy(50)));

    // down for a while…
    receiver.wait_for(4, PATIENCE).await;
    // …then up
    receiver.set_status(204);
    let all: HashSet<String> = written.keys().cloned().collect();
    let delivered = eventually(PATIENCE, || async {
        let ok: HashSet<String> = receiver
            .requests()
            .iter()
            .filter(|r| answered_ok(r))
            .map(webhook_id)
            .collect();
        (ok == all).then_some(ok)
    })
    .await;
    assert!(
        delivered.is_some(),
        "every event delivered: {:?}",
        receiver.requests()
    );
    worker.stop().await;

    let requests = receiver.requests();
    assert!(requests.iter().any(|r| r.answered == Some(503)));
    let mut last_sent: BTreeMap<String, usize> = BTreeMap::new();
    let mut delivered_order: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for req in &requests {
        assert_eq!(req.verify_signature(SECRET), Ok(()), "{req:?}");
        let (subject, position) = written.get(&webhook_id(req)).expect("a written event");
        // never an event before an earlier one of its subject was delivered
        let last = last_sent.entry(subject.clone()).or_insert(0);
        assert!(
            *last <= *position,
            "out of order in {subject}: {requests:?}"
        );
        *last = *position;
        if answered_ok(req) {
            delivered_order
                .entry(subject.clone())
                .or_default()
                .push(*position);
        }
        let payment = subject.trim_start_matches("payment:");
        assert_eq!(
            req.header("authorization"),
            Some(format!("Bearer bearer-{payment}").as_str())
        );
        assert_eq!(
            req.header("x-correlator"),
            Some(format!("corr-{payment}").as_str())
        );
        assert_eq!(req.json()["data"]["paymentId"], payment);
    }
    for (subject, order) in &delivered_order {
        assert_eq!(order, &vec![0, 1, 2], "{subject}");
    }
    assert!(store.dead_letters(MERCHANT).await.unwrap().is_empty());
}

async fn gone_then_replay(store: Arc<dyn Store>) {
    let receiver = Receiver::start(Respond::gone()).await;
    let url = receiver.url("/gone");
    let worker = Running::start(&store, sender_for(&receiver), config(policy(5)));

    let mut p1 = Payment::create(&*store, "g1", &url).await;
    let first = p1.step(&*store, PaymentStatus::Succeeded).await;
    let letters = eventually(PATIENCE, || async {
        let letters = store.dead_letters(MERCHANT).await.unwrap();
        (!letters.is_empty()).then_some(letters)
    })
    .await
    .expect("the 410 dead-letters the delivery");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].delivery.event_id, first.event_id);
    assert!(letters[0].reason.contains("410"), "{}", letters[0].reason);
    assert_eq!(receiver.count(), 1);

    // later events to the stopped endpoint are dead-lettered without a request
    let mut p2 = Payment::create(&*store, "g2", &url).await;
    let second = p2.step(&*store, PaymentStatus::Succeeded).await;
    let mut p3 = Payment::create(&*store, "g3", &url).await;
    let third = p3.step(&*store, PaymentStatus::Denied).await;
    let letters = eventually(PATIENCE, || async {
        let letters = store.dead_letters(MERCHANT).await.unwrap();
        (letters.len() == 3).then_some(letters)
    })
    .await
    .expect("the stopped endpoint's deliveries are dead-lettered");
    for event in [&second, &third] {
        let letter = letters
            .iter()
            .find(|l| l.delivery.event_id == event.event_id)
            .expect("dead-lettered");
        assert_eq!(letter.reason, STOPPED_REASON);
    }
    assert_eq!(receiver.count(), 1, "no request after the 410");

    // a replay re-enables the endpoint
    receiver.set_status(204);
    let replayed = letters
        .iter()
        .find(|l| l.delivery.event_id == first.event_id)
        .unwrap();
    assert!(store
        .replay_dead_letter(MERCHANT, &replayed.delivery.id, Utc::now())
        .await
        .unwrap());
    let requests = receiver.wait_for(2, PATIENCE).await;
    assert_eq!(webhook_id(&requests[1]), first.event_id);
    assert_eq!(requests[1].answered, Some(204));
    worker.stop().await;
}

async fn exhausted_then_replay(store: Arc<dyn Store>) {
    let receiver = Receiver::start(503).await;
    let url = receiver.url("/flaky");
    let worker = Running::start(&store, sender_for(&receiver), config(policy(3)));

    let mut payment = Payment::create(&*store, "x1", &url).await;
    let event = payment.step(&*store, PaymentStatus::Succeeded).await;
    let letters = eventually(PATIENCE, || async {
        let letters = store.dead_letters(MERCHANT).await.unwrap();
        (!letters.is_empty()).then_some(letters)
    })
    .await
    .expect("dead-lettered after the last retry");
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.delivery.event_id, event.event_id);
    assert!(
        letter.reason.contains("503") && letter.reason.contains("4 attempts"),
        "{}",
        letter.reason
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 4, "1 attempt + 3 retries");
    for req in &requests {
        assert_eq!(webhook_id(req), event.event_id);
        assert_eq!(req.verify_signature(SECRET), Ok(()));
    }

    receiver.set_status(204);
    assert!(store
        .replay_dead_letter(MERCHANT, &letter.delivery.id, Utc::now())
        .await
        .unwrap());
    let requests = receiver.wait_for(5, PATIENCE).await;
    assert_eq!(
        webhook_id(&requests[4]),
        event.event_id,
        "the same webhook-id"
    );
    assert_eq!(requests[4].answered, Some(204));
    assert_eq!(requests[4].verify_signature(SECRET), Ok(()));
    let empty = eventually(PATIENCE, || async {
        store
            .dead_letters(MERCHANT)
            .await
            .unwrap()
            .is_empty()
            .then_some(())
    })
    .await;
    assert!(empty.is_some(), "the replayed letter left the dead letters");
    worker.stop().await;
}

async fn dead_worker_redelivered(store: Arc<dyn Store>) {
    let receiver = Receiver::start(Respond::hang()).await;
    let url = receiver.url("/slow");
    let short_lease = |id: &str| WorkerConfig {
        id: id.to_string(),
        lease: Duration::from_millis(500),
        ..config(policy(5))
    };
    // The first worker's sender would wait far longer than its lease.
    let first = Running::start(&store, sender_for(&receiver), short_lease("worker-a"));
    let mut payment = Payment::create(&*store, "k1", &url).await;
    let event = payment.step(&*store, PaymentStatus::Succeeded).await;
    let hung = receiver.wait_for(1, PATIENCE).await.remove(0);
    assert_eq!(webhook_id(&hung), event.event_id);
    assert_eq!(hung.answered, None);

    first.kill().await;
    receiver.set_status(204);
    let second = Running::start(&store, sender_for(&receiver), short_lease("worker-b"));
    let requests = receiver.wait_for(2, PATIENCE).await;
    assert_eq!(
        webhook_id(&requests[1]),
        event.event_id,
        "the same webhook-id"
    );
    assert_eq!(requests[1].answered, Some(204));
    assert_eq!(requests[1].verify_signature(SECRET), Ok(()));
    second.stop().await;
    assert!(store.dead_letters(MERCHANT).await.unwrap().is_empty());
    assert_eq!(
        receiver.count(),
        2,
        "delivered once the lease ran out, once"
    );
}

fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_then_recovery_delivers_every_event_in_order_per_subject() {
    outage_then_recovery(memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_stops_the_endpoint_until_a_replay() {
    gone_then_replay(memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_dead_letter_and_a_replay_keeps_the_webhook_id() {
    exhausted_then_replay(memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_worker_loses_its_lease_and_another_redelivers_the_same_event() {
    dead_worker_redelivered(memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_worker_scenario_on_redis() {
    let server = RedisServer::start();
    let store = |name: &str| -> Arc<dyn Store> {
        let prefix = format!("wh-{name}-{}", uuid::Uuid::new_v4().simple());
        Arc::new(RedisStore::connect(&server.settings(&prefix)).expect("connect to redis"))
    };
    futures::join!(
        outage_then_recovery(store("outage")),
        gone_then_replay(store("gone")),
        exhausted_then_replay(store("exhausted")),
        dead_worker_redelivered(store("dead")),
    );
}
