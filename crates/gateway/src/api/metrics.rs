//! `GET /metrics`: the Prometheus text exposition (see [`crate::observe`]). Open unless
//! `metrics.token` is set; then it asks for `Authorization: Bearer <token>`.

use actix_web::{web, HttpRequest, HttpResponse};
use switchboard_core::{ApiError, ErrorCode};

use crate::http::HttpError;
use crate::state::AppState;

/// The OpenMetrics text content type Prometheus negotiates.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    let config = state.config();
    let token = config.metrics.token.expose();
    if !token.is_empty() && !super::admin::bearer_matches(&req, token) {
        return Err(ApiError::of(ErrorCode::Unauthenticated).into());
    }
    let body = crate::observe::render(&state.observe, &state.router());
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(body))
}
