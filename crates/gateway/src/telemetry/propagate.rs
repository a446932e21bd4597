//! W3C trace context in and out: `traceparent` / `tracestate` headers.

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub(super) fn install() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    switchboard_core::trace_context::set_injector(inject_current);
}

/// The current span's context as headers (for upstream calls and webhook deliveries).
fn inject_current(out: &mut Vec<(String, String)>) {
    let context = tracing::Span::current().context();
    struct Pairs<'a>(&'a mut Vec<(String, String)>);
    impl opentelemetry::propagation::Injector for Pairs<'_> {
        fn set(&mut self, key: &str, value: String) {
            self.0.push((key.to_string(), value));
        }
    }
    TraceContextPropagator::new().inject_context(&context, &mut Pairs(out));
}

/// The caller's trace context (a merchant's `traceparent`), or an empty one.
pub(super) fn extract(headers: &actix_web::http::header::HeaderMap) -> opentelemetry::Context {
    struct Headers<'a>(&'a actix_web::http::header::HeaderMap);
    impl Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(|k| k.as_str()).collect()
        }
    }
    TraceContextPropagator::new().extract(&Headers(headers))
}
