//! A simulated Ideabiz-style carrier-billing platform (Dialog LK's API
//! platform: a WSO2 API manager in front of the billing system).
//!
//! Differences from the CAMARA-native operators, all deliberate:
//!
//! - **Auth**: OAuth2 *password* grant with the application's consumer
//!   key/secret as HTTP Basic, answering an access token **and** a refresh
//!   token. A refresh grant rotates the pair: the old refresh token stops
//!   working and the old access token is revoked. A dead access token gets
//!   the WSO2 fault body (`{"fault":{"code":900901,...}}`), not a CAMARA error.
//! - **Charges**: `POST /{id}/carrier-billing/v1/payments` with
//!   `phoneNumber = "tel:94…"` (no `+`); the answer carries
//!   `amountTransaction.transactionOperationStatus` (`Charged`, `processing`,
//!   `Denied`).
//! - **Duplicates are refused, not replayed**: a second request with a used
//!   `clientCorrelator` gets 409 and nothing is charged again.
//! - **Status queries**: the published API has none; this platform offers
//!   `GET …/payments/{paymentId}` and `GET …/payments?clientCorrelator=…`.
//!
//! See the crate README for the digit table and every endpoint.

mod auth;
mod outcome;
mod payment;
mod request;
mod routes;
mod store;

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde_json::json;

pub use store::Store;

use crate::error::ApiError;

/// Base path of the Carrier Billing API under each Ideabiz platform.
pub const IDEABIZ_CARRIER_BILLING_PATH: &str = "/carrier-billing/v1";
/// Token endpoint below each Ideabiz platform.
pub const IDEABIZ_TOKEN_PATH: &str = "/token";

/// Registers the platform routes inside the `/{op}` scope.
pub fn configure(scope: &mut web::ServiceConfig) {
    scope
        .route(IDEABIZ_TOKEN_PATH, web::post().to(auth::token))
        .service(
            web::scope(IDEABIZ_CARRIER_BILLING_PATH)
                .route("/payments", web::post().to(routes::create_payment))
                .route("/payments", web::get().to(routes::find_payment))
                .route(
                    "/payments/{paymentId}",
                    web::get().to(routes::retrieve_payment),
                ),
        );
}

/// An error as the platform answers it: a business error in the
/// `{code, status, message}` form, or a WSO2 gateway fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdeabizError {
    Api(ApiError),
    /// `401 {"fault":{"code","message","description"}}`.
    Fault {
        code: u32,
        message: &'static str,
        description: &'static str,
    },
}

impl IdeabizError {
    /// 401 900901: an expired or revoked access token.
    pub fn token_expired() -> Self {
        Self::Fault {
            code: 900901,
            message: "Invalid Credentials",
            description: "Access token expired",
        }
    }

    /// 401 900901: a token the platform never issued (or long forgotten).
    pub fn token_invalid() -> Self {
        Self::Fault {
            code: 900901,
            message: "Invalid Credentials",
            description: "Access token is not valid. Make sure you have provided the correct security credentials",
        }
    }

    /// 401 900902: no bearer token at all.
    pub fn token_missing() -> Self {
        Self::Fault {
            code: 900902,
            message: "Missing Credentials",
            description: "Required OAuth credentials not provided. Make sure your API invocation call has a header: 'Authorization : Bearer ACCESS_TOKEN'",
        }
    }
}

impl From<ApiError> for IdeabizError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl fmt::Display for IdeabizError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api(error) => error.fmt(f),
            Self::Fault {
                code, description, ..
            } => write!(f, "401 fault {code}: {description}"),
        }
    }
}

impl ResponseError for IdeabizError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Api(error) => error.status_code(),
            Self::Fault { .. } => StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Api(error) => error.error_response(),
            Self::Fault {
                code,
                message,
                description,
            } => HttpResponse::Unauthorized()
                .insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "OAuth2 realm=\"WSO2 API Manager\", error=\"invalid_token\"",
                    ),
                ))
                .json(json!({"fault": {
                    "code": code,
                    "message": message,
                    "description": description,
                }})),
        }
    }
}
