//! Shared fixture: a sandbox with short timings and a small client for the top-up provider.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use switchboard_sandbox::{
    SandboxConfig, SandboxHandle, Timings, DEFAULT_TOPUP_API_KEY, DEFAULT_TOPUP_PROVIDER,
};

pub struct Env {
    pub sandbox: SandboxHandle,
    pub http: reqwest::Client,
}

/// A response: status and JSON body (`Value::Null` when empty).
pub type Reply = (StatusCode, Value);

pub async fn setup() -> Env {
    let config = SandboxConfig {
        timings: Timings {
            async_delay_ms: 200,
            reservation_ttl_ms: 300,
            slow_ms: 800,
            token_ttl_secs: 3600,
        },
        ..SandboxConfig::default()
    };
    let sandbox = switchboard_sandbox::start(config)
        .await
        .expect("sandbox starts");
    Env {
        sandbox,
        http: reqwest::Client::new(),
    }
}

/// An MTS Russia number (prepaid unless the digits are 50–59) ending in `digits`.
pub fn mts(digits: u8) -> String {
    format!("+791612345{digits:02}")
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (status, body)
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url(DEFAULT_TOPUP_PROVIDER))
    }

    pub async fn post_with(&self, url: &str, key: Option<&str>, body: &Value) -> Reply {
        let mut request = self.http.post(url).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        reply(request.send().await.expect("POST")).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_with(&self.url(path), Some(DEFAULT_TOPUP_API_KEY), body)
            .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(DEFAULT_TOPUP_API_KEY)
            .send()
            .await
            .expect("GET");
        reply(response).await
    }

    pub async fn topup(&self, phone: &str, product: &str, ext: &str, amount: Option<f64>) -> Reply {
        let mut body =
            serde_json::json!({"phone": phone, "product_id": product, "external_tx_id": ext});
        if let Some(a) = amount {
            body["amount"] = serde_json::json!(a);
        }
        self.post("/telecom/topup", &body).await
    }

    /// Polls `GET /telecom/topup/{id}` until it shows `status` (bounded: ~5 s).
    pub async fn wait_status(&self, tx_id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..200 {
            let (code, body) = self.get(&format!("/telecom/topup/{tx_id}")).await;
            assert_eq!(code, StatusCode::OK, "{body}");
            if body["status"] == status {
                return body;
            }
            last = body;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("transaction {tx_id} never reached {status}; last: {last}");
    }

    /// Polls until `credits_for(ext)` equals `expected` (bounded: ~5 s).
    pub async fn wait_credits(&self, ext: &str, expected: u32) {
        for _ in 0..200 {
            if self.sandbox.credits_for(ext) == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "credits for {ext} stayed at {} instead of {expected}",
            self.sandbox.credits_for(ext)
        );
    }
}

/// Asserts a provider error reply.
pub fn assert_error(reply: &Reply, status: u16, error: &str) {
    let (got, body) = reply;
    assert_eq!(got.as_u16(), status, "{body}");
    assert_eq!(body["error"], error, "{body}");
}
