//! An eSIM order as Switchboard keeps it: the merchant's `external_order_id` is its idempotency key,
//! and the reference sent upstream is derived from Switchboard's own id, so sending it again after
//! an unknown outcome finds the same order at the provider instead of buying a second eSIM.
//!
//! ```text
//! sending -> ordered | failed | unknown
//! unknown -> ordered | failed | unknown   (a merchant's retry sends it again)
//! ordered, failed: terminal
//! ```

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::fingerprint::fingerprint;
use crate::topup::EsimOrder;

/// Where an eSIM order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EsimOrderStatus {
    /// Claimed; the order may be on its way to the provider.
    Sending,
    /// The provider may or may not have it (no answer in time, or no channel reached): sent again,
    /// under the same reference, when the merchant retries.
    Unknown,
    /// The provider made the profile: `qr_code` is set.
    Ordered,
    /// Refused by the provider, or before anything was sent for a reason a retry cannot change.
    Failed,
}

impl EsimOrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EsimOrderStatus::Sending => "sending",
            EsimOrderStatus::Unknown => "unknown",
            EsimOrderStatus::Ordered => "ordered",
            EsimOrderStatus::Failed => "failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, EsimOrderStatus::Ordered | EsimOrderStatus::Failed)
    }
}

impl fmt::Display for EsimOrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A merchant's request for an eSIM profile.
#[derive(Debug, Clone, Serialize)]
pub struct NewEsimOrder {
    pub merchant_id: String,
    pub product_id: String,
    /// The merchant's idempotency key; without one every request is a new order.
    pub external_order_id: Option<String>,
}

/// Everything Switchboard stores about one eSIM order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EsimOrderRecord {
    /// Switchboard's order id (`esim_<32 hex>`).
    pub id: String,
    pub merchant_id: String,
    pub external_order_id: Option<String>,
    pub product_id: String,
    pub operator_id: String,
    pub channel_id: Option<String>,
    pub status: EsimOrderStatus,
    /// The `external_order_id` sent upstream ([`EsimOrderRecord::upstream_reference_for`]).
    pub upstream_reference: String,
    /// What the provider answered, once it did.
    pub order: Option<EsimOrder>,
    /// Why it failed or is unknown, as the merchant was told.
    pub failure: Option<ApiError>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// While `sending`, until when the first request is taken to be on its way: a retry after it
    /// sends the order again (the process that claimed it may have died mid-call).
    pub resend_after: DateTime<Utc>,
    /// Hash of the request that created it; a retry with another body is refused.
    pub fingerprint: String,
    /// Bumped by every write; the store's compare-and-set checks it.
    pub version: u64,
}

impl EsimOrderRecord {
    /// The upstream `external_order_id` for a Switchboard order id.
    pub fn upstream_reference_for(id: &str) -> String {
        format!("sb-{id}")
    }

    /// A new order, claimed and about to be sent; a retry may send it again from `resend_after`.
    pub fn claimed(
        req: NewEsimOrder,
        operator_id: String,
        now: DateTime<Utc>,
        resend_after: DateTime<Utc>,
    ) -> Self {
        let id = format!("esim_{}", uuid::Uuid::new_v4().simple());
        EsimOrderRecord {
            fingerprint: fingerprint(&(&req.product_id, &req.external_order_id)),
            upstream_reference: Self::upstream_reference_for(&id),
            id,
            merchant_id: req.merchant_id,
            external_order_id: req.external_order_id,
            product_id: req.product_id,
            operator_id,
            channel_id: None,
            status: EsimOrderStatus::Sending,
            order: None,
            failure: None,
            created_at: now,
            updated_at: now,
            resend_after,
            version: 1,
        }
    }

    /// The key the store claims for the merchant: the merchant's own, or (none given) the id,
    /// which nobody else can send.
    pub fn claim_key(&self) -> &str {
        self.external_order_id.as_deref().unwrap_or(&self.id)
    }

    /// Whether the request that sent it may still be waiting for the provider's answer.
    pub fn in_flight(&self, now: DateTime<Utc>) -> bool {
        self.status == EsimOrderStatus::Sending && now < self.resend_after
    }

