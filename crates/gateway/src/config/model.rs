//! The configuration tree. Every table is keyed by id so layers merge entry by entry.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use switchboard_adapter::ChannelSettings;
use switchboard_core::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub auth: AuthConfig,
    pub payments: PaymentsConfig,
    pub reconcile: ReconcileConfig,
    pub sandbox: SandboxSettings,
    pub routing: RoutingConfig,
    pub topup: TopUpConfig,
    pub admin: AdminConfig,
    /// `GET /metrics` (see `crate::observe`).
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub webhooks: WebhooksConfig,
    #[serde(default)]
    pub callbacks: CallbacksConfig,
    #[serde(default)]
    pub workers: WorkersConfig,
    /// Rate and spending limits (see `crate::limits`).
    #[serde(default)]
    pub limits: crate::limits::LimitsConfig,
    /// OpenTelemetry traces (see `crate::telemetry`).
    #[serde(default)]
    pub telemetry: crate::telemetry::TelemetryConfig,
    #[serde(default)]
    pub operators: BTreeMap<String, OperatorConfig>,
    #[serde(default)]
    pub merchants: BTreeMap<String, MerchantConfig>,
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelSettings>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    /// Base for `resourceURL`; empty means "from the request".
    #[serde(default)]
    pub public_url: String,
    /// HTTP worker threads; 0 means one per core.
    #[serde(default)]
    pub workers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreBackend {
    /// Durable on one node: a memory working copy and a redb file in `data_dir` (the default).
    Embedded,
    /// One process, nothing kept across a restart (tests and development).
    Memory,
    Redis,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    /// Embedded store: the directory of its data file (created if missing; relative paths from the
    /// working directory).
    #[serde(default = "default_data_dir")]
    pub data_dir: std::path::PathBuf,
    /// Redis URL (`redis://[:password@]host:port[/db]`); for a cluster, any one node.
    pub url: Secret,
    /// Redis Cluster: connect through `nodes` (or `url` when the list is empty).
    pub cluster: bool,
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Key namespace, so several deployments (or test runs) can share one Redis.
    pub prefix: String,
    /// Redis: keys the hash that stands for a phone number in key names. Empty: derived from
    /// `callbacks.secret` (set this one on its own before rotating that).
    #[serde(default)]
    pub subscriber_key_secret: Secret,
    /// How long a clientCorrelator / referenceCode claim is kept (memory store: also how long a
    /// finished record stays after it finished).
    pub idempotency_ttl_secs: u64,
    /// Memory and embedded stores: at most this many payment and top-up records (oldest finished
    /// go first).
    #[serde(default = "default_memory_max_records")]
    pub memory_max_records: usize,
    pub response_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Redis: replicas that must hold a new payment, refund or top-up claim before the operator is
    /// called (`WAIT`); 0 trusts the master alone. See README "Redis Cluster failover".
    #[serde(default)]
    pub claim_replicas: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Token signing keys (Ed25519). The first signs; the others only verify, so tokens signed by a
    /// retired key keep working until they expire. Empty: one key generated per start (warning).
    #[serde(default)]
    pub keys: Vec<SigningKeyConfig>,
    pub token_ttl_secs: u64,
    pub issuer: String,
    pub audience: String,
    /// Lifetime of a CIBA `auth_req_id` (how long the subscriber has to answer).
    #[serde(default = "default_ciba_expires_secs")]
    pub ciba_expires_secs: u64,
    /// The polling interval a CIBA client is told to keep.
    #[serde(default = "default_ciba_interval_secs")]
    pub ciba_interval_secs: u64,
    /// With a shared (Redis) store, `auth.keys` and `callbacks.secret` must be set so every replica
    /// accepts the others' tokens; `true` allows per-process generated ones on purpose (tests, demos).
    #[serde(default)]
    pub allow_ephemeral_keys: bool,
}

fn default_data_dir() -> std::path::PathBuf {
    "data".into()
}

fn default_memory_max_records() -> usize {
    switchboard_store::MemorySettings::default().max_records
}

fn default_ciba_expires_secs() -> u64 {
    300
}

fn default_ciba_interval_secs() -> u64 {
    2
}

