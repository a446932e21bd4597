//! `switchboard_http_requests_total{route,method,status}` and
//! `switchboard_http_request_duration_seconds{route,method}`: a middleware around the whole app.
//! `route` is the matched pattern (`/carrier-billing/v0.5/payments/{paymentId}`), never the raw
//! path; requests no route matched count as `unmatched`. Recording takes no lock: the routes live
//! in a fixed open-addressing table of write-once slots (a route's slot is claimed once, then read
//! with one atomic load), and each route's counters are atomics per method and status.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
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
/// Where requests go once every slot is taken (the app has far fewer routes).
const OVERFLOW: &str = "other";
/// Route slots: several times the routes the app registers, so probes stay short.
const SLOTS: usize = 256;
/// The `method` labels, by [`method_index`].
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other",
];
/// HTTP statuses are 100..=599.
const FIRST_STATUS: u16 = 100;
const STATUSES: usize = 500;

/// One route's counters: per method, a count per status (allocated the first time the method is
/// seen on the route) and a duration histogram.
struct RouteSeries {
    route: String,
    counts: [OnceLock<Box<[AtomicU64]>>; METHODS.len()],
    durations: [AtomicHistogram; METHODS.len()],
}

impl RouteSeries {
    fn new(route: &str) -> RouteSeries {
        RouteSeries {
            route: route.to_string(),
            counts: Default::default(),
            durations: Default::default(),
        }
    }
}

pub struct HttpMetrics {
    slots: Box<[OnceLock<RouteSeries>]>,
    overflow: RouteSeries,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            overflow: RouteSeries::new(OVERFLOW),
            hasher: Default::default(),
        }
    }
}

impl fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpMetrics").finish_non_exhaustive()
    }
}

impl HttpMetrics {
    /// The route's series: found by linear probing from its hash; an empty slot on the way is
    /// claimed for it (if another route claims it first, probing goes on).
    fn series(&self, route: &str) -> &RouteSeries {
        let mut h = self.hasher.build_hasher();
        h.write(route.as_bytes());
        let start = h.finish() as usize % SLOTS;
        for i in 0..SLOTS {
            let slot = &self.slots[(start + i) % SLOTS];
            let series = slot.get_or_init(|| RouteSeries::new(route));
            if series.route == route {
                return series;
            }
        }
        &self.overflow
    }

    pub fn record(&self, route: &str, method: &str, status: u16, took: std::time::Duration) {
        let series = self.series(route);
        let m = method_index(method);
        let counts =
            series.counts[m].get_or_init(|| (0..STATUSES).map(|_| AtomicU64::new(0)).collect());
        let s = usize::from(status.saturating_sub(FIRST_STATUS)).min(STATUSES - 1);
        counts[s].fetch_add(1, Ordering::Relaxed);
        series.durations[m].observe(took);
    }

    /// Every route seen, by name.
    fn routes(&self) -> Vec<&RouteSeries> {
        let mut routes: Vec<&RouteSeries> = self
            .slots
            .iter()
            .filter_map(OnceLock::get)
            .chain(std::iter::once(&self.overflow))
            .collect();
        routes.sort_by(|a, b| a.route.cmp(&b.route));
        routes
    }

    pub(super) fn encode(&self, e: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let routes = self.routes();
        let mut d = e.encode_descriptor(
            "switchboard_http_requests",
            "HTTP requests by matched route, method and status.",
            None,
            MetricType::Counter,
        )?;
        for r in &routes {
            for (m, counts) in r.counts.iter().enumerate() {
                let Some(counts) = counts.get() else { continue };
                for (i, c) in counts.iter().enumerate() {
                    let v = c.load(Ordering::Relaxed);
                    if v == 0 {
                        continue;
                    }
                    let status = (FIRST_STATUS as usize + i).to_string();
                    let labels = [
                        ("route", r.route.as_str()),
                        ("method", METHODS[m]),
                        ("status", status.as_str()),
                    ];
                    d.encode_family(&labels)?
                        .encode_counter::<prometheus_client::encoding::NoLabelSet, u64, u64>(
                            &v, None,
                        )?;
                }
            }
        }
        let mut d = e.encode_descriptor(
            "switchboard_http_request_duration_seconds",
            "HTTP request durations by matched route and method.",
            None,
            MetricType::Histogram,
        )?;
        for r in &routes {
            for (m, h) in r.durations.iter().enumerate() {
                if h.count() == 0 {
                    continue;
                }
                let labels = [("route", r.route.as_str()), ("method", METHODS[m])];
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

/// A `method` label's place in [`METHODS`].
fn method_index(method: &str) -> usize {
    METHODS
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn count(m: &HttpMetrics, route: &str, method: &str, status: u16) -> u64 {
        m.routes()
            .into_iter()
            .find(|r| r.route == route)
            .and_then(|r| r.counts[method_index(method)].get())
            .map_or(0, |c| {
                c[usize::from(status - FIRST_STATUS)].load(Ordering::Relaxed)
            })
    }

    #[test]
    fn counts_by_route_method_and_status_from_many_threads() {
        let m = HttpMetrics::default();
        std::thread::scope(|s| {
            for t in 0..4 {
                let m = &m;
                s.spawn(move || {
                    for i in 0..1_000 {
                        // Forty routes claimed concurrently: each gets one slot.
                        let route = format!("/r/{}", (i + t) % 40);
                        m.record(&route, "POST", 201, Duration::from_millis(3));
                        m.record(&route, "BREW", 418, Duration::from_millis(1));
                    }
                });
            }
        });
        let routes = m.routes();
        assert_eq!(routes.len(), 41, "forty routes and the overflow series");
        let total: u64 = (0..40)
            .map(|i| count(&m, &format!("/r/{i}"), "POST", 201))
            .sum();
        assert_eq!(total, 4_000);
        assert_eq!(count(&m, "/r/7", "other", 418), 100);
        assert_eq!(count(&m, "/r/7", "GET", 201), 0);
        let durations: u64 = routes
            .iter()
            .map(|r| r.durations[method_index("POST")].count())
            .sum();
        assert_eq!(durations, 4_000);
    }

    #[test]
    fn routes_past_the_table_count_as_other() {
        let m = HttpMetrics::default();
        for i in 0..SLOTS + 5 {
            m.record(&format!("/many/{i}"), "GET", 200, Duration::from_millis(1));
        }
        assert_eq!(count(&m, OVERFLOW, "GET", 200), 5);
    }
}
