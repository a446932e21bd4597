//! Logs and OpenTelemetry traces for the process.
//!
//! [`init`] installs the process's `tracing` subscriber: logs always, plus (with
//! `telemetry.otlp_endpoint`) an OpenTelemetry layer exporting spans over OTLP/HTTP, the W3C
//! trace-context propagator, and the injector upstream calls and webhook deliveries use
//! (`switchboard_core::trace_context`). Spans: one per request ([`request`]), per store step and per
//! upstream call (the operation engine), per webhook attempt (`switchboard_webhooks`). Their
//! attributes are route patterns, configuration ids, statuses and outcomes: never a phone number, a
//! secret or a merchant-supplied string.

mod config;
mod export;
mod propagate;
mod request;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter;
use tracing_subscriber::layer::{Layer as _, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

pub use config::TelemetryConfig;
pub use request::trace_request;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether spans leave the process (the request middleware is only mounted then).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// `make()` when traces are on, else a disabled span: the engine's spans cost nothing on the hot path
/// of a gateway that exports no traces.
pub fn span(make: impl FnOnce() -> tracing::Span) -> tracing::Span {
    if enabled() {
        make()
    } else {
        tracing::Span::none()
    }
}

/// The process's trace pipeline; [`Telemetry::shutdown`] sends what is still buffered.
#[must_use = "dropping it without shutdown loses the last spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports every finished span now (tests; before a planned stop).
    pub async fn flush(&self) {
        if let Some(provider) = self.provider.clone() {
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = provider.force_flush() {
                    tracing::warn!(error = %e, "cannot flush traces");
                }
            })
            .await;
        }
    }

    /// Flushes and stops the exporter (on shutdown).
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = provider.shutdown() {
                    eprintln!("switchboard: cannot flush traces on shutdown: {e}");
                }
            })
            .await;
        }
    }
}

/// Installs logs (filtered by `log_filter`) and, when configured, the trace exporter. Call once per
/// process, inside the Tokio runtime; a second call (or another subscriber already set) is refused.
pub fn init(config: &TelemetryConfig, log_filter: EnvFilter) -> Result<Telemetry, String> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let provider = if config.enabled() {
        Some(provider(config)?)
    } else {
        None
    };
    // Logs follow `SWITCHBOARD_LOG`; spans are exported at INFO and above from Switchboard's own
    // crates whatever the log level.
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("switchboard"))
            .with_tracked_inactivity(false)
            .with_location(false)
            .with_threads(false)
            .with_filter(filter::filter_fn(|meta| {
                meta.target().starts_with("switchboard") && *meta.level() <= tracing::Level::INFO
            }))
    });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                // Colour codes only for a person at a terminal: a log file or collector gets plain
                // text (and the escape sequences cost formatting on every line).
                .with_ansi(std::io::stdout().is_terminal())
                .with_filter(log_filter),
        )
        .with(otel)
        .try_init()
        .map_err(|e| format!("cannot install the tracing subscriber: {e}"))?;
    if provider.is_some() {
        propagate::install();
        ENABLED.store(true, Ordering::Relaxed);
        tracing::info!(endpoint = %config.traces_url(), "exporting traces over OTLP/HTTP");
    }
    Ok(Telemetry { provider })
}

fn provider(config: &TelemetryConfig) -> Result<SdkTracerProvider, String> {
    let timeout = Duration::from_millis(config.export_timeout_ms);
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(export::ExportClient::new(timeout)?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(config.traces_url())
        .with_timeout(timeout)
        .build()
        .map_err(|e| format!("telemetry.otlp_endpoint: cannot build the exporter: {e}"))?;
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sample_ratio)));
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(sampler)
        .with_resource(
            Resource::builder()
                .with_service_name(config.service_name.clone())
                .build(),
        )
        .build())
}
