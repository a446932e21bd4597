//! Phone-bound (3-legged) tokens by OpenID Connect CIBA, poll mode.
//!
//! `POST /bc-authorize` authenticates the merchant, finds the subscriber's operator and asks it (through
//! a channel whose adapter can, e.g. CAMARA) to get the subscriber's consent. The answer's
//! `auth_req_id` is itself a token signed with our keys (merchant, number, scopes, channel, upstream
//! ticket, expiry), so any replica can answer the polls without shared state. The merchant then polls
//! `POST /oauth2/token` with `grant_type=urn:openid:params:grant-type:ciba`; once the operator says the
//! subscriber approved, it gets an access token bound to that number (`msisdn` claim).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_adapter::{AdapterError, Capability, ConsentState, ConsentTicket};
use switchboard_core::Msisdn;

use super::jwt::TokenError;
use super::token_endpoint::{authenticate_client, oauth_error, token_response};
use super::MerchantAccount;
use crate::state::AppState;

/// What an `auth_req_id` carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CibaRequest {
    pub iss: String,
    /// `<auth.audience>:ciba`, so an `auth_req_id` is never an access token.
    pub aud: String,
    /// The merchant that asked.
    pub sub: String,
    pub scope: String,
    pub msisdn: String,
    /// The channel that asked the operator, and the operator's id for the request.
    pub channel: String,
    pub ticket: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

fn ciba_audience(state: &AppState) -> String {
    format!("{}:ciba", state.tokens.audience())
}

/// The number of a `login_hint` (`tel:+34…` or `+34…`).
fn login_hint_number(hint: &str) -> Option<Msisdn> {
    let hint = hint.trim();
    Msisdn::parse(hint.strip_prefix("tel:").unwrap_or(hint))
}

/// The API scopes asked for (`openid` is implied and dropped); each must be granted to the merchant.
#[allow(clippy::result_large_err)] // the error is the finished OAuth answer
fn requested_scopes(
    account: &MerchantAccount,
    scope: Option<&String>,
) -> Result<Vec<String>, HttpResponse> {
    let scopes: Vec<String> = scope
        .map(|s| s.split_whitespace())
        .into_iter()
        .flatten()
        .filter(|s| *s != "openid")
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "scope must name at least one API scope",
        ));
    }
    if let Some(extra) = scopes.iter().find(|s| !account.scopes.contains(s)) {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("scope '{extra}' is not granted to this client"),
        ));
    }
    Ok(scopes)
}

/// `POST /bc-authorize`: starts a consent request for `login_hint`.
pub async fn bc_authorize(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
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
    let Some(msisdn) = form.get("login_hint").and_then(|h| login_hint_number(h)) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "login_hint must be the subscriber's number, as tel:+<E.164>",
        );
    };
    let scopes = match requested_scopes(&account, form.get("scope")) {
        Ok(scopes) => scopes,
        Err(response) => return response,
    };
    let live = state.live();
    let route = match crate::routing::route(&live, &msisdn, Capability::Payment) {
        Ok(route) => route,
        Err(e) => {
            return oauth_error(StatusCode::BAD_REQUEST, "unknown_user_id", &e.message);
        }
    };
    if let Err(e) = account.check_operator(&route.operator.id, &route.operator.country) {
        return oauth_error(StatusCode::FORBIDDEN, "access_denied", &e.message);
    }
    let mut any_supported = false;
    let mut asked = None;
    for channel in &route.channels {
        match channel.adapter.request_consent(&msisdn, &scopes).await {
            Ok(ticket) => {
                asked = Some((channel.id.clone(), ticket));
                break;
            }
            Err(AdapterError::Unsupported(_)) => {}
            Err(e) => {
                any_supported = true;
                tracing::warn!(channel = %channel.id, error = %e, "consent request failed");
            }
        }
    }
    let Some((channel, ConsentTicket(ticket))) = asked else {
        return if any_supported {
            oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the subscriber's operator could not be reached; try again",
            )
        } else {
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the subscriber's operator cannot be asked for consent",
            )
        };
    };
    let now = Utc::now().timestamp();
    let expires_in = state.config().auth.ciba_expires_secs;
    let request = CibaRequest {
        iss: state.tokens.issuer().to_string(),
        aud: ciba_audience(&state),
        sub: account.id.clone(),
        scope: scopes.join(" "),
        msisdn: msisdn.as_str().to_string(),
        channel,
        ticket,
        iat: now,
        exp: now + expires_in as i64,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let Ok(auth_req_id) = state.tokens.sign(&request) else {
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "cannot sign the request",
        );
    };
    tracing::info!(
        merchant = %account.id, msisdn = %msisdn.masked(), channel = %request.channel,
        "consent requested from the subscriber"
    );
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "auth_req_id": auth_req_id,
            "expires_in": expires_in,
            "interval": state.config().auth.ciba_interval_secs,
        }))
}

