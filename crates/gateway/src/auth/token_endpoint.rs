//! `POST /oauth2/token`: the OAuth2 client-credentials grant (RFC 6749 §4.4) and the CIBA grant
//! (phone-bound tokens, see [`super::ciba`]).

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde_json::json;

use super::MerchantAccount;
use crate::state::AppState;

/// The CIBA grant type (OpenID Connect CIBA Core §10.1).
pub const CIBA_GRANT: &str = "urn:openid:params:grant-type:ciba";

pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        builder.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"switchboard\""));
    }
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"error": error, "error_description": description}))
}

/// Client credentials from HTTP Basic, else from the form.
fn client_credentials(
    req: &HttpRequest,
    form: &HashMap<String, String>,
) -> Option<(String, String)> {
    if let Some(value) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        return Some((id.to_string(), secret.to_string()));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

/// The merchant these client credentials belong to, or the 401 `invalid_client` answer.
#[allow(clippy::result_large_err)] // the error is the finished OAuth answer
pub(crate) fn authenticate_client(
    req: &HttpRequest,
    form: &HashMap<String, String>,
    state: &AppState,
) -> Result<MerchantAccount, HttpResponse> {
    let Some((client_id, secret)) = client_credentials(req, form) else {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required",
        ));
    };
    state
        .merchants()
        .authenticate(&client_id, &secret)
        .cloned()
        .ok_or_else(|| {
            tracing::info!(client_id = %client_id, "refused: bad client credentials");
            oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            )
        })
}

pub(crate) fn token_response(state: &AppState, token: &str, scopes: &[String]) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": state.tokens.ttl_secs,
            "scope": scopes.join(" "),
        }))
}

pub async fn token(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "body must be application/x-www-form-urlencoded",
        );
    };
    let account = match authenticate_client(&req, &form, &state) {
        Ok(account) => account,
        Err(response) => return response,
    };
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(CIBA_GRANT) => return super::ciba::redeem(&state, &account, &form).await,
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "supported: client_credentials, urn:openid:params:grant-type:ciba",
            )
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            )
        }
    }
    // A requested scope narrows the grant; asking for more than granted is an error.
    let scopes: Vec<String> = match form.get("scope").filter(|s| !s.trim().is_empty()) {
        None => account.scopes.clone(),
        Some(requested) => {
            let requested: Vec<String> = requested.split_whitespace().map(str::to_string).collect();
            if let Some(extra) = requested.iter().find(|s| !account.scopes.contains(s)) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    &format!("scope '{extra}' is not granted to this client"),
                );
            }
            requested
        }
    };
    let Ok(access_token) = state.tokens.issue(&account.id, &scopes) else {
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "cannot issue a token",
        );
    };
    tracing::info!(merchant = %account.id, "access token issued");
    token_response(&state, &access_token, &scopes)
}
