//! Three `switchboard` processes on one Redis behave as one gateway: a duplicate storm spread across
//! them charges once, and a token from one replica works on every replica.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use switchboard_sandbox::{SandboxConfig, Timings};
use switchboard_store::testing::RedisServer;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Replica {
    base: String,
    child: Child,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `auth.keys` as an environment value: one Ed25519 key (its PEM body on one line) every replica shares.
fn shared_keys() -> String {
    let pem = switchboard_gateway::auth::ed25519_pem_from_seed(&[9; 32]);
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    format!(r#"[{{kid="replicas",private_key_pem="{body}"}}]"#)
}

fn spawn_replica(redis_url: &str, sandbox: &switchboard_sandbox::SandboxHandle) -> Replica {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(std::env::temp_dir())
        .env("SWITCHBOARD_LOG", "warn")
        .env("SWITCHBOARD_SERVER__PORT", port.to_string())
        .env("SWITCHBOARD_STORE__BACKEND", "redis")
        .env("SWITCHBOARD_STORE__URL", redis_url)
        // Replicas must share auth.keys, so a token issued by one is accepted by all.
        .env("SWITCHBOARD_AUTH__KEYS", shared_keys())
        // Every replica talks to the same simulated operators, which count the charges.
        .env(
            "SWITCHBOARD_CHANNELS__MOVISTAR_ES_SANDBOX__BASE_URL",
            sandbox.base_url("movistar-es"),
        )
        .env(
            "SWITCHBOARD_CHANNELS__TELEKOM_DE_SANDBOX__BASE_URL",
            sandbox.base_url("telekom-de"),
        )
        .env(
            "SWITCHBOARD_CHANNELS__DIALOG_LK_IDEABIZ__BASE_URL",
            sandbox.base_url("dialog-lk"),
        )
        .env(
            "SWITCHBOARD_CHANNELS__TOPUP_PRIMARY__BASE_URL",
            sandbox.base_url("topup-primary"),
        )
        .env(
            "SWITCHBOARD_CHANNELS__TOPUP_SECONDARY__BASE_URL",
            sandbox.base_url("topup-secondary"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("replica starts");
    Replica {
        base: format!("http://127.0.0.1:{port}"),
        child,
    }
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(res) = client.get(format!("{base}/readyz")).send().await {
            if res.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replica {base} never became ready");
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
    let replicas: Vec<Replica> = (0..3)
        .map(|_| spawn_replica(&redis.url(), &sandbox))
        .collect();
    let client = reqwest::Client::new();
    for r in &replicas {
        wait_ready(&client, &r.base).await;
    }
    let token: Value = client
        .post(format!("{}/oauth2/token", replicas[0].base))
        .basic_auth("demo-merchant", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
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

async fn wait_for_catalogue(client: &reqwest::Client, base: &str, token: &str) {
    for _ in 0..200 {
        let res = client
            .get(format!("{base}/telecom/products"))
            .bearer_auth(token)
            .send()
            .await;
        if let Ok(res) = res {
            let body: Value = res.json().await.unwrap_or_default();
            if body["products"].as_array().is_some_and(|p| !p.is_empty()) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replica {base} never loaded its catalogue");
}
