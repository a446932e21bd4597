//! The `switchboard` binary as a newcomer runs it: embedded defaults, environment overrides, a config
//! file, and a clear exit on a bad configuration.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard-bin-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_healthy(base: &str) -> bool {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(res) = client.get(format!("{base}/healthz")).send().await {
            if res.status() == 200 {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The binary serving on `port` from `dir` with `args`, once healthy; killed when the guard drops.
async fn serve(dir: &std::path::Path, port: u16, args: &[&std::ffi::OsStr]) -> (Killed, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(dir)
        .args(args)
        .env("SWITCHBOARD_SERVER__PORT", port.to_string())
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = Killed(child);
    let base = format!("http://127.0.0.1:{port}");
    assert!(wait_healthy(&base).await, "switchboard did not come up");
    (guard, base)
}

/// The demo merchant's token answer (client credentials).
async fn demo_token(client: &reqwest::Client, base: &str) -> serde_json::Value {
    client
        .post(format!("{base}/oauth2/token"))
        .basic_auth("demo-merchant", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn runs_on_the_embedded_defaults_with_an_env_override_and_takes_a_payment() {
    let port = free_port();
    // An empty working directory: no config/ folder, so only the embedded defaults and the env apply.
    let dir = temp_dir("defaults");
    let (_guard, base) = serve(&dir, port, &[]).await;
    let client = reqwest::Client::new();
    let token = demo_token(&client, &base).await;
    let token = token["access_token"].as_str().unwrap();
    let res = client
        .post(format!("{base}/carrier-billing/v0.5/payments"))
        .bearer_auth(token)
        .json(&serde_json::json!({"amountTransaction": {
            "phoneNumber": "+34600000001", "referenceCode": "bin-1",
            "paymentAmount": {"chargingInformation": {"amount": 1.5, "currency": "EUR", "description": "x"}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["paymentStatus"], "succeeded");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_config_file_sets_the_listen_port() {
    let port = free_port();
    let dir = temp_dir("file");
    let file = dir.join("switchboard.toml");
    std::fs::write(&file, format!("[server]\nport = {port}\n")).unwrap();
    // Its own working directory: the embedded store's data/ goes there.
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(&dir)
        .arg("--config")
        .arg(&file)
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = Killed(child);
    assert!(wait_healthy(&format!("http://127.0.0.1:{port}")).await);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_bad_config_exits_with_a_clear_message() {
    let dir = temp_dir("bad");
    let file = dir.join("switchboard.toml");
    std::fs::write(&file, "[operators.movistar-es]\ncountry = \"ES\"\nprefixes = [\"+346\"]\ncurrencies = [\"EURO\"]\n")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'EURO' is not an ISO 4217 code"),
        "{stderr}"
    );

    let missing = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(dir.join("nope.toml"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.toml"));

    let bad_env = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(&dir)
        .env("SWITCHBOARD_SERVER__PORT", "eighty")
        .output()
        .unwrap();
    assert_eq!(bad_env.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_env.stderr)
        .to_lowercase()
        .contains("port"));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_replica_on_a_shared_store_without_shared_keys_refuses_to_start() {
    let dir = temp_dir("ephemeral");
    let port = free_port();
    let start = |allow: &str| {
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .current_dir(&dir)
            .env("SWITCHBOARD_STORE__BACKEND", "redis")
            // Nothing listens there: a start that passes validation serves (503 until Redis).
            .env("SWITCHBOARD_STORE__URL", "redis://127.0.0.1:1")
            .env("SWITCHBOARD_SERVER__PORT", port.to_string())
            .env("SWITCHBOARD_AUTH__ALLOW_EPHEMERAL_KEYS", allow)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let out = start("false").wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("auth.keys is required") && stderr.contains("callbacks.secret is required"),
        "{stderr}"
    );
    // On purpose: it starts and serves (/healthz), waiting for Redis.
    let mut allowed = start("true");
    assert!(wait_healthy(&format!("http://127.0.0.1:{port}")).await);
    assert!(allowed.try_wait().unwrap().is_none(), "still running");
    allowed.kill().ok();
    allowed.wait().ok();
    std::fs::remove_dir_all(dir).ok();
}

/// The documented conformance profile makes the expired-token and rate-limit cases reachable.
#[tokio::test]
async fn the_conformance_profile_expires_tokens_and_limits_the_rate() {
    let port = free_port();
    let profile = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/profiles/conformance.toml");
    // Its own working directory: the embedded store's data/ goes there.
    let dir = temp_dir("conformance");
    let (_guard, base) = serve(
        &dir,
        port,
        &[std::ffi::OsStr::new("--config"), profile.as_os_str()],
    )
    .await;
    let client = reqwest::Client::new();
    let token = demo_token(&client, &base).await;
    assert_eq!(token["expires_in"], 5, "{token}");
    let token = token["access_token"].as_str().unwrap().to_string();
    let list = || {
        client
            .get(format!("{base}/carrier-billing/v0.5/payments"))
            .bearer_auth(&token)
            .send()
    };
    let mut limited = None;
    for _ in 0..10 {
        let res = list().await.unwrap();
        if res.status() == 429 {
            limited = Some(res);
            break;
        }
    }
    let limited = limited.expect("the 5 requests per second limit answers 429");
    assert!(limited.headers().contains_key("retry-after"));
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "TOO_MANY_REQUESTS", "{body}");

    tokio::time::sleep(Duration::from_secs(6)).await;
    let expired = list().await.unwrap();
    assert_eq!(expired.status(), 401);
    let body: serde_json::Value = expired.json().await.unwrap();
    assert_eq!(body["code"], "UNAUTHENTICATED", "{body}");
    std::fs::remove_dir_all(dir).ok();
}
