//! Validated requests for new resources, and the records they start as when claimed.
//!
//! A claimed record is `Submitting` (top-ups: `pending`) at version 1, with the fingerprint of its
//! request and `next_check_at` set to when reconciliation takes it over should this process die
//! during the upstream call.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::fingerprint::fingerprint;
use crate::money::Amount;
use crate::msisdn::Msisdn;
use crate::payment::{ChargingInformation, PaymentAmount, PaymentFlow, PaymentRecord, Phase};
use crate::refund::{RefundItem, RefundRecord, RefundStatus, RefundType};
use crate::sink::{Sink, SinkCredential};
use crate::state::PaymentStatus;
use crate::topup::{Product, TopUpRecord, TopUpStatus};

/// A validated request for a new payment (1-step) or reservation (2-step).
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub merchant_id: String,
    pub flow: PaymentFlow,
    pub msisdn: Msisdn,
    pub payment_amount: PaymentAmount,
    pub reference_code: String,
    pub client_correlator: Option<String>,
    pub sink: Option<Sink>,
    pub sink_credential: Option<SinkCredential>,
    /// The request's `x-correlator`, passed on with the payment's notifications.
    pub correlator: Option<String>,
}

impl NewPayment {
    /// What the request asks for (not its formatting: `1.50` and `1.5` are the same amount).
    pub fn fingerprint(&self) -> String {
        #[derive(Serialize)]
        struct Asked<'a> {
            flow: PaymentFlow,
            msisdn: &'a Msisdn,
            payment_amount: &'a PaymentAmount,
            reference_code: &'a str,
            client_correlator: Option<&'a str>,
            sink: Option<&'a Sink>,
        }
        fingerprint(&Asked {
            flow: self.flow,
            msisdn: &self.msisdn,
            payment_amount: &self.payment_amount,
            reference_code: &self.reference_code,
            client_correlator: self.client_correlator.as_deref(),
            sink: self.sink.as_ref(),
        })
    }
}

impl PaymentRecord {
    /// The payment `req` starts as, at `operator_id`.
    pub fn claimed(
        req: NewPayment,
        operator_id: String,
        now: DateTime<Utc>,
        takeover_at: DateTime<Utc>,
    ) -> PaymentRecord {
        let id = uuid::Uuid::new_v4().to_string();
        PaymentRecord {
            fingerprint: req.fingerprint(),
            upstream_correlator: PaymentRecord::upstream_correlator_for(&id),
            id,
            merchant_id: req.merchant_id,
            flow: req.flow,
            phase: Phase::Submitting,
            status: PaymentStatus::Processing,
            version: 1,
            msisdn: req.msisdn,
            operator_id,
            channel_id: None,
            client_correlator: req.client_correlator,
            reference_code: req.reference_code,
            payment_amount: req.payment_amount,
            upstream_id: None,
            server_reference_code: None,
            validation_info: None,
            validation_attempts: 0,
            pending_action: None,
            sink: req.sink,
            sink_credential: req.sink_credential,
            correlator: req.correlator,
            created_at: now,
            updated_at: now,
            payment_date: None,
            denial_reason: None,
            needs_review: false,
            reconcile_attempts: 0,
            next_check_at: Some(takeover_at),
        }
    }
}

/// A validated refund request for one of the merchant's payments.
#[derive(Debug, Clone, Serialize)]
pub struct NewRefund {
    pub kind: RefundType,
    pub charging_information: Option<ChargingInformation>,
    pub merchant_identifier: Option<String>,
    pub refund_details: Option<Vec<RefundItem>>,
    pub reason: Option<String>,
    pub client_correlator: Option<String>,
    pub reference_code: String,
    pub sink: Option<Sink>,
    #[serde(skip)]
    pub sink_credential: Option<SinkCredential>,
    /// The request's `x-correlator`, passed on with the refund's notifications.
    #[serde(skip)]
    pub correlator: Option<String>,
}

impl RefundRecord {
    /// The refund `req` starts as, of `payment` over the channel `channel_id`. A total refund asks
    /// for the whole payment here; the claim narrows it to what is left.
    pub fn claimed(
        payment: &PaymentRecord,
        req: NewRefund,
        channel_id: String,
        now: DateTime<Utc>,
        takeover_at: DateTime<Utc>,
    ) -> RefundRecord {
        let id = uuid::Uuid::new_v4().to_string();
        let paid = &payment.payment_amount.charging_information;
        RefundRecord {
            fingerprint: fingerprint(&(&payment.id, &req)),
            upstream_correlator: RefundRecord::upstream_correlator_for(&id),
            id,
            merchant_id: payment.merchant_id.clone(),
            payment_id: payment.id.clone(),
            refund_type: req.kind,
            amount: req
                .charging_information
                .as_ref()
                .map_or(paid.amount, |i| i.amount),
            currency: paid.currency.clone(),
            charging_information: req.charging_information,
            merchant_identifier: req.merchant_identifier,
            refund_details: req.refund_details,
            reason: req.reason,
            client_correlator: req.client_correlator,
            reference_code: req.reference_code,
            phase: Phase::Submitting,
            status: RefundStatus::Processing,
            channel_id: Some(channel_id),
            upstream_id: None,
            sink: req.sink,
            sink_credential: req.sink_credential,
            correlator: req.correlator,
            created_at: now,
            updated_at: now,
            refund_date: None,
            denial_reason: None,
            version: 1,
            next_check_at: Some(takeover_at),
            reconcile_attempts: 0,
            needs_review: false,
        }
    }
}

