//! Wiring: configuration → sandbox (if used) → adapters → router → store → HTTP server and workers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{middleware, web, App, HttpServer};
use switchboard_adapter::{
    Adapter, AdapterRegistry, CallbackSettings, Capabilities, ChannelSettings, UpstreamHttp,
};
use switchboard_adapter_camara as camara;
use switchboard_adapter_declarative as declarative;
use switchboard_adapter_ideabiz as ideabiz;
use switchboard_adapter_topup as topup_provider;

use switchboard_router::{Channel, Health, NumberPlan, NumberPlanError, OperatorInfo, Router};
use switchboard_sandbox::{SandboxConfig, SandboxHandle, Timings};
use switchboard_store::{
    EmbeddedStore, MemorySettings, MemoryStore, RedisSettings, RedisStore, Store,
};
use tokio::task::JoinHandle;

use crate::auth::{Merchants, TokenIssuer};
use crate::config::{Config, StoreBackend, SANDBOX_SCHEME};
use crate::http::Endpoint;
use crate::state::AppState;
use crate::{api, auth, dashboard, health, http, openapi, routing, topup};

/// Every adapter kind Switchboard speaks. Adding an upstream style is one line here.
pub fn adapter_registry() -> AdapterRegistry {
    let mut registry = AdapterRegistry::new();
    registry.register(camara::KIND, camara::factory);
    registry.register(ideabiz::KIND, ideabiz::factory);
    registry.register(declarative::KIND, declarative::factory);
    registry.register(topup_provider::KIND, topup_provider::factory);
    registry
}

pub fn number_plan(config: &Config) -> Result<NumberPlan, NumberPlanError> {
    let operators = config
        .operators
        .iter()
        .map(|(id, op)| OperatorInfo {
            id: id.clone(),
            country: op.country.clone(),
            prefixes: op.prefixes.clone(),
            currencies: op
                .currencies
                .iter()
                .filter_map(|c| switchboard_core::Currency::parse(c))
                .collect(),
        })
        .collect();
    NumberPlan::new(operators)
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(String),
    #[error("cannot start the sandbox on {addr}: {reason}")]
    Sandbox { addr: SocketAddr, reason: String },
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
}

/// A running gateway (and its in-process sandbox, when the configuration uses it).
pub struct Running {
    pub addr: SocketAddr,
    pub sandbox: Option<SandboxHandle>,
    pub state: web::Data<AppState>,
    server: ServerHandle,
    server_task: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the server stops (signal or [`Running::stop`]).
    pub async fn wait(self) -> std::io::Result<()> {
        let result = self.server_task.await.unwrap_or(Ok(()));
        for w in &self.workers {
            w.abort();
        }
        result
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
        for w in self.workers {
            w.abort();
        }
        if let Some(sandbox) = self.sandbox {
            sandbox.stop().await;
        }
    }
}

/// A running `switchboard worker`: delivery and reconciliation without the HTTP API.
pub struct RunningWorker {
    pub state: web::Data<AppState>,
    pub sandbox: Option<SandboxHandle>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningWorker {
    pub async fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
        if let Some(sandbox) = self.sandbox {
            sandbox.stop().await;
        }
    }
}

/// Starts the background workers alone (scale-out: `switchboard worker`). Needs a shared store
/// (redis) to be useful; with `sandbox://` channels this process gets its own simulators.
pub async fn start_worker(mut config: Config) -> Result<RunningWorker, StartError> {
    if config.store.backend != StoreBackend::Redis {
        tracing::warn!("worker on a store of one process: it only sees its own state");
    }
    let sandbox = start_sandbox(&mut config).await?;
    let sandbox_addr = sandbox.as_ref().map(SandboxHandle::addr);
    let state = build_state(config, None, sandbox_addr, None).await?;
    let tasks = crate::workers::spawn(&state)?;
    Ok(RunningWorker {
        state,
        sandbox,
        tasks,
    })
}

pub(crate) async fn start_sandbox(
    config: &mut Config,
) -> Result<Option<SandboxHandle>, StartError> {
    if config.sandbox_channels().next().is_none() {
        return Ok(None);
    }
    let s = &config.sandbox;
    let mut sandbox_config = SandboxConfig::from_upstreams(s.listen, s.upstreams.clone());
    sandbox_config.timings = Timings {
        async_delay_ms: s.async_delay_ms,
        reservation_ttl_ms: s.reservation_ttl_ms,
        slow_ms: s.slow_ms,
        ..Timings::default()
    };
    let handle = switchboard_sandbox::start(sandbox_config)
        .await
        .map_err(|e| StartError::Sandbox {
            addr: s.listen,
            reason: e.to_string(),
        })?;
    for channel in config.channels.values_mut() {
        if let Some(op) = channel.base_url.strip_prefix(SANDBOX_SCHEME) {
            channel.base_url = handle.base_url(op);
        }
    }
    tracing::info!(addr = %handle.addr(), "built-in sandbox operators running");
    Ok(Some(handle))
}

