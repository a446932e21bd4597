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

/// One payment request: `(status, body)`, or `None` when the replica vanished under it.
async fn pay(client: &reqwest::Client, base: &str, token: &str, i: usize) -> Option<(u16, Value)> {
    let body = json!({"amountTransaction": {
        "phoneNumber": format!("+34600{i:04}20"), "clientCorrelator": format!("kill-{i}"),
        "referenceCode": format!("kill-order-{i}"),
        "paymentAmount": {"chargingInformation": {"amount": 1.25, "currency": "EUR", "description": "Kill"}}}});
    let res = client
        .post(format!("{base}/carrier-billing/v0.5/payments"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    Some((status, res.json::<Value>().await.ok()?))
}

/// Three replicas under load, one SIGKILLed in the middle: every payment a replica acknowledged is
/// kept, and a merchant retrying what it never got an answer for (same `clientCorrelator`, on a
/// survivor) ends with one payment per request, charged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_loses_nothing_and_retries_charge_once() {
    const REQUESTS: usize = 60;
    let redis = RedisServer::start();
    let sandbox = switchboard_sandbox::start(SandboxConfig::default())
        .await
        .unwrap();
    let mut replicas: Vec<Process> = (0..3)
        .map(|_| spawn_replica(&redis.url(), &sandbox))
        .collect();
    let client = reqwest::Client::new();
    for r in &replicas {
        wait_ready(&client, &r.base).await;
    }
    let token = demo_token(&client, &replicas[1].base).await;
    let bases: Vec<String> = replicas.iter().map(|r| r.base.clone()).collect();
    let load = futures::future::join_all((0..REQUESTS).map(|i| {
        let (client, token, base) = (client.clone(), token.clone(), bases[i % 3].clone());
        async move {
            // Spread over ~300 ms so the kill lands in the middle.
            tokio::time::sleep(std::time::Duration::from_millis(5 * i as u64)).await;
            pay(&client, &base, &token, i).await
        }
    }));
    let kill = async {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let _ = replicas[0].child.kill();
    };
    let (answers, ()) = tokio::join!(load, kill);

    let mut acknowledged = std::collections::HashMap::new();
    let mut retried = 0;
    for (i, answer) in answers.into_iter().enumerate() {
        let first = match answer {
            Some((201, body)) => Some(body["paymentId"].as_str().unwrap().to_string()),
            Some((status, body)) => {
                assert!(
                    status >= 500 || status == 409,
                    "request {i}: {status} {body}"
                );
                None
            }
            None => None,
        };
        // The merchant retries on a survivor until it has an answer (a claim the dead replica
        // left behind may answer 409 ABORTED while it is still held).
        let mut id = None;
        for _ in 0..100 {
            match pay(&client, &bases[1 + i % 2], &token, i).await {
                Some((201, body)) => {
                    id = Some(body["paymentId"].as_str().unwrap().to_string());
                    break;
                }
                Some((409 | 503, _)) | None => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await
                }
                Some((status, body)) => panic!("retry of {i}: {status} {body}"),
            }
        }
        let id = id.unwrap_or_else(|| panic!("request {i} never got an answer from a survivor"));
        if let Some(first) = first {
            assert_eq!(
                first, id,
                "request {i}: the retry replays the acknowledged payment"
            );
        } else {
            retried += 1;
        }
        acknowledged.insert(i, id);
    }
    // Settled at the operator exactly once each, and readable from every survivor.
    for (i, id) in &acknowledged {
        let status = loop {
            let res = client
                .get(format!("{}/carrier-billing/v0.5/payments/{id}", bases[2]))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "request {i}: {id} readable");
            let body: Value = res.json().await.unwrap();
            let status = body["paymentStatus"].as_str().unwrap().to_string();
            if status != "processing" {
                break status;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        assert_eq!(status, "succeeded", "request {i}");
        assert_eq!(sandbox.charges_for(&format!("sb-{id}")), 1, "request {i}");
    }
    assert_eq!(
        sandbox.total_charges() as usize,
        REQUESTS,
        "one charge per request, no more"
    );
    eprintln!("{REQUESTS} requests, {retried} answered only after the kill, all charged once");
    drop(replicas);
    sandbox.stop().await;
}
