//! OAuth2 client-credentials token endpoint and bearer checking.

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use base64::Engine;
use serde_json::json;

use crate::config::SandboxOperator;
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status).json(json!({"error": error, "error_description": description}))
}

/// `(client_id, client_secret)` from an `Authorization: Basic` header.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// `POST /{op}/oauth2/token` (client credentials by Basic auth or form fields).
pub async fn token(
    req: HttpRequest,
    op: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let operator = state.operator(&op)?;
    let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(&body) else {
        return Ok(oauth_error(400, "invalid_request", "Malformed form body"));
    };
    let credentials = basic_credentials(req.headers()).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    let authenticated = credentials
        .is_some_and(|(id, secret)| id == operator.client_id && secret == operator.client_secret);
    if !authenticated {
        tracing::info!(operator = %operator.id, "token refused: invalid client");
        return Ok(oauth_error(
            401,
            "invalid_client",
            "Client authentication failed",
        ));
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(_) => {
            return Ok(oauth_error(
                400,
                "unsupported_grant_type",
                "Only client_credentials is supported",
            ))
        }
        None => {
            return Ok(oauth_error(
                400,
                "invalid_request",
                "grant_type is required",
            ))
        }
    }
    let ttl = state.timings.token_ttl_secs;
    let token = state
        .store
        .issue_token(&operator.id, Duration::from_secs(ttl), Instant::now());
    tracing::info!(operator = %operator.id, "token issued");
    Ok(HttpResponse::Ok().json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
    })))
}

/// The operator of the request path, after checking its bearer token.
///
/// As an extractor it answers 404 for an unknown operator and 401
/// `UNAUTHENTICATED` for a missing, foreign or expired token.
pub struct Caller(pub SandboxOperator);

fn authorize(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::new(500, "INTERNAL", "Sandbox state missing"))?;
    let op = req.match_info().get("op").unwrap_or_default();
    let operator = state.operator(op)?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| ApiError::unauthenticated("A bearer access token is required"))?;
    if !state.store.token_valid(op, token, Instant::now()) {
        return Err(ApiError::unauthenticated(
            "The access token is invalid or expired",
        ));
    }
    Ok(Caller(operator.clone()))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authorize(req))
    }
}
