//! Redis Cluster master failover under load: three masters with a replica each; payments run
//! continuously while one master is SIGKILLed and its replica promoted. The gateway recovers
//! without a restart, nothing acknowledged is lost, nobody is charged twice, and the window in
//! which requests were refused is measured (printed; see README "Redis Cluster failover").

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use switchboard_store::testing::RedisCluster;
use switchboard_tests::{body_of, eventually, Env, TestGateway, Timing};

use super::{every_acknowledged_payment_settles_charged_once, phone};

/// Concurrent merchants' clients during the failover.
const WORKERS: usize = 8;
/// How long a silent master takes to be failed over (`cluster-node-timeout`).
const NODE_TIMEOUT: Duration = Duration::from_millis(1000);
/// Load before the kill, and after the cluster is whole again (the client may need longer to see
/// the new topology; recovery is checked after the load).
const BEFORE: Duration = Duration::from_millis(1500);
const AFTER: Duration = Duration::from_millis(2000);

/// One answered request of the load: when it was sent and what came back.
struct Answer {
    sent: Instant,
    took: Duration,
    status: u16,
    body: Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_master_failover_under_load() {
    let mut cluster =
        tokio::task::spawn_blocking(|| RedisCluster::start_with_replicas(1, NODE_TIMEOUT))
            .await
            .expect("cluster");
    // Every claim is on the replica before the operator is called: without it, a claim the master
    // acknowledged but had not replicated when it died is gone after promotion, and the charge made
    // for it is one the gateway no longer knows.
    let gw = Env::cluster(cluster.nodes())
        .start_with(Timing::default(), |c| c.store.claim_replicas = 1)
        .await;
    let token = gw.demo_token().await;
    assert_eq!(
        gw.create(&token, &TestGateway::body(&phone(9999), 1.0))
            .await
            .status(),
        201
    );

    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let gw = Arc::new(gw);
    let load: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (gw, token, stop, next) = (gw.clone(), token.clone(), stop.clone(), next.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let sent = Instant::now();
                    let res = gw.create(&token, &TestGateway::body(&phone(i), 1.0)).await;
                    let status = res.status().as_u16();
                    answers.push(Answer {
                        sent,
                        took: sent.elapsed(),
                        status,
                        body: body_of(res).await,
                    });
                }
                answers
            })
        })
        .collect();

    tokio::time::sleep(BEFORE).await;
    let victim = cluster.master_ports()[0];
    cluster.kill(victim);
    let killed = Instant::now();
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.wait_until_failed_over();
        cluster
    })
    .await
    .expect("failover");
    let whole = Instant::now();
    tokio::time::sleep(AFTER).await;
    // The killed node comes back, as ops (or Kubernetes) would bring it, and rejoins as the
    // promoted master's replica: until then claims on that master cannot reach a replica and are
    // refused (claim_replicas = 1), which is the point of the setting.
    let cluster = tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        cluster.restart(victim, 1);
        cluster
    })
    .await
    .expect("the killed node rejoins");
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    for worker in load {
        answers.extend(worker.await.expect("load worker"));
    }

    // Recovered without a restart: once the client has the new topology, payments succeed again,
    // every one of a fresh batch.
    let first = eventually(Duration::from_secs(20), || async {
        let res = gw
            .create(
                &token,
                &TestGateway::body(&phone(next.fetch_add(1, Ordering::Relaxed)), 1.0),
            )
            .await;
        let status = res.status().as_u16();
        let body = body_of(res).await;
        (status == 201).then_some(body)
    })
    .await
    .expect("payments succeed again after the failover, without a restart");
    answers.push(Answer {
        sent: Instant::now(),
        took: Duration::ZERO,
        status: 201,
        body: first,
    });
    for _ in 0..10 {
        let sent = Instant::now();
        let res = gw
            .create(
                &token,
                &TestGateway::body(&phone(next.fetch_add(1, Ordering::Relaxed)), 1.0),
            )
            .await;
        let status = res.status().as_u16();
        let body = body_of(res).await;
        assert_eq!(status, 201, "after recovery: {body}");
        answers.push(Answer {
            sent,
            took: sent.elapsed(),
            status,
            body,
        });
    }

    let stall = longest_stall_after(&answers, killed);
    let pairs: Vec<(u16, Value)> = answers.into_iter().map(|a| (a.status, a.body)).collect();
    let tally =
        every_acknowledged_payment_settles_charged_once(&gw, &token, &pairs, "cluster failover")
            .await;
    eprintln!(
        "cluster failover: cluster whole {} ms after the kill; no payment completed for {} ms; \
         {} refused (503), {} acknowledged, {} stored, {} succeeded, none lost, none charged twice",
        whole.duration_since(killed).as_millis(),
        stall.as_millis(),
        tally.refused,
        tally.acknowledged,
        tally.stored,
        tally.succeeded,
    );
    drop(cluster);
}

/// The longest time after `since` during which no payment completed (the unavailability the
/// merchants saw).
fn longest_stall_after(answers: &[Answer], since: Instant) -> Duration {
    let mut done: Vec<Instant> = answers
        .iter()
        .filter(|a| a.status == 201)
        .map(|a| a.sent + a.took)
        .filter(|t| *t > since)
        .collect();
    done.sort();
    let mut last = since;
    let mut longest = Duration::ZERO;
    for t in done {
        longest = longest.max(t - last);
        last = t;
    }
    longest
}
