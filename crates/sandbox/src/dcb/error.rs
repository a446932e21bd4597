//! The aggregator's error answers: `{"result":"FAILED","error":{"code","message"}}`.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// An error in the aggregator's own vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DcbError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl DcbError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "E_INVALID_REQUEST", message)
    }

    pub fn signature(message: impl Into<String>) -> Self {
        Self::new(401, "E_SIGNATURE", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "E_NOT_FOUND", message)
    }

    /// The aggregator's code for one of the shared table's refusals (keyed by the CAMARA code the
    /// table carries).
    pub fn refusal(camara_code: &str) -> Self {
        match camara_code {
            "CARRIER_BILLING.PAYMENT_DENIED" => {
                Self::new(402, "E_CHARGE_DENIED", "Charge denied by the carrier")
            }
            "CARRIER_BILLING.UNAUTHORIZED_AMOUNT" => {
                Self::new(402, "E_SPEND_LIMIT", "Subscriber spending limit reached")
            }
            "IDENTIFIER_NOT_FOUND" => Self::new(404, "E_UNKNOWN_MSISDN", "MSISDN not known"),
            _ => Self::new(422, "E_NOT_ELIGIBLE", "Subscriber not eligible for DCB"),
        }
    }
}

impl fmt::Display for DcbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl ResponseError for DcbError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(json!({
            "result": "FAILED",
            "error": {"code": self.code, "message": self.message},
        }))
    }
}
