//! The authenticated merchant behind a request.

use std::future::{ready, Ready};

use std::sync::Arc;

use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use switchboard_core::{ApiError, ErrorCode, Msisdn};

use super::Claims;
use crate::http::HttpError;

/// The claims of the request's bearer token, once verified (a request extension).
#[derive(Clone)]
pub struct VerifiedClaims(pub Arc<Claims>);
use crate::state::AppState;

/// Who is calling: the merchant, its granted scopes, and (for phone-bound tokens) the subscriber.
#[derive(Debug, Clone)]
pub struct Caller {
    pub merchant_id: String,
    pub scopes: Vec<String>,
    /// Set by 3-legged (phone-bound) tokens; `None` for client-credentials tokens.
    pub msisdn: Option<Msisdn>,
}

impl Caller {
    /// 403 `PERMISSION_DENIED` unless the token carries `scope`.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::PermissionDenied,
                format!("The access token lacks the scope '{scope}'."),
            ))
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let unauthenticated = || ApiError::of(ErrorCode::Unauthenticated);
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::of(ErrorCode::Internal))?;
    // The limits middleware has verified the token already on the merchant APIs: once per request.
    let verified = req
        .extensions()
        .get::<VerifiedClaims>()
        .map(|v| v.0.clone());
    let claims = match verified {
        Some(claims) => claims,
        None => {
            let token = bearer(req).ok_or_else(unauthenticated)?;
            state.tokens.verify(token).ok_or_else(unauthenticated)?
        }
    };
    // A merchant removed from configuration loses access at once, whatever its tokens say.
    state
        .merchants()
        .by_id(&claims.sub)
        .ok_or_else(unauthenticated)?;
    // A phone-bound (CIBA) token names its subscriber; a malformed number voids the token.
    let msisdn = match claims.msisdn.as_deref() {
        Some(number) => Some(Msisdn::parse(number).ok_or_else(unauthenticated)?),
        None => None,
    };
    Ok(Caller {
        merchant_id: claims.sub.clone(),
        scopes: claims
            .scope
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        msisdn,
    })
}

impl FromRequest for Caller {
    type Error = HttpError;
    type Future = Ready<Result<Caller, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(authenticate(req).map_err(HttpError))
    }
}
