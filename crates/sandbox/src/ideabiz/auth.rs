//! The platform's token endpoint (WSO2 style: password and refresh grants,
//! consumer key/secret as HTTP Basic) and the bearer check of API calls.

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::time::Instant;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde_json::json;

use super::store::{AccessCheck, Issued, RefreshError};
use super::IdeabizError;
use crate::auth::{basic_credentials, oauth_error};
use crate::config::IdeabizPlatform;
use crate::error::ApiError;
use crate::state::AppState;

/// Scope granted when the request names none (as WSO2 does).
const DEFAULT_SCOPE: &str = "default";

fn granted(issued: Issued) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }))
}

/// `POST /{id}/token`: `grant_type=password` (with `username`, `password`,
/// optional `scope`) or `grant_type=refresh_token` (with `refresh_token`).
/// The application authenticates with HTTP Basic (or form `client_id` /
/// `client_secret`).
pub async fn token(
    req: HttpRequest,
    op: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let platform = state.ideabiz_platform(&op)?;
    let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(&body) else {
        return Ok(oauth_error(400, "invalid_request", "Malformed form body"));
    };
    let credentials = basic_credentials(req.headers()).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    let authenticated = credentials.is_some_and(|(key, secret)| {
        key == platform.consumer_key && secret == platform.consumer_secret
    });
    if !authenticated {
        tracing::info!(platform = %platform.id, "token refused: invalid client");
        return Ok(oauth_error(
            401,
            "invalid_client",
            "Client Authentication failed.",
        ));
    }
    let scope = form.get("scope").filter(|s| !s.trim().is_empty()).cloned();
    let now = Instant::now();
    match form.get("grant_type").map(String::as_str) {
        Some("password") => {
            let user_ok = form.get("username") == Some(&platform.username)
                && form.get("password") == Some(&platform.password);
            if !user_ok {
                tracing::info!(platform = %platform.id, "token refused: wrong user or password");
                return Ok(oauth_error(
                    400,
                    "invalid_grant",
                    "Authentication failed: invalid username or password",
                ));
            }
            let issued = state.ideabiz.issue(
                platform,
                scope.unwrap_or_else(|| DEFAULT_SCOPE.to_owned()),
                now,
            );
            tracing::info!(platform = %platform.id, grant = "password", "token pair issued");
            Ok(granted(issued))
        }
        Some("refresh_token") => {
            let Some(refresh_token) = form.get("refresh_token") else {
                return Ok(oauth_error(
                    400,
                    "invalid_request",
                    "refresh_token is required",
                ));
            };
            match state.ideabiz.refresh(platform, refresh_token, scope, now) {
                Ok(issued) => {
                    tracing::info!(platform = %platform.id, grant = "refresh_token", "token pair rotated");
                    Ok(granted(issued))
                }
                Err(error) => {
                    tracing::info!(platform = %platform.id, ?error, "refresh grant refused");
                    let description = match error {
                        RefreshError::Unknown => "Persisted access token data not found",
                        RefreshError::Expired => "Refresh token is expired.",
                    };
                    Ok(oauth_error(400, "invalid_grant", description))
                }
            }
        }
        Some(_) => Ok(oauth_error(
            400,
            "unsupported_grant_type",
            "Only password and refresh_token grants are supported",
        )),
        None => Ok(oauth_error(
            400,
            "invalid_request",
            "grant_type is required",
        )),
    }
}

/// The platform of the request path, after checking the bearer token: 404
/// for an unknown platform, 401 with a WSO2 fault for a missing, foreign,
/// expired or revoked token.
pub struct PlatformCaller(pub IdeabizPlatform);

fn authorize(req: &HttpRequest) -> Result<PlatformCaller, IdeabizError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::new(500, "INTERNAL", "Sandbox state missing"))?;
    let op = req.match_info().get("op").unwrap_or_default();
    let platform = state.ideabiz_platform(op)?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(IdeabizError::token_missing)?;
    match state.ideabiz.check_access(op, token, Instant::now()) {
        AccessCheck::Valid => Ok(PlatformCaller(platform.clone())),
        AccessCheck::Expired => Err(IdeabizError::token_expired()),
        AccessCheck::Invalid => Err(IdeabizError::token_invalid()),
    }
}

impl FromRequest for PlatformCaller {
    type Error = IdeabizError;
    type Future = Ready<Result<Self, IdeabizError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authorize(req))
    }
}
