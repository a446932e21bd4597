//! What an operator says about a payment, a refund or a top-up, and how each record takes it in.
//!
//! The record's own state machine decides: an answer it does not allow (the operator contradicts
//! what it said before) flags the record for review instead of corrupting it.

use chrono::{DateTime, Utc};

use crate::payment::{PaymentRecord, PendingAction, Phase, ValidationInfo};
use crate::refund::{RefundRecord, RefundStatus};
use crate::state::PaymentStatus;
use crate::topup::{TopUpRecord, TopUpStatus};

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

/// What the operator says about one refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRefund {
    /// The operator's own id for the refund, when it gave one.
    pub upstream_id: Option<String>,
    pub status: RefundStatus,
    pub refund_date: Option<DateTime<Utc>>,
    pub denial_reason: Option<String>,
}

impl UpstreamRefund {
    pub fn with_status(status: RefundStatus) -> Self {
        UpstreamRefund {
            upstream_id: None,
            status,
            refund_date: None,
            denial_reason: None,
        }
    }
}

/// What the provider says about one top-up.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamTopUp {
    /// The provider's own transaction id, when it gave one.
    pub upstream_tx_id: Option<String>,
    pub status: TopUpStatus,
    /// The operator's transaction id (for disputes), once the provider knows it.
    pub operator_tx_id: Option<String>,
    /// What was credited, as the provider describes it (`{"data_mb": 10240, "validity_days": 30}`).
    pub credited: Option<serde_json::Value>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Why it failed (status `failed` only), without phone numbers.
    pub failure_reason: Option<String>,
}

impl UpstreamTopUp {
    pub fn with_status(status: TopUpStatus) -> Self {
        UpstreamTopUp {
            upstream_tx_id: None,
            status,
            operator_tx_id: None,
            credited: None,
            completed_at: None,
            failure_reason: None,
        }
    }
}

impl PaymentRecord {
    /// Folds the operator's view in. Returns whether anything changed.
    pub fn apply_upstream(&mut self, up: &UpstreamPayment, now: DateTime<Utc>) -> bool {
        let before = self.clone();
        if self.phase == Phase::Submitting {
            self.phase = Phase::Live;
        }
        if self.upstream_id.is_none() {
            self.upstream_id.clone_from(&up.upstream_id);
        }
        if up.server_reference_code.is_some() {
            self.server_reference_code
                .clone_from(&up.server_reference_code);
        }
        if up.validation_info.is_some() {
            self.validation_info.clone_from(&up.validation_info);
        }
        // Some operators show a reservation being confirmed as `processing`; for us it stays
        // reserved with the pending action until the operator reports the outcome.
        let confirming = self.status == PaymentStatus::Reserved
            && up.status == PaymentStatus::Processing
            && self.pending_action.is_some();
        let target = if confirming {
            PaymentStatus::Reserved
        } else {
            up.status
        };
        if self.move_to(target, now).is_err() {
            self.needs_review = true;
        }
        if let Some(date) = up
            .payment_date
            .filter(|_| self.status == PaymentStatus::Succeeded)
        {
            self.payment_date = Some(date);
        }
        if self.status == PaymentStatus::Denied && self.denial_reason.is_none() {
            self.denial_reason.clone_from(&up.denial_reason);
        }
        let settled_action = match self.pending_action {
            Some(PendingAction::Confirm | PendingAction::Cancel) => {
                self.status != PaymentStatus::Reserved
            }
            None => false,
        };
        if settled_action {
            self.pending_action = None;
        }
        let changed = *self != before;
        if changed {
            self.updated_at = now;
        }
        changed
    }
}

impl RefundRecord {
    /// Folds the operator's view in.
    pub fn apply_upstream(&mut self, up: &UpstreamRefund, now: DateTime<Utc>) {
        if self.phase == Phase::Submitting {
            self.phase = Phase::Live;
        }
        if up.upstream_id.is_some() {
            self.upstream_id.clone_from(&up.upstream_id);
        }
        match self.move_to(up.status, now) {
            Ok(_) => {
                if up.status == RefundStatus::Succeeded {
                    self.refund_date = up.refund_date.or(self.refund_date);
                }
                if up.status == RefundStatus::Denied {
                    self.denial_reason.clone_from(&up.denial_reason);
                }
            }
            Err(_) => self.needs_review = true,
        }
        self.updated_at = now;
    }
}

