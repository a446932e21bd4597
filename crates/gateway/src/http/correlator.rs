//! `x-correlator`: validated on every request, echoed (or minted) on every response, errors included.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};
use switchboard_core::{correlator, ApiError};
use tracing::Instrument;

use super::HttpError;

pub const X_CORRELATOR: HeaderName = HeaderName::from_static("x-correlator");

/// The request's correlator, available to handlers through request extensions.
#[derive(Debug, Clone)]
pub struct CorrelatorId(pub String);

pub async fn x_correlator<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let given = req
        .headers()
        .get(&X_CORRELATOR)
        .map(|v| v.to_str().map(str::to_string));
    let value = match given {
        Some(Ok(v)) if correlator::is_valid(&v) && !v.is_empty() => v,
        Some(Ok(v)) if v.is_empty() => uuid::Uuid::new_v4().to_string(),
        None => uuid::Uuid::new_v4().to_string(),
        Some(_) => {
            // An invalid correlator is a 400 before anything else; a fresh one goes back with it.
            let error = HttpError(ApiError::invalid_argument(
                "x-correlator must match ^[a-zA-Z0-9-_:;.\\/<>{}]{0,256}$",
            ));
            let mut response = error.error_response();
            set_header(response.headers_mut(), &uuid::Uuid::new_v4().to_string());
            return Ok(req.into_response(response).map_into_right_body());
        }
    };
    req.extensions_mut().insert(CorrelatorId(value.clone()));
    let span = tracing::info_span!("request", method = %req.method(), path = %req.path(), correlator = %value);
    let mut res = next.call(req).instrument(span).await?;
    set_header(res.headers_mut(), &value);
    Ok(res.map_into_left_body())
}

/// The correlator the middleware settled on for this request.
pub fn correlator_of(req: &actix_web::HttpRequest) -> Option<String> {
    req.extensions().get::<CorrelatorId>().map(|c| c.0.clone())
}

fn set_header(headers: &mut actix_web::http::header::HeaderMap, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(X_CORRELATOR, v);
    }
}
