//! Test-support endpoints: `GET /_admin/charges`, `POST /_admin/reset`.

use std::time::Instant;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

/// `{"total": n, "by_client_correlator": {"cc": n, ...}}`.
pub async fn charges(state: web::Data<AppState>) -> HttpResponse {
    let report = state.charges(Instant::now());
    HttpResponse::Ok().json(json!({
        "total": report.total,
        "by_client_correlator": report.by_client_correlator,
    }))
}

/// Clears payments, charges and counters (issued tokens stay valid).
pub async fn reset(state: web::Data<AppState>) -> HttpResponse {
    state.reset();
    tracing::info!("sandbox state reset");
    HttpResponse::NoContent().finish()
}
