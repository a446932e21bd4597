//! Limits (request flow step 3): per-merchant rate limits (429), per-channel rate limits (503),
//! and per-subscriber spending limits (PSD2; 422), reserved atomically in the store.

mod config;
mod rate;
pub mod spend;

use std::cell::Cell;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use switchboard_core::{ApiError, ErrorCode};

pub use config::{LimitsConfig, RateLimit, SpendLimits};
pub use rate::{retry_after_secs, KeyedLimits, RateLimits};

use crate::http::HttpError;
use crate::state::AppState;

tokio::task_local! {
    /// Seconds for a `Retry-After` header, set while a request is handled (per-channel limits).
    static RETRY_AFTER_SECS: Cell<Option<u64>>;
}

/// Asks for `Retry-After: secs` on the response of the request being handled.
pub fn set_retry_after(secs: u64) {
    let _ = RETRY_AFTER_SECS.try_with(|cell| {
        cell.set(Some(cell.get().map_or(secs, |s| s.min(secs))));
    });
}

/// The merchant APIs the per-merchant rate limit covers. `/oauth2/token` is not one: a token is
/// needed to know the merchant, and issuing one charges nobody.
fn is_merchant_api(path: &str) -> bool {
    ["/carrier-billing", "/telecom/", "/esim/", "/webhooks"]
        .iter()
        .any(|p| path.starts_with(p))
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

/// Middleware: the merchant's rate limit (429 `TOO_MANY_REQUESTS` + `Retry-After`) before the
/// handler runs, and the `Retry-After` a handler asked for (per-channel limits) on the way out.
/// Requests without a valid token pass through: the handler answers 401.
pub async fn rate_limit<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        let merchant = is_merchant_api(req.path())
            .then(|| bearer(&req).and_then(|t| state.tokens.verify(t)))
            .flatten()
            .map(|claims| claims.sub);
        if let Some(merchant) = merchant {
            if let Err(wait) = state
                .limits
                .check_merchant(state.store.as_ref(), &merchant)
                .await
            {
                let secs = retry_after_secs(wait);
                tracing::info!(merchant = %merchant, retry_after = secs, "merchant rate limit");
                let error = HttpError(ApiError::new(
                    ErrorCode::TooManyRequests,
                    format!("Rate limit reached. Retry after {secs} s."),
                ));
                let mut response = error.error_response();
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(secs));
                return Ok(req.into_response(response).map_into_right_body());
            }
        }
    }
    let (res, retry) = RETRY_AFTER_SECS
        .scope(Cell::new(None), async {
            let res = next.call(req).await;
            (res, RETRY_AFTER_SECS.with(Cell::get))
        })
        .await;
    let mut res = res?;
    if let Some(secs) = retry {
        res.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    Ok(res.map_into_left_body())
}
