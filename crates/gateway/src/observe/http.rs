//! `switchboard_http_requests_total{route,method,status}` and
//! `switchboard_http_request_duration_seconds{route,method}`: a middleware around the whole app.
//! `route` is the matched pattern (`/carrier-billing/v0.5/payments/{paymentId}`), never the raw
//! path; requests no route matched count as `unmatched`. Series are created on first use (routes ×
//! methods × statuses is small and bounded by the app), under a read lock once they exist.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use super::histogram::AtomicHistogram;
use crate::state::AppState;

/// The `route` of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

#[derive(Debug, Default)]
struct Route {
    /// By method, then status.
    counts: RwLock<HashMap<(String, u16), Arc<AtomicU64>>>,
    durations: RwLock<HashMap<String, Arc<AtomicHistogram>>>,
}

#[derive(Debug, Default)]
pub struct HttpMetrics {
    routes: RwLock<HashMap<String, Arc<Route>>>,
}

fn get_or_insert<K, V, Q>(
    map: &RwLock<HashMap<K, Arc<V>>>,
    key: &Q,
    owned: impl FnOnce() -> K,
) -> Arc<V>
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
    V: Default,
{
    if let Some(v) = map.read().unwrap_or_else(|e| e.into_inner()).get(key) {
        return v.clone();
    }
    map.write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(owned())
        .or_default()
        .clone()
}

impl HttpMetrics {
    pub fn record(&self, route: &str, method: &str, status: u16, took: std::time::Duration) {
        let r = get_or_insert(&self.routes, route, || route.to_string());
        let count = {
            let counts = r.counts.read().unwrap_or_else(|e| e.into_inner());
            counts
                .iter()
                .find(|((m, s), _)| m == method && *s == status)
                .map(|(_, c)| c.clone())
        };
        let count = count.unwrap_or_else(|| {
            r.counts
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .entry((method.to_string(), status))
                .or_default()
                .clone()
        });
        count.fetch_add(1, Ordering::Relaxed);
        get_or_insert(&r.durations, method, || method.to_string()).observe(took);
    }

    pub(super) fn encode(&self, e: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let routes: Vec<(String, Arc<Route>)> = {
            let map = self.routes.read().unwrap_or_else(|e| e.into_inner());
            let mut v: Vec<_> = map.iter().map(|(k, r)| (k.clone(), r.clone())).collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let mut d = e.encode_descriptor(
            "switchboard_http_requests",
            "HTTP requests by matched route, method and status.",
            None,
            MetricType::Counter,
        )?;
        for (route, r) in &routes {
            let counts = r.counts.read().unwrap_or_else(|e| e.into_inner());
            for ((method, status), c) in counts.iter() {
                let status = status.to_string();
                let labels = [
                    ("route", route.as_str()),
                    ("method", method.as_str()),
                    ("status", status.as_str()),
                ];
                let v = c.load(Ordering::Relaxed);
                d.encode_family(&labels)?
                    .encode_counter::<prometheus_client::encoding::NoLabelSet, u64, u64>(
                        &v, None,
                    )?;
            }
        }
        let mut d = e.encode_descriptor(
            "switchboard_http_request_duration_seconds",
            "HTTP request durations by matched route and method.",
            None,
            MetricType::Histogram,
        )?;
        for (route, r) in &routes {
            let durations = r.durations.read().unwrap_or_else(|e| e.into_inner());
            for (method, h) in durations.iter() {
                let labels = [("route", route.as_str()), ("method", method.as_str())];
                super::metrics::histogram(&mut d.encode_family(&labels)?, h)?;
            }
        }
        Ok(())
    }
}

/// Middleware: times every request and counts it by matched route.
pub async fn observe_http<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if let Some(state) = state {
        let route = res.request().match_pattern();
        let method = known_method(res.request().method());
        state.observe.http.record(
            route.as_deref().unwrap_or(UNMATCHED),
            method,
            res.status().as_u16(),
            started.elapsed(),
        );
    }
    Ok(res)
}

/// The `method` label: the standard methods, anything else `other` (a client may send any token).
fn known_method(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