/// Where operators notify this deployment: `server.public_url`, else (local runs) the address the
/// server listens on. `None`: no callbacks are requested (outcomes are learned by status queries).
fn callback_base(config: &Config, bound: Option<SocketAddr>) -> Option<String> {
    let public = config.server.public_url.trim_end_matches('/');
    if !public.is_empty() {
        return Some(public.to_string());
    }
    let mut addr = bound?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Some(format!("http://{addr}"))
}

/// The callback token key: `callbacks.secret`, or one generated for this process (local runs).
fn callback_key(config: &Config) -> Vec<u8> {
    let configured = config.callbacks.secret.expose();
    if !configured.is_empty() {
        return configured.as_bytes().to_vec();
    }
    tracing::warn!(
        "callbacks.secret is empty: a key was generated for this process, so operators' \
         notifications are only accepted by it; set one shared secret on every replica"
    );
    uuid::Uuid::new_v4().as_bytes().to_vec()
}

fn build_router(config: &Config, callback: Option<&str>) -> Result<Router, StartError> {
    Ok(build_router_keeping(config, callback, None)?.0)
}

/// The router of `config`, and the channels it built anew. `running`: the configuration and router
/// in service (a reload), whose channels are kept as they are — adapter, tokens, health, ops'
/// controls — when their settings did not change.
pub(crate) fn build_router_keeping(
    config: &Config,
    callback: Option<&str>,
    running: Option<(&Config, &Router)>,
) -> Result<(Router, Vec<Arc<Channel>>), StartError> {
    let registry = adapter_registry();
    let http = UpstreamHttp::new();
    let key = callback.map(|_| callback_key(config));
    let mut channels = Vec::new();
    let mut built = Vec::new();
    for (id, settings) in config.channels.iter().filter(|(_, c)| c.enabled) {
        let unchanged = running.and_then(|(old_config, old_router)| {
            let old = old_config.channels.get(id)?;
            crate::reload::same_json(old, settings)
                .then(|| old_router.channel(id))
                .flatten()
        });
        if let Some(channel) = unchanged {
            channels.push(channel);
            continue;
        }
        let callback = callback
            .zip(key.as_ref())
            .map(|(base, key)| callback_settings(base, id, key));
        let (adapter, capabilities) = channel_adapter(&registry, &http, id, settings, callback)?;
        let channel = Arc::new(Channel {
            id: id.clone(),
            adapter,
            capabilities,
            priority: settings.priority,
            weight: settings.weight,
            operators: settings.operators.clone(),
            health: Health::new(settings.circuit),
            control: Default::default(),
        });
        built.push(channel.clone());
        channels.push(channel);
    }
    let plan = number_plan(config).map_err(|e| StartError::Config(e.to_string()))?;
    let router = Router::with_shared_channels(plan, channels, config.routing.scoring);
    Ok((router, built))
}

/// Where operators notify this deployment about channel `id`.
fn callback_settings(base: &str, id: &str, key: &[u8]) -> CallbackSettings {
    CallbackSettings {
        url: format!("{base}/callbacks/{id}"),
        key: key.to_vec(),
    }
}

/// The adapter of channel `id` (its options checked by the adapter's factory), and the
/// capabilities it serves: the configured ones, each of which the style must be able to do.
pub(crate) fn channel_adapter(
    registry: &AdapterRegistry,
    http: &UpstreamHttp,
    id: &str,
    settings: &ChannelSettings,
    callback: Option<CallbackSettings>,
) -> Result<(Arc<dyn Adapter>, Capabilities), StartError> {
    let mut settings = settings.clone();
    settings.id = id.to_owned();
    settings.callback = callback;
    let adapter = registry
        .build(&settings, http)
        .map_err(|e| StartError::Config(e.to_string()))?;
    let supported = adapter.capabilities();
    let missing = settings.capabilities.missing_from(&supported);
    if !missing.is_empty() {
        return Err(StartError::Config(format!(
            "channel '{id}': adapter '{}' cannot do {missing:?}",
            settings.adapter
        )));
    }
    let capabilities = settings.capabilities.intersect(&supported);
    Ok((adapter, capabilities))
}

/// The callback address and token key of channel `id` for a one-off run (`channel check`):
/// `None` when the deployment has no public address.
pub(crate) fn one_off_callback(config: &Config, id: &str) -> Option<CallbackSettings> {
    let base = callback_base(config, None)?;
    Some(callback_settings(&base, id, &callback_key(config)))
}

