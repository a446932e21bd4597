//! Shared test fixture: a sandbox with short timings and a small HTTP client.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use switchboard_sandbox::{SandboxConfig, SandboxHandle, Timings, CARRIER_BILLING_PATH};

pub const SYNC_OP: &str = "movistar-es";
pub const ASYNC_OP: &str = "telekom-de";
pub const CLIENT_ID: &str = "sandbox-client";
pub const CLIENT_SECRET: &str = "sandbox-secret";

pub fn short_timings() -> Timings {
    Timings {
        async_delay_ms: 200,
        reservation_ttl_ms: 300,
        slow_ms: 800,
        token_ttl_secs: 3600,
    }
}

/// A phone number whose last two digits are `digits`.
pub fn phone(digits: u8) -> String {
    format!("+346000000{digits:02}")
}

pub fn payment_body(phone: &str, client_correlator: &str) -> Value {
    json!({
        "amountTransaction": {
            "phoneNumber": phone,
            "clientCorrelator": client_correlator,
            "paymentAmount": {
                "chargingInformation": {"amount": 19.99, "currency": "EUR", "description": "Game credits"},
                "chargingMetaData": {"merchantName": "Acme"}
            },
            "referenceCode": format!("ref-{client_correlator}")
        }
    })
}

pub struct Env {
    pub sandbox: SandboxHandle,
    pub http: reqwest::Client,
}

/// A response: status and JSON body (`Value::Null` when empty).
pub type Reply = (StatusCode, Value);

pub async fn setup() -> Env {
    setup_with(short_timings()).await
}

pub async fn setup_with(timings: Timings) -> Env {
    let config = SandboxConfig {
        timings,
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
    pub fn api(&self, op: &str, path: &str) -> String {
        format!("{}{CARRIER_BILLING_PATH}{path}", self.sandbox.base_url(op))
    }

    pub fn token_url(&self, op: &str) -> String {
        format!("{}/oauth2/token", self.sandbox.base_url(op))
    }

    pub async fn token(&self, op: &str) -> String {
        let response = self
            .http
            .post(self.token_url(op))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request");
        let (status, body) = reply(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn post(&self, op: &str, path: &str, token: &str, body: &Value) -> Reply {
        let response = self
            .http
            .post(self.api(op, path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST");
        reply(response).await
    }

    pub async fn get(&self, op: &str, path: &str, token: &str) -> Reply {
        let response = self
            .http
            .get(self.api(op, path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET");
        reply(response).await
    }

    pub async fn create(&self, op: &str, token: &str, digits: u8, cc: &str) -> Reply {
        self.post(op, "/payments", token, &payment_body(&phone(digits), cc))
            .await
    }

    pub async fn prepare(&self, op: &str, token: &str, digits: u8, cc: &str) -> Reply {
        self.post(
            op,
            "/payments/prepare",
            token,
            &payment_body(&phone(digits), cc),
        )
        .await
    }

    pub async fn action(
        &self,
        op: &str,
        token: &str,
        id: &str,
        action: &str,
        body: Value,
    ) -> Reply {
        self.post(op, &format!("/payments/{id}/{action}"), token, &body)
            .await
    }

    /// Polls `GET /payments/{id}` until it shows `status` (bounded: ~5 s).
    pub async fn wait_status(&self, op: &str, token: &str, id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..200 {
            let (code, body) = self.get(op, &format!("/payments/{id}"), token).await;
            assert_eq!(code, StatusCode::OK, "{body}");
            if body["paymentStatus"] == status {
                return body;
            }
            last = body;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("payment {id} never reached {status}; last: {last}");
    }

    /// Polls until `charges_for(cc)` equals `expected` (bounded: ~5 s).
    pub async fn wait_charges(&self, cc: &str, expected: u32) {
        for _ in 0..200 {
            if self.sandbox.charges_for(cc) == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "charges for {cc} stayed at {} instead of {expected}",
            self.sandbox.charges_for(cc)
        );
    }
}

pub fn id_of(body: &Value) -> String {
    body["paymentId"].as_str().expect("paymentId").to_owned()
}

/// Asserts a CAMARA error reply.
pub fn assert_error(reply: &Reply, status: u16, code: &str) {
    let (got, body) = reply;
    assert_eq!(got.as_u16(), status, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].is_string(), "{body}");
}
