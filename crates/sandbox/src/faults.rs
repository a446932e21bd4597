//! Faults made on demand, per simulated upstream, through the admin API — a channel failing, slow or
//! flapping, for routing and circuit-breaker tests and demos:
//!
//! - `PUT /_admin/faults/{id}` with `{"mode": "fail"}` (every request to `/{id}/...` is answered
//!   `503` before anything is done: nothing charged), `{"mode": "slow", "delay_ms": 2000}` (every
//!   request is done, then its answer held back) or `{"mode": "flap", "period_ms": 1000}`
//!   (failing for a period, healthy for the next, from when it was set);
//! - `DELETE /_admin/faults/{id}` heals it; `GET /_admin/faults` lists them; `POST /_admin/reset`
//!   heals every upstream.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::state::AppState;

/// Longest delay or period accepted (a test that asks for more has a typo).
const MAX_MS: u64 = 600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Answered `503` before anything is done.
    Fail,
    /// Done, then answered `delay_ms` later.
    Slow { delay_ms: u64 },
    /// `Fail` for `period_ms`, healthy for the next `period_ms`, and so on.
    Flap { period_ms: u64 },
}

impl Fault {
    fn check(&self) -> Result<(), String> {
        match *self {
            Fault::Slow { delay_ms: ms } | Fault::Flap { period_ms: ms }
                if ms == 0 || ms > MAX_MS =>
            {
                Err(format!("the delay or period must be 1 to {MAX_MS} ms"))
            }
            _ => Ok(()),
        }
    }
}

/// What happens to one request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Pass,
    Refuse,
    Delay(Duration),
}

/// The faults in force, by upstream id, with when each was set; and how many requests each
/// upstream refused because of one.
#[derive(Default)]
pub struct Faults {
    inner: RwLock<HashMap<String, (Fault, Instant)>>,
    refused: Mutex<HashMap<String, u32>>,
}

impl Faults {
    pub fn set(&self, upstream: &str, fault: Fault) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.insert(upstream.to_string(), (fault, Instant::now()));
    }

    pub fn heal(&self, upstream: &str) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.remove(upstream);
    }

    /// Heals every upstream and forgets the refusal counts.
    pub fn heal_all(&self) {
        self.inner
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Requests to `upstream` refused by a `fail` or `flap` fault so far.
    pub fn refused(&self, upstream: &str) -> u32 {
        let refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        refused.get(upstream).copied().unwrap_or(0)
    }

    fn count_refusal(&self, upstream: &str) {
        let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        *refused.entry(upstream.to_string()).or_default() += 1;
    }

    pub fn list(&self) -> BTreeMap<String, Fault> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner.iter().map(|(id, (f, _))| (id.clone(), *f)).collect()
    }

    /// What a request to `upstream` meets at `now`.
    pub fn effect(&self, upstream: &str, now: Instant) -> Effect {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        match inner.get(upstream) {
            None => Effect::Pass,
            Some((Fault::Fail, _)) => Effect::Refuse,
            Some((Fault::Slow { delay_ms }, _)) => Effect::Delay(Duration::from_millis(*delay_ms)),
            Some((Fault::Flap { period_ms }, since)) => {
                let periods =
                    now.saturating_duration_since(*since).as_millis() / *period_ms as u128;
                if periods.is_multiple_of(2) {
                    Effect::Refuse
                } else {
                    Effect::Pass
                }
            }
        }
    }
}

/// The upstream a request is for: the first path segment (`/{id}/...`), not the admin API's.
fn upstream_of(path: &str) -> Option<&str> {
    let first = path.trim_start_matches('/').split('/').next()?;
    (!first.is_empty() && first != "_admin").then_some(first)
}

