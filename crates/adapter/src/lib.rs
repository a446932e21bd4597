//! The contract between Switchboard and an upstream API style.
//!
//! An adapter crate (under `adapters/`) implements [`Adapter`] and exposes one factory function; the
//! gateway registers that factory under the adapter's kind in one line (see [`AdapterRegistry`]).

mod callback;
mod capability;
mod channel;
mod error;
mod http;
pub mod record;
mod registry;
mod rules;
pub mod sanitize;
pub mod signing;
#[cfg(feature = "test-support")]
pub mod testing;

mod token;

use async_trait::async_trait;
use switchboard_core::{
    EsimOrder, LookupResult, Msisdn, PaymentRecord, Product, RefundRecord, TopUpRecord,
};

pub use callback::{
    CallbackError, CallbackNotice, CallbackRef, CallbackRequest, CallbackSettings, CallbackTarget,
};
pub use capability::{Capabilities, Capability};
pub use channel::{ChannelRateLimit, ChannelSettings, CircuitSettings, Credentials, Timeouts};
pub use error::{AdapterBuildError, AdapterError};
pub use http::{classify_send_error, join_path, send_upstream, UpstreamHttp};
pub use registry::{AdapterFactory, AdapterRegistry};
pub use rules::{
    describe as describe_failure, ErrorRule, ErrorRules, FailedAnswer, RuleOutcome, StatusMatch,
};
pub use token::{CachedToken, TokenCache};

/// What an upstream says about a payment, a refund or a top-up (defined in core, beside the records
/// that take them in).
pub use switchboard_core::upstream::{UpstreamPayment, UpstreamRefund, UpstreamTopUp};

/// A consent request the operator is asking its subscriber about (CIBA, phone-bound tokens): the
/// operator's own id for it, opaque to Switchboard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConsentTicket(pub String);

/// Where a consent request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentState {
    /// The subscriber has not answered yet.
    Pending,
    Approved,
    Denied,
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

    /// Reads and verifies one inbound notification sent to `/callbacks/{channel}`. Verification comes
    /// first: anything not proven to come from the operator is [`CallbackError::Unauthenticated`].
    fn parse_callback(&self, request: &CallbackRequest) -> Result<CallbackNotice, CallbackError> {
        let _ = request;
        Err(CallbackError::Unsupported)
    }

    /// Fetches a fresh access token (or reuses the cached one), so a contract check can try the
    /// channel's credentials on their own. Styles that authenticate without a token keep the
    /// default.
    async fn fetch_token(&self) -> Result<(), AdapterError> {
        Err(AdapterError::Unsupported("access token"))
    }

    /// Called once when the gateway starts: registers Switchboard's callback address upstream where
    /// the style registers it per account (a top-up provider's `POST /webhooks`). Styles that pass
    /// the address with each request keep the default.
    async fn register_callbacks(&self) -> Result<(), AdapterError> {
        Ok(())
    }

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

    /// Refunds (part of) a succeeded `payment`. The upstream idempotency key must be
    /// `refund.upstream_correlator`, so a retry or a status query finds the same refund.
    async fn create_refund(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<UpstreamRefund, AdapterError> {
        let _ = (payment, refund);
        Err(AdapterError::Unsupported("refund"))
    }

    /// The operator's current view of the refund; may replay the original request idempotently,
    /// but must never refund twice.
    async fn refund_status(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<UpstreamRefund, AdapterError> {
        let _ = (payment, refund);
        Err(AdapterError::Unsupported("refund status"))
    }

    /// Which operator serves `msisdn` now, the line type, and what the line can buy.
    async fn lookup(&self, msisdn: &Msisdn) -> Result<LookupResult, AdapterError> {
        let _ = msisdn;
        Err(AdapterError::Unsupported("operator lookup"))
    }

    /// The channel's whole product catalogue, in Switchboard's terms (the gateway caches and
    /// merges it).
    async fn products(&self) -> Result<Vec<Product>, AdapterError> {
        Err(AdapterError::Unsupported("product catalogue"))
    }

    /// Credits the line. Must be idempotent upstream on `topup.upstream_reference`: a repeat finds
    /// the same upstream transaction and credits nothing more.
    async fn topup(&self, topup: &TopUpRecord) -> Result<UpstreamTopUp, AdapterError> {
        let _ = topup;
        Err(AdapterError::Unsupported("top-up"))
    }

    /// The provider's current view of the top-up. May repeat the original request idempotently
    /// (same `upstream_reference`) when no upstream id is known, but must never credit twice.
    async fn topup_status(&self, topup: &TopUpRecord) -> Result<UpstreamTopUp, AdapterError> {
        let _ = topup;
        Err(AdapterError::Unsupported("top-up status"))
    }

    /// Asks the subscriber (through the operator's own channel: SMS, USSD, app) to consent to
    /// `scopes` for a phone-bound token.
    async fn request_consent(
        &self,
        msisdn: &Msisdn,
        scopes: &[String],
    ) -> Result<ConsentTicket, AdapterError> {
        let _ = (msisdn, scopes);
        Err(AdapterError::Unsupported("subscriber consent"))
    }

    /// Whether the subscriber has answered a consent request.
    async fn consent_status(&self, ticket: &ConsentTicket) -> Result<ConsentState, AdapterError> {
        let _ = ticket;
        Err(AdapterError::Unsupported("subscriber consent"))
    }

    /// Orders an eSIM loaded with `product_id`; `reference` is the upstream idempotency key.
    async fn esim_order(
        &self,
        product_id: &str,
        reference: &str,
    ) -> Result<EsimOrder, AdapterError> {
        let _ = (product_id, reference);
        Err(AdapterError::Unsupported("eSIM order"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct PaymentsOnly;

    #[async_trait]
    impl Adapter for PaymentsOnly {
        fn kind(&self) -> &'static str {
            "payments-only"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::of(&[Capability::Payment])
        }
    }

    #[tokio::test]
    async fn top_up_operations_default_to_unsupported() {
        let a = PaymentsOnly;
        let msisdn = Msisdn::parse("+79161234567").unwrap();
        let record: TopUpRecord = serde_json::from_value(serde_json::json!({
            "id": "t1", "merchant_id": "m", "external_tx_id": "x", "msisdn": "+79161234567",
            "product_id": "p", "operator_id": "mts-ru", "channel_id": null, "amount": 1,
            "currency": "RUB", "status": "pending", "upstream_reference": "sb-t1",
            "upstream_tx_id": null, "operator_tx_id": null, "credited": null, "failure_reason": null,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "completed_at": null, "fingerprint": "f", "version": 1
        }))
        .unwrap();
        let unsupported = |e: AdapterError| matches!(e, AdapterError::Unsupported(_));
        assert!(unsupported(a.lookup(&msisdn).await.unwrap_err()));
        assert!(unsupported(a.products().await.unwrap_err()));
        assert!(unsupported(a.topup(&record).await.unwrap_err()));
        assert!(unsupported(a.topup_status(&record).await.unwrap_err()));
        assert!(unsupported(a.esim_order("p", "r").await.unwrap_err()));
    }
}
