//! Helpers for tests that run real `switchboard` processes against one Redis and one sandbox.

#![allow(dead_code)] // each test binary uses a different subset

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use switchboard_gateway::config::ConfigSource;
use switchboard_sandbox::SandboxHandle;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process, killed (SIGKILL) and reaped when dropped.
pub struct Process {
    pub base: String,
    pub child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `auth.keys` as an environment value: one Ed25519 key (its PEM body on one line) every replica shares.
pub fn shared_keys() -> String {
    let pem = switchboard_gateway::auth::ed25519_pem_from_seed(&[9; 32]);
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    format!(r#"[{{kid="replicas",private_key_pem="{body}"}}]"#)
}

/// A `switchboard` command on Redis whose channels all point at the test's own sandbox (which counts
/// the charges), with shared signing keys, on `port`.
pub fn switchboard(redis_url: &str, sandbox: &SandboxHandle, port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.current_dir(std::env::temp_dir())
        .env("SWITCHBOARD_LOG", "warn")
        .env("SWITCHBOARD_SERVER__PORT", port.to_string())
        .env("SWITCHBOARD_STORE__BACKEND", "redis")
        .env("SWITCHBOARD_STORE__URL", redis_url)
        .env("SWITCHBOARD_AUTH__KEYS", shared_keys())
        .env("SWITCHBOARD_CALLBACKS__SECRET", "replicas-callback-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Every default channel that names a simulated upstream goes to the test's sandbox instead.
    let defaults = switchboard_gateway::config::load(&ConfigSource::EmbeddedOnly)
        .expect("the embedded defaults load");
    for (channel, upstream) in defaults.sandbox_channels() {
        let key = channel.to_uppercase().replace('-', "_");
        cmd.env(
            format!("SWITCHBOARD_CHANNELS__{key}__BASE_URL"),
            sandbox.base_url(upstream),
        );
    }
    cmd
}

pub fn spawn(mut cmd: Command, base: String) -> Process {
    Process {
        base,
        child: cmd.spawn().expect("switchboard starts"),
    }
}

pub async fn wait_ready(client: &reqwest::Client, base: &str) {
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

pub async fn demo_token(client: &reqwest::Client, base: &str) -> String {
    let token: Value = client
        .post(format!("{base}/oauth2/token"))
        .basic_auth("demo-merchant", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_string()
}

pub async fn wait_for_catalogue(client: &reqwest::Client, base: &str, token: &str) {
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
