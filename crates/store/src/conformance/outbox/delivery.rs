//! The worker side of the outbox conformance: per-subject order, retries and dead letters, leases
//! and their heartbeat, 410 stops and replays, expired credentials, concurrent claims.

use std::sync::Arc;

// The parent's fixtures: `at`, `event`, `emit`, `claim`, `finish`, `seen`, … and its imports.
use super::*;

/// Deliveries of one subject leave one at a time, in write order; a retry keeps its place and
/// holds back the rest of its subject, not other subjects.
pub(super) async fn each_subject_leaves_in_order_and_a_retry_blocks_it(store: &dyn Store) {
    let mut p1 = sample_payment("p1", "m1", 1);
    let mut p2 = sample_payment("p2", "m1", 2);
    let ev = |id: &str, subject: &str| event(id, "m1", subject, PAID, to_sink("https://a"));
    emit(store, &mut p1, &[ev("a1", "S")]).await;
    emit(store, &mut p1, &[ev("a2", "S")]).await;
    emit(store, &mut p2, &[ev("b1", "T")]).await;
    let got = claim(store, "m1", "w", 0).await;
    assert_eq!(seen(&got), pairs(&[("a1", "S"), ("b1", "T")]));
    let (a1, b1) = (got[0].id.clone(), got[1].id.clone());
    let retry = DeliveryResult::Retry {
        next_attempt_at: at(60),
        error: "HTTP 503: \"busy\"\nretry later".into(),
    };
    finish(store, "m1", &a1, retry, 1).await;
    assert_eq!(
        seen(&claim(store, "m1", "w", 10).await),
        pairs(&[("b1", "T")])
    );
    finish(store, "m1", &b1, DeliveryResult::Delivered, 11).await;
    assert!(
        claim(store, "m1", "w", 59).await.is_empty(),
        "a1 not due, a2 blocked"
    );
    let again = claim(store, "m1", "w", 60).await;
    assert_eq!(seen(&again), pairs(&[("a1", "S")]));
    assert_eq!(again[0].id, a1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].next_attempt_at, at(60));
    assert_eq!(
        again[0].last_error.as_deref(),
        Some("HTTP 503: \"busy\"\nretry later")
    );
    finish(store, "m1", &a1, DeliveryResult::Delivered, 61).await;
    assert!(!store
        .finish_delivery("m1", &a1, &DeliveryResult::Delivered, at(61))
        .await
        .unwrap());
    assert_eq!(
        seen(&claim(store, "m1", "w", 61).await),
        pairs(&[("a2", "S")])
    );

    // At most `limit`, in write order.
    emit(store, &mut p2, &[ev("c1", "U"), ev("c2", "V")]).await;
    let two = store
        .claim_deliveries("m1", "w", at(62), LEASE, 2)
        .await
        .unwrap();
    assert_eq!(seen(&two), pairs(&[("a2", "S"), ("c1", "U")]));
    assert!(store
        .claim_deliveries("m1", "w", at(62), LEASE, 0)
        .await
        .unwrap()
        .is_empty());
}

/// A delivery given up on moves to the dead letters (one attempt more) and stops blocking its
/// subject; its endpoint stays in use.
pub(super) async fn dead_letters_free_their_subject(store: &dyn Store) {
    let mut p = sample_payment("p1", "m1", 1);
    let ev = |id: &str| event(id, "m1", "S", PAID, to_sink("https://a"));
    emit(store, &mut p, &[ev("y1"), ev("y2")]).await;
    let got = claim(store, "m1", "w", 0).await;
    assert_eq!(seen(&got), pairs(&[("y1", "S")]));
    let y1 = got[0].clone();
    let retry = DeliveryResult::Retry {
        next_attempt_at: at(5),
        error: "timeout".into(),
    };
    finish(store, "m1", &y1.id, retry, 1).await;
    let dead = DeliveryResult::DeadLetter {
        reason: "exhausted".into(),
    };
    finish(store, "m1", &y1.id, dead, 7).await;
    assert_eq!(
        seen(&claim(store, "m1", "w", 8).await),
        pairs(&[("y2", "S")])
    );
    let letters = store.dead_letters("m1").await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "exhausted");
    assert_eq!(letters[0].failed_at, at(7));
    let expected = Delivery {
        attempts: 2,
        next_attempt_at: at(5),
        last_error: Some("timeout".into()),
        ..y1
    };
    assert_eq!(letters[0].delivery, expected);
    assert!(!store
        .finish_delivery("m1", &expected.id, &DeliveryResult::Delivered, at(9))
        .await
        .unwrap());
}

