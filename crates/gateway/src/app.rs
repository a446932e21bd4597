//! Wiring: configuration → sandbox (if used) → adapters → router → store → HTTP server and workers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{middleware, web, App, HttpServer};
use switchboard_adapter::{AdapterRegistry, UpstreamHttp};
use switchboard_adapter_camara as camara;
use switchboard_adapter_ideabiz as ideabiz;
use switchboard_adapter_topup as topup_provider;

use switchboard_router::{Channel, NumberPlan, NumberPlanError, OperatorInfo, Router};
use switchboard_sandbox::{SandboxConfig, SandboxHandle, Timings};
use switchboard_store::{MemoryStore, RedisSettings, RedisStore, Store};
use tokio::task::JoinHandle;

use crate::auth::{Merchants, TokenIssuer};
use crate::config::{Config, StoreBackend, SANDBOX_SCHEME};
use crate::state::AppState;
use crate::{api, auth, health, http, openapi, reconcile, routing, topup};

/// Operators the built-in sandbox simulates (`base_url = "sandbox://<operator>"`).
pub const SANDBOX_OPERATORS: &[&str] = &[
    "movistar-es",
    "telekom-de",
    "dialog-lk",
    "globaltopup",
    "topup-primary",
    "topup-secondary",
];

/// Every adapter kind Switchboard speaks. Adding an upstream style is one line here.
pub fn adapter_registry() -> AdapterRegistry {
    let mut registry = AdapterRegistry::new();
    registry.register(camara::KIND, camara::factory);
    registry.register(ideabiz::KIND, ideabiz::factory);
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

async fn start_sandbox(config: &mut Config) -> Result<Option<SandboxHandle>, StartError> {
    let uses_sandbox = config
        .channels
        .values()
        .any(|c| c.enabled && c.base_url.starts_with(SANDBOX_SCHEME));
    if !uses_sandbox {
        return Ok(None);
    }
    let s = &config.sandbox;
    let mut sandbox_config = SandboxConfig::with_default_operators(s.listen);
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

fn build_router(config: &Config) -> Result<Router, StartError> {
    let registry = adapter_registry();
    let http = UpstreamHttp::new();
    let mut channels = Vec::new();
    for (id, settings) in config.channels.iter().filter(|(_, c)| c.enabled) {
        let mut settings = settings.clone();
        settings.id = id.clone();
        let adapter = registry
            .build(&settings, &http)
            .map_err(|e| StartError::Config(e.to_string()))?;
        let supported = adapter.capabilities();
        let missing = settings.capabilities.missing_from(&supported);
        if !missing.is_empty() {
            return Err(StartError::Config(format!(
                "channel '{id}': adapter '{}' cannot do {missing:?}",
                settings.adapter
            )));
        }
        channels.push(Channel {
            id: id.clone(),
            adapter,
            capabilities: settings.capabilities.intersect(&supported),
            priority: settings.priority,
            weight: settings.weight,

            operators: settings.operators.clone(),
            health: Default::default(),
        });
    }
    let plan = number_plan(config).map_err(|e| StartError::Config(e.to_string()))?;
    Ok(Router::new(plan, channels))
}

fn build_store(config: &Config) -> Result<Arc<dyn Store>, StartError> {
    match config.store.backend {
        StoreBackend::Memory => Ok(Arc::new(MemoryStore::new())),
        StoreBackend::Redis => {
            let s = &config.store;
            let settings = RedisSettings {
                url: s.url.expose().to_string(),
                cluster: s.cluster,
                cluster_nodes: s.nodes.clone(),
                prefix: s.prefix.clone(),
                idempotency_ttl_secs: s.idempotency_ttl_secs,
                response_timeout_ms: s.response_timeout_ms,
                connect_timeout_ms: s.connect_timeout_ms,
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
    cfg.route("/oauth2/token", web::post().to(auth::token))
        .route("/bc-authorize", web::post().to(auth::bc_authorize))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(auth::openid_configuration),
        )
        .route("/.well-known/jwks.json", web::get().to(auth::jwks))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route(
            "/openapi/carrier-billing.yaml",
            web::get().to(openapi::carrier_billing),
        )
        .route("/openapi/topup.yaml", web::get().to(openapi::topup))
        .route(
            "/openapi/carrier-billing-refund.yaml",
            web::get().to(openapi::refund),
        )
        .configure(api::carrier_billing::routes)
        .configure(api::refund::routes)
        .configure(api::topup::routes)
        .configure(api::admin::routes);
}

/// Starts everything the configuration asks for and returns once the server listens.
pub async fn start(mut config: Config) -> Result<Running, StartError> {
    let sandbox = start_sandbox(&mut config).await?;
    let router = build_router(&config)?;
    let store = build_store(&config)?;
    // Open the store's connection before the first request, so a burst of first requests does not
    // race to set it up. Not fatal: a replica may start while Redis is down and recover later.
    if let Err(e) = store.ping().await {
        tracing::warn!(error = %e, "store not reachable at start; serving 503 until it is");
    }
    let state = web::Data::new(AppState {
        store,

        router: Arc::new(router),
        merchants: Merchants::from_config(&config),
        tokens: TokenIssuer::from_config(&config.auth).map_err(StartError::Config)?,
        overrides: Default::default(),
        catalogue: Default::default(),
        limits: crate::limits::RateLimits::from_config(&config),
        config: Arc::new(config),
    });
    let addr = format!("{}:{}", state.config.server.host, state.config.server.port);
    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .wrap(middleware::from_fn(crate::limits::rate_limit))
            .wrap(middleware::from_fn(http::x_correlator))
            .configure(configure)
            .default_service(web::to(http::not_found_route))
    })
    .disable_signals();
    if state.config.server.workers > 0 {
        server = server.workers(state.config.server.workers);
    }
    let server = server.bind(&addr).map_err(|e| StartError::Bind {
        addr: addr.clone(),
        reason: e.to_string(),
    })?;
    let bound = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| StartError::Bind {
            addr: addr.clone(),
            reason: "no address".into(),
        })?;
    let server = server.run();
    let handle = server.handle();
    let server_task = tokio::spawn(server);
    let routing_every = Duration::from_millis(state.config.routing.overrides_refresh_ms);
    let catalogue_every = Duration::from_secs(state.config.topup.catalogue_refresh_secs);
    let workers = vec![
        reconcile::spawn(state.clone()),
        routing::spawn_refresh(state.clone(), routing_every),
        topup::catalogue::spawn_refresh(state.clone(), catalogue_every),
    ];
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
