//! Three `switchboard` processes on one Redis behave as one gateway: a duplicate storm spread across
//! them charges once, and a token from one replica works on every replica.

mod common;

use common::{demo_token, free_port, spawn, switchboard, wait_for_catalogue, wait_ready, Process};
use serde_json::{json, Value};
use switchboard_sandbox::{SandboxConfig, Timings};
use switchboard_store::testing::RedisServer;

fn spawn_replica(redis_url: &str, sandbox: &switchboard_sandbox::SandboxHandle) -> Process {
    let port = free_port();
    spawn(
        switchboard(redis_url, sandbox, port),
        format!("http://127.0.0.1:{port}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_storm_across_three_replicas_charges_once() {
    let redis = RedisServer::start();
    let sandbox_config = SandboxConfig {
        timings: Timings {
            async_delay_ms: 300,
            ..Timings::default()
        },
        ..SandboxConfig::default()
    };
    let sandbox = switchboard_sandbox::start(sandbox_config).await.unwrap();
    let replicas: Vec<Process> = (0..3)
        .map(|_| spawn_replica(&redis.url(), &sandbox))
        .collect();
    let client = reqwest::Client::new();
    for r in &replicas {
        wait_ready(&client, &r.base).await;
    }
    let token = demo_token(&client, &replicas[0].base).await;
    let body = json!({"amountTransaction": {
        "phoneNumber": "+34600000001", "clientCorrelator": "storm-1", "referenceCode": "storm-order-1",
        "paymentAmount": {"chargingInformation": {"amount": 9.99, "currency": "EUR", "description": "Storm"}}}});
    let requests = (0..50).map(|i| {
        let url = format!("{}/carrier-billing/v0.5/payments", replicas[i % 3].base);
        let (client, token, body) = (client.clone(), token.clone(), body.clone());
        async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    });
    let answers = futures::future::join_all(requests).await;
    let mut ids: Vec<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["paymentId"].as_str().unwrap().to_string()
        })
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "all 50 answers carry the same paymentId");
    assert_eq!(sandbox.total_charges(), 1, "exactly one upstream charge");
    assert_eq!(sandbox.charges_for(&format!("sb-{}", ids[0])), 1);
    // The token issued by replica 0 is accepted by every replica, and all see the same payment.
    for r in &replicas {
        let res = client
            .get(format!(
                "{}/carrier-billing/v0.5/payments/{}",
                r.base, ids[0]
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "replica {}", r.base);
    }
    // The same storm for a top-up on external_tx_id, once every replica has its catalogue.
    for r in &replicas {
        wait_for_catalogue(&client, &r.base, &token).await;
    }
    let topup = json!({"phone": "+79161234501", "product_id": "mts-ru-bundle-1gb-1d", "external_tx_id": "storm-tx-1"});
    let requests = (0..50).map(|i| {
        let url = format!("{}/telecom/topup", replicas[i % 3].base);
        let (client, token, body) = (client.clone(), token.clone(), topup.clone());
        async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    });
    let answers = futures::future::join_all(requests).await;
    let mut tx_ids: Vec<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["tx_id"].as_str().unwrap().to_string()
        })
        .collect();
    tx_ids.dedup();
    assert_eq!(tx_ids.len(), 1, "all 50 answers carry the same tx_id");
    assert_eq!(sandbox.total_credits(), 1, "exactly one credit upstream");
    drop(replicas);
    sandbox.stop().await;
}
