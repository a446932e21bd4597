//! The simulated Ideabiz platform (`dialog-lk`): tokens, charges, status queries.

mod auth;
mod payments;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use switchboard_sandbox::{
    IdeabizPlatform, SandboxConfig, SandboxHandle, IDEABIZ_CARRIER_BILLING_PATH, IDEABIZ_TOKEN_PATH,
};

use crate::helpers::{short_timings, Reply};

pub const PLATFORM: &str = "dialog-lk";
pub const KEY: &str = "sandbox-key";
pub const SECRET: &str = "sandbox-secret";
pub const USER: &str = "sandbox-user";
pub const PASS: &str = "sandbox-pass";

/// `tel:` form of a Sri Lankan number ending in `digits`.
pub fn tel(digits: u8) -> String {
    format!("tel:947771234{digits:02}")
}

/// The seed's charge body, for a number ending in `digits`.
pub fn charge_body(phone: &str, client_correlator: &str) -> Value {
    json!({
        "amountTransaction": {
            "phoneNumber": phone,
            "clientCorrelator": client_correlator,
            "paymentAmount": {
                "chargingInformation": {"amount": 100, "currency": "LKR", "description": "FIFA EA Sports 24",
                    "isTaxIncluded": false, "taxAmount": 0},
                "chargingMetaData": {"merchantName": "EA Sports", "serviceId": "games-online", "channel": "web"},
                "paymentDetails": [{"amount": 100, "currency": "LKR", "description": "FIFA EA Sports 24"}]
            },
            "referenceCode": format!("ref-{client_correlator}")
        },
        "webhook": {"notificationUrl": "https://merchant.example/events", "notificationAuthToken": "c8974e592c"}
    })
}

/// A token pair as answered.
pub struct Pair {
    pub access: String,
    pub refresh: String,
}

pub struct Env {
    pub sandbox: SandboxHandle,
    pub http: reqwest::Client,
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

pub async fn setup() -> Env {
    setup_with(IdeabizPlatform::with_defaults(PLATFORM)).await
}

pub async fn setup_with(platform: IdeabizPlatform) -> Env {
    let config = SandboxConfig {
        timings: short_timings(),
        ideabiz: vec![platform],
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

impl Env {
    pub fn token_url(&self) -> String {
        format!("{}{IDEABIZ_TOKEN_PATH}", self.sandbox.base_url(PLATFORM))
    }

    pub fn api(&self, path: &str) -> String {
        format!(
            "{}{IDEABIZ_CARRIER_BILLING_PATH}{path}",
            self.sandbox.base_url(PLATFORM)
        )
    }

    /// A token request with the given Basic secret and form.
    pub async fn grant(&self, secret: &str, form: &[(&str, &str)]) -> Reply {
        let response = self
            .http
            .post(self.token_url())
            .basic_auth(KEY, Some(secret))
            .form(form)
            .send()
            .await
            .expect("token request");
        reply(response).await
    }

    pub async fn login(&self) -> Pair {
        let (status, body) = self
            .grant(
                SECRET,
                &[
                    ("grant_type", "password"),
                    ("username", USER),
                    ("password", PASS),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pair(&body)
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.grant(
            SECRET,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    pub async fn charge(&self, token: &str, body: &Value) -> Reply {
        let response = self
            .http
            .post(self.api("/payments"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST");
        reply(response).await
    }

    pub async fn charge_digits(&self, token: &str, digits: u8, cc: &str) -> Reply {
        self.charge(token, &charge_body(&tel(digits), cc)).await
    }

    pub async fn get(&self, token: &str, path_and_query: &str) -> Reply {
        let response = self
            .http
            .get(self.api(path_and_query))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET");
        reply(response).await
    }

    /// Polls `GET /payments/{id}` until its transactionOperationStatus is `status` (bounded).
    pub async fn wait_status(&self, token: &str, id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..200 {
            let (code, body) = self.get(token, &format!("/payments/{id}")).await;
            assert_eq!(code, StatusCode::OK, "{body}");
            if body["amountTransaction"]["transactionOperationStatus"] == status {
                return body;
            }
            last = body;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("payment {id} never reached {status}; last: {last}");
    }
}

pub fn pair(body: &Value) -> Pair {
    Pair {
        access: body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        refresh: body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    }
}

pub fn status_of(body: &Value) -> &str {
    body["amountTransaction"]["transactionOperationStatus"]
        .as_str()
        .unwrap_or_default()
}

/// Asserts a platform error `{code, status, message}`.
pub fn assert_platform_error(reply: &Reply, status: u16, code: &str, message: &str) {
    let (got, body) = reply;
    assert_eq!(got.as_u16(), status, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["message"], message, "{body}");
}

/// Asserts a WSO2 401 fault.
pub fn assert_fault(reply: &Reply, code: u32, description: &str) {
    let (got, body) = reply;
    assert_eq!(*got, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["fault"]["code"], code, "{body}");
    assert_eq!(body["fault"]["description"], description, "{body}");
    assert!(body["fault"]["message"].is_string(), "{body}");
}