/// `store.subscriber_key_secret`, or one derived from `callbacks.secret` (shared by every replica
/// already; the label keeps it a different key from the callback tokens'); with neither, the store
/// falls back to its prefix (local runs).
fn subscriber_key_secret(config: &Config) -> String {
    let own = config.store.subscriber_key_secret.expose();
    let callbacks = config.callbacks.secret.expose();
    match (own.is_empty(), callbacks.is_empty()) {
        (false, _) => own.to_string(),
        (true, false) => format!("subscriber key names:{callbacks}"),
        (true, true) => String::new(),
    }
}

/// The bounds of the memory store, and of the embedded store's working copy.
fn memory_settings(config: &Config) -> MemorySettings {
    MemorySettings {
        idempotency_ttl: std::time::Duration::from_secs(config.store.idempotency_ttl_secs),
        max_records: config.store.memory_max_records,
    }
}

fn build_store(config: &Config) -> Result<Arc<dyn Store>, StartError> {
    match config.store.backend {
        StoreBackend::Memory => Ok(Arc::new(MemoryStore::with_settings(memory_settings(
            config,
        )))),
        StoreBackend::Embedded => {
            let dir = &config.store.data_dir;
            let store = EmbeddedStore::open_with(dir, memory_settings(config)).map_err(|e| {
                StartError::Config(format!("store.data_dir {}: {e}", dir.display()))
            })?;
            Ok(Arc::new(store))
        }
        StoreBackend::Redis => {
            let s = &config.store;
            let settings = RedisSettings {
                url: s.url.expose().to_string(),
                cluster: s.cluster,
                cluster_nodes: s.nodes.clone(),
                prefix: s.prefix.clone(),
                subscriber_key_secret: subscriber_key_secret(config),
                idempotency_ttl_secs: s.idempotency_ttl_secs,
                response_timeout_ms: s.response_timeout_ms,
                connect_timeout_ms: s.connect_timeout_ms,
                claim_replicas: s.claim_replicas,
            };
            // Connects lazily: a replica started while Redis is down serves 503 and is not ready
            // until Redis answers, then recovers by itself.
            let store = RedisStore::connect(&settings)
                .map_err(|e| StartError::Config(format!("store: {e}")))?;
            Ok(Arc::new(store))
        }
    }
}

/// Registers every route of the application.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::at("/oauth2/token").post(auth::token))
        .service(Endpoint::at("/bc-authorize").post(auth::bc_authorize))
        .service(Endpoint::at("/.well-known/openid-configuration").get(auth::openid_configuration))
        .service(Endpoint::at("/.well-known/jwks.json").get(auth::jwks))
        .service(Endpoint::at("/healthz").get(health::healthz))
        .service(Endpoint::at("/readyz").get(health::readyz))
        .service(Endpoint::at("/metrics").get(api::metrics::metrics))
        .service(Endpoint::at("/openapi/carrier-billing.yaml").get(openapi::carrier_billing))
        .service(Endpoint::at("/openapi/topup.yaml").get(openapi::topup))
        .service(Endpoint::at("/openapi/carrier-billing-refund.yaml").get(openapi::refund))
        .service(Endpoint::at("/openapi/admin.yaml").get(openapi::admin))
        .configure(api::carrier_billing::routes)
        .configure(api::refund::routes)
        .configure(api::topup::routes)
        .configure(api::webhooks::routes)
        .configure(api::callbacks::routes)
        .configure(api::admin::routes)
        .configure(dashboard::routes);
}

/// Everything handlers and workers share, built from the configuration. `bound`: the address the
/// HTTP server listens on (callbacks are addressed there when `server.public_url` is empty).
pub async fn build_state(
    config: Config,
    bound: Option<SocketAddr>,
    sandbox: Option<SocketAddr>,
    loader: Option<crate::reload::Loader>,
) -> Result<web::Data<AppState>, StartError> {
    let callback = callback_base(&config, bound);
    let router = build_router(&config, callback.as_deref())?;
    let observe = Arc::new(crate::observe::Observer::new(&config));
    let store = crate::observe::Observed::wrap(build_store(&config)?, observe.clone());
    // Open the store's connection before the first request, so a burst of first requests does not
    // race to set it up. Not fatal: a replica may start while Redis is down and recover later.
    if let Err(e) = store.ping().await {
        tracing::warn!(error = %e, "store not reachable at start; serving 503 until it is");
    }
    let webhook_allow = switchboard_webhooks::AllowList::parse(&config.webhooks.allow)
        .map_err(|e| StartError::Config(format!("webhooks.allow: {e}")))?;
    let overrides = crate::routing::Overrides::new(router.plan());
    let fixed = crate::state::Fixed {
        store,
        tokens: TokenIssuer::from_config(&config.auth).map_err(StartError::Config)?,
        webhook_allow,
        observe,
        reload: crate::reload::Reloader::new(loader, sandbox, callback),
    };
    let live = crate::state::Live {
        router: Arc::new(router),
        merchants: Arc::new(Merchants::from_config(&config)),
        limits: Arc::new(crate::limits::RateLimits::from_config(&config)),
        overrides: Arc::new(overrides),
        admins: Arc::new(crate::auth::admin::AdminTokens::from_config(&config)),
        config: Arc::new(config),
    };
    Ok(web::Data::new(AppState::new(live, fixed)))
}