/// The CIBA grant at the token endpoint: pending, refused, expired, or a phone-bound token.
pub async fn redeem(
    state: &AppState,
    account: &MerchantAccount,
    form: &HashMap<String, String>,
) -> HttpResponse {
    let bad =
        |error: &str, description: &str| oauth_error(StatusCode::BAD_REQUEST, error, description);
    let Some(auth_req_id) = form.get("auth_req_id") else {
        return bad("invalid_request", "auth_req_id is required");
    };
    let request: CibaRequest = match state.tokens.verify_for(auth_req_id, &ciba_audience(state)) {
        Ok(request) => request,
        Err(TokenError::Expired) => return bad("expired_token", "the auth_req_id has expired"),
        Err(TokenError::Invalid) => return bad("invalid_grant", "unknown auth_req_id"),
    };
    if request.sub != account.id {
        return bad("invalid_grant", "unknown auth_req_id");
    }
    let (Some(channel), Some(msisdn)) = (
        state.router().channel(&request.channel),
        Msisdn::parse(&request.msisdn),
    ) else {
        return bad("invalid_grant", "the consent request is no longer known");
    };
    let ticket = ConsentTicket(request.ticket.clone());
    match channel.adapter.consent_status(&ticket).await {
        Ok(ConsentState::Pending) => bad(
            "authorization_pending",
            "the subscriber has not answered yet",
        ),
        Ok(ConsentState::Denied) => bad("access_denied", "the subscriber refused"),
        Ok(ConsentState::Approved) => {
            // An auth_req_id gives one token: the first redemption marks it used on every replica.
            let once = format!("ciba:{}", request.jti);
            match state
                .store
                .use_once(&once, state.config().auth.ciba_expires_secs)
                .await
            {
                Ok(true) => {}
                Ok(false) => return bad("invalid_grant", "the auth_req_id was already redeemed"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot mark the auth_req_id used");
                    return oauth_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "try again later",
                    );
                }
            }

            // Scopes taken away from the merchant since the request are not granted.
            let scopes: Vec<String> = request
                .scope
                .split_whitespace()
                .filter(|s| account.scopes.iter().any(|g| g == s))
                .map(str::to_string)
                .collect();
            match state
                .tokens
                .issue_bound(&account.id, &scopes, Some(&msisdn))
            {
                Ok(token) => {
                    tracing::info!(
                        merchant = %account.id, msisdn = %msisdn.masked(),
                        "phone-bound access token issued"
                    );
                    token_response(state, &token, &scopes)
                }
                Err(_) => oauth_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "cannot issue a token",
                ),
            }
        }
        Err(e) => {
            tracing::warn!(channel = %request.channel, error = %e, "consent status unknown");
            oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the operator could not be asked; poll again",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_hints() {
        assert_eq!(
            login_hint_number("tel:+34600000001").unwrap().as_str(),
            "+34600000001"
        );
        assert!(login_hint_number("+34600000001").is_some());
        assert!(login_hint_number("tel:34600000001").is_none());
        assert!(login_hint_number("sub:abc").is_none());
    }
}
