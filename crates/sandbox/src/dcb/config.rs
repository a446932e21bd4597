//! One simulated aggregator account.

use serde::{Deserialize, Serialize};

use crate::config::OperatorMode;

/// A DCB aggregator served under `/{id}`, with one merchant account.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DcbAggregator {
    /// Path prefix, e.g. `dcb-it` (in `sandbox.toml`: the table key).
    #[serde(default, skip_serializing)]
    pub id: String,
    /// The merchant id expected in `X-DCB-Merchant`.
    #[serde(default = "default_merchant")]
    pub merchant: String,
    /// The merchant's HMAC-SHA256 signing secret.
    #[serde(default = "default_secret")]
    pub secret: String,
    /// `sync`: successes are `SUCCESS` in the answer; `async`: `PENDING`, settled after
    /// `async_delay_ms`.
    pub mode: OperatorMode,
}

fn default_merchant() -> String {
    super::DEFAULT_DCB_MERCHANT.to_owned()
}

fn default_secret() -> String {
    super::DEFAULT_DCB_SECRET.to_owned()
}

impl DcbAggregator {
    /// An aggregator with the default merchant (`sandbox-merchant` / `sandbox-dcb-secret`), sync.
    pub fn with_defaults(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            merchant: super::DEFAULT_DCB_MERCHANT.to_owned(),
            secret: super::DEFAULT_DCB_SECRET.to_owned(),
            mode: OperatorMode::Sync,
        }
    }
}
