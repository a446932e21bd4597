//! The one mapping from Switchboard errors to CAMARA `{status, code, message}`.
//!
//! Every error a merchant can see is an [`ApiError`]: an [`ErrorCode`] (which fixes the HTTP status and
//! the CAMARA code string) plus a human-readable message. Nothing else decides a status code.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($( $variant:ident => ($status:expr, $code:expr, $default:expr) ),+ $(,)?) => {
        /// Every CAMARA error code Switchboard can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode { $( $variant ),+ }

        impl ErrorCode {
            /// Every code, for tables and tests.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant ),+ ];

            /// The HTTP status this code is always answered with.
            pub fn status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status ),+ }
            }

            /// The CAMARA `code` string.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code ),+ }
            }

            /// The message used when nothing more specific is known.
            pub fn default_message(self) -> &'static str {
                match self { $( ErrorCode::$variant => $default ),+ }
            }

            /// Parses a CAMARA code string (as an upstream operator sends it).
            pub fn from_code(code: &str) -> Option<ErrorCode> {
                match code { $( $code => Some(ErrorCode::$variant), )+ _ => None }
            }
        }
    };
}

error_codes! {
    InvalidArgument => (400, "INVALID_ARGUMENT", "Client specified an invalid argument, request body or query param."),
    OutOfRange => (400, "OUT_OF_RANGE", "Client specified an invalid range."),
    InvalidSink => (400, "INVALID_SINK", "sink not valid for the specified protocol"),
    InvalidCredential => (400, "INVALID_CREDENTIAL", "Only Access token is supported"),
    InvalidToken => (400, "INVALID_TOKEN", "Only bearer token is supported"),
    InvalidDateRange => (400, "CARRIER_BILLING.INVALID_DATE_RANGE", "Client specified an invalid date range."),
    TooManyMatchingRecords => (400, "CARRIER_BILLING.TOO_MANY_MATCHING_RECORDS", "Too many matching records found. Specify additional/suitable criteria to limit the number of records."),
    InvalidAuthorizationId => (400, "CARRIER_BILLING.INVALID_AUTHORIZATION_ID", "Invalid authorizationId."),
    InvalidCode => (400, "CARRIER_BILLING.INVALID_CODE", "Invalid code."),
    ValidationFailed => (400, "CARRIER_BILLING.VALIDATION_FAILED", "The maximum number of attempts have been consumed for this validation."),
    Unauthenticated => (401, "UNAUTHENTICATED", "Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required."),
    PermissionDenied => (403, "PERMISSION_DENIED", "Client does not have sufficient permissions to perform this action."),
    PaymentDenied => (403, "CARRIER_BILLING.PAYMENT_DENIED", "Payment denied by business."),
    NotFound => (404, "NOT_FOUND", "The specified resource is not found."),
    IdentifierNotFound => (404, "IDENTIFIER_NOT_FOUND", "Device identifier not found."),
    MethodNotAllowed => (405, "METHOD_NOT_ALLOWED", "The requested method is not allowed/supported on the target resource."),
    AlreadyExists => (409, "ALREADY_EXISTS", "The resource that a client tried to create already exists."),
    PaymentConfirmed => (409, "CARRIER_BILLING.PAYMENT_CONFIRMED", "Payment has been confirmed."),
    PaymentCancelled => (409, "CARRIER_BILLING.PAYMENT_CANCELLED", "Payment has been cancelled."),
    Aborted => (409, "ABORTED", "Concurrency conflict."),
    Conflict => (409, "CONFLICT", "A resource with this key already exists with other content."),

    IncompatibleState => (409, "INCOMPATIBLE_STATE", "The resource is not in a state that allows this operation."),
    PayloadTooLarge => (413, "PAYLOAD_TOO_LARGE", "The request body is larger than the server accepts."),
    UnsupportedMediaType => (415, "UNSUPPORTED_MEDIA_TYPE", "The server refuses to accept the request because the payload format is in an unsupported format."),
    ServiceNotApplicable => (422, "SERVICE_NOT_APPLICABLE", "The service is not available for the provided identifier."),
    MissingIdentifier => (422, "MISSING_IDENTIFIER", "The device cannot be identified."),
    UnnecessaryIdentifier => (422, "UNNECESSARY_IDENTIFIER", "The device is already identified by the access token."),
    UnauthorizedAmount => (422, "CARRIER_BILLING.UNAUTHORIZED_AMOUNT", "Unauthorized amount requested."),
    UserAmountThresholdOverpassed => (422, "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED", "Unauthorized payment request. Accumulated user mobile payments overpass account amount threshold."),
    RefundInvalidDateRange => (400, "CARRIER_BILLING_REFUND.INVALID_DATE_RANGE", "Client specified an invalid date range."),
    RefundTooManyMatchingRecords => (400, "CARRIER_BILLING_REFUND.TOO_MANY_MATCHING_RECORDS", "Too many matching records found. Specify additional/suitable criteria to limit the number of records."),
    RefundDenied => (403, "CARRIER_BILLING_REFUND.REFUND_DENIED", "Refund denied by business."),
    PaymentNotEligibleForRefund => (403, "CARRIER_BILLING_REFUND.PAYMENT_NOT_ELIGIBLE_FOR_REFUND", "Payment not eligible for refund."),
    RefundUnauthorizedAmount => (422, "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT", "Unauthorized amount requested."),
    RefundUserAmountThresholdOverpassed => (422, "CARRIER_BILLING_REFUND.USER_AMOUNT_THRESHOLD_OVERPASSED", "Unauthorized refund request. Accumulated user mobile refunds overpass account amount threshold."),
    InvalidPaymentStatus => (422, "CARRIER_BILLING_REFUND.INVALID_PAYMENT_STATUS", "Payment is not yet completed."),
    TaxesManagementMismatch => (422, "CARRIER_BILLING_REFUND.TAXES_MANAGEMENT_MISMATCH", "Inconsistent isTaxIncluded value with regards to related payment."),
    RefundDetailsMismatch => (422, "CARRIER_BILLING_REFUND.REFUND_DETAILS_MISMATCH", "Inconsistent refundDetails information with regards to related payment."),
    TooManyRequests => (429, "TOO_MANY_REQUESTS", "Rate limit reached."),
    Internal => (500, "INTERNAL", "Unknown server error. Typically a server bug."),
    BadGateway => (502, "BAD_GATEWAY", "An upstream server returned an invalid response."),
    Unavailable => (503, "UNAVAILABLE", "Service unavailable. Try again later."),
    Timeout => (504, "TIMEOUT", "Request timeout exceeded."),
}

