//! Limits: per-subscriber spending limits (PSD2 defaults for the EU operators), per-merchant rate
//! limits (429 + Retry-After) and per-channel rate limits (503 + Retry-After, nothing sent).

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use switchboard_gateway::limits::RateLimit;
use switchboard_tests::{body_of, Env, TestGateway, Timing};

use crate::assert_error;

fn code_of(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

pub async fn concurrent_payments_never_exceed_the_monthly_limit(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let bodies: Vec<Value> = (0..20)
        .map(|_| TestGateway::body("+34600000031", 20.0))
        .collect();
    let requests = bodies.iter().map(|body| gw.create(&token, body));
    let answers = futures::future::join_all(requests).await;
    let (mut ok, mut over) = (0, 0);
    for res in answers {
        match res.status().as_u16() {
            201 => ok += 1,
            422 => {
                let body = body_of(res).await;
                assert_eq!(
                    code_of(&body),
                    "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED"
                );
                over += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        ok <= 15,
        "EUR 300 a month allows at most 15 payments of EUR 20, got {ok}"
    );
    assert_eq!(ok, 15, "every payment that fits goes through");
    assert_eq!(over, 5);
    assert_eq!(
        gw.sandbox().total_charges(),
        15,
        "refused payments reach no operator"
    );
    // The month is full for this subscriber only.
    assert_error(
        gw.create(&token, &TestGateway::body("+34600000031", 0.01))
            .await,
        422,
        "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED",
    )
    .await;
    assert_eq!(
        gw.create(&token, &TestGateway::body("+34600000032", 20.0))
            .await
            .status(),
        201
    );
    gw.stop().await;
}

pub async fn over_the_per_payment_limit_is_an_unauthorized_amount(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    assert_error(
        gw.create(&token, &TestGateway::body("+34600000033", 60.0))
            .await,
        422,
        "CARRIER_BILLING.UNAUTHORIZED_AMOUNT",
    )
    .await;
    assert_error(
        gw.prepare(&token, &TestGateway::body("+491510000033", 50.001))
            .await,
        422,
        "CARRIER_BILLING.UNAUTHORIZED_AMOUNT",
    )
    .await;
    assert_eq!(gw.sandbox().total_charges(), 0);
    assert_eq!(
        gw.create(&token, &TestGateway::body("+34600000033", 50.0))
            .await
            .status(),
        201,
        "exactly the limit is allowed"
    );
    gw.stop().await;
}

pub async fn a_cancelled_reservation_and_a_denial_give_the_amount_back(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let phone = "+34600000034";
    let mut ids = Vec::new();
    for _ in 0..6 {
        let res = gw.prepare(&token, &TestGateway::body(phone, 50.0)).await;
        assert_eq!(res.status(), 201);
        ids.push(
            body_of(res).await["paymentId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_error(
        gw.prepare(&token, &TestGateway::body(phone, 50.0)).await,
        422,
        "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED",
    )
    .await;
    let res = gw
        .action(
            &token,
            &ids[0],
            "cancel",
            &serde_json::json!({"phoneNumber": phone}),
        )
        .await;
    assert!(res.status().is_success(), "cancel: {}", res.status());
    assert!(gw.wait_for_status(&token, &ids[0], "cancelled").await);
    // The cancelled amount is available again, once.
    assert_eq!(
        gw.prepare(&token, &TestGateway::body(phone, 50.0))
            .await
            .status(),
        201
    );
    assert_error(
        gw.prepare(&token, &TestGateway::body(phone, 50.0)).await,
        422,
        "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED",
    )
    .await;
    // Number 80: the operator refuses every payment; refused amounts never stay reserved.
    for _ in 0..8 {
        assert_error(
            gw.create(&token, &TestGateway::body("+34600000080", 50.0))
                .await,
            403,
            "CARRIER_BILLING.PAYMENT_DENIED",
        )
        .await;
    }
    gw.stop().await;
}

pub async fn a_merchant_over_its_rate_limit_gets_429_then_recovers(env: Env) {
    let gw = env
        .start_with(Timing::default(), |config| {
            config
                .merchants
                .get_mut("demo-merchant")
                .expect("demo merchant")
                .rate_limit = Some(RateLimit {
                requests: 3,
                per_secs: 1,
            });
        })
        .await;
    let token = gw.demo_token().await;
    let list = || async {
        gw.cb(Method::GET, "/payments", &token)
            .send()
            .await
            .expect("list")
    };
    let mut limited = None;
    for _ in 0..10 {
        let res = list().await;
        if res.status() == 429 {
            limited = Some(res);
            break;
        }
        assert_eq!(res.status(), 200);
    }
    let res = limited.expect("a burst over the quota is limited");
    let retry_after: u64 = res
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("seconds");
    assert!(retry_after >= 1);
    assert!(res.headers().contains_key("x-correlator"));
    let body = body_of(res).await;
    assert_eq!(
        (body["status"].as_u64(), code_of(&body)),
        (Some(429), "TOO_MANY_REQUESTS")
    );
    // Another merchant has its own quota.
    let other = gw.token("demo-merchant-2", "demo-secret-2").await;
    assert_eq!(
        gw.cb(Method::GET, "/payments", &other)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The quota comes back after the window.
    let recovered = switchboard_tests::eventually(Duration::from_secs(10), || async {
        (list().await.status() == 200).then_some(())
    })
    .await;
    assert!(
        recovered.is_some(),
        "the merchant is served again after the window"
    );
    gw.stop().await;
}

pub async fn a_channel_over_its_quota_is_503_and_nothing_is_sent(env: Env) {
    let gw = env
        .start_with(Timing::default(), |config| {
            for channel in config.channels.values_mut() {
                if channel.operators.iter().any(|o| o == "movistar-es") {
                    channel.rate_limit = Some(switchboard_adapter::ChannelRateLimit {
                        requests: 2,
                        per_secs: 3600,
                    });
                }
            }
        })
        .await;
    let token = gw.demo_token().await;
    for i in 0..2 {
        let res = gw
            .create(&token, &TestGateway::body(&format!("+3460000004{i}"), 1.0))
            .await;
        assert_eq!(res.status(), 201);
    }
    let body = TestGateway::body("+34600000042", 1.0);
    let res = gw.create(&token, &body).await;
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    assert_error(res, 503, "UNAVAILABLE").await;
    let retry_after: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!(retry_after >= 1);
    assert_eq!(
        gw.sandbox().total_charges(),
        2,
        "nothing sent past the quota"
    );
    // Other operators' channels are not affected.
    assert_eq!(
        gw.create(&token, &TestGateway::body("+491510000042", 1.0))
            .await
            .status(),
        201
    );
    gw.stop().await;
}

/// A retry of a payment that was made is answered from the store even when its channel could take
/// nothing new right now: a duplicate is never sent.
pub async fn a_replay_is_answered_while_the_channel_quota_is_used_up(env: Env) {
    let gw = env
        .start_with(Timing::default(), |config| {
            for channel in config.channels.values_mut() {
                if channel.operators.iter().any(|o| o == "movistar-es") {
                    channel.rate_limit = Some(switchboard_adapter::ChannelRateLimit {
                        requests: 1,
                        per_secs: 3600,
                    });
                }
            }
        })
        .await;
    let token = gw.demo_token().await;
    let mut body = TestGateway::body("+34600000051", 1.0);
    body["amountTransaction"]["clientCorrelator"] = "replay-under-quota".into();
    let first = gw.create(&token, &body).await;
    assert_eq!(first.status(), 201);
    let first = body_of(first).await;
    let fresh = gw
        .create(&token, &TestGateway::body("+34600000052", 1.0))
        .await;
    assert_error(fresh, 503, "UNAVAILABLE").await;
    let again = gw.create(&token, &body).await;
    assert_eq!(again.status(), 201, "the replay is not routed");
    assert_eq!(body_of(again).await["paymentId"], first["paymentId"]);
    assert_eq!(gw.sandbox().total_charges(), 1);
    gw.stop().await;
}

/// Creating payments counts against the merchant's rate limit like every merchant request (on Redis
/// inside the claim's own round trip); a refused create sends and stores nothing.
pub async fn payment_creates_count_against_the_merchant_rate_limit(env: Env) {
    let gw = env
        .start_with(Timing::default(), |config| {
            config
                .merchants
                .get_mut("demo-merchant")
                .expect("demo merchant")
                .rate_limit = Some(RateLimit {
                requests: 3,
                per_secs: 3600,
            });
        })
        .await;
    let token = gw.demo_token().await;
    for i in 0..3 {
        let res = gw
            .create(&token, &TestGateway::body(&format!("+3460000006{i}"), 1.0))
            .await;
        assert_eq!(res.status(), 201, "within the quota");
    }
    let body = TestGateway::body("+34600000063", 1.0);
    let res = gw.create(&token, &body).await;
    let retry_after = res.headers().get("retry-after").cloned();
    assert_error(res, 429, "TOO_MANY_REQUESTS").await;
    let retry_after: u64 = retry_after
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("seconds");
    assert!(retry_after >= 1);
    assert_eq!(
        gw.sandbox().total_charges(),
        3,
        "nothing sent past the quota"
    );
    // The refused request left nothing behind: its reference code is still free for later.
    let other = gw.token("demo-merchant-2", "demo-secret-2").await;
    assert_eq!(gw.create(&other, &body).await.status(), 201);
    gw.stop().await;
}
