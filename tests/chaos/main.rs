//! Chaos: a TCP fault proxy between the gateway and the operator breaks the conversation the way
//! networks do — latency past the deadline, a reset in the middle of the answer, a blackhole, a
//! half-close — while payments run concurrently. Whatever the fault: every acknowledged payment is
//! readable and settles, nobody is charged twice, and what the operator charged is exactly what
//! the gateway holds as succeeded (a refused request charged nothing). The same faults on the link
//! to Redis: nothing acknowledged is lost, and a store that comes back is consistent.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;
use switchboard_store::testing::RedisServer;
use switchboard_tests::fault_proxy::{Fault, FaultProxy};
use switchboard_tests::{body_of, eventually, Env, TestGateway, Timing};

mod breaker;
mod failover;

/// Concurrent payments per scenario.
const PAYMENTS: usize = 24;

fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("address")
}

/// Which connection the fault proxy sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Gateway → operator (the Movistar ES channel).
    Operator,
    /// Gateway → Redis.
    Redis,
}

/// A gateway with the fault proxy on `link`. Keeps the Redis server alive with it.
async fn start(link: Link) -> (TestGateway, FaultProxy, Option<RedisServer>, &'static str) {
    match link {
        Link::Operator => {
            let sandbox = free_addr();
            let proxy = FaultProxy::start(sandbox).await;
            let through = format!("http://{}/movistar-es", proxy.addr());
            let gw = Env::memory()
                .start_with(Timing::default(), |c| {
                    c.sandbox.listen = sandbox;
                    c.channels
                        .get_mut("movistar_es_sandbox")
                        .expect("the Movistar ES channel")
                        .base_url = through;
                })
                .await;
            (gw, proxy, None, "memory")
        }
        Link::Redis => {
            let redis = RedisServer::start();
            let addr: SocketAddr = format!("127.0.0.1:{}", redis.port()).parse().unwrap();
            let proxy = FaultProxy::start(addr).await;
            let gw = Env::redis(format!("redis://{}", proxy.addr()))
                .start()
                .await;
            (gw, proxy, Some(redis), "redis")
        }
    }
}

/// One payment per subscriber (so spending limits never interfere), all plain successes at the
/// operator (`…10`).
fn phone(i: usize) -> String {
    format!("+34600{i:04}10")
}

