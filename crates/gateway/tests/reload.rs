//! Configuration reload without a restart, on the real binary started with `--config FILE`: while
//! payments run, a new operator and its channel are written beside the file and
//! `POST /admin/reload` serves them; an invalid channel file is refused with the loader's message
//! and the running configuration kept; SIGHUP adds a merchant. No request of the load fails, and
//! every reload is in the audit log.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{demo_token, free_port, spawn, switchboard, wait_ready, Process};
use serde_json::{json, Value};
use switchboard_sandbox::{SandboxConfig, SandboxHandle};
use switchboard_store::testing::TempDir;

const ADMIN: &str = "demo-admin-token";
/// A Portuguese number: no operator serves it until the reload adds `nos-pt`.
const PT_PHONE: &str = "+351910000010";

fn start(sandbox: &SandboxHandle, config_file: &Path) -> Process {
    let port = free_port();
    let mut cmd = switchboard("redis://unused", sandbox, port);
    cmd.env("SWITCHBOARD_STORE__BACKEND", "memory")
        .arg("--config")
        .arg(config_file);
    spawn(cmd, format!("http://127.0.0.1:{port}"))
}

async fn pay(client: &reqwest::Client, base: &str, token: &str, phone: &str) -> (u16, Value) {
    let res = client
        .post(format!("{base}/carrier-billing/v0.5/payments"))
        .bearer_auth(token)
        .json(&json!({
            "amountTransaction": {
                "phoneNumber": phone,
                "referenceCode": format!("reload-{}", uuid::Uuid::new_v4()),
                "paymentAmount": {"chargingInformation": {
                    "amount": 1, "currency": "EUR", "description": "reload test"}}
            }
        }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

async fn reload(client: &reqwest::Client, base: &str, token: &str) -> (u16, Value) {
    let res = client
        .post(format!("{base}/admin/reload"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

async fn client_token(client: &reqwest::Client, base: &str, id: &str, secret: &str) -> u16 {
    client
        .post(format!("{base}/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_under_load_adds_an_operator_and_refuses_an_invalid_file() {
    let sandbox = switchboard_sandbox::start(SandboxConfig::default())
        .await
        .unwrap();
    let dir = TempDir::new("reload");
    let main = dir.path().join("switchboard.toml");
    std::fs::write(&main, "# the embedded defaults, then what this test adds\n").unwrap();
    std::fs::create_dir(dir.path().join("channels")).unwrap();
    let gw = start(&sandbox, &main);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    wait_ready(&client, &gw.base).await;
    let token = demo_token(&client, &gw.base).await;
    let (status, body) = pay(&client, &gw.base, &token, PT_PHONE).await;
    assert_eq!(status, 404, "no operator serves +351 yet: {body}");
    assert_eq!(body["code"], "IDENTIFIER_NOT_FOUND");

    // Load on an operator the reload keeps, for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let (running, mut started) = tokio::sync::mpsc::channel::<()>(4);
    let load: Vec<_> = (0..4)
        .map(|w| {
            let (client, base, token, stop, running) = (
                client.clone(),
                gw.base.clone(),
                token.clone(),
                stop.clone(),
                running.clone(),
            );
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    answers.push(pay(&client, &base, &token, &format!("+3460000{w:03}10")).await);
                    if answers.len() == 1 {
                        let _ = running.send(()).await;
                    }
                }
                answers
            })
        })
        .collect();
    // The reloads happen while every worker is paying.
    for _ in 0..4 {
        started.recv().await.expect("a load worker answered");
    }

    // A new operator and the channel that serves it: configuration only.
    std::fs::write(
        &main,
        "[operators.nos-pt]\ncountry = \"PT\"\nprefixes = [\"+35191\"]\ncurrencies = [\"EUR\"]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("channels/nos_pt.toml"),
        format!(
            "adapter = \"camara\"\nbase_url = \"{}\"\noperators = [\"nos-pt\"]\n\
             capabilities = [\"payment\", \"payment_status\"]\n\
             [credentials]\nclient_id = \"sandbox-client\"\nclient_secret = \"sandbox-secret\"\n",
            sandbox.base_url("movistar-es")
        ),
    )
    .unwrap();
    let (status, done) = reload(&client, &gw.base, ADMIN).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["changed"]["operators"]["added"], json!(["nos-pt"]));
    assert_eq!(done["changed"]["channels"]["added"], json!(["nos_pt"]));
    assert_eq!(done["restart_required"], json!([]));
    let (status, paid) = pay(&client, &gw.base, &token, PT_PHONE).await;
    assert_eq!(status, 201, "the new operator is served: {paid}");
    assert_eq!(paid["paymentStatus"], "succeeded");

    // An invalid file: refused with the loader's message, nothing changes.
    let broken = dir.path().join("channels/broken.toml");
    std::fs::write(&broken, "adapter = \"camara\"\npriority = \"high\"\n").unwrap();
    let (status, refused) = reload(&client, &gw.base, ADMIN).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["code"], "INVALID_ARGUMENT");
    assert!(
        refused["message"].as_str().unwrap().contains("broken"),
        "the message names the file's channel: {refused}"
    );
    assert_eq!(pay(&client, &gw.base, &token, PT_PHONE).await.0, 201);
    std::fs::remove_file(&broken).unwrap();

    // Only an admin token reloads.
    assert_eq!(reload(&client, &gw.base, "nope").await.0, 401);

    // SIGHUP: a merchant added to the file can get a token.
    assert_eq!(
        client_token(&client, &gw.base, "late-merchant", "late-secret").await,
        401
    );
    let mut text = std::fs::read_to_string(&main).unwrap();
    text.push_str(
        "[merchants.late-merchant]\nname = \"Late\"\nclient_secret = \"late-secret\"\n\
         scopes = [\"carrier-billing:payments:create\"]\n",
    );
    std::fs::write(&main, text).unwrap();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &gw.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let mut accepted = false;
    for _ in 0..100 {
        if client_token(&client, &gw.base, "late-merchant", "late-secret").await == 200 {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(accepted, "SIGHUP applied the new merchant");

    stop.store(true, Ordering::Relaxed);
    let mut answered = 0;
    for worker in load {
        for (status, body) in worker.await.unwrap() {
            assert_eq!(status, 201, "a request of the load failed: {body}");
            answered += 1;
        }
    }
    assert!(answered > 0);

    let audit: Value = client
        .get(format!("{}/admin/audit", gw.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reloads: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "POST /admin/reload")
        .collect();
    assert_eq!(
        reloads.len(),
        2,
        "two applied reloads, the refused one is not: {audit}"
    );
    assert_eq!(reloads[0]["actor"], "SIGHUP", "newest first");
    assert_eq!(
        reloads[1]["after"]["changed"]["operators"]["added"],
        json!(["nos-pt"])
    );
    eprintln!("reload under load: {answered} payments, none failed");
}