/// Registers Switchboard's callback address with every upstream that wants it once per account,
/// in the background (a provider that is down at start is tried again a few times).
fn register_callbacks(state: &web::Data<AppState>) -> JoinHandle<()> {
    let router = state.router().clone();
    tokio::spawn(async move {
        for channel in router.channels() {
            for attempt in 0..5u32 {
                match channel.adapter.register_callbacks().await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(channel = %channel.id, attempt, error = %e, "callback registration failed");
                        tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
                    }
                }
            }
        }
    })
}

/// Starts everything the configuration asks for and returns once the server listens.
pub async fn start(config: Config) -> Result<Running, StartError> {
    start_reloadable(config, None).await
}

/// [`start`], with where `POST /admin/reload` and SIGHUP read the configuration again.
pub async fn start_reloadable(
    mut config: Config,
    loader: Option<crate::reload::Loader>,
) -> Result<Running, StartError> {
    let sandbox = start_sandbox(&mut config).await?;
    let addr = format!("{}:{}", config.server.host, config.server.port);
    let listener = std::net::TcpListener::bind(&addr).map_err(|e| StartError::Bind {
        addr: addr.clone(),
        reason: e.to_string(),
    })?;
    let bound = listener.local_addr().map_err(|e| StartError::Bind {
        addr: addr.clone(),
        reason: e.to_string(),
    })?;
    let sandbox_addr = sandbox.as_ref().map(SandboxHandle::addr);
    let state = build_state(config, Some(bound), sandbox_addr, loader).await?;
    // Ops' routing controls before the first request (a store that is down: the refresh task
    // applies them once it answers).
    if let Err(e) = state
        .controls
        .refresh(state.store.as_ref(), &state.router())
        .await
    {
        tracing::warn!(error = %e.message, "routing controls not loaded at start");
    }
    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .wrap(http::camara_shaped())
            .wrap(middleware::from_fn(crate::limits::rate_limit))
            .wrap(middleware::from_fn(http::x_correlator))
            .wrap(middleware::from_fn(crate::observe::http::observe_http))
            .wrap(middleware::Condition::new(
                crate::telemetry::enabled(),
                middleware::from_fn(crate::telemetry::trace_request),
            ))
            .configure(configure)
            .default_service(web::to(http::not_found_route))
    })
    .disable_signals();
    if state.config().server.workers > 0 {
        server = server.workers(state.config().server.workers);
    }
    let server = server.listen(listener).map_err(|e| StartError::Bind {
        addr: addr.clone(),
        reason: e.to_string(),
    })?;
    let server = server.run();
    let handle = server.handle();
    let server_task = tokio::spawn(server);
    let routing_every = Duration::from_millis(state.config().routing.overrides_refresh_ms);
    let catalogue_every = Duration::from_secs(state.config().topup.catalogue_refresh_secs);
    let controls_every = Duration::from_millis(state.config().routing.controls_refresh_ms.max(50));
    let mut workers = vec![
        routing::spawn_refresh(state.clone(), routing_every),
        crate::routing_controls::spawn_refresh(state.clone(), controls_every),
        topup::catalogue::spawn_refresh(state.clone(), catalogue_every),
        register_callbacks(&state),
        crate::observe::spawn_refresh(
            state.clone(),
            Duration::from_millis(state.config().metrics.backlog_refresh_ms.max(100)),
        ),
    ];
    if state.config().store.backend == StoreBackend::Redis {
        workers.push(crate::observe::fleet::spawn_publisher(state.clone()));
        workers.push(crate::shared_health::spawn(state.clone()));
    }
    if state.config().workers.enabled {
        workers.extend(crate::workers::spawn(&state)?);
    }
    tracing::info!(addr = %bound, "switchboard listening");
    Ok(Running {
        addr: bound,
        sandbox,
        state,
        server: handle,
        server_task,
        workers,
    })
}
