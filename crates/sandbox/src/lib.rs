//! Switchboard sandbox: simulated CAMARA-native mobile operators and
//! Ideabiz-style carrier-billing platforms.
//!
//! Each configured CAMARA operator serves an OAuth2 client-credentials token
//! endpoint and the CAMARA Carrier Billing v0.5 API under `/{operator_id}`.
//! Each Ideabiz platform serves a password/refresh-grant token endpoint and
//! the Ideabiz Carrier Billing v1 API under `/{platform_id}`. Outcomes are
//! scripted by the last two digits of the phone number (see the digit tables
//! in the crate README). [`start`] runs the server on the current tokio
//! runtime and returns a [`SandboxHandle`] for tests.
//!
//! The simulators also notify their callers on their own, in the background
//! (module `notify`): CAMARA CloudEvents to a payment's or refund's `sink`, the
//! Ideabiz platform's `webhook` calls, and the top-up providers' signed events
//! to the webhooks registered with `POST /{id}/webhooks`. [`Inbox`] is a tiny
//! recording HTTP listener to receive them in tests.

mod admin;
mod auth;
mod config;
mod consent;
mod dcb;
mod error;
pub mod faults;
mod ideabiz;
mod inbox;
mod notify;
mod outcome;
mod payment;
mod phone;
mod refund;
mod request;
mod routes;
mod state;
mod store;
#[cfg(feature = "test-support")]
pub mod testing;
mod topup;
mod traceparents;
mod watchers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::{ServerHandle, Service};
use actix_web::http::header::HeaderName;
use actix_web::{web, App, HttpServer};

pub use config::{
    IdeabizPlatform, OperatorMode, SandboxConfig, SandboxOperator, SandboxUpstreams, Timings,
    DEFAULT_UPSTREAMS_TOML,
};
pub use consent::CONSENT_PATH;
pub use dcb::{
    canonical_request as dcb_canonical_request, sign as dcb_sign, DcbAggregator, DCB_API_PATH,
    DEFAULT_DCB_AGGREGATOR, DEFAULT_DCB_MERCHANT, DEFAULT_DCB_SECRET,
};
pub use ideabiz::{IDEABIZ_CARRIER_BILLING_PATH, IDEABIZ_TOKEN_PATH};
pub use inbox::{Captured, Inbox};
pub use routes::CARRIER_BILLING_PATH;
pub use topup::{TopUpProvider, DEFAULT_TOPUP_API_KEY, DEFAULT_TOPUP_PROVIDER};

use state::AppState;

const X_CORRELATOR: HeaderName = HeaderName::from_static("x-correlator");

/// Binds `config.listen` and spawns the sandbox server on the current tokio
/// runtime. Returns as soon as the socket is bound.
///
/// Fails with [`std::io::ErrorKind::InvalidInput`] when two operators or
/// platforms share an id (they share the `/{id}` path space).
pub async fn start(config: SandboxConfig) -> std::io::Result<SandboxHandle> {
    check_ids(&config)?;
    let state = Arc::new(AppState::new(&config, notify::Notifier::new()?));
    let data = web::Data::from(Arc::clone(&state));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap_fn(|req, srv| {
                let correlator = req.headers().get(X_CORRELATOR).cloned();
                if let Some(tp) = req
                    .headers()
                    .get("traceparent")
                    .and_then(|v| v.to_str().ok())
                {
                    if let Some(state) = req.app_data::<web::Data<AppState>>() {
                        state.traceparents.record(tp);
                    }
                }
                let response = srv.call(req);
                async move {
                    let mut response = response.await?;
                    if let Some(value) = correlator {
                        response.headers_mut().insert(X_CORRELATOR, value);
                    }
                    Ok(response)
                }
            })
            .wrap(actix_web::middleware::from_fn(faults::inject))
            .configure(routes::configure)
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(config.listen)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("sandbox bound no address"))?;
    let server = server.run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    tracing::info!(%addr, "sandbox listening");
    Ok(SandboxHandle {
        addr,
        state,
        server: handle,
        task,
    })
}

fn check_ids(config: &SandboxConfig) -> std::io::Result<()> {
    let mut seen = std::collections::HashSet::new();
    for id in config.ids() {
        if !seen.insert(id) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("sandbox id '{id}' is configured twice"),
            ));
        }
    }
    Ok(())
}