/// A worker that stops claiming loses its deliveries once its lease runs out; the next worker
/// gets the same events (at least once). Until then nobody else sees them.
pub(super) async fn expired_leases_pass_to_another_worker(store: &dyn Store) {
    let mut p = sample_payment("p1", "m1", 1);
    let ev = |id: &str, subject: &str| event(id, "m1", subject, PAID, to_sink("https://a"));
    emit(store, &mut p, &[ev("e1", "S"), ev("e2", "T")]).await;
    let first = claim(store, "m1", "a", 0).await;
    assert_eq!(first.len(), 2);
    // a retried delivery stays with its worker too.
    let retry = DeliveryResult::Retry {
        next_attempt_at: at(5),
        error: "503".into(),
    };
    finish(store, "m1", &first[1].id, retry, 1).await;
    assert!(claim(store, "m1", "b", 10).await.is_empty());
    assert!(claim(store, "m1", "b", 29).await.is_empty());
    let taken = claim(store, "m1", "b", 31).await;
    assert_eq!(seen(&taken), pairs(&[("e1", "S"), ("e2", "T")]));
    assert_eq!(taken[0].id, first[0].id);
    assert_eq!(taken[1].attempts, 1);
    // Now b holds them: a gets nothing back while b is alive.
    assert!(claim(store, "m1", "a", 40).await.is_empty());
    finish(store, "m1", &taken[0].id, DeliveryResult::Delivered, 41).await;
    // The late worker's report on a finished delivery is ignored.
    assert!(!store
        .finish_delivery("m1", &first[0].id, &DeliveryResult::Delivered, at(42))
        .await
        .unwrap());
}

/// Claiming again renews the lease of everything the worker holds: the heartbeat.
pub(super) async fn claiming_again_keeps_the_lease_alive(store: &dyn Store) {
    let mut p = sample_payment("p1", "m1", 1);
    let ev = |id: &str, subject: &str| event(id, "m1", subject, PAID, to_sink("https://a"));
    emit(store, &mut p, &[ev("e1", "S"), ev("e2", "S")]).await;
    assert_eq!(
        seen(&claim(store, "m1", "a", 0).await),
        pairs(&[("e1", "S")])
    );
    // a holds e2 too (taken with e1, blocked behind it): the heartbeat renews both.
    assert_eq!(claim(store, "m1", "a", 20).await.len(), 1);
    assert!(
        claim(store, "m1", "b", 40).await.is_empty(),
        "renewed at 20"
    );
    assert_eq!(claim(store, "m1", "a", 45).await.len(), 1);
    assert!(
        claim(store, "m1", "b", 74).await.is_empty(),
        "renewed at 45"
    );
    let taken = claim(store, "m1", "b", 76).await;
    assert_eq!(seen(&taken), pairs(&[("e1", "S")]));
    finish(store, "m1", &taken[0].id, DeliveryResult::Delivered, 77).await;
    assert_eq!(
        seen(&claim(store, "m1", "b", 78).await),
        pairs(&[("e2", "S")])
    );
    assert!(claim(store, "m1", "a", 79).await.is_empty());
}

