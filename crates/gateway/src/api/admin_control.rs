//! Live channel control by ops (an `operator` admin token): `PATCH /admin/channels/{id}` with any
//! of `{"state": "enabled"|"draining"|"disabled", "weight": n, "priority": n, "circuit":
//! "open"|"closed"|"auto"}` — effective on every replica within `routing.controls_refresh_ms`, kept
//! in the store across restarts — and `GET /admin/audit`, every admin change (who, what, when,
//! before and after), newest first.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_core::{ApiError, ErrorCode};
use switchboard_router::{ChannelState, CircuitOverride, Controls};

use super::admin::{authorize, authorize_change};
use super::admin_routing::control_view;
use crate::http::{parse_json, parse_query_pairs, Endpoint, HttpError};
use crate::payments::store_error;
use crate::routing_controls;
use crate::state::AppState;

/// The largest weight ops may set (weights are relative; this keeps scores finite and readable).
const MAX_WEIGHT: u32 = 10_000;
/// Audit entries per page unless `limit` says otherwise, and the most it may say.
const AUDIT_PAGE: usize = 100;
const AUDIT_MAX: usize = 1_000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::at("/admin/channels/{id}").patch(patch_channel))
        .service(Endpoint::at("/admin/audit").get(audit));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelPatch {
    state: Option<ChannelState>,
    circuit: Option<CircuitOverride>,
    priority: Option<u32>,
    weight: Option<u32>,
}

impl ChannelPatch {
    fn controls(self) -> Result<Controls, ApiError> {
        if self.state.is_none()
            && self.circuit.is_none()
            && self.priority.is_none()
            && self.weight.is_none()
        {
            return Err(ApiError::invalid_argument(
                "Set at least one of state, circuit, priority, weight.",
            ));
        }
        if self.weight.is_some_and(|w| w == 0 || w > MAX_WEIGHT) {
            return Err(ApiError::invalid_argument(format!(
                "weight must be 1 to {MAX_WEIGHT}"
            )));
        }
        Ok(Controls {
            // "enabled" and "auto" are the configured behaviour: stored as unset.
            state: self.state.filter(|s| *s != ChannelState::Enabled),
            circuit: self.circuit.filter(|c| *c != CircuitOverride::Auto),
            priority: self.priority,
            weight: self.weight,
        })
    }

    /// Which fields the request names (so "enabled"/"auto" can clear an override).
    fn clears(&self) -> (bool, bool) {
        (
            self.state == Some(ChannelState::Enabled),
            self.circuit == Some(CircuitOverride::Auto),
        )
    }
}

async fn patch_channel(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    let who = authorize_change(&req, &state)?;
    let Some(channel) = state.router().channel(&path) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "No running channel has this id (a channel disabled in configuration cannot be \
             controlled at run time).",
        )
        .into());
    };
    let patch: ChannelPatch = parse_json(&body)?;
    let (clear_state, clear_circuit) = patch.clears();
    let changed =
        routing_controls::change(&state, &channel.id, patch.controls()?, &who.name, |c| {
            if clear_state {
                c.state = None;
            }
            if clear_circuit {
                c.circuit = None;
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "id": channel.id,
        "control": control_view(&channel),
        "before": changed.before,
        "after": changed.after,
    })))
}

async fn audit(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    authorize(&req, &state)?;
    let mut limit = AUDIT_PAGE;
    for (key, value) in parse_query_pairs(req.query_string())? {
        match key.as_str() {
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=AUDIT_MAX).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid_argument(format!("limit must be 1 to {AUDIT_MAX}"))
                    })?;
            }
            other => {
                return Err(ApiError::invalid_argument(format!(
                    "unknown query parameter '{other}'"
                ))
                .into())
            }
        }
    }
    let entries = state.store.audit_log(limit).await.map_err(store_error)?;
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            json!({
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "before": serde_json::from_str::<Value>(&e.before).unwrap_or(Value::Null),
                "after": serde_json::from_str::<Value>(&e.after).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "entries": entries })))
}
