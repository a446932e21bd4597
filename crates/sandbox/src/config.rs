//! Sandbox configuration: which operators to simulate and how slow they are.

use std::net::SocketAddr;

use serde::Deserialize;

/// Default OAuth client id accepted by the default operators.
pub const DEFAULT_CLIENT_ID: &str = "sandbox-client";
/// Default OAuth client secret accepted by the default operators.
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";

/// Everything [`crate::start`] needs.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Simulated operators, each served under `/{id}`.
    pub operators: Vec<SandboxOperator>,
    /// Delays used by the scripted outcomes.
    pub timings: Timings,
}

impl SandboxConfig {
    /// `movistar-es` (sync) and `telekom-de` (async), both with the default
    /// credentials, and default timings.
    pub fn with_default_operators(listen: SocketAddr) -> Self {
        let operator = |id: &str, mode| SandboxOperator {
            id: id.to_owned(),
            mode,
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
        };
        Self {
            listen,
            operators: vec![
                operator("movistar-es", OperatorMode::Sync),
                operator("telekom-de", OperatorMode::Async),
            ],
            timings: Timings::default(),
        }
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self::with_default_operators(SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

/// One simulated CAMARA-native operator.
#[derive(Clone, Debug, Deserialize)]
pub struct SandboxOperator {
    /// Path prefix, e.g. `movistar-es`.
    pub id: String,
    /// Whether successful charges complete in the 201 or later.
    pub mode: OperatorMode,
    /// OAuth client id accepted by this operator's token endpoint.
    pub client_id: String,
    /// OAuth client secret accepted by this operator's token endpoint.
    pub client_secret: String,
}

/// How an operator completes a successful request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorMode {
    /// 201 `succeeded` / `reserved` at once.
    Sync,
    /// 201 `processing`, final state after `async_delay_ms`.
    Async,
}

/// Delays of the simulated behaviours.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(default)]
pub struct Timings {
    /// Time from `processing` to the final state.
    pub async_delay_ms: u64,
    /// Lifetime of an expiring reservation (phone ending in 89).
    pub reservation_ttl_ms: u64,
    /// Delay of the first answer for phones ending in 85.
    pub slow_ms: u64,
    /// Lifetime of issued access tokens.
    pub token_ttl_secs: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            async_delay_ms: 2000,
            reservation_ttl_ms: 3000,
            slow_ms: 6000,
            token_ttl_secs: 3600,
        }
    }
}
