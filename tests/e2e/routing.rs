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
    let router = &gw.running.state.router;
    assert!(!router.channel("movistar_dead").unwrap().health.is_healthy());
    let number = switchboard_core::Msisdn::parse("+34600000073").unwrap();
    let route = router
        .route(&number, switchboard_adapter::Capability::Payment)
        .unwrap();
    assert_eq!(route.channels[0].id, "movistar_es_sandbox");
    gw.stop().await;
}