/// 410 Gone stops the endpoint: its other deliveries become dead letters unsent, new events skip
/// it, and a replay puts the letter back (same event id) and re-enables it.
pub(super) async fn gone_stops_the_endpoint_until_a_replay(store: &dyn Store) {
    for e in [endpoint("w1", &[], 1), endpoint("w2", &[], 2)] {
        store.put_webhook_endpoint("m1", &e).await.unwrap();
    }
    let mut t1 = sample_topup("t1", "m1", "x1");
    let mut t2 = sample_topup("t2", "m1", "x2");
    let fan = |id: &str, subject: &str| {
        event(
            id,
            "m1",
            subject,
            TOPUP_DONE,
            EventTarget::MerchantEndpoints,
        )
    };
    emit_topup(store, &mut t1, &[fan("x1", "topup:t1")]).await;
    emit_topup(store, &mut t2, &[fan("x2", "topup:t2")]).await;
    let got = claim(store, "m1", "w", 10).await;
    assert_eq!(
        seen(&got),
        pairs(&[
            ("x1", "topup:t1|w1"),
            ("x1", "topup:t1|w2"),
            ("x2", "topup:t2|w1"),
            ("x2", "topup:t2|w2"),
        ])
    );
    let gone = DeliveryResult::Gone {
        reason: "HTTP 410".into(),
    };
    finish(store, "m1", &got[0].id, gone, 11).await;
    let listed: Vec<(String, bool)> = store
        .webhook_endpoints("m1")
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.stopped))
        .collect();
    assert_eq!(listed, [("w1".into(), true), ("w2".into(), false)]);
    // x2's delivery to w1 is buried unsent at the next claim.
    let left = claim(store, "m1", "w", 12).await;
    assert_eq!(
        seen(&left),
        pairs(&[("x1", "topup:t1|w2"), ("x2", "topup:t2|w2")])
    );
    finish(store, "m1", &left[0].id, DeliveryResult::Delivered, 12).await;
    finish(store, "m1", &left[1].id, DeliveryResult::Delivered, 12).await;
    emit_topup(store, &mut t1, &[fan("x3", "topup:t1")]).await;
    let letters = store.dead_letters("m1").await.unwrap();
    let summary: Vec<(String, String, u32)> = letters
        .iter()
        .map(|l| {
            (
                l.delivery.event_id.clone(),
                l.reason.clone(),
                l.delivery.attempts,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("x1".into(), "HTTP 410".into(), 1),
            ("x2".into(), STOPPED_REASON.into(), 0),
        ]
    );
    assert_eq!(
        (letters[0].failed_at, letters[1].failed_at),
        (at(11), at(12))
    );
    // While w1 is stopped, x3 went to w2 only.
    let x3 = claim(store, "m1", "w", 13).await;
    assert_eq!(seen(&x3), pairs(&[("x3", "topup:t1|w2")]));
    finish(store, "m1", &x3[0].id, DeliveryResult::Delivered, 13).await;

    let old = letters[1].delivery.clone();
    assert!(store
        .replay_dead_letter("m1", &old.id, at(20))
        .await
        .unwrap());
    assert!(!store
        .replay_dead_letter("m1", &old.id, at(20))
        .await
        .unwrap());
    assert!(!store.webhook_endpoints("m1").await.unwrap()[0].stopped);
    assert_eq!(store.dead_letters("m1").await.unwrap().len(), 1);
    // The 410'd letter too: a fresh delivery again (attempts back to 0), at its subject's tail.
    let first = letters[0].delivery.clone();
    assert!(store
        .replay_dead_letter("m1", &first.id, at(21))
        .await
        .unwrap());
    assert!(store.dead_letters("m1").await.unwrap().is_empty());
    let replayed = claim(store, "m1", "w", 22).await;
    assert_eq!(
        seen(&replayed),
        pairs(&[("x2", "topup:t2|w1"), ("x1", "topup:t1|w1")])
    );
    assert!(replayed.iter().all(|d| d.id != old.id && d.id != first.id));
    let expected = Delivery {
        id: replayed[0].id.clone(),
        next_attempt_at: at(20),
        ..old
    };
    assert_eq!(replayed[0], expected);
    let expected = Delivery {
        id: replayed[1].id.clone(),
        attempts: 0,
        next_attempt_at: at(21),
        ..first
    };
    assert_eq!(replayed[1], expected);
    for d in &replayed {
        finish(store, "m1", &d.id, DeliveryResult::Delivered, 23).await;
    }

    // A CAMARA sink is stopped by its id the same way.
    let mut p = sample_payment("p1", "m1", 1);
    let ev = |id: &str| {
        event(
            id,
            "m1",
            &format!("payment:{id}"),
            PAID,
            to_sink("https://s"),
        )
    };
    emit(store, &mut p, &[ev("s1"), ev("s2")]).await;
    let sinks = claim(store, "m1", "w", 30).await;
    assert_eq!(
        seen(&sinks),
        pairs(&[("s1", "payment:s1"), ("s2", "payment:s2")])
    );
    let gone = DeliveryResult::Gone {
        reason: "HTTP 410".into(),
    };
    finish(store, "m1", &sinks[0].id, gone, 31).await;
    assert!(claim(store, "m1", "w", 32).await.is_empty());
    let letters: Vec<(String, String)> = store
        .dead_letters("m1")
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.delivery.event_id, l.reason))
        .collect();
    assert_eq!(
        letters,
        [
            ("s1".into(), "HTTP 410".into()),
            ("s2".into(), STOPPED_REASON.into())
        ]
    );
}

