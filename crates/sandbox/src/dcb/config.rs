//! One simulated aggregator account.

use serde::Deserialize;

use crate::config::OperatorMode;

/// A DCB aggregator served under `/{id}`, with one merchant account.
#[derive(Clone, Debug, Deserialize)]
pub struct DcbAggregator {
    /// Path prefix, e.g. `dcb-it`.
    pub id: String,
    /// The merchant id expected in `X-DCB-Merchant`.
    pub merchant: String,
    /// The merchant's HMAC-SHA256 signing secret.
    pub secret: String,
    /// `sync`: successes are `SUCCESS` in the answer; `async`: `PENDING`, settled after
    /// `async_delay_ms`.
    pub mode: OperatorMode,
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
