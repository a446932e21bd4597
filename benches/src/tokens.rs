//! Bearer tokens for the load runs and the gateway's readiness, over HTTP.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{HarnessError, Result};

/// The default development merchant of `config/switchboard.toml`.
pub const MERCHANT: (&str, &str) = ("demo-merchant", "demo-secret");
/// The sandbox operators' client credentials (crates/sandbox/README.md).
pub const SANDBOX_CLIENT: (&str, &str) = ("sandbox-client", "sandbox-secret");

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

/// A small blocking HTTP client (a current-thread runtime under reqwest).
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    pub fn new() -> Result<Http> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(crate::error::io("start a tokio runtime"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| HarnessError::Run(format!("cannot build an HTTP client: {e}")))?;
        Ok(Http { runtime, client })
    }

    /// OAuth2 client credentials (HTTP Basic) at `url`.
    pub fn client_credentials(&self, url: &str, (id, secret): (&str, &str)) -> Result<String> {
        let fail = |why: String| HarnessError::Run(format!("no token from {url}: {why}"));
        self.runtime.block_on(async {
            let response = self
                .client
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            let status = response.status();
            if !status.is_success() {
                return Err(fail(format!("answered {status}")));
            }
            let answer: TokenAnswer = response.json().await.map_err(|e| fail(e.to_string()))?;
            Ok(answer.access_token)
        })
    }

    /// Whether `url` answers 200.
    pub fn is_ok(&self, url: &str) -> bool {
        self.runtime.block_on(async {
            matches!(self.client.get(url).send().await, Ok(r) if r.status().is_success())
        })
    }
}
