//! Switchboard sandbox: simulated CAMARA-native mobile operators.
//!
//! Each configured operator serves an OAuth2 client-credentials token
//! endpoint and the CAMARA Carrier Billing v0.5 API under `/{operator_id}`.
//! Outcomes are scripted by the last two digits of the phone number (see
//! the digit table in the crate README). [`start`] runs the server on the
//! current tokio runtime and returns a [`SandboxHandle`] for tests.

mod admin;
mod auth;
mod config;
mod error;
mod outcome;
mod payment;
mod phone;
mod request;
mod routes;
mod state;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::{ServerHandle, Service};
use actix_web::http::header::HeaderName;
use actix_web::{web, App, HttpServer};

pub use config::{OperatorMode, SandboxConfig, SandboxOperator, Timings};
pub use routes::CARRIER_BILLING_PATH;

use state::AppState;

const X_CORRELATOR: HeaderName = HeaderName::from_static("x-correlator");

/// Binds `config.listen` and spawns the sandbox server on the current tokio
/// runtime. Returns as soon as the socket is bound.
pub async fn start(config: SandboxConfig) -> std::io::Result<SandboxHandle> {
    let state = Arc::new(AppState::new(&config));
    let data = web::Data::from(Arc::clone(&state));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap_fn(|req, srv| {
                let correlator = req.headers().get(X_CORRELATOR).cloned();
                let response = srv.call(req);
                async move {
                    let mut response = response.await?;
                    if let Some(value) = correlator {
                        response.headers_mut().insert(X_CORRELATOR, value);
                    }
                    Ok(response)
                }
            })
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
    /// at `/oauth2/token`, Carrier Billing at [`CARRIER_BILLING_PATH`]).
    pub fn base_url(&self, operator_id: &str) -> String {
        format!("http://{}/{}", self.addr, operator_id)
    }

    /// Charges applied for payments created with this clientCorrelator.
    pub fn charges_for(&self, client_correlator: &str) -> u32 {
        self.state
            .store
            .charges(Instant::now())
            .by_client_correlator
            .get(client_correlator)
            .copied()
            .unwrap_or(0)
    }

    /// All charges applied.
    pub fn total_charges(&self) -> u32 {
        self.state.store.charges(Instant::now()).total
    }

    /// Access tokens issued by this operator.
    pub fn token_requests(&self, operator_id: &str) -> u32 {
        self.state.store.tokens_issued(operator_id)
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
