//! A gateway started for one test.

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{json, Value};
use switchboard_gateway::config::{self, Config, ConfigSource};
use switchboard_gateway::Running;
use switchboard_sandbox::SandboxHandle;

/// Sandbox and reconciliation timings for tests: short, so suites stay quick.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub async_delay_ms: u64,
    pub reservation_ttl_ms: u64,
    pub slow_ms: u64,
    pub request_ms: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            async_delay_ms: 300,
            reservation_ttl_ms: 800,
            slow_ms: 3000,
            // Generous for a loaded 2-core CI machine (a token fetch shares this deadline); the
            // "slower than the deadline" digit 85 answers after `slow_ms`, well past it.
            request_ms: 1500,
        }
    }
}

/// A fixed Ed25519 signing key for `auth.keys`: the same `(kid, seed)` gives the same key, so gateways
/// of one test can share (or not share) keys.
pub fn signing_key(kid: &str, seed: u8) -> switchboard_gateway::config::SigningKeyConfig {
    switchboard_gateway::config::SigningKeyConfig {
        kid: kid.to_string(),
        private_key_pem: switchboard_core::Secret::new(
            switchboard_gateway::auth::ed25519_pem_from_seed(&[seed; 32]),
        ),
    }
}

pub struct TestGateway {
    pub running: Running,
    pub base: String,
    pub http: Client,
}

impl TestGateway {
    /// Starts on the embedded defaults (but the memory store; sandbox operators) with test timings and a free
    /// port; `customize` may change anything else. Scenarios start gateways through [`crate::Env`].
    pub async fn start_with(timing: Timing, customize: impl FnOnce(&mut Config)) -> TestGateway {
        // TEST_LOG=warn (any EnvFilter) shows the gateways' logs while debugging a test.
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }

        let mut config = config::load(&ConfigSource::EmbeddedOnly).expect("embedded config");
        // Test gateways run side by side: the memory store unless a scenario chooses another.
        config.store.backend = config::StoreBackend::Memory;
        config.server.port = 0;
        config.server.workers = 2;
        config.auth.keys = vec![signing_key("test", 1)];
        config.sandbox.async_delay_ms = timing.async_delay_ms;
        config.sandbox.reservation_ttl_ms = timing.reservation_ttl_ms;
        config.sandbox.slow_ms = timing.slow_ms;
        config.reconcile.interval_ms = 50;
        config.reconcile.min_delay_ms = 100;
        config.reconcile.max_delay_ms = 400;
        for channel in config.channels.values_mut() {
            channel.timeouts.request_ms = timing.request_ms;
        }
        customize(&mut config);
        let running = switchboard_gateway::start(config)
            .await
            .expect("gateway starts");
        let base = running.base_url();
        TestGateway {
            running,
            base,
            http: Client::new(),
        }
    }

    pub fn sandbox(&self) -> &SandboxHandle {
        self.running.sandbox.as_ref().expect("sandbox running")
    }

    /// Upstream charges applied for one of our payments (its upstream clientCorrelator is `sb-<id>`).
    /// The closing barrier of a "nothing more happens" check: longer than two reconciliation
    /// backoffs (at most 400 ms here), so a late duplicate send lands before the final assertions.
    pub async fn closing_barrier(&self) {
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    }

    /// The channel a demo-merchant payment was sent through, as the store holds it (empty: none).
    pub async fn channel_of_payment(&self, payment_id: &str) -> String {
        let record = self
            .running
            .state
            .store
            .get_payment("demo-merchant", payment_id)
            .await
            .expect("store")
            .expect("stored");
        record.channel_id.unwrap_or_default()
    }

    pub fn charges_for_payment(&self, payment_id: &str) -> u32 {
        self.sandbox().charges_for(&format!("sb-{payment_id}"))
    }

    pub async fn token(&self, merchant: &str, secret: &str) -> String {
        let res = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .basic_auth(merchant, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request");
        assert_eq!(res.status(), 200, "token for {merchant}");
        body_of(res).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub async fn demo_token(&self) -> String {
        self.token("demo-merchant", "demo-secret").await
    }

    pub fn cb(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}/carrier-billing/v0.5{path}", self.base))
            .bearer_auth(token)
    }

    /// A request to a top-level path (`/telecom/...`, `/esim/...`, `/admin/...`).
    pub fn call(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    /// Waits (bounded) until the top-up catalogue has been loaded from the providers.
    pub async fn wait_for_catalogue(&self, token: &str) {
        let loaded = crate::eventually(std::time::Duration::from_secs(10), || async {
            let res = self
                .call(Method::GET, "/telecom/products", token)
                .send()
                .await
                .ok()?;
            let body = body_of(res).await;
            (!body["products"].as_array()?.is_empty()).then_some(())
        })
        .await;
        assert!(loaded.is_some(), "the catalogue was never loaded");
    }

    /// Credits the sandbox provider applied for one of our top-ups (upstream reference `sb-<tx_id>`).
    pub fn credits_for_topup(&self, tx_id: &str) -> u32 {
        self.sandbox().credits_for(&format!("sb-{tx_id}"))
    }

    pub async fn create(&self, token: &str, body: &Value) -> Response {
        self.cb(Method::POST, "/payments", token)
            .json(body)
            .send()
            .await
            .expect("create")
    }

    pub async fn prepare(&self, token: &str, body: &Value) -> Response {
        self.cb(Method::POST, "/payments/prepare", token)
            .json(body)
            .send()
            .await
            .expect("prepare")
    }

    pub async fn get(&self, token: &str, id: &str) -> Response {
        self.cb(Method::GET, &format!("/payments/{id}"), token)
            .send()
            .await
            .expect("get")
    }

    pub async fn status_of(&self, token: &str, id: &str) -> String {
        body_of(self.get(token, id).await).await["paymentStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits (bounded) until the payment shows `want`; false if it never does.
    pub async fn wait_for_status(&self, token: &str, id: &str, want: &str) -> bool {
        crate::eventually(std::time::Duration::from_secs(10), || async {
            (self.status_of(token, id).await == want).then_some(())
        })
        .await
        .is_some()
    }

    pub async fn action(&self, token: &str, id: &str, action: &str, body: &Value) -> Response {
        self.cb(Method::POST, &format!("/payments/{id}/{action}"), token)
            .json(body)
            .send()
            .await
            .expect("action")
    }

    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// A 1-step / prepare body for `phone` with a fresh referenceCode.
pub fn payment_body(phone: &str, amount: f64) -> Value {
    json!({
        "amountTransaction": {
            "phoneNumber": phone,
            "paymentAmount": {
                "chargingInformation": {"amount": amount, "currency": "EUR", "description": "Premium skin"},
                "chargingMetaData": {"merchantName": "Demo Games", "merchantIdentifier": "games-1"}
            },
            "referenceCode": format!("order-{}", uuid::Uuid::new_v4())
        }
    })
}

/// `body` with a CAMARA `sink` and a bearer `sinkCredential` valid for a day.
pub fn with_sink(mut body: Value, sink: &str, token: &str) -> Value {
    body["sink"] = json!(sink);
    body["sinkCredential"] = json!({
        "credentialType": "ACCESSTOKEN",
        "accessToken": token,
        "accessTokenExpiresUtc": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339(),
        "accessTokenType": "bearer"
    });
    body
}

impl TestGateway {
    pub fn body(phone: &str, amount: f64) -> Value {
        payment_body(phone, amount)
    }
}

pub async fn body_of(res: Response) -> Value {
    let bytes = res.bytes().await.expect("body");
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
}