    /// Whether a retry sends it again: no answer is known, and nobody is still waiting for one.
    pub fn needs_resend(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            EsimOrderStatus::Unknown => true,
            EsimOrderStatus::Sending => !self.in_flight(now),
            EsimOrderStatus::Ordered | EsimOrderStatus::Failed => false,
        }
    }

    /// The provider made the profile.
    pub fn take_order(&mut self, order: &EsimOrder, now: DateTime<Utc>) {
        self.status = EsimOrderStatus::Ordered;
        self.order = Some(order.clone());
        self.failure = None;
        self.updated_at = now;
    }

    /// Refused with `error`. Nothing reached a provider (503) or no answer came: kept `unknown`, so
    /// a retry sends it again; anything else is final.
    pub fn refuse(&mut self, error: &ApiError, now: DateTime<Utc>) {
        self.status = match error.code {
            ErrorCode::Unavailable | ErrorCode::Timeout => EsimOrderStatus::Unknown,
            _ => EsimOrderStatus::Failed,
        };
        self.failure = Some(error.clone());
        self.updated_at = now;
    }

    /// Sent, with no answer in time.
    pub fn outcome_unknown(&mut self, now: DateTime<Utc>) {
        self.status = EsimOrderStatus::Unknown;
        self.failure = Some(ApiError::new(
            ErrorCode::Timeout,
            "The provider did not answer in time. Retry with the same external_order_id.",
        ));
        self.updated_at = now;
    }

    /// 409: the request that sent it may still be waiting for the provider.
    pub fn still_in_progress() -> ApiError {
        ApiError::new(
            ErrorCode::Aborted,
            "The order with this external_order_id is still in progress. Retry later.",
        )
    }

    /// What the merchant is answered: the order, or why there is none (yet).
    pub fn answer(&self) -> Result<&EsimOrder, ApiError> {
        match (self.status, &self.order, &self.failure) {
            (EsimOrderStatus::Ordered, Some(order), _) => Ok(order),
            (EsimOrderStatus::Sending, _, _) => Err(Self::still_in_progress()),
            (_, _, Some(failure)) => Err(failure.clone()),
            _ => Err(ApiError::of(ErrorCode::Internal)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(external: Option<&str>) -> EsimOrderRecord {
        EsimOrderRecord::claimed(
            NewEsimOrder {
                merchant_id: "m".into(),
                product_id: "p".into(),
                external_order_id: external.map(str::to_string),
            },
            "orange-fr".into(),
            Utc::now(),
            Utc::now() + chrono::Duration::seconds(5),
        )
    }

    fn order() -> EsimOrder {
        EsimOrder {
            order_id: "up-1".into(),
            status: "completed".into(),
            product_id: "p".into(),
            iccid: Some("8900000000000000001".into()),
            qr_code: "LPA:1$smdp.example.test$ABC-1".into(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn the_upstream_reference_and_the_claim_key_follow_from_the_ids() {
        let r = record(Some("order-7"));
        assert!(r.id.starts_with("esim_") && r.id.len() == 37, "{}", r.id);
        assert_eq!(r.upstream_reference, format!("sb-{}", r.id));
        assert_eq!(r.claim_key(), "order-7");
        let anonymous = record(None);
        assert_eq!(anonymous.claim_key(), anonymous.id);
    }

    #[test]
    fn the_fingerprint_covers_product_and_key() {
        let a = record(Some("k"));
        let mut other = NewEsimOrder {
            merchant_id: "m".into(),
            product_id: "q".into(),
            external_order_id: Some("k".into()),
        };
        let b = EsimOrderRecord::claimed(other.clone(), "x".into(), Utc::now(), Utc::now());
        assert_ne!(a.fingerprint, b.fingerprint);
        other.product_id = "p".into();
        let c = EsimOrderRecord::claimed(other, "x".into(), Utc::now(), Utc::now());
        assert_eq!(a.fingerprint, c.fingerprint);
    }

    #[test]
    fn a_sending_order_is_resent_once_its_sender_may_be_gone() {
        let r = record(Some("k"));
        assert!(r.in_flight(r.created_at) && !r.needs_resend(r.created_at));
        let later = r.resend_after;
        assert!(!r.in_flight(later) && r.needs_resend(later));
    }

    #[test]
    fn unreached_and_unanswered_orders_stay_resendable_refusals_are_final() {
        let now = Utc::now();
        let mut r = record(Some("k"));
        assert_eq!(r.answer().unwrap_err().code, ErrorCode::Aborted);
        r.refuse(&ApiError::of(ErrorCode::Unavailable), now);
        assert_eq!(r.status, EsimOrderStatus::Unknown);
        assert!(r.needs_resend(now));
        assert_eq!(r.answer().unwrap_err().code, ErrorCode::Unavailable);
        r.outcome_unknown(now);
        assert_eq!(r.answer().unwrap_err().code, ErrorCode::Timeout);
        r.refuse(&ApiError::of(ErrorCode::ServiceNotApplicable), now);
        assert_eq!(r.status, EsimOrderStatus::Failed);
        assert!(r.status.is_terminal() && !r.needs_resend(now));
        assert_eq!(
            r.answer().unwrap_err().code,
            ErrorCode::ServiceNotApplicable
        );
        r.take_order(&order(), now);
        assert_eq!(r.answer().map(|o| o.order_id.as_str()), Ok("up-1"));
        assert_eq!(r.failure, None);
    }
}
