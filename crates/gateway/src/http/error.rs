//! The one place an [`ApiError`] becomes an HTTP response.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use switchboard_core::{ApiError, ErrorCode};

/// An [`ApiError`] on its way out as `{status, code, message}`.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        HttpError(e)
    }
}

impl From<ErrorCode> for HttpError {
    fn from(code: ErrorCode) -> Self {
        HttpError(ApiError::of(code))
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(secs) = self.0.retry_after_secs {
            response.insert_header((actix_web::http::header::RETRY_AFTER, secs));
        }
        response.json(self.0.body())
    }
}

/// Default service: unknown paths are a CAMARA 404.
pub async fn not_found_route() -> Result<HttpResponse, HttpError> {
    Err(HttpError(ApiError::new(
        ErrorCode::NotFound,
        "No such resource.",
    )))
}