/// One token signing key: its `kid` (published in the JWKS) and its PKCS#8 PEM private key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKeyConfig {
    pub kid: String,
    pub private_key_pem: Secret,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentsConfig {
    pub duplicate_wait_ms: u64,
    pub max_per_page: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileConfig {
    pub interval_ms: u64,
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
    pub max_age_secs: u64,
    pub batch: usize,
}

fn default_controls_refresh_ms() -> u64 {
    500
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// How often each replica syncs its copy of the MNP override table: it fetches the changes
    /// since its version (a full reload only if the store's change log no longer has them).
    pub overrides_refresh_ms: u64,
    /// How often each replica reads the version of ops' runtime routing controls (and the
    /// controls when it changed). Default 500 ms, so a change is effective everywhere within 1 s.
    #[serde(default = "default_controls_refresh_ms")]
    pub controls_refresh_ms: u64,
    /// `[routing.scoring]`: how equal-priority channels share traffic (crates/router/README.md).
    #[serde(default)]
    pub scoring: switchboard_router::RoutingPolicy,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopUpConfig {
    /// How often the product catalogue is fetched from the providers.
    pub catalogue_refresh_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Bearer token of the `/admin` API, an operator token named `admin`; empty: none.
    #[serde(default)]
    pub token: Secret,
    /// Named admin tokens with a role, their secrets as argon2id hashes.
    #[serde(default)]
    pub tokens: Vec<AdminTokenConfig>,
}

/// `[[admin.tokens]]`: one named admin token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminTokenConfig {
    /// Who it is, as the audit log names them.
    pub name: String,
    pub role: crate::auth::admin::AdminRole,
    /// argon2id PHC string of the token (`switchboard --hash-secret`).
    pub token_hash: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Bearer token `GET /metrics` asks for; empty (the default) leaves it open for Prometheus.
    #[serde(default)]
    pub token: Secret,
    /// How often the backlog gauges are read from the store, in milliseconds.
    #[serde(default = "default_backlog_refresh_ms")]
    pub backlog_refresh_ms: u64,
}

fn default_backlog_refresh_ms() -> u64 {
    5_000
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    pub listen: SocketAddr,
    pub async_delay_ms: u64,
    pub reservation_ttl_ms: u64,
    pub slow_ms: u64,
    /// The simulated upstreams (`config/sandbox.toml`, layered like every file): what a channel may
    /// name as `sandbox://<id>`.
    #[serde(default)]
    pub upstreams: switchboard_sandbox::SandboxUpstreams,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// How ops call it (`"Movistar ES"`), shown by `/admin/operators` and the dashboard; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub country: String,
    pub prefixes: Vec<String>,
    pub currencies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantConfig {
    #[serde(default)]
    pub name: String,
    /// OAuth2 client id; defaults to the merchant id.
    #[serde(default)]
    pub client_id: String,
    /// Argon2 PHC string of the client secret (`$argon2id$v=19$...`): what production configures.
    #[serde(default)]
    pub client_secret_hash: String,
    /// Plain client secret, for local development only: hashed at load, with a warning. Wins over
    /// `client_secret_hash` when both are set.
    #[serde(default)]
    pub client_secret: Secret,
    pub scopes: Vec<String>,
    /// Operators (ids from the number plan) this merchant may charge or top up; empty: all.
    #[serde(default)]
    pub allowed_operators: Vec<String>,
    /// Countries (ISO 3166 alpha-2) this merchant may charge or top up in; empty: all.
    #[serde(default)]
    pub allowed_countries: Vec<String>,
    /// Secret that signs this merchant's webhooks (`whsec_...`).
    #[serde(default)]
    pub webhook_secret: Secret,
    /// `{ requests = N, per_secs = S }`; absent: `[limits] rate_limit`.
    #[serde(default)]
    pub rate_limit: Option<crate::limits::RateLimit>,
    /// This merchant's own caps on a subscriber's spending (applied with the operator's, the lower
    /// one wins), e.g. `{ per_transaction = 20, per_month = 100, currency = "EUR" }`.
    #[serde(default)]
    pub spend_limits: Option<crate::limits::SpendLimits>,
}

/// `[webhooks]`: outbound notifications (CAMARA sinks and merchant webhook endpoints).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// CloudEvent `source` of Switchboard's notifications (a URI reference).
    pub source: String,
    /// Destinations exempt from the SSRF guard: CIDRs, single IPs or exact host names. Empty in
    /// production: only public https addresses are delivered to.
    pub allow: Vec<String>,
    /// Extra trusted CA certificate(s), PEM: lets https receivers with their own certificate work
    /// without turning certificate checks off. Empty: the built-in roots only.
    pub extra_ca_file: String,
    /// Static host entries for delivery (name → addresses), consulted before DNS. The SSRF guard
    /// checks these addresses like any resolved ones.
    pub hosts: BTreeMap<String, Vec<std::net::IpAddr>>,
    /// Per-attempt request timeout.
    pub timeout_ms: u64,
    /// Waits between attempts; empty: the built-in schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
    pub retry_schedule_ms: Vec<u64>,
    /// Shortest wait after a 429 or a timeout.
    pub throttle_floor_ms: u64,
    /// How often a worker claims due deliveries (also its lease heartbeat).
    pub poll_ms: u64,
    /// A worker that stops heartbeating loses its deliveries to another worker after this long.
    /// Must exceed `timeout_ms`.
    pub lease_ms: u64,
    /// Deliveries claimed per merchant per poll.
    pub batch: usize,
    /// Deliveries in flight at once per worker.
    pub concurrency: usize,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            source: "switchboard".into(),
            allow: Vec::new(),
            extra_ca_file: String::new(),
            hosts: BTreeMap::new(),
            timeout_ms: 15_000,
            retry_schedule_ms: Vec::new(),
            throttle_floor_ms: 60_000,
            poll_ms: 500,
            lease_ms: 60_000,
            batch: 50,
            concurrency: 16,
        }
    }
}

/// `[callbacks]`: operators' notifications to `/callbacks/{channel}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallbacksConfig {
    /// Key of the per-resource tokens handed to operators with Switchboard's callback address. Every
    /// replica must have the same. Empty: a key generated per start (a warning is logged).
    pub secret: Secret,
}

/// `[workers]`: background work (notification delivery and reconciliation).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkersConfig {
    /// Run the workers inside `switchboard` (serve). Set false when `switchboard worker` processes
    /// do the work.
    pub enabled: bool,
}

impl Default for WorkersConfig {
    fn default() -> Self {
        WorkersConfig { enabled: true }
    }
}

/// Marks channels served by the in-process sandbox: `base_url = "sandbox://<operator>"`.
pub const SANDBOX_SCHEME: &str = "sandbox://";

impl Config {
    /// Enabled channels served by the built-in sandbox, each with the simulated upstream it names
    /// (`base_url = "sandbox://<upstream>"`).
    pub fn sandbox_channels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.channels
            .iter()
            .filter(|(_, c)| c.enabled)
            .filter_map(|(id, c)| Some((id.as_str(), c.base_url.strip_prefix(SANDBOX_SCHEME)?)))
    }
}
