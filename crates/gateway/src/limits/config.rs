//! Limit settings: `[limits]` (defaults and per-operator spending limits), and the per-merchant
//! `rate_limit` / `spend_limits` fields of `[merchants.<id>]`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_core::Amount;

/// `[limits]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// The rate limit of a merchant that sets none; absent: unlimited.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Spending limits per operator id (`[limits.operators.<id>]`); an operator not listed has none.
    #[serde(default)]
    pub operators: BTreeMap<String, SpendLimits>,
}

/// `{ requests = N, per_secs = S }`: N requests per S seconds (a burst of N, then evenly spread).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub requests: u32,
    pub per_secs: u64,
}

impl RateLimit {
    pub fn quota(&self) -> switchboard_store::RateQuota {
        switchboard_store::RateQuota {
            requests: self.requests.max(1),
            per: Duration::from_secs(self.per_secs.max(1)),
        }
    }
}

/// Spending limits of one subscriber, in `currency`: per payment and per calendar month (UTC).
/// Payments in another currency are not counted against them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendLimits {
    #[serde(default)]
    pub per_transaction: Option<Amount>,
    #[serde(default)]
    pub per_month: Option<Amount>,
    pub currency: String,
}
