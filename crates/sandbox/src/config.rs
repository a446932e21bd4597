//! Sandbox configuration: which operators to simulate and how slow they are.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

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
    /// The upstreams of `config/sandbox.toml` (see [`SandboxUpstreams::defaults`]) and default
    /// timings.
    pub fn with_default_operators(listen: SocketAddr) -> Self {
        Self::from_upstreams(listen, SandboxUpstreams::defaults())
    }

    /// The simulators `upstreams` lists (each table key is the upstream's id), and default timings.
    pub fn from_upstreams(listen: SocketAddr, upstreams: SandboxUpstreams) -> Self {
        fn listed<T>(map: BTreeMap<String, T>, set_id: fn(&mut T, String)) -> Vec<T> {
            map.into_iter()
                .map(|(id, mut entry)| {
                    set_id(&mut entry, id);
                    entry
                })
                .collect()
        }
        Self {
            listen,
            operators: listed(upstreams.camara, |o, id| o.id = id),
            ideabiz: listed(upstreams.ideabiz, |p, id| p.id = id),
            topup: listed(upstreams.topup, |p, id| p.id = id),
            dcb: listed(upstreams.dcb, |a, id| a.id = id),
            timings: Timings::default(),
        }
    }
}

/// The simulated upstreams, by style and id: the shape of `config/sandbox.toml`
/// (`[camara.movistar-es] mode = "sync"`, `[dcb.dcb-it]`, …). A simulated operator of an existing
/// style is an entry here, no code.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxUpstreams {
    /// CAMARA-native operators.
    #[serde(default)]
    pub camara: BTreeMap<String, SandboxOperator>,
    /// Ideabiz-style platforms.
    #[serde(default)]
    pub ideabiz: BTreeMap<String, IdeabizPlatform>,
    /// Top-up providers.
    #[serde(default)]
    pub topup: BTreeMap<String, crate::topup::TopUpProvider>,
    /// DCB aggregators.
    #[serde(default)]
    pub dcb: BTreeMap<String, crate::dcb::DcbAggregator>,
}

/// The text of `config/sandbox.toml`: the upstreams of the default configuration.
pub const DEFAULT_UPSTREAMS_TOML: &str = include_str!("../../../config/sandbox.toml");

impl SandboxUpstreams {
    /// Reads a `sandbox.toml`; the error names the key that is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The upstreams of `config/sandbox.toml`, embedded at build time (a test holds the file valid).
    pub fn defaults() -> Self {
        Self::parse(DEFAULT_UPSTREAMS_TOML).expect("config/sandbox.toml is valid")
    }

    /// Every id, by style then id: what a channel may name as `sandbox://<id>`.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.camara
            .keys()
            .chain(self.ideabiz.keys())
            .chain(self.topup.keys())
            .chain(self.dcb.keys())
            .map(String::as_str)
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
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxOperator {
    /// Path prefix, e.g. `movistar-es` (in `sandbox.toml`: the table key).
    #[serde(default, skip_serializing)]
    pub id: String,
    /// Whether successful charges complete in the 201 or later.
    pub mode: OperatorMode,
    /// OAuth client id accepted by this operator's token endpoint.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// OAuth client secret accepted by this operator's token endpoint.
    #[serde(default = "default_client_secret")]
    pub client_secret: String,
}

fn default_client_id() -> String {
    DEFAULT_CLIENT_ID.to_owned()
}

fn default_client_secret() -> String {
    DEFAULT_CLIENT_SECRET.to_owned()
}

/// One simulated Ideabiz-style carrier-billing platform (WSO2 API manager in
/// front: password-grant tokens with rotating refresh tokens).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdeabizPlatform {
    /// Path prefix, e.g. `dialog-lk` (in `sandbox.toml`: the table key).
    #[serde(default, skip_serializing)]
    pub id: String,
    /// The application's consumer key (HTTP Basic user at the token endpoint).
    #[serde(default = "default_consumer_key")]
    pub consumer_key: String,
    /// The application's consumer secret (HTTP Basic password).
    #[serde(default = "default_consumer_secret")]
    pub consumer_secret: String,
    /// The platform user of the password grant.
    #[serde(default = "default_username")]
    pub username: String,
    /// That user's password.
    #[serde(default = "default_password")]
    pub password: String,
    /// Lifetime of issued access tokens, in seconds (`expires_in`).
    #[serde(default = "default_token_ttl_secs")]
    pub token_ttl_secs: u64,
    /// Lifetime of issued refresh tokens, in seconds.
    #[serde(default = "default_refresh_token_ttl_secs")]
    pub refresh_token_ttl_secs: u64,
}

fn default_consumer_key() -> String {
    DEFAULT_CONSUMER_KEY.to_owned()
}

fn default_consumer_secret() -> String {
    DEFAULT_CONSUMER_SECRET.to_owned()
}

fn default_username() -> String {
    DEFAULT_USERNAME.to_owned()
}

fn default_password() -> String {
    DEFAULT_PASSWORD.to_owned()
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_sandbox_file_lists_every_default_upstream() {
        let config = SandboxConfig::with_default_operators(SocketAddr::from(([127, 0, 0, 1], 0)));
        let ids: Vec<&str> = config.ids().collect();
        assert_eq!(
            ids,
            [
                "movistar-es",
                "telekom-de",
                "dialog-lk",
                "globaltopup",
                "topup-primary",
                "topup-secondary",
                "dcb-it"
            ]
        );
        let telekom = &config.operators[1];
        assert_eq!(telekom.mode, OperatorMode::Async);
        assert_eq!(telekom.client_secret, DEFAULT_CLIENT_SECRET);
        assert_eq!(config.ideabiz[0].username, DEFAULT_USERNAME);
        assert_eq!(config.dcb[0].merchant, crate::dcb::DEFAULT_DCB_MERCHANT);
    }

    #[test]
    fn an_entry_is_all_a_new_simulated_operator_needs() {
        let upstreams = SandboxUpstreams::parse(
            "[camara.orange-es]\nmode = \"async\"\nclient_secret = \"s2\"\n[dcb.dcb-fr]\nmode = \"async\"\n",
        )
        .unwrap();
        let config =
            SandboxConfig::from_upstreams(SocketAddr::from(([127, 0, 0, 1], 0)), upstreams);
        assert_eq!(config.ids().collect::<Vec<_>>(), ["orange-es", "dcb-fr"]);
        assert_eq!(config.operators[0].client_secret, "s2");
        assert_eq!(config.operators[0].client_id, DEFAULT_CLIENT_ID);
    }

    #[test]
    fn a_misspelt_key_is_refused_by_name() {
        let err = SandboxUpstreams::parse("[camara.x]\nmode = \"sync\"\nclient_secrt = \"s\"\n")
            .unwrap_err();
        assert!(err.contains("client_secrt"), "{err}");
        let err = SandboxUpstreams::parse("[camara.x]\nmode = \"sometimes\"\n").unwrap_err();
        assert!(err.contains("sometimes"), "{err}");
    }
}