/// A running sandbox.
pub struct SandboxHandle {
    addr: SocketAddr,
    state: Arc<AppState>,
    server: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SandboxHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}/{operator_id}`: the operator's API root (token endpoint
    /// at `/oauth2/token`, Carrier Billing at [`CARRIER_BILLING_PATH`]). For an
    /// Ideabiz platform: token endpoint at [`IDEABIZ_TOKEN_PATH`], Carrier
    /// Billing at [`IDEABIZ_CARRIER_BILLING_PATH`].
    pub fn base_url(&self, operator_id: &str) -> String {
        format!("http://{}/{}", self.addr, operator_id)
    }

    /// Charges applied for payments created with this clientCorrelator (at
    /// any operator or platform).
    pub fn charges_for(&self, client_correlator: &str) -> u32 {
        self.state
            .charges(Instant::now())
            .by_client_correlator
            .get(client_correlator)
            .copied()
            .unwrap_or(0)
    }

    /// Every clientCorrelator charged, with its number of charges (operators and platforms).
    pub fn charged_correlators(&self) -> std::collections::BTreeMap<String, u32> {
        self.state.charges(Instant::now()).by_client_correlator
    }

    /// Requests to `upstream` refused by a fault set through `PUT /_admin/faults/{id}`.
    pub fn refused_by_fault(&self, upstream: &str) -> u32 {
        self.state.faults.refused(upstream)
    }

    /// All charges applied (operators and platforms).
    pub fn total_charges(&self) -> u32 {
        self.state.charges(Instant::now()).total
    }

    /// Payment create/prepare requests this CAMARA operator received (replays and refused ones
    /// included): how often it was reached, where [`Self::charges_for`] says what it charged.
    pub fn create_requests(&self, operator_id: &str) -> u32 {
        self.state.store.create_requests(operator_id)
    }

    /// Access tokens issued by this operator, or token pairs issued by this
    /// Ideabiz platform (password and refresh grants alike).
    pub fn token_requests(&self, operator_id: &str) -> u32 {
        self.state.store.tokens_issued(operator_id) + self.state.ideabiz.tokens_issued(operator_id)
    }

    /// Successful refresh grants at this Ideabiz platform (included in
    /// [`Self::token_requests`]).
    pub fn refresh_grants(&self, platform_id: &str) -> u32 {
        self.state.ideabiz.refresh_grants(platform_id)
    }

    /// Revokes every access token issued so far by this operator or platform,
    /// as an operator-side restart or a revocation would: the next API call
    /// with one gets 401. An Ideabiz platform's refresh tokens keep working.
    pub fn revoke_access_tokens(&self, operator_id: &str) {
        self.state.store.revoke_tokens(operator_id);
        self.state.ideabiz.revoke_access_tokens(operator_id);
    }

    /// Revokes every refresh token of this Ideabiz platform: the next refresh
    /// grant fails and the client must log in again (password grant).
    pub fn revoke_refresh_tokens(&self, platform_id: &str) {
        self.state.ideabiz.revoke_refresh_tokens(platform_id);
    }

    /// Credits applied by the top-up providers for transactions with this
    /// `external_tx_id` (at any provider).
    pub fn credits_for(&self, external_tx_id: &str) -> u32 {
        self.state
            .topup
            .credits(Instant::now())
            .by_external_tx_id
            .get(external_tx_id)
            .copied()
            .unwrap_or(0)
    }

    /// eSIM profiles the top-up providers made (a replayed order is not another).
    pub fn esim_orders_made(&self) -> usize {
        self.state.topup.store.esim_orders_made()
    }

    /// The URLs registered with `POST /{provider}/webhooks` at this top-up provider.
    pub fn topup_webhooks(&self, provider_id: &str) -> Vec<String> {
        self.state.topup.webhook_urls(provider_id)
    }

    /// All credits applied by the top-up providers.
    pub fn total_credits(&self) -> u32 {
        self.state.topup.credits(Instant::now()).total
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(self) {
        self.server.stop(false).await;
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "sandbox server ended with an error"),
            Err(error) => tracing::warn!(%error, "sandbox server task failed"),
        }
    }
}