/// The middleware that applies the faults.
pub async fn inject(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let upstream = upstream_of(req.path()).map(str::to_string);
    let effect = match (&state, &upstream) {
        (Some(state), Some(upstream)) => state.faults.effect(upstream, Instant::now()),
        _ => Effect::Pass,
    };
    match effect {
        Effect::Pass => Ok(next.call(req).await?.map_into_left_body()),
        Effect::Refuse => {
            if let (Some(state), Some(upstream)) = (state, upstream) {
                state.faults.count_refusal(&upstream);
            }
            let refusal = HttpResponse::ServiceUnavailable().json(json!({
                "status": 503,
                "code": "UNAVAILABLE",
                "message": "Service unavailable (a fault set through the sandbox admin API)",
            }));
            Ok(req.into_response(refusal).map_into_right_body())
        }
        Effect::Delay(delay) => {
            let res = next.call(req).await?;
            tokio::time::sleep(delay).await;
            Ok(res.map_into_left_body())
        }
    }
}

/// `PUT /_admin/faults/{id}`.
pub async fn put(
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let fault: Fault = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return bad_request(&e.to_string()),
    };
    if let Err(e) = fault.check() {
        return bad_request(&e);
    }
    state.faults.set(&path, fault);
    tracing::info!(upstream = %path, ?fault, "fault set");
    HttpResponse::Ok().json(json!({ "upstream": path.as_str(), "fault": fault }))
}

/// `DELETE /_admin/faults/{id}`.
pub async fn delete(path: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    state.faults.heal(&path);
    tracing::info!(upstream = %path, "fault healed");
    HttpResponse::NoContent().finish()
}

/// `GET /_admin/faults`.
pub async fn list(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.faults.list())
}

fn bad_request(message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({
        "status": 400, "code": "INVALID_ARGUMENT", "message": message,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_as_documented_and_bad_ones_are_refused() {
        let parse = |s: &str| serde_json::from_str::<Fault>(s);
        assert_eq!(parse(r#"{"mode":"fail"}"#).unwrap(), Fault::Fail);
        assert_eq!(
            parse(r#"{"mode":"slow","delay_ms":2000}"#).unwrap(),
            Fault::Slow { delay_ms: 2000 }
        );
        assert!(parse(r#"{"mode":"slow"}"#).is_err());
        assert!(parse(r#"{"mode":"slow","delay":2000}"#).is_err());
        assert!(parse(r#"{"mode":"melt"}"#).is_err());
        assert!(Fault::Flap { period_ms: 0 }.check().is_err());
        assert!(Fault::Slow {
            delay_ms: MAX_MS + 1
        }
        .check()
        .is_err());
        assert!(Fault::Flap { period_ms: 10 }.check().is_ok());
    }

    #[test]
    fn each_fault_has_its_effect_on_its_upstream_only() {
        let faults = Faults::default();
        let now = Instant::now();
        assert_eq!(faults.effect("movistar-es", now), Effect::Pass);
        faults.set("movistar-es", Fault::Fail);
        faults.set("telekom-de", Fault::Slow { delay_ms: 50 });
        assert_eq!(faults.effect("movistar-es", now), Effect::Refuse);
        assert_eq!(
            faults.effect("telekom-de", now),
            Effect::Delay(Duration::from_millis(50))
        );
        assert_eq!(faults.effect("dialog-lk", now), Effect::Pass);
        faults.heal("movistar-es");
        assert_eq!(faults.effect("movistar-es", now), Effect::Pass);
        faults.heal_all();
        assert!(faults.list().is_empty());
    }

    #[test]
    fn a_flapping_upstream_fails_then_heals_period_by_period() {
        let faults = Faults::default();
        faults.set("op", Fault::Flap { period_ms: 100 });
        let since = Instant::now();
        let at = |ms| faults.effect("op", since + Duration::from_millis(ms));
        assert_eq!(at(10), Effect::Refuse);
        assert_eq!(at(150), Effect::Pass);
        assert_eq!(at(250), Effect::Refuse);
        assert_eq!(at(399), Effect::Pass);
    }

    #[test]
    fn the_upstream_is_the_first_path_segment_and_admin_is_exempt() {
        assert_eq!(
            upstream_of("/movistar-es/carrier-billing/v0.5/payments"),
            Some("movistar-es")
        );
        assert_eq!(upstream_of("/_admin/faults/movistar-es"), None);
        assert_eq!(upstream_of("/"), None);
    }
}
