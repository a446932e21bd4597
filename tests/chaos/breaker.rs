//! The circuit breaker under load (issue 11.1 and 11.6): Movistar ES has two channels, the primary
//! (priority 10) behind the fault proxy and a backup (priority 20) straight to the sandbox. When the
//! primary's link resets every request after it reached the operator (an unknown outcome: the
//! operator charged, the gateway never heard), traffic leaves the primary within
//! `consecutive_failures + WORKERS - 1` requests (the run that opens the circuit plus the requests
//! already admitted beside it); once the link heals the circuit half-opens after its cool-down,
//! the probes succeed, it closes and traffic returns. Nobody is charged twice.

use std::sync::Mutex;
use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;
use switchboard_adapter::{Capability, CircuitSettings};
use switchboard_tests::fault_proxy::{Fault, FaultProxy};
use switchboard_tests::{body_of, eventually, Env, TestGateway, Timing};

use super::{every_acknowledged_payment_settles_charged_once, free_addr};

const PRIMARY: &str = "movistar_es_sandbox";
const BACKUP: &str = "movistar_es_backup";
/// Concurrent clients of the load.
const WORKERS: usize = 4;

/// Cool-down long enough that the fault phase ends before the circuit half-opens.
const CIRCUIT: CircuitSettings = CircuitSettings {
    consecutive_failures: 3,
    failure_rate_percent: 50,
    min_calls: 20,
    window_secs: 30,
    cool_down_ms: 5_000,
    half_open_probes: 1,
    close_after: 3,
};

/// One answer of the load: status and body.
type Answer = (u16, Value);

/// An answer's payment id and `paymentStatus`.
fn id_and_state(answer: &Answer) -> (&str, &str) {
    let body = &answer.1;
    (
        body["paymentId"].as_str().unwrap_or_default(),
        body["paymentStatus"].as_str().unwrap_or_default(),
    )
}

/// `count` payments from `WORKERS` concurrent clients, one subscriber each (numbers from `first`).
async fn load(gw: &TestGateway, token: &str, first: usize, count: usize) -> Vec<Answer> {
    let answers = Mutex::new(Vec::new());
    join_all((0..WORKERS).map(|w| {
        let answers = &answers;
        async move {
            for n in (w..count).step_by(WORKERS) {
                let phone = format!("+34600{:04}10", first + n);
                let res = gw.create(token, &TestGateway::body(&phone, 1.0)).await;
                let status = res.status().as_u16();
                let body = body_of(res).await;
                answers.lock().unwrap().push((status, body));
            }
        }
    }))
    .await;
    answers.into_inner().unwrap()
}

async fn health_gauge(gw: &TestGateway) -> String {
    let body = gw
        .http
        .get(format!("{}/metrics", gw.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("switchboard_channel_health{{channel=\"{PRIMARY}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_leaves_a_failing_channel_and_returns_after_it_recovers() {
    let sandbox = free_addr();
    let proxy = FaultProxy::start(sandbox).await;
    let gw = Env::memory()
        .start_with(Timing::default(), |c| {
            c.sandbox.listen = sandbox;
            let primary = c
                .channels
                .get_mut(PRIMARY)
                .expect("the Movistar ES channel");
            primary.base_url = format!("http://{}/movistar-es", proxy.addr());
            primary.priority = 10;
            primary.circuit = CIRCUIT;
            let mut backup = primary.clone();
            backup.base_url = format!("http://{sandbox}/movistar-es");
            backup.priority = 20;
            c.channels.insert(BACKUP.into(), backup);
        })
        .await;
    let token = gw.demo_token().await;
    let mut all = Vec::new();

    // Healthy: the primary takes the traffic.
    let warm = load(&gw, &token, 0, 8).await;
    for answer in &warm {
        let (id, state) = id_and_state(answer);
        assert_eq!((answer.0, state), (201, "succeeded"));
        assert_eq!(gw.channel_of_payment(id).await, PRIMARY);
    }
    all.extend(warm);

    // The primary's link resets every request once the operator has it.
    proxy.set(Fault::ResetAfter(0));
    let faulty = load(&gw, &token, 100, 40).await;
    proxy.set(Fault::None);
    let mut on_primary = 0;
    for answer in &faulty {
        let (id, state) = id_and_state(answer);
        assert_eq!(answer.0, 201, "{state}");
        if gw.channel_of_payment(id).await == PRIMARY {
            on_primary += 1;
            assert_eq!(state, "processing", "the outcome was unknown");
        } else {
            assert_eq!(state, "succeeded", "the backup answered");
        }
    }
    let bound = CIRCUIT.consecutive_failures as usize + WORKERS - 1;
    assert!(
        (CIRCUIT.consecutive_failures as usize..=bound).contains(&on_primary),
        "{on_primary} requests went to the failing channel (bound {bound})"
    );
    eprintln!(
        "{on_primary} of {} requests went to the failing channel",
        faulty.len()
    );
    let primary = gw.running.state.router().channel(PRIMARY).unwrap();
    assert_eq!(
        primary.health.circuit_of(Capability::Payment).name(),
        "open"
    );
    assert_eq!(health_gauge(&gw).await, "2");
    all.extend(faulty);

    // Healed: after the cool-down the circuit half-opens (with no traffic needed to see it)...
    let half_open = eventually(Duration::from_secs(30), || async {
        (primary.health.circuit_of(Capability::Payment).name() == "half-open").then_some(())
    })
    .await;
    assert!(
        half_open.is_some(),
        "the circuit half-opens after its cool-down"
    );
    assert_eq!(health_gauge(&gw).await, "1");
    // ...the probes succeed, it closes, and the primary takes the traffic again.
    let mut closed = false;
    for round in 0..200 {
        all.extend(load(&gw, &token, 1_000 + round * WORKERS, WORKERS).await);
        closed = primary.health.circuit_of(Capability::Payment).name() == "closed";
        if closed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(closed, "the probes close the circuit");
    assert_eq!(health_gauge(&gw).await, "0");
    let after = load(&gw, &token, 5_000, 20).await;
    for answer in &after {
        let (id, state) = id_and_state(answer);
        assert_eq!((answer.0, state), (201, "succeeded"));
        assert_eq!(gw.channel_of_payment(id).await, PRIMARY, "traffic is back");
    }
    all.extend(after);

    // Every payment settles, each charged once if it succeeded (the unknown ones included).
    let tally = every_acknowledged_payment_settles_charged_once(&gw, &token, &all, "breaker").await;
    assert_eq!(
        tally.succeeded,
        all.len(),
        "every payment succeeded in the end"
    );
    gw.stop().await;
}