/// An error a client sees: `{status, code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{} {}: {message}", code.status(), code.as_str())]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds after which a retry may succeed (a rate limit or quota): the `Retry-After` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

/// The CAMARA `ErrorInfo` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// The same error, telling the client to retry after `secs` seconds.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// The error with its code's standard message.
    pub fn of(code: ErrorCode) -> Self {
        ApiError::new(code, code.default_message())
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidArgument, message)
    }

    pub fn not_found() -> Self {
        ApiError::of(ErrorCode::NotFound)
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    pub fn body(&self) -> ErrorInfo {
        ErrorInfo {
            status: self.code.status(),
            code: self.code.as_str().to_string(),
            message: self.message.clone(),
        }
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::of(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_has_a_sane_status() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.as_str()), Some(*code));
            assert!((400..=504).contains(&code.status()), "{code:?}");
        }
    }

    #[test]
    fn body_carries_status_code_and_message() {
        let e = ApiError::new(ErrorCode::PaymentDenied, "no");
        assert_eq!(
            e.body(),
            ErrorInfo {
                status: 403,
                code: "CARRIER_BILLING.PAYMENT_DENIED".into(),
                message: "no".into()
            }
        );
        assert_eq!(ApiError::of(ErrorCode::Unauthenticated).status(), 401);
    }

    #[test]
    fn unknown_codes_are_not_guessed() {
        assert_eq!(
            ErrorCode::from_code("CARRIER_BILLING.PHONE_NUMBER_REQUIRED"),
            None
        );
    }
}
