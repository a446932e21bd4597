//! Faults made on demand through the sandbox's admin API (`PUT /_admin/faults/{upstream}`), with
//! Movistar ES on two channels: the primary (priority 10) and a backup (priority 20) to a second
//! simulated route. A failing (5xx) or slow primary is left after `consecutive_failures` requests,
//! whose outcomes are unknown and settle to one charge once it heals; the backup answers the rest;
//! a flapping one never costs a payment; once healed, traffic returns after the cool-down.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_adapter::{Capability, CircuitSettings};
use switchboard_tests::{body_of, eventually, Env, TestGateway, Timing};

const PRIMARY: &str = "movistar_es_sandbox";
const BACKUP: &str = "movistar_es_backup";
const CIRCUIT: CircuitSettings = CircuitSettings {
    consecutive_failures: 3,
    failure_rate_percent: 50,
    min_calls: 20,
    window_secs: 30,
    cool_down_ms: 1_000,
    half_open_probes: 1,
    close_after: 2,
};

async fn start(env: Env) -> TestGateway {
    env.start_with(Timing::default(), |c| {
        let route = c.sandbox.upstreams.camara["movistar-es"].clone();
        c.sandbox
            .upstreams
            .camara
            .insert("movistar-es-b".into(), route);
        let primary = c
            .channels
            .get_mut(PRIMARY)
            .expect("the Movistar ES channel");
        primary.priority = 10;
        primary.circuit = CIRCUIT;
        let mut backup = primary.clone();
        backup.base_url = "sandbox://movistar-es-b".into();
        backup.priority = 20;
        c.channels.insert(BACKUP.into(), backup);
    })
    .await
}

/// Sets (`Some`) or heals (`None`) a fault of the primary's upstream through the admin API.
async fn fault(gw: &TestGateway, fault: Option<Value>) {
    let url = format!("http://{}/_admin/faults/movistar-es", gw.sandbox().addr());
    let req = match &fault {
        Some(body) => gw.http.request(Method::PUT, &url).json(body),
        None => gw.http.request(Method::DELETE, &url),
    };
    let status = req.send().await.unwrap().status();
    assert!(status.is_success(), "{fault:?}: {status}");
}

async fn pay(gw: &TestGateway, token: &str, i: usize) -> Value {
    let res = gw
        .create(token, &TestGateway::body(&format!("+3460077{i:04}"), 1.0))
        .await;
    assert_eq!(res.status(), 201);
    body_of(res).await
}

async fn channel_of(gw: &TestGateway, payment: &Value) -> String {
    gw.channel_of_payment(payment["paymentId"].as_str().unwrap())
        .await
}

/// Every payment settles, each succeeded one charged once, wherever it went.
async fn each_charged_once(gw: &TestGateway, token: &str, payments: &[Value]) {
    for p in payments {
        let id = p["paymentId"].as_str().unwrap();
        let settled = eventually(Duration::from_secs(20), || async {
            let body = body_of(gw.get(token, id).await).await;
            (body["paymentStatus"] == "succeeded").then_some(())
        })
        .await;
        assert!(settled.is_some(), "{id} settles to succeeded");
        assert_eq!(gw.charges_for_payment(id), 1, "{id} charged once");
    }
}

/// Pays once for each of `numbers` while the primary fails: the first `consecutive_failures`
/// payments go to it (their outcome unknown: `processing`), then its circuit is open and the backup
/// answers (`succeeded`); the primary sees only a probe after each cool-down (a loaded machine may
/// be slow enough to reach one). Returns how many went to the primary.
async fn left_after_the_run(
    gw: &TestGateway,
    token: &str,
    numbers: std::ops::Range<usize>,
    all: &mut Vec<Value>,
) -> u32 {
    let cool_down = Duration::from_millis(CIRCUIT.cool_down_ms);
    let (mut on_primary, mut opened) = (0, None::<Instant>);
    for i in numbers {
        let sent = Instant::now();
        let p = pay(gw, token, i).await;
        if channel_of(gw, &p).await == PRIMARY {
            assert_eq!(p["paymentStatus"], "processing", "an unknown outcome: {p}");
            on_primary += 1;
            if let Some(at) = opened {
                assert!(
                    sent >= at + cool_down,
                    "payment {i} reached the failing channel inside its cool-down"
                );
            }
            if on_primary >= CIRCUIT.consecutive_failures {
                // Opened by the run, or re-opened by the probe, after this request was sent.
                opened = Some(sent);
            }
        } else {
            assert_eq!(p["paymentStatus"], "succeeded", "the backup answered: {p}");
            assert!(
                on_primary >= CIRCUIT.consecutive_failures,
                "payment {i} left the primary before the documented run ({on_primary})"
            );
        }
        all.push(p);
    }
    assert!(on_primary >= CIRCUIT.consecutive_failures);
    on_primary
}

