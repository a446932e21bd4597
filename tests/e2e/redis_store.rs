//! What only a networked store can get wrong: Redis going away (SIGKILL, outage) and coming back.

use std::collections::BTreeMap;

use serde_json::Value;
use switchboard_store::testing::RedisServer;
use switchboard_tests::{body_of, Env, TestGateway};

use crate::assert_error;

fn request(i: usize) -> Value {
    let mut body = TestGateway::body(&format!("+346000001{:02}", i % 80), 2.0);
    body["amountTransaction"]["clientCorrelator"] = Value::String(format!("durable-{i}"));
    body["amountTransaction"]["referenceCode"] = Value::String(format!("durable-order-{i}"));
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_payments_survive_a_redis_sigkill_and_retries_do_not_charge_again() {
    let mut redis = RedisServer::start_with_aof();
    let gw = Env::redis(redis.url()).start().await;
    let token = gw.demo_token().await;
    let mut acknowledged: BTreeMap<usize, String> = BTreeMap::new();
    let mut refused = Vec::new();
    for i in 0..40 {
        if i == 20 {
            redis.kill(); // SIGKILL: no shutdown save, only what appendfsync already wrote
        }
        if i == 30 {
            redis.restart();
        }
        let res = gw.create(&token, &request(i)).await;
        match res.status().as_u16() {
            201 => {
                acknowledged.insert(
                    i,
                    body_of(res).await["paymentId"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                );
            }
            503 => {
                assert_error(res, 503, "UNAVAILABLE").await;
                refused.push(i);
            }
            other => panic!("request {i}: unexpected {other}"),
        }
    }
    assert!(
        (0..20).all(|i| acknowledged.contains_key(&i)),
        "every payment before the kill was acknowledged: {acknowledged:?}"
    );
    assert!(
        refused.iter().all(|i| (20..40).contains(i)) && refused.contains(&20),
        "only requests from the kill on were refused: {refused:?}"
    );
    assert_eq!(
        gw.sandbox().total_charges() as usize,
        acknowledged.len(),
        "each acknowledged payment charged once, each refused request nothing"
    );
    for (i, id) in &acknowledged {
        let fetched = body_of(gw.get(&token, id).await).await;
        assert_eq!(
            fetched["paymentStatus"], "succeeded",
            "payment {i} survived"
        );
        let replay = gw.create(&token, &request(*i)).await;
        assert_eq!(replay.status(), 201);
        assert_eq!(
            body_of(replay).await["paymentId"].as_str(),
            Some(id.as_str()),
            "retry {i} replays"
        );
        assert_eq!(gw.charges_for_payment(id), 1, "payment {i} charged once");
    }
    // Requests refused while Redis was down were never charged; retried now they go through once.
    for i in refused {
        let res = gw.create(&token, &request(i)).await;
        assert_eq!(res.status(), 201, "refused request {i} retried");
        let id = body_of(res).await["paymentId"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(gw.charges_for_payment(&id), 1);
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_means_503_and_not_ready_and_service_resumes_by_itself() {
    let mut redis = RedisServer::start();
    let gw = Env::redis(redis.url()).start().await;
    let token = gw.demo_token().await;
    let ready = |gw: &TestGateway| {
        let url = format!("{}/readyz", gw.base);
        let http = gw.http.clone();
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(ready(&gw).await, 200);
    redis.kill();
    let res = gw
        .create(&token, &TestGateway::body("+34600000090", 1.0))
        .await;
    assert_error(res, 503, "UNAVAILABLE").await;
    assert_error(gw.get(&token, "any").await, 503, "UNAVAILABLE").await;
    assert_eq!(ready(&gw).await, 503);
    let health = gw
        .http
        .get(format!("{}/healthz", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the process itself is fine");
    assert_eq!(
        gw.sandbox().total_charges(),
        0,
        "nothing is charged without an idempotency record"
    );
    redis.restart();
    let back = switchboard_tests::eventually(std::time::Duration::from_secs(10), || async {
        (ready(&gw).await == 200).then_some(())
    })
    .await;
    assert!(back.is_some(), "ready again once Redis is back");
    let res = gw
        .create(&token, &TestGateway::body("+34600000091", 1.0))
        .await;
    assert_eq!(res.status(), 201);
    gw.stop().await;
}