/// A validated top-up request. `external_tx_id` is the merchant's idempotency key.
#[derive(Debug, Clone)]
pub struct NewTopUp {
    pub merchant_id: String,
    pub msisdn: Msisdn,
    pub product_id: String,
    pub external_tx_id: String,
    pub amount: Option<Amount>,
}

impl TopUpRecord {
    /// The top-up `req` starts as: `product` for `amount` (already checked against it), at
    /// `operator_id`, first over `channel_id`.
    pub fn claimed(
        req: NewTopUp,
        product: &Product,
        amount: Amount,
        operator_id: String,
        channel_id: String,
        now: DateTime<Utc>,
        takeover_at: DateTime<Utc>,
    ) -> TopUpRecord {
        let id = format!("tx_{}", uuid::Uuid::new_v4().simple());
        TopUpRecord {
            fingerprint: fingerprint(&(req.msisdn.as_str(), &product.id, amount)),
            upstream_reference: TopUpRecord::upstream_reference_for(&id),
            id,
            merchant_id: req.merchant_id,
            external_tx_id: req.external_tx_id,
            msisdn: req.msisdn,
            product_id: product.id.clone(),
            operator_id,
            channel_id: Some(channel_id),
            amount,
            currency: product.currency.clone(),
            status: TopUpStatus::Pending,
            upstream_tx_id: None,
            operator_tx_id: None,
            credited: None,
            failure_reason: None,
            created_at: now,
            updated_at: now,
            completed_at: None,
            version: 1,
            reconcile_attempts: 0,
            next_check_at: Some(takeover_at),
            needs_review: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(json: &str) -> PaymentAmount {
        serde_json::from_str(json).unwrap()
    }

    pub(crate) fn new_payment(amount_json: &str, reference: &str) -> NewPayment {
        NewPayment {
            merchant_id: "m".into(),
            flow: PaymentFlow::OneStep,
            msisdn: Msisdn::parse("+34600000001").unwrap(),
            payment_amount: amount(amount_json),
            reference_code: reference.into(),
            client_correlator: Some("cc".into()),
            sink: None,
            sink_credential: None,
            correlator: None,
        }
    }

    #[test]
    fn same_meaning_same_fingerprint_and_any_change_differs() {
        let a = r#"{"chargingInformation":{"amount":1.50,"currency":"EUR","description":"x"}}"#;
        let b = r#"{"chargingInformation":{"description":"x","currency":"EUR","amount":1.5}}"#;
        let c = r#"{"chargingInformation":{"amount":1.51,"currency":"EUR","description":"x"}}"#;
        let f = |json, r| new_payment(json, r).fingerprint();
        assert_eq!(f(a, "r"), f(b, "r"));
        assert_ne!(f(a, "r"), f(c, "r"));
        assert_ne!(f(a, "r"), f(a, "r2"));
        let mut two_step = new_payment(a, "r");
        two_step.flow = PaymentFlow::TwoStep;
        assert_ne!(f(a, "r"), two_step.fingerprint());
        let mut other_correlator = new_payment(a, "r");
        other_correlator.client_correlator = Some("cc2".into());
        assert_ne!(f(a, "r"), other_correlator.fingerprint());
    }

    #[test]
    fn a_claimed_payment_is_submitting_and_taken_over_later() {
        let now = Utc::now();
        let later = now + chrono::Duration::seconds(5);
        let req = new_payment(
            r#"{"chargingInformation":{"amount":2,"currency":"EUR","description":"x"}}"#,
            "r",
        );
        let print = req.fingerprint();
        let p = PaymentRecord::claimed(req, "op".into(), now, later);
        assert_eq!(
            (p.phase.clone(), p.status, p.version),
            (Phase::Submitting, PaymentStatus::Processing, 1)
        );
        assert_eq!(p.fingerprint, print);
        assert_eq!(p.upstream_correlator, format!("sb-{}", p.id));
        assert_eq!(
            (p.next_check_at, p.operator_id.as_str()),
            (Some(later), "op")
        );
        assert!(p.is_unsettled() && !p.is_visible());
    }
}
