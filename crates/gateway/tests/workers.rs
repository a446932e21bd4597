//! `switchboard worker` processes share the outbox through Redis (Streams consumer group): a worker
//! killed in the middle of a delivery loses its lease, and another worker delivers the same event
//! again with the same `webhook-id` (at-least-once).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{demo_token, free_port, spawn, switchboard, wait_for_catalogue, wait_ready};
use serde_json::{json, Value};
use switchboard_store::testing::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &str = "whsec_ZGVtby1tZXJjaGFudC13ZWJob29rLXNlY3JldA==";

/// One received delivery: its Standard Webhooks headers and body.
#[derive(Debug, Clone)]
struct Seen {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

/// A plain-HTTP merchant endpoint on loopback (allow-listed in the default config). The first request
/// is read and never answered (the worker is killed while it waits); later ones get 204.
struct Endpoint {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Endpoint {
    async fn start() -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let Some(request) = read_request(&mut stream).await else {
                    continue;
                };
                let first = {
                    let mut seen = record.lock().unwrap();
                    seen.push(request);
                    seen.len() == 1
                };
                if first {
                    held.push(stream); // never answered
                } else {
                    let _ = stream
                        .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                        .await;
                }
            }
        });
        Endpoint { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Seen> {
        for _ in 0..600 {
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} deliveries, saw {}", self.seen().len());
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let length: usize = header("content-length").parse().unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: buf[head_end..].to_vec(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_delivery_is_taken_over_with_the_same_webhook_id() {
    let redis = RedisServer::start();
    let sandbox = switchboard_sandbox::start(switchboard_sandbox::SandboxConfig::default())
        .await
        .unwrap();
    let endpoint = Endpoint::start().await;
    let client = reqwest::Client::new();

    // The API replica runs no workers; two worker processes do the delivering.
    let port = free_port();
    let mut api = switchboard(&redis.url(), &sandbox, port);
    api.env("SWITCHBOARD_WORKERS__ENABLED", "false");
    let api = spawn(api, format!("http://127.0.0.1:{port}"));
    wait_ready(&client, &api.base).await;
    let worker = |port| {
        let mut cmd = switchboard(&redis.url(), &sandbox, port);
        cmd.arg("worker")
            .env("SWITCHBOARD_WEBHOOKS__TIMEOUT_MS", "5000")
            .env("SWITCHBOARD_WEBHOOKS__LEASE_MS", "6000")
            .env("SWITCHBOARD_WEBHOOKS__POLL_MS", "100");
        spawn(cmd, String::new())
    };
    let first_worker = worker(free_port());

    let token = demo_token(&client, &api.base).await;
    wait_for_catalogue(&client, &api.base, &token).await;
    let res = client
        .post(format!("{}/webhooks", api.base))
        .bearer_auth(&token)
        .json(&json!({"url": endpoint.url}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = client
        .post(format!("{}/telecom/topup", api.base))
        .bearer_auth(&token)
        .json(&json!({"phone": "+79161234501", "product_id": "mts-ru-bundle-1gb-1d", "external_tx_id": "crash-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let tx: Value = res.json().await.unwrap();

    // The first worker is holding the delivery open when it dies.
    let first = endpoint.wait_for(1).await;
    drop(first_worker);
    let _second_worker = worker(free_port());
    let both = endpoint.wait_for(2).await;
    assert_eq!(
        both[1].id, first[0].id,
        "redelivered with the same webhook-id"
    );
    assert_eq!(both[1].body, first[0].body, "the same event");
    switchboard_webhooks::verify(
        SECRET,
        &both[1].id,
        &both[1].timestamp,
        &both[1].signature,
        &both[1].body,
        chrono::Utc::now().timestamp(),
        300,
    )
    .expect("signed with the merchant's secret");
    let event: Value = serde_json::from_slice(&both[1].body).unwrap();
    assert_eq!(event["type"], "topup.completed");
    assert_eq!(event["data"]["tx_id"], tx["tx_id"]);
    sandbox.stop().await;
}
