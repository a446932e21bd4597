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