/// A delivery whose bearer token expired before it could leave is a dead letter.
pub(super) async fn expired_credentials_go_to_the_dead_letters(store: &dyn Store) {
    let mut expiring = sink("https://a");
    expiring.bearer_expires_at = Some(at(30));
    let mut p = sample_payment("p1", "m1", 1);
    emit(
        store,
        &mut p,
        &[
            event(
                "e1",
                "m1",
                "S",
                PAID,
                EventTarget::Sink { endpoint: expiring },
            ),
            event("e2", "m1", "T", PAID, to_sink("https://a")),
        ],
    )
    .await;
    let got = claim(store, "m1", "w", 10).await;
    assert_eq!(got.len(), 2);
    let retry = |secs| DeliveryResult::Retry {
        next_attempt_at: at(secs),
        error: "timeout".into(),
    };
    finish(store, "m1", &got[0].id, retry(30), 11).await;
    // Still valid at the instant it expires.
    assert_eq!(
        seen(&claim(store, "m1", "w", 30).await),
        pairs(&[("e1", "S"), ("e2", "T")])
    );
    finish(store, "m1", &got[0].id, retry(31), 30).await;
    assert_eq!(
        seen(&claim(store, "m1", "w", 31).await),
        pairs(&[("e2", "T")])
    );
    let letters = store.dead_letters("m1").await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, EXPIRED_REASON);
    assert_eq!(letters[0].failed_at, at(31));
    assert_eq!(
        (
            letters[0].delivery.attempts,
            letters[0].delivery.event_id.as_str()
        ),
        (2, "e1")
    );
    assert_eq!(
        letters[0].delivery.endpoint.bearer.as_deref(),
        Some("token-1")
    );
}

/// Workers claiming at the same time never get the same delivery.
pub(super) async fn concurrent_claims_hand_each_delivery_to_one_worker<S: Store>(store: Arc<S>) {
    let mut p = sample_payment("p1", "m1", 1);
    let events: Vec<OutboxEvent> = (0..24)
        .map(|i| {
            event(
                &format!("e{i}"),
                "m1",
                &format!("S{i}"),
                PAID,
                to_sink("https://a"),
            )
        })
        .collect();
    emit(store.as_ref(), &mut p, &events).await;
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_deliveries("m1", &format!("w{w}"), at(10), LEASE, 5)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap().into_iter().map(|d| d.event_id));
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "a delivery went to two workers");
    assert!(count >= 5, "{count}");
}