/// Healed: after the cool-down the probes close the circuit and the primary takes traffic again.
async fn traffic_returns(gw: &TestGateway, token: &str, from: usize) -> Vec<Value> {
    let primary = gw.running.state.router().channel(PRIMARY).unwrap();
    let sent = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(from);
    let back = eventually(Duration::from_secs(30), || async {
        let p = pay(gw, token, next.fetch_add(1, Ordering::Relaxed)).await;
        let on_primary = channel_of(gw, &p).await == PRIMARY;
        sent.lock().unwrap().push(p);
        (on_primary && primary.health.circuit_of(Capability::Payment).name() == "closed")
            .then_some(())
    })
    .await;
    assert!(
        back.is_some(),
        "traffic never returned to the healed primary"
    );
    sent.into_inner().unwrap()
}

pub async fn a_failing_channel_set_through_the_sandbox_admin_api_is_left_and_rejoined(env: Env) {
    let gw = start(env).await;
    let token = gw.demo_token().await;
    let first = pay(&gw, &token, 0).await;
    assert_eq!(channel_of(&gw, &first).await, PRIMARY);

    fault(&gw, Some(json!({"mode": "fail"}))).await;
    let mut all = vec![first];
    // A 5xx may come after the operator acted: an unknown outcome, never retried elsewhere;
    // settled by status queries once the channel heals.
    let on_primary = left_after_the_run(&gw, &token, 1..13, &mut all).await;
    assert!(gw.sandbox().refused_by_fault("movistar-es") >= on_primary);
    fault(&gw, None).await;
    all.extend(traffic_returns(&gw, &token, 100).await);
    each_charged_once(&gw, &token, &all).await;
    gw.stop().await;
}

pub async fn slow_and_flapping_channels_cost_no_payment_and_no_double_charge(env: Env) {
    let gw = start(env).await;
    let token = gw.demo_token().await;
    // Warm: the primary's token is cached (a slow token endpoint would be "not sent", tried next).
    let warm = pay(&gw, &token, 199).await;
    assert_eq!(channel_of(&gw, &warm).await, PRIMARY);
    let mut all = vec![warm];

    // Slower than the channel's deadline (the harness's request_ms, 1500 ms): the operator charges, the gateway hears nothing in time.
    fault(&gw, Some(json!({"mode": "slow", "delay_ms": 3000}))).await;
    left_after_the_run(&gw, &token, 200..206, &mut all).await;

    // Flapping: whatever the phase, every payment is accepted and ends charged once.
    fault(&gw, Some(json!({"mode": "flap", "period_ms": 150}))).await;
    let refused_before = gw.sandbox().refused_by_fault("movistar-es");
    let flapped = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(300);
    let primary_answered = std::sync::atomic::AtomicBool::new(false);
    // Until the primary has met both phases: refused in a failing one, answering in a healthy one.
    let both_phases = eventually(Duration::from_secs(30), || async {
        let p = pay(&gw, &token, next.fetch_add(1, Ordering::Relaxed)).await;
        // Succeeded, or (sent to the primary in a failing phase) unknown and settled later.
        let state = p["paymentStatus"].as_str().unwrap_or_default().to_string();
        assert!(["succeeded", "processing"].contains(&state.as_str()), "{p}");
        if state == "succeeded" && channel_of(&gw, &p).await == PRIMARY {
            primary_answered.store(true, Ordering::Relaxed);
        }
        flapped.lock().unwrap().push(p);
        let refused = gw.sandbox().refused_by_fault("movistar-es") > refused_before;
        (refused && primary_answered.load(Ordering::Relaxed)).then_some(())
    })
    .await;
    assert!(
        both_phases.is_some(),
        "the flapping primary refused and answered"
    );
    all.extend(flapped.into_inner().unwrap());
    let listed: Value = body_of(
        gw.http
            .get(format!("http://{}/_admin/faults", gw.sandbox().addr()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["movistar-es"]["mode"], "flap", "{listed}");
    fault(&gw, None).await;
    all.extend(traffic_returns(&gw, &token, 400).await);
    each_charged_once(&gw, &token, &all).await;
    gw.stop().await;
}
