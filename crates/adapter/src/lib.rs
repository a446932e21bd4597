//! The contract between Switchboard and an upstream API style.
//!
//! An adapter crate (under `adapters/`) implements [`Adapter`] and exposes one factory function; the
//! gateway registers that factory under the adapter's kind in one line (see [`AdapterRegistry`]).

mod capability;
mod channel;
mod error;
mod http;
mod registry;
mod token;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::{PaymentRecord, PaymentStatus, ValidationInfo};

pub use capability::{Capabilities, Capability};
pub use channel::{ChannelSettings, Credentials, Timeouts};
pub use error::{AdapterBuildError, AdapterError};
pub use http::{classify_send_error, UpstreamHttp};
pub use registry::{AdapterFactory, AdapterRegistry};
pub use token::{CachedToken, TokenCache};

/// What the operator says about one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamPayment {
    /// The operator's own id for the payment, when it gave one.
    pub upstream_id: Option<String>,
    pub status: PaymentStatus,
    pub server_reference_code: Option<String>,
    pub validation_info: Option<ValidationInfo>,
    pub payment_date: Option<DateTime<Utc>>,
    pub denial_reason: Option<String>,
}

impl UpstreamPayment {
    pub fn with_status(status: PaymentStatus) -> Self {
        UpstreamPayment {
            upstream_id: None,
            status,
            server_reference_code: None,
            validation_info: None,
            payment_date: None,
            denial_reason: None,
        }
    }
}

/// One upstream API style. Every call gets the whole stored payment, so an adapter can rebuild any
/// upstream request from it (for example a status query that replays the original, idempotent request).
///
/// Operations a style does not offer keep the default body, which answers [`AdapterError::Unsupported`].
#[async_trait]
pub trait Adapter: Send + Sync + 'static {
    /// The adapter kind, as written in channel configuration (`"camara"`).
    fn kind(&self) -> &'static str;

    /// What this style can do at all; a channel's configured capabilities are cut to this set.
    fn capabilities(&self) -> Capabilities;

    /// 1-step charge. The upstream idempotency key must be `payment.upstream_correlator`.
    async fn create_payment(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        let _ = payment;
        Err(AdapterError::Unsupported("one-step payment"))
    }

    /// 2-step: reserve the amount.
    async fn prepare_payment(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        let _ = payment;
        Err(AdapterError::Unsupported("two-step payment"))
    }

    /// 2-step: pass the subscriber's OTP on.
    async fn validate_payment(
        &self,
        payment: &PaymentRecord,
        authorization_id: &str,
        code: &str,
    ) -> Result<UpstreamPayment, AdapterError> {
        let _ = (payment, authorization_id, code);
        Err(AdapterError::Unsupported("payment validation"))
    }

    /// 2-step: charge the reserved amount.
    async fn confirm_payment(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        let _ = payment;
        Err(AdapterError::Unsupported("payment confirmation"))
    }

    /// 2-step: release the reservation.
    async fn cancel_payment(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        let _ = payment;
        Err(AdapterError::Unsupported("payment cancellation"))
    }

    /// The operator's current view of the payment. May complete the original request idempotently
    /// (replaying it with the same upstream `clientCorrelator`), but must never charge twice.
    async fn payment_status(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        let _ = payment;
        Err(AdapterError::Unsupported("payment status"))
    }
}
