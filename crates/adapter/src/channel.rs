//! A channel's configuration, as written in `config/channels/*.toml`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchboard_core::Secret;

use crate::capability::Capabilities;

/// One configured way to reach one or more operators.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    /// Filled from the table key when the channel comes from configuration.
    #[serde(default)]
    pub id: String,
    /// The adapter kind (`"camara"`).
    pub adapter: String,
    /// The upstream API root, e.g. `https://api.operator.example/carrier-billing/v0.5`'s origin.
    pub base_url: String,
    /// OAuth2 token endpoint; adapters default it from `base_url` when absent.
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub credentials: Credentials,
    /// Operator ids (from the number plan) this channel serves.
    pub operators: Vec<String>,
    pub capabilities: Capabilities,
    /// Lower goes first when several channels serve an operator.
    #[serde(default = "default_priority")]
    pub priority: u32,
    /// Among healthy channels of the same priority, traffic is shared in proportion to weight.
    #[serde(default = "default_weight")]
    pub weight: u32,
    #[serde(default)]
    pub timeouts: Timeouts,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Protects the operator's quota: at most `requests` new payments per `per_secs` through this
    /// channel (per gateway replica). Over it the gateway answers 503 with `Retry-After` and sends
    /// nothing upstream. Absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<ChannelRateLimit>,
    /// The circuit breaker of each of this channel's operations (`[circuit]`; defaults documented on
    /// [`CircuitSettings`]).
    #[serde(default)]
    pub circuit: CircuitSettings,
    /// Settings only one adapter style understands (e.g. a platform user name). Each adapter documents
    /// its keys and refuses to build when a required one is missing. Secrets here may come from the
    /// environment like any other key.
    #[serde(default)]
    pub options: BTreeMap<String, serde_json::Value>,
    /// Where operators notify Switchboard about this channel's resources. Set by the gateway from
    /// `server.public_url` (never read from the channel's configuration); `None`: no callbacks are
    /// requested and outcomes are learned by status queries.
    #[serde(skip)]
    pub callback: Option<crate::CallbackSettings>,
}

/// `rate_limit = { requests = N, per_secs = S }` of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRateLimit {
    pub requests: u32,
    pub per_secs: u64,
}

/// `[circuit]` of a channel: when an operation's breaker opens, how long it stays open, how it
/// closes again. Only technical failures count (not reached, timeout, 5xx, "not processed"); a
/// business refusal is an answer. The same settings apply to each operation (payment, refund, …)
/// separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitSettings {
    /// Opens after this many technical failures in a row.
    pub consecutive_failures: u32,
    /// Opens when at least this share (percent) of the calls in the window failed...
    pub failure_rate_percent: u32,
    /// ...and the window holds at least this many calls.
    pub min_calls: u32,
    /// Length of the rolling window (10 buckets of a tenth each).
    pub window_secs: u64,
    /// How long an open circuit lets nothing through before it half-opens.
    pub cool_down_ms: u64,
    /// Requests allowed through at once while half-open (probes).
    pub half_open_probes: u32,
    /// Probe successes in a row that close it again (one probe failure opens it).
    pub close_after: u32,
}

impl CircuitSettings {
    pub const CONSECUTIVE_FAILURES: u32 = 3;
    pub const FAILURE_RATE_PERCENT: u32 = 50;
    pub const MIN_CALLS: u32 = 20;
    pub const WINDOW_SECS: u64 = 30;
    pub const COOL_DOWN_MS: u64 = 10_000;
    pub const HALF_OPEN_PROBES: u32 = 2;
    pub const CLOSE_AFTER: u32 = 3;

    /// What is wrong with these settings, each as `key: reason`.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut at_least_one = |name: &str, v: u64| {
            if v == 0 {
                problems.push(format!("{name} must be above 0"));
            }
        };
        at_least_one("consecutive_failures", self.consecutive_failures.into());
        at_least_one("min_calls", self.min_calls.into());
        at_least_one("cool_down_ms", self.cool_down_ms);
        at_least_one("half_open_probes", self.half_open_probes.into());
        at_least_one("close_after", self.close_after.into());
        if !(1..=100).contains(&self.failure_rate_percent) {
            problems.push("failure_rate_percent must be 1 to 100".into());
        }
        if !(1..=3600).contains(&self.window_secs) {
            problems.push("window_secs must be 1 to 3600".into());
        }
        problems
    }
}

impl Default for CircuitSettings {
    fn default() -> Self {
        CircuitSettings {
            consecutive_failures: Self::CONSECUTIVE_FAILURES,
            failure_rate_percent: Self::FAILURE_RATE_PERCENT,
            min_calls: Self::MIN_CALLS,
            window_secs: Self::WINDOW_SECS,
            cool_down_ms: Self::COOL_DOWN_MS,
            half_open_probes: Self::HALF_OPEN_PROBES,
            close_after: Self::CLOSE_AFTER,
        }
    }
}

fn default_priority() -> u32 {
    100
}

fn default_weight() -> u32 {
    1
}

fn enabled() -> bool {
    true
}

/// Upstream credentials. Secrets may come from the environment
/// (`SWITCHBOARD_CHANNELS__<ID>__CREDENTIALS__CLIENT_SECRET`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Secret,
}

/// Every upstream call has a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Time to open the TCP (and TLS) connection.
    pub connect_ms: u64,
    /// Whole-request deadline; past it the outcome of a charge is unknown.
    pub request_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect_ms: 1_000,
            request_ms: 5_000,
        }
    }
}
