//! Subscriber consent for phone-bound (3-legged) tokens, as an operator's own channel (SMS, USSD, app
//! push) would ask for it.
//!
//! - `POST /{op}/consent/v1/requests` `{"phoneNumber": "+…", "scopes": ["…"]}` → 201
//!   `{"id": "…", "status": "pending" | "approved" | "denied"}`;
//! - `GET /{op}/consent/v1/requests/{id}` → 200 the same shape, or 404.
//!
//! Scripted by the last two digits: 00–79 approve, 80–99 refuse. A `sync` operator decides at once;
//! an `async` one answers `pending` until `async_delay_ms` has passed. Both need the operator's bearer
//! token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::config::OperatorMode;
use crate::error::ApiError;
use crate::phone;
use crate::state::AppState;

/// Path of the consent API under each operator.
pub const CONSENT_PATH: &str = "/consent/v1";

struct ConsentRequest {
    operator: String,
    approve: bool,
    decided_at: Instant,
}

/// Every consent request, by id.
#[derive(Default)]
pub struct ConsentStore {
    requests: Mutex<HashMap<String, ConsentRequest>>,
}

impl ConsentStore {
    pub fn reset(&self) {
        if let Ok(mut requests) = self.requests.lock() {
            requests.clear();
        }
    }
}

/// Registers the consent routes inside the `/{op}` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(CONSENT_PATH)
            .route("/requests", web::post().to(create))
            .route("/requests/{id}", web::get().to(retrieve)),
    );
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    phone_number: String,
    #[serde(default)]
    scopes: Vec<String>,
}

fn status_of(request: &ConsentRequest, now: Instant) -> &'static str {
    match (now >= request.decided_at, request.approve) {
        (false, _) => "pending",
        (true, true) => "approved",
        (true, false) => "denied",
    }
}

async fn create(
    Caller(operator): Caller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body: CreateBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid_argument(format!("Invalid body: {e}")))?;
    if !phone::is_valid(&body.phone_number) {
        return Err(ApiError::invalid_argument("phoneNumber is not E.164"));
    }
    let approve = phone::last_two_digits(&body.phone_number).is_some_and(|d| d < 80);
    let now = Instant::now();
    let decided_at = match operator.mode {
        OperatorMode::Sync => now,
        OperatorMode::Async => now + Duration::from_millis(state.timings.async_delay_ms),
    };
    let request = ConsentRequest {
        operator: operator.id.clone(),
        approve,
        decided_at,
    };
    let id = uuid::Uuid::new_v4().to_string();
    let status = status_of(&request, now);
    state
        .consent
        .requests
        .lock()
        .map_err(|_| ApiError::new(500, "INTERNAL", "consent store poisoned"))?
        .insert(id.clone(), request);
    tracing::info!(
        operator = %operator.id, phone = %phone::mask(&body.phone_number),
        scopes = body.scopes.len(), %status, "consent requested"
    );
    Ok(HttpResponse::Created().json(json!({"id": id, "status": status})))
}

async fn retrieve(
    Caller(operator): Caller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let requests = state
        .consent
        .requests
        .lock()
        .map_err(|_| ApiError::new(500, "INTERNAL", "consent store poisoned"))?;
    let request = requests
        .get(&id)
        .filter(|r| r.operator == operator.id)
        .ok_or_else(|| ApiError::not_found("No such consent request"))?;
    Ok(HttpResponse::Ok().json(json!({"id": id, "status": status_of(request, Instant::now())})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_until_decided() {
        let now = Instant::now();
        let later = ConsentRequest {
            operator: "op".into(),
            approve: true,
            decided_at: now + Duration::from_secs(1),
        };
        assert_eq!(status_of(&later, now), "pending");
        assert_eq!(status_of(&later, now + Duration::from_secs(2)), "approved");
        let refuse = ConsentRequest {
            operator: "op".into(),
            approve: false,
            decided_at: now,
        };
        assert_eq!(status_of(&refuse, now), "denied");
    }
}
