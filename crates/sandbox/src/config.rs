//! Sandbox configuration: which operators to simulate and how slow they are.

use std::net::SocketAddr;

use serde::Deserialize;

/// Default OAuth client id accepted by the default operators.
pub const DEFAULT_CLIENT_ID: &str = "sandbox-client";
/// Default OAuth client secret accepted by the default operators.
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";
/// Consumer key of the default Ideabiz platform.
pub const DEFAULT_CONSUMER_KEY: &str = "sandbox-key";
/// Consumer secret of the default Ideabiz platform.
pub const DEFAULT_CONSUMER_SECRET: &str = "sandbox-secret";
/// Platform user name of the default Ideabiz platform.
pub const DEFAULT_USERNAME: &str = "sandbox-user";
/// Platform user password of the default Ideabiz platform.
pub const DEFAULT_PASSWORD: &str = "sandbox-pass";

/// Everything [`crate::start`] needs.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Simulated CAMARA-native operators, each served under `/{id}`.
    pub operators: Vec<SandboxOperator>,
    /// Simulated Ideabiz-style platforms, each served under `/{id}`. Ids must
    /// differ from the operators' ids.
    pub ideabiz: Vec<IdeabizPlatform>,
    /// Simulated top-up providers, each served under `/{id}`. Ids must differ
    /// from the operators' and platforms' ids.
    pub topup: Vec<crate::topup::TopUpProvider>,
    /// Simulated DCB aggregators, each served under `/{id}` (ids distinct from all others).
    pub dcb: Vec<crate::dcb::DcbAggregator>,
    /// Delays used by the scripted outcomes.
    pub timings: Timings,
}

impl SandboxConfig {
    /// `movistar-es` (sync) and `telekom-de` (async), both with the default
    /// credentials, the Ideabiz platform `dialog-lk` (see
    /// [`IdeabizPlatform::with_defaults`]), the top-up providers `globaltopup`, `topup-primary` and
    /// `topup-secondary` (API key `sandbox-topup-key`), the DCB aggregator `dcb-it` (merchant
    /// `sandbox-merchant`, secret `sandbox-dcb-secret`, sync), and default timings.
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
            ideabiz: vec![IdeabizPlatform::with_defaults("dialog-lk")],
            // Three instances of the same provider: the default one, and a primary / secondary pair
            // that the gateway's default channels use to show failover.
            topup: [
                crate::topup::DEFAULT_TOPUP_PROVIDER,
                "topup-primary",
                "topup-secondary",
            ]
            .into_iter()
            .map(crate::topup::TopUpProvider::with_defaults)
            .collect(),
            dcb: vec![crate::dcb::DcbAggregator::with_defaults(
                crate::dcb::DEFAULT_DCB_AGGREGATOR,
            )],
            timings: Timings::default(),
        }
    }
}

impl SandboxConfig {
    /// Every simulated upstream's id (its `/{id}` path prefix), in configuration order: what a
    /// gateway channel may name as `sandbox://<id>`.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.operators
            .iter()
            .map(|o| o.id.as_str())
            .chain(self.ideabiz.iter().map(|p| p.id.as_str()))
            .chain(self.topup.iter().map(|p| p.id.as_str()))
            .chain(self.dcb.iter().map(|a| a.id.as_str()))
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

/// One simulated Ideabiz-style carrier-billing platform (WSO2 API manager in
/// front: password-grant tokens with rotating refresh tokens).
#[derive(Clone, Debug, Deserialize)]
pub struct IdeabizPlatform {
    /// Path prefix, e.g. `dialog-lk`.
    pub id: String,
    /// The application's consumer key (HTTP Basic user at the token endpoint).
    pub consumer_key: String,
    /// The application's consumer secret (HTTP Basic password).
    pub consumer_secret: String,
    /// The platform user of the password grant.
    pub username: String,
    /// That user's password.
    pub password: String,
    /// Lifetime of issued access tokens, in seconds (`expires_in`).
    #[serde(default = "default_token_ttl_secs")]
    pub token_ttl_secs: u64,
    /// Lifetime of issued refresh tokens, in seconds.
    #[serde(default = "default_refresh_token_ttl_secs")]
    pub refresh_token_ttl_secs: u64,
}

fn default_token_ttl_secs() -> u64 {
    3600
}

fn default_refresh_token_ttl_secs() -> u64 {
    86_400
}

impl IdeabizPlatform {
    /// A platform served under `/{id}` with the default credentials
    /// (`sandbox-key`/`sandbox-secret`, user `sandbox-user`/`sandbox-pass`),
    /// 1 h access tokens and 24 h refresh tokens.
    pub fn with_defaults(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            consumer_key: DEFAULT_CONSUMER_KEY.to_owned(),
            consumer_secret: DEFAULT_CONSUMER_SECRET.to_owned(),
            username: DEFAULT_USERNAME.to_owned(),
            password: DEFAULT_PASSWORD.to_owned(),
            token_ttl_secs: default_token_ttl_secs(),
            refresh_token_ttl_secs: default_refresh_token_ttl_secs(),
        }
    }
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
