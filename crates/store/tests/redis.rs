//! The Redis backend against real servers: the shared conformance suite on a single node and on
//! a three-master cluster, plus what only Redis can get wrong (outages, TTLs, slots, races).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use switchboard_core::Msisdn;
use switchboard_store::conformance::{self, sample_payment, sample_topup};
use switchboard_store::testing::{RedisCluster, RedisServer};
use switchboard_store::{
    DeliveryResult, Endpoint, EventTarget, IdempotencyKey, InsertOutcome, OutboxEvent,
    RedisSettings, RedisStore, Store, StoreError, TopUpInsert, WebhookEndpoint,
};

/// A merchant quota the round-trip test never reaches.
const HOURLY: switchboard_store::RateQuota = switchboard_store::RateQuota {
    requests: 1000,
    per: Duration::from_secs(3600),
};

/// A bound for "fails fast instead of hanging" (the store's own deadline is well below it).
const NO_HANG: Duration = Duration::from_secs(5);

fn cc(key: &str) -> IdempotencyKey {
    IdempotencyKey::ClientCorrelator(key.into())
}

/// Fresh, empty stores on one server: each gets its own key prefix.
fn factory(settings: RedisSettings) -> impl Fn() -> std::future::Ready<RedisStore> {
    let next = AtomicUsize::new(0);
    move || {
        let prefix = format!(
            "{}{}",
            settings.prefix,
            next.fetch_add(1, Ordering::Relaxed)
        );
        let settings = RedisSettings {
            prefix,
            ..settings.clone()
        };
        std::future::ready(RedisStore::connect(&settings).expect("valid settings"))
    }
}

/// A payment event for `merchant`, to a CAMARA sink or to the merchant's endpoints.
fn outbox_event(id: &str, merchant: &str, target: EventTarget) -> OutboxEvent {
    OutboxEvent {
        event_id: id.into(),
        event_type: "payment-completed".into(),
        merchant_id: merchant.into(),
        subject: format!("payment:{id}"),
        created_at: chrono::Utc::now(),
        correlator: None,
        body: "{}".into(),
        target,
    }
}

fn to_sink() -> EventTarget {
    EventTarget::Sink {
        endpoint: Endpoint {
            id: "sink:https://a".into(),
            url: "https://a".into(),
            bearer: Some("t".into()),
            bearer_expires_at: None,
        },
    }
}

fn webhook(id: &str) -> WebhookEndpoint {
    WebhookEndpoint {
        id: id.into(),
        url: format!("https://hooks.example/{id}"),
        events: vec![],
        description: None,
        created_at: chrono::Utc::now(),
        stopped: false,
    }
}

fn number(text: &str) -> Msisdn {
    Msisdn::parse(text).expect("valid number")
}

