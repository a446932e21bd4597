//! The embedded store under `kill -9`: the real binary takes a load of payments (sync and
//! asynchronous, each with a sink), is killed mid-load, and restarts on the same data directory.
//! Every acknowledged payment is readable, a retry replays it (same paymentId, charged once),
//! the pending outcomes are reconciled and their notifications delivered, including those the
//! killed process had sent but never heard back about (at least once).

mod common;

#[allow(dead_code)] // the crash test uses a subset of the receiver
#[path = "../../../tests/src/receiver.rs"]
mod receiver;

use std::collections::HashMap;
use std::time::Duration;

use common::{demo_token, free_port, spawn, switchboard, wait_ready, Process};
use receiver::{Receiver, Reply, Respond};
use serde_json::{json, Value};
use switchboard_sandbox::SandboxHandle;
use switchboard_store::testing::TempDir;

/// The real binary on the embedded store in `data_dir`, reconciling and delivering quickly.
fn start(sandbox: &SandboxHandle, data_dir: &TempDir, rx: &Receiver) -> Process {
    let port = free_port();
    let mut cmd = switchboard("redis://unused", sandbox, port);
    cmd.env("SWITCHBOARD_STORE__BACKEND", "embedded")
        .env("SWITCHBOARD_STORE__DATA_DIR", data_dir.path())
        .env("SWITCHBOARD_WEBHOOKS__EXTRA_CA_FILE", rx.ca_pem_path())
        .env("SWITCHBOARD_WEBHOOKS__POLL_MS", "50")
        .env("SWITCHBOARD_RECONCILE__INTERVAL_MS", "100")
        .env("SWITCHBOARD_RECONCILE__MIN_DELAY_MS", "200")
        .env("SWITCHBOARD_RECONCILE__MAX_DELAY_MS", "500");
    spawn(cmd, format!("http://127.0.0.1:{port}"))
}

/// Payment `i`: every third one on an asynchronous operator (`processing`, settled later).
fn payment(i: usize, sink: &str) -> Value {
    let phone = if i.is_multiple_of(3) {
        "+4915100000086"
    } else {
        "+34600000001"
    };
    json!({
        "amountTransaction": {
            "phoneNumber": phone,
            "clientCorrelator": format!("crash-{i}"),
            "referenceCode": format!("crash-order-{i}"),
            "paymentAmount": {"chargingInformation": {
                "amount": 1.25, "currency": "EUR", "description": "crash test"}}
        },
        "sink": sink,
    })
}

