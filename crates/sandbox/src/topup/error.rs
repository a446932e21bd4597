//! Errors as the provider answers them: `{"error": "<code>", "message": "…"}`.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// A provider error. `401` is answered as exactly `{"error":"unauthorized"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUpError {
    pub status: u16,
    pub error: &'static str,
    pub message: String,
}

impl TopUpError {
    pub fn new(status: u16, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            message: message.into(),
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(401, "unauthorized", "")
    }

    /// 404 `not_found` (an unknown path or provider).
    pub fn not_found() -> Self {
        Self::new(404, "not_found", "No such resource")
    }

    /// 404 `unknown_number`: no operator serves the number.
    pub fn unknown_number() -> Self {
        Self::new(404, "unknown_number", "No operator serves this number")
    }

    /// 404 `product_not_found`.
    pub fn product_not_found(id: &str) -> Self {
        Self::new(404, "product_not_found", format!("Unknown product '{id}'"))
    }

    /// 422 with the given code.
    pub fn unprocessable(error: &'static str, message: impl Into<String>) -> Self {
        Self::new(422, error, message)
    }
}

impl fmt::Display for TopUpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.error, self.message)
    }
}

impl ResponseError for TopUpError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let body = if self.status == 401 {
            json!({"error": self.error})
        } else {
            json!({"error": self.error, "message": self.message})
        };
        HttpResponse::build(self.status_code()).json(body)
    }
}