fn raw(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("test redis answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_passes_the_conformance_suite() {
    let server = RedisServer::start();
    conformance::run_all(factory(server.settings("conf"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mnp_replicas_catch_up_after_the_log_is_trimmed_on_a_node_and_a_cluster() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.settings("mnp-trim"))
        .unwrap()
        .with_mnp_log_len(conformance::mnp::SHORT_LOG);
    conformance::mnp::a_replica_catches_up_after_trim(&store).await;
    let cluster = RedisCluster::start();
    let store = RedisStore::connect(&cluster.settings("mnp-trim"))
        .unwrap()
        .with_mnp_log_len(conformance::mnp::SHORT_LOG);
    conformance::mnp::a_replica_catches_up_after_trim(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_passes_the_conformance_suite_and_keeps_each_merchant_in_one_slot() {
    let cluster = RedisCluster::start();
    conformance::run_all(factory(cluster.settings("conf"))).await;

    // Every key the scripts touched, on whichever node holds it, hashes to its merchant's slot.
    let store = RedisStore::connect(&cluster.settings("slots")).unwrap();
    for merchant in ["m1", "m{2}", "}m:3{"] {
        let mut p = sample_payment(&format!("p-{merchant}"), merchant, 1);
        p.status = switchboard_core::PaymentStatus::Processing;
        p.next_check_at = Some(chrono::Utc::now());
        let keys = [cc("}{"), IdempotencyKey::ReferenceCode("r{1}".into())];
        store.insert_payment(&p, &keys).await.unwrap();
        let mut t = sample_topup(&format!("t-{merchant}"), merchant, "x{1}:}");
        t.next_check_at = Some(chrono::Utc::now());
        t.needs_review = true;
        store.insert_topup(&t).await.unwrap();
        // The outbox: endpoints, events with the update, a retry, a 410, the review index.
        store
            .put_webhook_endpoint(merchant, &webhook("w{1}"))
            .await
            .unwrap();
        let mut reviewed = p.clone();
        reviewed.version = 2;
        reviewed.needs_review = true;
        let events = [
            outbox_event("e1", merchant, to_sink()),
            outbox_event("e2", merchant, EventTarget::MerchantEndpoints),
        ];
        store
            .update_payment(&reviewed, 1, &[], &events)
            .await
            .unwrap();
        let now = chrono::Utc::now();
        let got = store
            .claim_deliveries(merchant, "w", now, 30_000, 10)
            .await
            .unwrap();
        assert_eq!(got.len(), 2, "{merchant}");
        let retry = DeliveryResult::Retry {
            next_attempt_at: now,
            error: "503".into(),
        };
        let gone = DeliveryResult::Gone {
            reason: "410".into(),
        };
        assert!(store
            .finish_delivery(merchant, &got[0].id, &retry, now)
            .await
            .unwrap());
        assert!(store
            .finish_delivery(merchant, &got[1].id, &gone, now)
            .await
            .unwrap());
    }
    store
        .set_operator_override(&number("+34600000001"), "op")
        .await
        .unwrap();
    let mut slots_by_tag = std::collections::HashMap::<String, Vec<i64>>::new();
    for url in cluster.nodes() {
        let mut conn = raw(&url);
        let keys: Vec<String> = redis::cmd("KEYS").arg("{slots:*").query(&mut conn).unwrap();
        for key in keys {
            let slot: i64 = redis::cmd("CLUSTER")
                .arg("KEYSLOT")
                .arg(&key)
                .query(&mut conn)
                .unwrap();
            let tag = key[..key.find('}').unwrap()].to_string();
            slots_by_tag.entry(tag).or_default().push(slot);
        }
    }
    let mnp = slots_by_tag.remove("{slots:mnp").unwrap_or_default();
    assert_eq!(mnp.len(), 3, "the MNP hash, version and log");
    assert!(mnp.iter().all(|s| *s == mnp[0]), "in one slot");
    assert_eq!(slots_by_tag.len(), 3, "{slots_by_tag:?}");
    for (tag, slots) in &slots_by_tag {
        // payment, list, its status index, two idempotency keys (the due index emptied: the payment now waits on a
        // human); top-up, top-up due index, external_tx_id; payment and top-up review indexes;
        // webhooks, their order, targets and filters; the outbox stream, subject queues, retry
        // states, dead letters, stopped endpoints
        assert_eq!(slots.len(), 19, "{tag}: {slots:?}");
        assert!(slots.windows(2).all(|w| w[0] == w[1]), "{tag}: {slots:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_topup_claims_on_a_cluster_have_one_winner() {
    let cluster = RedisCluster::start();
    let store = Arc::new(RedisStore::connect(&cluster.settings("race")).unwrap());
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let t = sample_topup(&format!("t{i}"), "m{1}", "same");
                store.insert_topup(&t).await.unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut holders = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            TopUpInsert::Inserted => winners.push(format!("t{i}")),
            TopUpInsert::Existing(holder) => holders.push(holder.id),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(holders.len(), 49);
    assert!(holders.iter().all(|h| *h == winners[0]), "{holders:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_claims_of_one_key_have_one_winner() {
    let server = RedisServer::start();
    let store = Arc::new(RedisStore::connect(&server.settings("race")).unwrap());
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let p = sample_payment(&format!("p{i}"), "m1", 1);
                store.insert_payment(&p, &[cc("same")]).await.unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut holders = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            InsertOutcome::Inserted => winners.push(format!("p{i}")),
            InsertOutcome::Existing { key, existing } => {
                assert_eq!(key, cc("same"));
                holders.push(existing.id);
            }
            other => panic!("no rate limit here: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert!(holders.iter().all(|h| *h == winners[0]), "{holders:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_expire_and_money_records_do_not() {
    let server = RedisServer::start();
    let settings = RedisSettings {
        idempotency_ttl_secs: 3600,
        ..server.settings("ttl")
    };
    let store = RedisStore::connect(&settings).unwrap();
    let mut p = sample_payment("p1", "m1", 1);
    p.status = switchboard_core::PaymentStatus::Processing;
    p.next_check_at = Some(chrono::Utc::now());
    let keys = [cc("c1"), IdempotencyKey::ReferenceCode("r1".into())];
    store.insert_payment(&p, &keys).await.unwrap();
    let mut t = sample_topup("t1", "m1", "x1");
    t.next_check_at = Some(chrono::Utc::now());
    store.insert_topup(&t).await.unwrap();
    store
        .set_operator_override(&number("+34600000001"), "op")
        .await
        .unwrap();

    let mut conn = raw(&server.url());
    let all: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    // payment, list, its status index, due, cc, rc; top-up, top-up due, external_tx_id; the MNP
    // hash, version, log
    assert_eq!(all.len(), 12, "{all:?}");
    assert!(all.contains(&"{ttl:m:m1}:k:tx:x1".to_string()), "{all:?}");
    assert!(all.contains(&"{ttl:mnp}".to_string()), "{all:?}");
    for key in all {
        let ttl: i64 = redis::cmd("TTL").arg(&key).query(&mut conn).unwrap();
        if key.contains("}:k:") {
            assert!((3500..=3600).contains(&ttl), "{key}: {ttl}");
        } else {
            assert_eq!(ttl, -1, "{key} must never expire");
        }
    }
}

/// Writes without events leave the outbox keys alone; the first event creates the stream with
/// its consumer group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_without_events_leave_the_outbox_alone() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.settings("ob")).unwrap();
    let mut conn = raw(&server.url());
    let mut outbox_keys = || -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
        keys.retain(|k| k.contains("}:ob") || k.contains("}:wh"));
        keys.sort();
        keys
    };
    let p = sample_payment("p1", "m1", 1);
    store.insert_payment(&p, &[]).await.unwrap();
    let mut v = p.clone();
    for version in 2..4 {
        v.version = version;
        store
            .update_payment(&v, version - 1, &[], &[])
            .await
            .unwrap();
    }
    let t = sample_topup("t1", "m1", "x1");
    store.insert_topup(&t).await.unwrap();
    let mut t2 = t.clone();
    t2.version = 2;
    store.update_topup(&t2, 1, &[]).await.unwrap();
    assert!(outbox_keys().is_empty());
    // A fan-out with no endpoint registered queues nothing either.
    v.version = 4;
    let fan = outbox_event("e1", "m1", EventTarget::MerchantEndpoints);
    store.update_payment(&v, 3, &[], &[fan]).await.unwrap();
    assert!(outbox_keys().is_empty());
    v.version = 5;
    let sink = outbox_event("e2", "m1", to_sink());
    store.update_payment(&v, 4, &[], &[sink]).await.unwrap();
    assert_eq!(outbox_keys(), ["{ob:m:m1}:ob", "{ob:m:m1}:obq"]);
    let groups: Vec<Vec<redis::Value>> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg("{ob:m:m1}:ob")
        .query(&mut raw(&server.url()))
        .unwrap();
    assert_eq!(groups.len(), 1);
}

/// The top-up due index holds exactly the scheduled, unsettled top-ups: it does not grow with
/// settled ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_topup_due_index_holds_only_unsettled_topups() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.settings("idx")).unwrap();
    let mut conn = raw(&server.url());
    let mut members = || -> Vec<String> {
        redis::cmd("ZRANGE")
            .arg("{idx:m:m1}:tdue")
            .arg(0)
            .arg(-1)
            .query(&mut conn)
            .unwrap()
    };
    let mut t = sample_topup("t{1}", "m1", "x1");
    t.next_check_at = Some(chrono::Utc::now());
    store.insert_topup(&t).await.unwrap();
    store
        .insert_topup(&sample_topup("t2", "m1", "x2"))
        .await
        .unwrap();
    assert_eq!(members(), ["t%7B1%7D"]);
    let mut done = t.clone();
    done.status = switchboard_core::TopUpStatus::Completed;
    done.version = 2;
    store.update_topup(&done, 1, &[]).await.unwrap();
    assert!(members().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_redis_fails_calls_fast_and_is_used_again_when_back() {
    let mut server = RedisServer::start_with_aof();
    let settings = RedisSettings {
        response_timeout_ms: 500,
        connect_timeout_ms: 500,
        ..server.settings("outage")
    };
    let store = RedisStore::connect(&settings).unwrap();
    let p = sample_payment("p1", "m1", 1);
    store.insert_payment(&p, &[cc("c1")]).await.unwrap();
    let t = sample_topup("t1", "m1", "x1");
    store.insert_topup(&t).await.unwrap();
    let ported = number("+34600000001");
    store.set_operator_override(&ported, "op-b").await.unwrap();

    server.kill();
    for _ in 0..3 {
        let outcome = tokio::time::timeout(NO_HANG, store.get_payment("m1", "p1"))
            .await
            .expect("a call on a dead redis must not hang");
        assert!(
            matches!(outcome, Err(StoreError::Unavailable(_))),
            "{outcome:?}"
        );
    }

    // Same port, same AOF: the acknowledged payment is back and the store reconnects by itself.
    server.restart();
    let mut back = None;
    for _ in 0..100 {
        if let Ok(found) = store.get_payment("m1", "p1").await {
            back = found;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(back, Some(p));
    store.ping().await.unwrap();
    match store
        .insert_payment(&sample_payment("p2", "m1", 2), &[cc("c1")])
        .await
        .unwrap()
    {
        InsertOutcome::Existing { existing, .. } => assert_eq!(existing.id, "p1"),
        other => panic!("the claim survived the crash, got {other:?}"),
    }
    assert_eq!(store.get_topup("m1", "t1").await.unwrap(), Some(t.clone()));
    assert_eq!(
        store
            .insert_topup(&sample_topup("t2", "m1", "x1"))
            .await
            .unwrap(),
        TopUpInsert::Existing(Box::new(t)),
        "the top-up claim survived the crash"
    );
    assert_eq!(
        store
            .operator_override_page(None, 10)
            .await
            .unwrap()
            .entries,
        [(ported, "op-b".to_string())]
    );
    assert_eq!(store.operator_override_version().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_times_out_instead_of_hanging() {
    let server = RedisServer::start();
    let settings = RedisSettings {
        response_timeout_ms: 300,
        connect_timeout_ms: 300,
        ..server.settings("frozen")
    };
    let store = RedisStore::connect(&settings).unwrap();
    store.ping().await.unwrap();
    let pid = server.pid().unwrap().to_string();
    signal("-STOP", &pid);
    let outcome = tokio::time::timeout(NO_HANG, store.get_payment("m1", "p1")).await;
    signal("-CONT", &pid);
    let outcome = outcome.expect("a call on a frozen redis must not hang");
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    let mut recovered = false;
    for _ in 0..100 {
        if store.ping().await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recovered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_created_while_redis_is_down_works_once_it_is_up() {
    let mut server = RedisServer::start();
    server.kill();
    let settings = RedisSettings {
        response_timeout_ms: 300,
        connect_timeout_ms: 300,
        ..server.settings("late")
    };
    let store = RedisStore::connect(&settings).expect("connect does not need redis up");
    let outcome = tokio::time::timeout(NO_HANG, store.ping())
        .await
        .expect("no hang");
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    server.restart();
    let mut up = false;
    for _ in 0..100 {
        if store.ping().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up);
    let p = sample_payment("p1", "m1", 1);
    assert_eq!(
        store.insert_payment(&p, &[]).await.unwrap(),
        InsertOutcome::Inserted
    );
}

fn signal(sig: &str, pid: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, pid])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_never_show_the_password() {
    let server = RedisServer::start();
    let port = server.port();
    drop(server); // nobody listens on the port now
    let settings = RedisSettings {
        url: format!("redis://user:hunter2@127.0.0.1:{port}"),
        response_timeout_ms: 300,
        connect_timeout_ms: 300,
        ..Default::default()
    };
    let store = RedisStore::connect(&settings).unwrap();
    let err = tokio::time::timeout(NO_HANG, store.ping())
        .await
        .expect("no hang")
        .unwrap_err();
    let shown = format!("{err} {err:?} {store:?}");
    assert!(matches!(err, StoreError::Unavailable(_)));
    assert!(!shown.contains("hunter2"), "{shown}");
    let bad = RedisSettings {
        url: "nonsense://user:hunter2@x".into(),
        ..Default::default()
    };
    let err = RedisStore::connect(&bad).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn connect_outside_a_runtime_is_an_error_not_a_panic() {
    let err = RedisStore::connect(&RedisSettings::default()).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)));
}

/// Counts the commands clients send (not those scripts run) with MONITOR, until `marker` is echoed.
fn client_commands_until(
    monitor: &mut std::io::BufReader<std::net::TcpStream>,
    marker: &str,
) -> Vec<String> {
    use std::io::BufRead;
    let mut seen = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let read = monitor.read_line(&mut line).expect("monitor answers");
        assert!(read > 0, "monitor closed");
        if line.contains(marker) {
            return seen;
        }
        if !line.contains(" lua]") {
            let command = line.split('"').nth(1).unwrap_or_default().to_lowercase();
            seen.push(command);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operation_is_one_round_trip() {
    use std::io::{BufRead, Write};
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.settings("rt")).unwrap();
    // Warm up: the first script call per server also loads the script (NOSCRIPT → SCRIPT LOAD).
    let warm = sample_payment("warm", "m0", 1);
    store.insert_payment(&warm, &[cc("w")]).await.unwrap();
    store
        .insert_payment_rated(&sample_payment("warm2", "m0", 1), &[cc("w2")], HOURLY)
        .await
        .unwrap();
    let mut warm2 = warm.clone();
    warm2.version = 2;
    store.update_payment(&warm2, 1, &[], &[]).await.unwrap();
    store
        .list_payments("m0", &Default::default())
        .await
        .unwrap();
    store
        .due_for_reconciliation(&["m0".into()], chrono::Utc::now(), 1)
        .await
        .unwrap();
    let warm_topup = sample_topup("warm", "m0", "w");
    store.insert_topup(&warm_topup).await.unwrap();
    let mut warm_topup2 = warm_topup.clone();
    warm_topup2.version = 2;
    store.update_topup(&warm_topup2, 1, &[]).await.unwrap();
    let now = chrono::Utc::now();
    store
        .claim_deliveries("m0", "w", now, 1000, 1)
        .await
        .unwrap();
    store
        .finish_delivery("m0", "1-0", &DeliveryResult::Delivered, now)
        .await
        .unwrap();
    store.replay_dead_letter("m0", "1-0", now).await.unwrap();
    store
        .put_webhook_endpoint("m0", &webhook("w"))
        .await
        .unwrap();
    store.webhook_endpoints("m0").await.unwrap();
    store.remove_webhook_endpoint("m0", "w").await.unwrap();
    store.review_list(&["m0".into()], 1).await.unwrap();
    let warm_number = number("+34600000099");
    store
        .set_operator_override(&warm_number, "w")
        .await
        .unwrap();
    store.operator_override_changes(0, 1).await.unwrap();

    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream.set_read_timeout(Some(NO_HANG)).unwrap();
    stream.write_all(b"MONITOR\r\n").unwrap();
    let mut monitor = std::io::BufReader::new(stream);
    let mut ok = String::new();
    monitor.read_line(&mut ok).unwrap();
    assert_eq!(ok.trim(), "+OK");
    let mut marker_conn = raw(&server.url());
    let mut mark = |marker: &str| {
        let _: String = redis::cmd("ECHO")
            .arg(marker)
            .query(&mut marker_conn)
            .unwrap();
    };

    // A 1-step payment: claim + store, then the outcome.
    let p = sample_payment("p1", "m1", 1);
    store
        .insert_payment(&p, &[cc("c1"), IdempotencyKey::ReferenceCode("r1".into())])
        .await
        .unwrap();
    let mut done = p.clone();
    done.version = 2;
    store
        .update_payment(&done, 1, &[IdempotencyKey::ReferenceCode("r1".into())], &[])
        .await
        .unwrap();
    mark("one-step-done");
    assert_eq!(
        client_commands_until(&mut monitor, "one-step-done"),
        ["evalsha", "evalsha"]
    );

    // With the merchant's rate limit: the limit is folded into the claim, still two in all.
    let rated = sample_payment("p2", "m1", 1);
    let rated_keys = [cc("c2"), IdempotencyKey::ReferenceCode("r2".into())];
    let outcome = store
        .insert_payment_rated(&rated, &rated_keys, HOURLY)
        .await
        .unwrap();
    assert_eq!(outcome, InsertOutcome::Inserted);
    let mut rated_done = rated.clone();
    rated_done.version = 2;
    store
        .update_payment(&rated_done, 1, &[], &[])
        .await
        .unwrap();
    mark("rated-one-step-done");
    assert_eq!(
        client_commands_until(&mut monitor, "rated-one-step-done"),
        ["evalsha", "evalsha"]
    );
    // A replay (answered from the claim) and a refusal over the quota are one each.
    let replay = store
        .insert_payment_rated(&sample_payment("p3", "m1", 1), &rated_keys, HOURLY)
        .await
        .unwrap();
    assert!(matches!(replay, InsertOutcome::Existing { .. }));
    let tight = switchboard_store::RateQuota {
        requests: 1,
        per: Duration::from_secs(3600),
    };
    let first = store
        .insert_payment_rated(&sample_payment("p4", "m3", 1), &[cc("c4")], tight)
        .await
        .unwrap();
    assert_eq!(first, InsertOutcome::Inserted);
    let refused = store
        .insert_payment_rated(&sample_payment("p5", "m3", 1), &[cc("c5")], tight)
        .await
        .unwrap();
    assert!(matches!(refused, InsertOutcome::RateLimited { .. }));
    mark("rated-replay-refusal");
    assert_eq!(
        client_commands_until(&mut monitor, "rated-replay-refusal"),
        ["evalsha", "evalsha", "evalsha"]
    );

    // The outcome with its events (a sink and a fan-out) is still one round trip.
    store
        .put_webhook_endpoint("m1", &webhook("w1"))
        .await
        .unwrap();
    mark("endpoint-put");
    assert_eq!(
        client_commands_until(&mut monitor, "endpoint-put"),
        ["evalsha"]
    );
    let mut with_events = done.clone();
    with_events.version = 3;
    let events = [
        outbox_event("e1", "m1", to_sink()),
        outbox_event("e2", "m1", EventTarget::MerchantEndpoints),
    ];
    store
        .update_payment(&with_events, 2, &[], &events)
        .await
        .unwrap();
    mark("events-written");
    assert_eq!(
        client_commands_until(&mut monitor, "events-written"),
        ["evalsha"]
    );

    // Each outbox call is one round trip.
    let now = chrono::Utc::now();
    let got = store
        .claim_deliveries("m1", "w", now, 30_000, 10)
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    let dead = DeliveryResult::DeadLetter {
        reason: "no".into(),
    };
    store
        .finish_delivery("m1", &got[0].id, &dead, now)
        .await
        .unwrap();
    store.dead_letters("m1").await.unwrap();
    store
        .replay_dead_letter("m1", &got[0].id, now)
        .await
        .unwrap();
    store.webhook_endpoints("m1").await.unwrap();
    store.remove_webhook_endpoint("m1", "w1").await.unwrap();
    store
        .review_list(&["m1".into(), "m2".into()], 10)
        .await
        .unwrap();
    mark("outbox-done");
    assert_eq!(
        client_commands_until(&mut monitor, "outbox-done"),
        ["evalsha", "evalsha", "hvals", "evalsha", "evalsha", "evalsha", "evalsha", "evalsha"],
        "claim, finish, dead letters, replay, list, remove, review for two merchants"
    );

    store.get_payment("m1", "p1").await.unwrap();
    let filtered = switchboard_store::PaymentQuery {
        statuses: vec![switchboard_core::PaymentStatus::Succeeded],
        ..Default::default()
    };
    store.list_payments("m1", &filtered).await.unwrap();
    store
        .due_for_reconciliation(&["m1".into(), "m2".into()], chrono::Utc::now(), 10)
        .await
        .unwrap();
    store.ping().await.unwrap();
    mark("reads-done");
    assert_eq!(
        client_commands_until(&mut monitor, "reads-done"),
        ["hget", "evalsha", "evalsha", "evalsha", "ping"],
        "get, list, due for two merchants, ping"
    );

    // A top-up: claim + store, then the outcome; then the reads.
    let t = sample_topup("t1", "m1", "x1");
    store.insert_topup(&t).await.unwrap();
    let mut done = t.clone();
    done.status = switchboard_core::TopUpStatus::Completed;
    done.version = 2;
    store.update_topup(&done, 1, &[]).await.unwrap();
    mark("topup-written");
    assert_eq!(
        client_commands_until(&mut monitor, "topup-written"),
        ["evalsha", "evalsha"]
    );
    store.get_topup("m1", "t1").await.unwrap();
    store
        .due_topups(&["m1".into(), "m2".into()], chrono::Utc::now(), 10)
        .await
        .unwrap();
    mark("topup-reads-done");
    assert_eq!(
        client_commands_until(&mut monitor, "topup-reads-done"),
        ["hget", "evalsha", "evalsha"],
        "get, due for two merchants"
    );

    let ported = number("+34600000001");
    store.set_operator_override(&ported, "op-b").await.unwrap();
    store.remove_operator_override(&ported).await.unwrap();
    store.operator_override_version().await.unwrap();
    store.operator_override_page(None, 100).await.unwrap();
    store.operator_override_changes(0, 100).await.unwrap();
    mark("mnp-done");
    assert_eq!(
        client_commands_until(&mut monitor, "mnp-done"),
        ["evalsha", "evalsha", "get", "hscan", "evalsha"],
        "set, remove (each logged in its script); a full load; a sync"
    );
}

/// Key names hold no phone number: the subscriber's spending hash is named by a keyed hash, and
/// replicas configured alike find the same one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_phone_number_in_any_key_name() {
    let server = RedisServer::start();
    let settings = RedisSettings {
        subscriber_key_secret: "shared secret".into(),
        ..server.settings("pii")
    };
    let store = RedisStore::connect(&settings).unwrap();
    let period = switchboard_store::SpendPeriod {
        msisdn: number("+34600000042"),
        month: "2026-12".into(),
        currency: "EUR".into(),
    };
    store
        .reserve_spend(&period, "p1", 5_000, 300_000)
        .await
        .unwrap();
    let mut p = sample_payment("p1", "m1", 1);
    p.status = switchboard_core::PaymentStatus::Processing;
    store.insert_payment(&p, &[cc("c1")]).await.unwrap();

    let mut conn = raw(&server.url());
    let all: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    assert!(all.iter().any(|k| k.contains(":spend:")), "{all:?}");
    for key in &all {
        assert!(!key.contains("600000042"), "a phone number in {key}");
    }

    let replica = RedisStore::connect(&settings).unwrap();
    assert_eq!(replica.spent(&period).await.unwrap(), 5_000);
    let other_secret = RedisStore::connect(&RedisSettings {
        subscriber_key_secret: "another".into(),
        ..settings.clone()
    })
    .unwrap();
    assert_eq!(other_secret.spent(&period).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_wait_for_replicas_when_asked() {
    // No replica: a claim cannot reach one, so it is not acknowledged.
    let server = RedisServer::start();
    let store = RedisStore::connect(&RedisSettings {
        claim_replicas: 1,
        response_timeout_ms: 300,
        ..server.settings("wait")
    })
    .unwrap();
    let err = store
        .insert_payment(&sample_payment("p1", "m1", 1), &[cc("c1")])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("0 of 1 replicas")),
        "{err}"
    );

    // A cluster with a replica per master: every claim is on two nodes before it is acknowledged,
    // wherever its merchant's slot lives, and the store behaves as any other.
    let cluster = RedisCluster::start_with_replicas(1, Duration::from_secs(5));
    conformance::run_all(factory(RedisSettings {
        claim_replicas: 1,
        ..cluster.settings("conf-wait")
    }))
    .await;
}
