//! Channels: an operator that cannot be reached, and falling back to the next channel.

use switchboard_adapter::ChannelSettings;
use switchboard_tests::{body_of, Env, TestGateway, Timing};

use crate::assert_error;

fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub fn dead_channel(priority: u32) -> ChannelSettings {
    serde_json::from_value(serde_json::json!({
        "adapter": "camara",
        "base_url": format!("http://127.0.0.1:{}", dead_port()),
        "operators": ["movistar-es"],
        "capabilities": ["payment", "two_step_payment", "payment_status"],
        "priority": priority,
        "credentials": {"client_id": "x", "client_secret": "y"}
    }))
    .unwrap()
}

pub async fn an_unreachable_operator_is_503_and_the_request_can_be_retried(env: Env) {
    let gw = env
        .start_with(Timing::default(), |c| {
            c.channels.get_mut("movistar_es_sandbox").unwrap().enabled = false;
            c.channels.insert("movistar_dead".into(), dead_channel(10));
        })
        .await;
    let token = gw.demo_token().await;
    let mut body = TestGateway::body("+34600000070", 1.0);
    body["amountTransaction"]["clientCorrelator"] = "cc-dead".into();
    assert_error(gw.create(&token, &body).await, 503, "UNAVAILABLE").await;
    // Nothing was kept: the same request is tried afresh, not replayed as an error forever.
    assert_error(gw.create(&token, &body).await, 503, "UNAVAILABLE").await;
    let list = body_of(
        gw.cb(reqwest::Method::GET, "/payments", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list, serde_json::json!([]));
    gw.stop().await;
}

pub async fn a_channel_that_was_not_reached_falls_back_to_the_next(env: Env) {
    let gw = env
        .start_with(Timing::default(), |c| {
            c.channels.insert("movistar_dead".into(), dead_channel(10));
        })
        .await;
    let token = gw.demo_token().await;
    let res = gw
        .create(&token, &TestGateway::body("+34600000071", 1.0))
        .await;
    assert_eq!(res.status(), 201);
    let created = body_of(res).await;
    assert_eq!(created["paymentStatus"], "succeeded");
    assert_eq!(
        gw.charges_for_payment(created["paymentId"].as_str().unwrap()),
        1
    );
    // After a few misses the dead channel goes behind the healthy one for a while.
    for _ in 0..3 {
        gw.create(&token, &TestGateway::body("+34600000072", 1.0))
            .await;
    }
    let router = &gw.running.state.router();
    assert!(!router.channel("movistar_dead").unwrap().health.is_healthy());
    let number = switchboard_core::Msisdn::parse("+34600000073").unwrap();
    let route = router
        .route(&number, switchboard_adapter::Capability::Payment)
        .unwrap();
    assert_eq!(route.channels[0].id, "movistar_es_sandbox");
    gw.stop().await;
}

/// Every circuit open: 503 `UNAVAILABLE` with `Retry-After`, nothing sent, nothing kept (issue 11.1).
pub async fn with_every_circuit_open_a_new_payment_is_503_with_retry_after(env: Env) {
    let gw = env
        .start_with(Timing::default(), |c| {
            c.channels.get_mut("movistar_es_sandbox").unwrap().enabled = false;
            c.channels.insert("movistar_dead".into(), dead_channel(10));
        })
        .await;
    let token = gw.demo_token().await;
    let threshold = switchboard_adapter::CircuitSettings::CONSECUTIVE_FAILURES;
    for i in 0..threshold {
        let res = gw
            .create(
                &token,
                &TestGateway::body(&format!("+3460000{i:02}70"), 1.0),
            )
            .await;
        assert!(
            res.headers().get("retry-after").is_none(),
            "sent, not reached"
        );
        assert_error(res, 503, "UNAVAILABLE").await;
    }
    let dead = gw.running.state.router().channel("movistar_dead").unwrap();
    let payment = switchboard_adapter::Capability::Payment;
    assert_eq!(dead.health.circuit_of(payment).name(), "open");
    let before = dead.health.stats_of(payment).calls();
    let res = gw
        .create(&token, &TestGateway::body("+34600000170", 1.0))
        .await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let cool_down = switchboard_adapter::CircuitSettings::COOL_DOWN_MS / 1_000;
    assert!((1..=cool_down).contains(&retry_after), "{retry_after}");
    assert_error(res, 503, "UNAVAILABLE").await;
    assert_eq!(
        dead.health.stats_of(payment).calls(),
        before,
        "nothing was sent"
    );
    let metrics = crate::observe::metrics_text(&gw).await;
    assert!(
        metrics.contains("switchboard_channel_health{channel=\"movistar_dead\"} 2"),
        "open: {metrics}"
    );
    assert!(
        metrics.contains("switchboard_channel_health{channel=\"movistar_es_sandbox\"} 3"),
        "disabled in configuration"
    );
    // Another operation of the same channel has its own circuit: a 2-step payment is still tried.
    let res = gw
        .prepare(&token, &TestGateway::body("+34600000270", 1.0))
        .await;
    assert!(res.headers().get("retry-after").is_none());
    assert_error(res, 503, "UNAVAILABLE").await;
    gw.stop().await;
}

/// Shared health on Redis (issue 11.3): replica B's window holds the failures replica A saw, so
/// B's breaker opens on the fleet's failure rate at its first own failure — alone it would need
/// `min_calls` of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_the_circuit_windows_are_the_fleets() {
    use switchboard_adapter::{Capability, CircuitSettings};
    let redis = switchboard_store::testing::RedisServer::start();
    let env = Env::redis(redis.url());
    let prefix = format!("t-fleet-{}", std::process::id());
    let settings = |c: &mut switchboard_gateway::config::Config| {
        // One fleet: both replicas in the same key namespace.
        c.store.prefix.clone_from(&prefix);
        let mut dead = dead_channel(10);
        // Only the rate opens it: 5 calls, half of them failed.
        dead.circuit = CircuitSettings {
            consecutive_failures: 1_000,
            min_calls: 5,
            failure_rate_percent: 50,
            ..CircuitSettings::default()
        };
        c.channels.insert("movistar_dead".into(), dead);
    };
    let a = env.start_with(Timing::default(), settings).await;
    let b = env.start_with(Timing::default(), settings).await;
    let (token_a, token_b) = (a.demo_token().await, b.demo_token().await);
    // Four payments on A: each misses the dead channel and falls back to the sandbox.
    for i in 0..4 {
        let phone = format!("+3460000{i:02}71");
        assert_eq!(
            a.create(&token_a, &TestGateway::body(&phone, 1.0))
                .await
                .status(),
            201
        );
    }
    let dead_on = |gw: &TestGateway| gw.running.state.router().channel("movistar_dead").unwrap();
    let (dead_a, dead_b) = (dead_on(&a), dead_on(&b));
    assert_eq!(
        dead_a.health.circuit_of(Capability::Payment).name(),
        "closed",
        "4 < min_calls"
    );
    let shared = switchboard_tests::eventually(std::time::Duration::from_secs(10), || async {
        (dead_b.health.stats_of(Capability::Payment).failed == 4).then_some(())
    })
    .await;
    assert!(
        shared.is_some(),
        "B sees A's failures: {:?}",
        dead_b.health.stats_of(Capability::Payment)
    );
    let res = b
        .create(&token_b, &TestGateway::body("+34600000571", 1.0))
        .await;
    assert_eq!(res.status(), 201, "fell back to the sandbox");
    assert_eq!(
        dead_b.health.circuit_of(Capability::Payment).name(),
        "open",
        "5 fleet calls, all failed"
    );
    // A's own window holds no more than its own calls plus B's one.
    let on_a = switchboard_tests::eventually(std::time::Duration::from_secs(10), || async {
        (dead_a.health.stats_of(Capability::Payment).failed == 5).then_some(())
    })
    .await;
    assert!(
        on_a.is_some(),
        "{:?}",
        dead_a.health.stats_of(Capability::Payment)
    );
    a.stop().await;
    b.stop().await;
}
