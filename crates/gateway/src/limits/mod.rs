//! Limits (request flow step 3): per-merchant rate limits (429), per-channel rate limits (503),
//! and per-subscriber spending limits (PSD2; 422), reserved atomically in the store.

mod config;
mod rate;
pub mod spend;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use switchboard_core::{ApiError, ErrorCode};

pub use config::{LimitsConfig, RateLimit, SpendLimits};
pub use rate::{retry_after_secs, KeyedLimits, RateLimits};

use crate::auth::VerifiedClaims;
use crate::http::HttpError;
use crate::state::AppState;

/// The merchant APIs the per-merchant rate limit covers. `/oauth2/token` is not one: a token is
/// needed to know the merchant, and issuing one charges nobody.
fn is_merchant_api(path: &str) -> bool {
    ["/carrier-billing", "/telecom/", "/esim/", "/webhooks"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// Requests whose shared (store) rate-limit step is taken inside the payment claim, in the same
/// round trip (see [`crate::operation`]): creating a payment or a reservation.
fn counted_in_claim(req: &ServiceRequest) -> bool {
    let path = req.path();
    req.method() == Method::POST
        && path.starts_with(crate::api::carrier_billing::BASE_PATH)
        && (path.ends_with("/payments") || path.ends_with("/payments/prepare"))
}

fn bearer(req: &ServiceRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The 429 of a merchant over its quota.
pub fn merchant_limited(wait: std::time::Duration) -> ApiError {
    let secs = retry_after_secs(wait);
    ApiError::new(
        ErrorCode::TooManyRequests,
        format!("Rate limit reached. Retry after {secs} s."),
    )
    .retry_after(secs)
}

/// Middleware: verifies the bearer token once (the claims go to the request's extensions for the
/// [`crate::auth::Caller`] extractor) and applies the merchant's rate limit (429 `TOO_MANY_REQUESTS`
/// with `Retry-After`) before the handler runs. Requests without a valid token pass through: the
/// handler answers 401.
pub async fn rate_limit<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        let claims = is_merchant_api(req.path())
            .then(|| bearer(&req).and_then(|t| state.tokens.verify(t)))
            .flatten();
        if let Some(claims) = claims {
            let merchant = claims.sub.clone();
            req.extensions_mut().insert(VerifiedClaims(claims));
            let limited = match state.limits().merchants.check(&merchant) {
                Err(wait) => Some(wait),
                Ok(()) if counted_in_claim(&req) => None,
                Ok(()) => state
                    .limits()
                    .check_shared(state.store.as_ref(), &merchant)
                    .await
                    .err(),
            };
            if let Some(wait) = limited {
                let error = merchant_limited(wait);
                state
                    .observe
                    .limit_refused(crate::observe::Limit::MerchantRate);
                tracing::info!(merchant = %merchant, retry_after = error.retry_after_secs, "merchant rate limit");
                let response = HttpError(error).error_response();
                return Ok(req.into_response(response).map_into_right_body());
            }
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}