async fn create(client: &reqwest::Client, base: &str, token: &str, body: &Value) -> Option<Value> {
    let res = client
        .post(format!("{base}/carrier-billing/v0.5/payments"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    let body: Value = res.json().await.ok()?;
    assert!(status == 201 || status == 200, "{status} {body}");
    Some(body)
}

async fn status_of(client: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    let res = client
        .get(format!("{base}/carrier-billing/v0.5/payments/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "payment {id} is readable after the restart"
    );
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_under_load_loses_no_acknowledged_payment_and_charges_nobody_twice() {
    const LOAD: usize = 150;
    /// Deliveries the receiver never answers: in flight at the kill.
    const HUNG: usize = 3;
    let sandbox = switchboard_sandbox::start(switchboard_sandbox::SandboxConfig::default())
        .await
        .unwrap();
    let mut replies = vec![Reply::Hang; HUNG];
    replies.push(Reply::status(200));
    let rx = Receiver::start(Respond::replies(replies)).await;
    let sink = rx.url("/notify");
    let data_dir = TempDir::new("embedded-crash");
    let client = reqwest::Client::new();

    let mut first = start(&sandbox, &data_dir, &rx);
    wait_ready(&client, &first.base).await;
    let token = demo_token(&client, &first.base).await;

    // The load, 4 at a time; the process is killed once a third of it is acknowledged and the
    // first notifications are in flight.
    let (tx, mut acks) = tokio::sync::mpsc::unbounded_channel();
    let load = {
        let (client, base, token, sink) = (
            client.clone(),
            first.base.clone(),
            token.clone(),
            sink.clone(),
        );
        tokio::spawn(async move {
            let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
            let mut tasks = Vec::new();
            for i in 0..LOAD {
                // Paced over ~3 s, so the load still runs when the first outcomes settle.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let permit = sem.clone().acquire_owned().await.unwrap();
                let (client, base, token, tx) =
                    (client.clone(), base.clone(), token.clone(), tx.clone());
                let body = payment(i, &sink);
                tasks.push(tokio::spawn(async move {
                    if let Some(answer) = create(&client, &base, &token, &body).await {
                        let _ = tx.send((i, answer));
                    }
                    drop(permit);
                }));
            }
            futures::future::join_all(tasks).await;
        })
    };
    let mut acknowledged: HashMap<usize, Value> = HashMap::new();
    while acknowledged.len() < LOAD / 3 || rx.requests().len() < HUNG {
        match tokio::time::timeout(Duration::from_millis(50), acks.recv()).await {
            Ok(Some((i, answer))) => {
                acknowledged.insert(i, answer);
            }
            Ok(None) => panic!("the load ended before any notification was sent"),
            Err(_) => {}
        }
    }
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    load.await.unwrap();
    while let Ok((i, answer)) = acks.try_recv() {
        acknowledged.insert(i, answer);
    }
    drop(first);

    let second = start(&sandbox, &data_dir, &rx);
    wait_ready(&client, &second.base).await;
    let token = demo_token(&client, &second.base).await;

    // Every acknowledged payment is there, and its retry replays it.
    for (i, answer) in &acknowledged {
        let id = answer["paymentId"].as_str().unwrap();
        status_of(&client, &second.base, &token, id).await;
        let retry = create(&client, &second.base, &token, &payment(*i, &sink))
            .await
            .expect("the restarted gateway answers");
        assert_eq!(
            retry["paymentId"], answer["paymentId"],
            "payment {i} replays"
        );
    }
    // The rest is retried too (as a merchant would): whatever it was, it is charged once.
    let mut ids: HashMap<usize, String> = acknowledged
        .iter()
        .map(|(i, a)| (*i, a["paymentId"].as_str().unwrap().to_string()))
        .collect();
    for i in (0..LOAD).filter(|i| !acknowledged.contains_key(i)) {
        let answer = create(&client, &second.base, &token, &payment(i, &sink))
            .await
            .expect("the restarted gateway answers");
        ids.insert(i, answer["paymentId"].as_str().unwrap().to_string());
    }

    // Pending outcomes settle, each payment charged exactly once.
    for (i, id) in &ids {
        let mut settled = Value::Null;
        for _ in 0..300 {
            settled = status_of(&client, &second.base, &token, id).await;
            if settled["paymentStatus"] == "succeeded" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            settled["paymentStatus"], "succeeded",
            "payment {i}: {settled}"
        );
        assert_eq!(
            sandbox.charges_for(&format!("sb-{id}")),
            1,
            "payment {i} is charged once"
        );
    }
    assert_eq!(
        sandbox.total_charges() as usize,
        LOAD,
        "no charge beyond one per payment"
    );

    // Every payment acknowledged as `processing` is notified of its outcome (at least once), the
    // ones whose delivery was in flight at the kill included. (A payment whose create answer was
    // lost in the crash is not notified: the gateway sends no event for the first answer.)
    let waiting: Vec<&str> = acknowledged
        .values()
        .filter(|a| a["paymentStatus"] == "processing")
        .map(|a| a["paymentId"].as_str().unwrap())
        .collect();
    assert!(!waiting.is_empty(), "the load has asynchronous payments");
    let mut missing = waiting.clone();
    for _ in 0..300 {
        let delivered: Vec<String> = rx
            .requests()
            .iter()
            .filter(|r| r.answered == Some(200))
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect();
        missing.retain(|id| !delivered.iter().any(|body| body.contains(id)));
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        missing.is_empty(),
        "no notification delivered for {missing:?}"
    );
}