async fn chaos(link: Link, fault: Fault) {
    let (gw, proxy, _redis, store) = start(link).await;
    let token = gw.demo_token().await;
    // Warm the pools and the channel's token before the fault.
    assert_eq!(
        gw.create(&token, &TestGateway::body(&phone(9999), 1.0))
            .await
            .status(),
        201
    );
    proxy.set(fault);
    let answers = join_all((0..PAYMENTS).map(|i| {
        let (gw, token) = (&gw, &token);
        async move {
            let res = gw.create(token, &TestGateway::body(&phone(i), 1.0)).await;
            (res.status().as_u16(), body_of(res).await)
        }
    }))
    .await;
    proxy.set(Fault::None);

    let label = format!("{link:?} {fault:?} on {store}");
    if link == Link::Operator {
        // No clean answer crossed the proxy: the outcome was unknown when answered.
        for (status, body) in &answers {
            if *status == 201 {
                assert_eq!(body["paymentStatus"], "processing", "{label}: {body}");
            }
        }
    }
    every_acknowledged_payment_settles_charged_once(&gw, &token, &answers, &label).await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_latency_past_the_deadline() {
    chaos(Link::Operator, Fault::Latency(Duration::from_millis(2000))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_reset_in_the_middle_of_the_answer() {
    chaos(Link::Operator, Fault::ResetAfter(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_reset_before_any_answer_byte() {
    chaos(Link::Operator, Fault::ResetAfter(0)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_blackhole() {
    chaos(Link::Operator, Fault::Blackhole).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_half_close_after_the_request() {
    chaos(Link::Operator, Fault::HalfClose).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_reset_in_the_middle_of_answers() {
    chaos(Link::Redis, Fault::ResetAfter(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_blackhole() {
    chaos(Link::Redis, Fault::Blackhole).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_latency() {
    chaos(Link::Redis, Fault::Latency(Duration::from_millis(300))).await;
}

/// What every chaos scenario holds, whatever the fault: each answer is a payment or a clean
/// refusal; every payment the store holds — each acknowledged one among them — settles once the
/// network heals; and the operator charged exactly the ones that succeeded, once each.
async fn every_acknowledged_payment_settles_charged_once(
    gw: &TestGateway,
    token: &str,
    answers: &[(u16, Value)],
    label: &str,
) -> Tally {
    let mut acknowledged = Vec::new();
    for (status, body) in answers {
        match status {
            201 => acknowledged.push(body["paymentId"].as_str().unwrap().to_string()),
            // Refused cleanly (the store or the operator could not be reached).
            503 | 504 => assert!(body["code"].is_string(), "{body}"),
            other => panic!("{label}: unexpected {other}: {body}"),
        }
    }
    let stored = eventually(Duration::from_secs(30), || async {
        let mut ids = Vec::new();
        for page in 1.. {
            let list = gw
                .cb(
                    reqwest::Method::GET,
                    &format!("/payments?perPage=100&page={page}"),
                    token,
                )
                .send()
                .await
                .ok()?;
            if page > 1 && list.status() == 400 {
                break; // OUT_OF_RANGE: past the last page
            }
            (list.status() == 200).then_some(())?;
            let list: Value = body_of(list).await;
            let before = ids.len();
            ids.extend(
                list.as_array()?
                    .iter()
                    .map(|p| p["paymentId"].as_str().unwrap().to_string()),
            );
            if ids.len() - before < 100 {
                break;
            }
        }
        Some(ids)
    })
    .await
    .expect("the store answers again");
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(lost.is_empty(), "{label}: acknowledged {lost:?} were lost");
    let mut succeeded = 0;
    for id in &stored {
        let settled = eventually(Duration::from_secs(30), || async {
            let body = body_of(gw.get(token, id).await).await;
            let status = body["paymentStatus"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (!status.is_empty() && status != "processing").then_some(status)
        })
        .await
        .unwrap_or_else(|| panic!("{label}: payment {id} never settled"));
        let charged = gw.charges_for_payment(id);
        assert_eq!(
            charged,
            u32::from(settled == "succeeded"),
            "{label}: {id} is {settled} at the gateway, charged {charged} at the operator"
        );
        succeeded += usize::from(settled == "succeeded");
    }
    gw.closing_barrier().await;
    // The other direction, which the list alone cannot show: a claim the list did not hold yet
    // (still being sent, or invisible until reconciliation settles it, or stored while the pages
    // were read) is still one the gateway knows. Every charge the operator made is for a payment
    // the gateway holds as succeeded, charged once.
    for (correlator, charges) in gw.sandbox().charged_correlators() {
        let Some(id) = correlator.strip_prefix("sb-") else {
            panic!("{label}: the operator charged {correlator}, which is none of ours");
        };
        assert_eq!(charges, 1, "{label}: {id} charged {charges} times");
        if stored.iter().any(|s| s == id) {
            continue;
        }
        let settled = eventually(Duration::from_secs(30), || async {
            let body = body_of(gw.get(token, id).await).await;
            (body["paymentStatus"] == "succeeded").then_some(())
        })
        .await;
        assert!(
            settled.is_some(),
            "{label}: the operator charged {id}, which the gateway does not hold as succeeded"
        );
    }
    let tally = Tally {
        acknowledged: acknowledged.len(),
        stored: stored.len(),
        succeeded,
        refused: answers.iter().filter(|(s, _)| *s != 201).count(),
    };
    eprintln!("{label}: {tally:?}");
    tally
}

/// What a scenario ended with.
#[derive(Debug, Clone, Copy)]
struct Tally {
    acknowledged: usize,
    stored: usize,
    succeeded: usize,
    refused: usize,
}
