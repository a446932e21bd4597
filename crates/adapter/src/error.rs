//! How an upstream call can end, classified by what it proves about the money.

use switchboard_core::ApiError;

/// The result of an upstream call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// The operator answered with a definite refusal; nothing was charged. Carries the CAMARA error.
    #[error("refused upstream: {0}")]
    Refused(ApiError),
    /// The request never reached the operator (connection refused, no token); safe to try elsewhere.
    #[error("not sent upstream: {0}")]
    NotSent(String),
    /// The request may have been applied (timeout, 5xx, unreadable answer); settle by status query.
    #[error("upstream outcome unknown: {0}")]
    Unknown(String),
    /// The operator has no record of the payment (status queries only).
    #[error("payment unknown upstream")]
    NotFound,
    /// This style of upstream does not offer the operation.
    #[error("{0} is not offered by this channel")]
    Unsupported(&'static str),
}

/// A channel whose configuration an adapter cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel '{channel}': {reason}")]
pub struct AdapterBuildError {
    pub channel: String,
    pub reason: String,
}