impl TopUpRecord {
    /// Folds the provider's view in. Returns `false` when the provider contradicts the state machine
    /// (the status then stays as it was).
    pub fn apply_upstream(&mut self, up: &UpstreamTopUp, now: DateTime<Utc>) -> bool {
        if self.upstream_tx_id.is_none() {
            self.upstream_tx_id.clone_from(&up.upstream_tx_id);
        }
        if up.operator_tx_id.is_some() {
            self.operator_tx_id.clone_from(&up.operator_tx_id);
        }
        if up.credited.is_some() {
            self.credited.clone_from(&up.credited);
        }
        if up.status == TopUpStatus::Failed && self.failure_reason.is_none() {
            self.failure_reason.clone_from(&up.failure_reason);
        }
        let consistent = self.move_to(up.status, now).is_ok();
        if let (Some(at), TopUpStatus::Completed) = (up.completed_at, self.status) {
            self.completed_at = Some(at);
        }
        self.updated_at = now;
        consistent
    }

    /// Marks the top-up failed (nothing was credited) with `reason`, if it may still fail.
    pub fn fail(&mut self, reason: &str, now: DateTime<Utc>) {
        if self.move_to(TopUpStatus::Failed, now).unwrap_or(false) {
            self.failure_reason = Some(reason.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::NewPayment;
    use crate::Msisdn;

    fn submitting() -> PaymentRecord {
        let req = NewPayment {
            merchant_id: "m".into(),
            flow: crate::PaymentFlow::OneStep,
            msisdn: Msisdn::parse("+34600000001").unwrap(),
            payment_amount: serde_json::from_str(
                r#"{"chargingInformation":{"amount":2,"currency":"EUR","description":"x"}}"#,
            )
            .unwrap(),
            reference_code: "r".into(),
            client_correlator: None,
            sink: None,
            sink_credential: None,
            correlator: None,
        };
        let now = Utc::now();
        PaymentRecord::claimed(req, "op".into(), now, now)
    }

    #[test]
    fn applying_success_goes_live_and_dates_the_payment() {
        let mut p = submitting();
        let mut up = UpstreamPayment::with_status(PaymentStatus::Succeeded);
        up.upstream_id = Some("u1".into());
        let now = Utc::now();
        assert!(p.apply_upstream(&up, now));
        assert_eq!(
            (p.phase.clone(), p.status, p.upstream_id.as_deref()),
            (Phase::Live, PaymentStatus::Succeeded, Some("u1"))
        );
        assert_eq!(p.payment_date, Some(now));
        assert!(
            !p.apply_upstream(&up, now),
            "a duplicate answer changes nothing"
        );
    }

    #[test]
    fn contradictions_are_flagged_not_applied() {
        let mut p = submitting();
        p.apply_upstream(
            &UpstreamPayment::with_status(PaymentStatus::Succeeded),
            Utc::now(),
        );
        p.apply_upstream(
            &UpstreamPayment::with_status(PaymentStatus::Reserved),
            Utc::now(),
        );
        assert_eq!(p.status, PaymentStatus::Succeeded);
        assert!(p.needs_review);
    }

    #[test]
    fn a_settled_confirmation_clears_the_pending_action() {
        let mut p = submitting();
        p.phase = Phase::Live;
        p.status = PaymentStatus::Reserved;
        p.pending_action = Some(PendingAction::Confirm);
        p.apply_upstream(
            &UpstreamPayment::with_status(PaymentStatus::Processing),
            Utc::now(),
        );
        assert_eq!(
            (p.status, p.pending_action),
            (PaymentStatus::Reserved, Some(PendingAction::Confirm)),
            "a confirmation in progress stays reserved"
        );
        p.apply_upstream(
            &UpstreamPayment::with_status(PaymentStatus::Succeeded),
            Utc::now(),
        );
        assert_eq!(p.pending_action, None);
    }

    #[test]
    fn a_refund_answer_dates_success_and_keeps_the_denial_reason() {
        let payment = submitting();
        let req = crate::NewRefund {
            kind: crate::RefundType::Total,
            charging_information: None,
            merchant_identifier: None,
            refund_details: None,
            reason: None,
            client_correlator: None,
            reference_code: "rr".into(),
            sink: None,
            sink_credential: None,
            correlator: None,
        };
        let now = Utc::now();
        let mut r = RefundRecord::claimed(&payment, req, "ch".into(), now, now);
        let mut denied = UpstreamRefund::with_status(RefundStatus::Denied);
        denied.denial_reason = Some("no".into());
        r.apply_upstream(&denied, now);
        assert_eq!(
            (r.phase.clone(), r.status, r.denial_reason.as_deref()),
            (Phase::Live, RefundStatus::Denied, Some("no"))
        );
        r.apply_upstream(&UpstreamRefund::with_status(RefundStatus::Succeeded), now);
        assert_eq!(r.status, RefundStatus::Denied);
        assert!(
            r.needs_review,
            "denied is terminal: the contradiction is flagged"
        );
    }
}
