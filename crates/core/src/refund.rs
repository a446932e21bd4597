//! A refund of a carrier-billing payment (CAMARA Carrier Billing Refund v0.3.0), its state machine
//! and the remaining-amount arithmetic.
//!
//! ```text
//! processing -> succeeded | denied
//! succeeded, denied: terminal
//! ```
//!
//! Remaining amount = payment amount − (succeeded + processing refunds). A `processing` refund is
//! reserved pessimistically; a `denied` one (or one refused before it existed) releases its amount.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::money::{Amount, Currency};
use crate::payment::{ChargingInformation, Phase};
use crate::sink::{Sink, SinkCredential};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Processing,
    Succeeded,
    Denied,
}

impl RefundStatus {
    pub const ALL: [RefundStatus; 3] = [
        RefundStatus::Processing,
        RefundStatus::Succeeded,
        RefundStatus::Denied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Processing => "processing",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Denied => "denied",
        }
    }

    pub fn is_terminal(self) -> bool {
        self != RefundStatus::Processing
    }

    pub fn can_move_to(self, to: RefundStatus) -> bool {
        self == RefundStatus::Processing && to != RefundStatus::Processing
    }

    /// `Ok(true)` for a real move, `Ok(false)` when already there, an error otherwise.
    pub fn check_move(self, to: RefundStatus) -> Result<bool, ApiError> {
        if self == to {
            Ok(false)
        } else if self.can_move_to(to) {
            Ok(true)
        } else {
            Err(ApiError::new(
                ErrorCode::IncompatibleState,
                format!("refund cannot move from {self} to {to}"),
            ))
        }
    }
}

impl fmt::Display for RefundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RefundStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RefundStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown refund status '{s}'"))
    }
}

/// `total` (the whole remaining amount; no more refunds after it) or `partial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefundType {
    Total,
    Partial,
}

/// One `RefundItem` of `refundDetails`, referencing a `PaymentItem.id` of the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundItem {
    pub payment_item_id: String,
    pub amount: Amount,
    pub currency: Currency,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_tax_included: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_amount: Option<Amount>,
}

/// Everything Switchboard stores about one refund.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundRecord {
    pub id: String,
    pub merchant_id: String,
    pub payment_id: String,
    pub refund_type: RefundType,
    /// What is refunded: the request's amount (partial) or the remaining amount at creation (total).
    pub amount: Amount,
    pub currency: Currency,
    /// `chargingInformation` of a partial refund, as the merchant sent it.
    pub charging_information: Option<ChargingInformation>,
    pub merchant_identifier: Option<String>,
    pub refund_details: Option<Vec<RefundItem>>,
    pub reason: Option<String>,
    pub client_correlator: Option<String>,
    pub reference_code: String,
    pub phase: Phase,
    pub status: RefundStatus,
    /// The channel the payment went through (refunds go back the same way).
    pub channel_id: Option<String>,
    /// The `clientCorrelator` sent upstream, derived from our id (`sb-<id>`).
    pub upstream_correlator: String,
    pub upstream_id: Option<String>,
    pub sink: Option<Sink>,
    pub sink_credential: Option<SinkCredential>,
    /// The `x-correlator` of the request that created it, passed on with its notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlator: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub refund_date: Option<DateTime<Utc>>,
    pub denial_reason: Option<String>,
    /// Bumped by every write; the store's compare-and-set checks it.
    pub version: u64,
    pub next_check_at: Option<DateTime<Utc>>,
    pub reconcile_attempts: u32,
    pub needs_review: bool,
    /// Hash of the request that created it; a retry with another body is refused.
    pub fingerprint: String,
}

impl RefundRecord {
    /// The upstream `clientCorrelator` for a Switchboard refund id.
    pub fn upstream_correlator_for(refund_id: &str) -> String {
        format!("sb-{refund_id}")
    }

    pub fn is_visible(&self) -> bool {
        self.phase == Phase::Live
    }

    /// Whether Switchboard still waits on the operator for this refund.
    pub fn is_unsettled(&self) -> bool {
        match self.phase {
            Phase::Submitting => true,
            Phase::Rejected(_) => false,
            Phase::Live => !self.needs_review && self.status == RefundStatus::Processing,
        }
    }

    /// The amount this refund holds against the payment: nothing once refused or denied.
    pub fn reserved(&self) -> Amount {
        if matches!(self.phase, Phase::Rejected(_)) || self.status == RefundStatus::Denied {
            Amount::ZERO
        } else {
            self.amount
        }
    }

    /// Moves to `to` if allowed; a repeat of the current state is a no-op.
    pub fn move_to(&mut self, to: RefundStatus, now: DateTime<Utc>) -> Result<bool, ApiError> {
        let moved = self.status.check_move(to)?;
        if moved {
            self.status = to;
            self.updated_at = now;
            if to == RefundStatus::Succeeded && self.refund_date.is_none() {
                self.refund_date = Some(now);
            }
        }
        Ok(moved)
    }
}

/// Sum of what `refunds` hold against their payment.
pub fn reserved_total<'a>(refunds: impl IntoIterator<Item = &'a RefundRecord>) -> Decimal {
    refunds.into_iter().map(|r| r.reserved().value()).sum()
}

/// `paid − reserved`, never below zero.
pub fn remaining(paid: Amount, reserved: Decimal) -> Amount {
    let left = (paid.value() - reserved).max(Decimal::ZERO);
    Amount::non_negative(left).unwrap_or(Amount::ZERO)
}

/// The payment's remaining amount after `refunds` (spec: succeeded and processing count, denied
/// releases).
pub fn remaining_amount<'a>(
    paid: Amount,
    refunds: impl IntoIterator<Item = &'a RefundRecord>,
) -> Amount {
    remaining(paid, reserved_total(refunds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(v: i64) -> Amount {
        Amount::non_negative(Decimal::from(v)).unwrap()
    }

    fn refund(kind: RefundType, value: i64, status: RefundStatus) -> RefundRecord {
        let now = Utc::now();
        RefundRecord {
            id: "r".into(),
            merchant_id: "m".into(),
            payment_id: "p".into(),
            refund_type: kind,
            amount: amount(value),
            currency: Currency::parse("EUR").unwrap(),
            charging_information: None,
            merchant_identifier: None,
            refund_details: None,
            reason: None,
            client_correlator: None,
            reference_code: "ref".into(),
            phase: Phase::Live,
            status,
            channel_id: None,
            upstream_correlator: RefundRecord::upstream_correlator_for("r"),
            upstream_id: None,
            sink: None,
            sink_credential: None,
            correlator: None,
            created_at: now,
            updated_at: now,
            refund_date: None,
            denial_reason: None,
            version: 1,
            next_check_at: None,
            reconcile_attempts: 0,
            needs_review: false,
            fingerprint: "f".into(),
        }
    }

    use RefundStatus::*;
    use RefundType::*;

    #[test]
    fn spec_case_1_two_succeeded_partials() {
        let r = [
            refund(Partial, 20, Succeeded),
            refund(Partial, 20, Succeeded),
        ];
        assert_eq!(remaining_amount(amount(80), &r), amount(40));
    }

    #[test]
    fn spec_case_2_processing_counts_and_denied_releases() {
        let mut r = [
            refund(Partial, 20, Succeeded),
            refund(Partial, 15, Processing),
        ];
        assert_eq!(remaining_amount(amount(80), &r), amount(45));
        let mut succeeded = r.clone();
        succeeded[1].move_to(Succeeded, Utc::now()).unwrap();
        assert_eq!(remaining_amount(amount(80), &succeeded), amount(45));
        r[1].move_to(Denied, Utc::now()).unwrap();
        assert_eq!(remaining_amount(amount(80), &r), amount(60));
    }

    #[test]
    fn spec_cases_3_and_4_total_refunds() {
        assert_eq!(
            remaining_amount(amount(80), &[refund(Total, 80, Succeeded)]),
            Amount::ZERO
        );
        let mut total = refund(Total, 80, Processing);
        assert_eq!(
            remaining_amount(amount(80), std::slice::from_ref(&total)),
            Amount::ZERO
        );
        total.move_to(Denied, Utc::now()).unwrap();
        assert_eq!(remaining_amount(amount(80), [&total]), amount(80));
    }

    #[test]
    fn refused_refunds_hold_nothing_and_decimals_are_exact() {
        let mut r = refund(Partial, 10, Processing);
        r.phase = Phase::Rejected(ApiError::of(ErrorCode::UnauthorizedAmount));
        assert_eq!(r.reserved(), Amount::ZERO);
        assert!(!r.is_unsettled());
        let mut a = refund(Partial, 0, Succeeded);
        a.amount = "0.1".parse().unwrap();
        let mut b = a.clone();
        b.amount = "0.2".parse().unwrap();
        let paid: Amount = "0.3".parse().unwrap();
        assert_eq!(remaining_amount(paid, [&a, &b]), Amount::ZERO);
    }

    #[test]
    fn state_machine_and_names() {
        assert!(Processing.can_move_to(Succeeded));
        assert!(Processing.can_move_to(Denied));
        assert!(Succeeded.check_move(Denied).is_err());
        assert!(Denied.check_move(Succeeded).is_err());
        assert_eq!(Succeeded.check_move(Succeeded), Ok(false));
        for st in RefundStatus::ALL {
            assert_eq!(st.as_str().parse::<RefundStatus>(), Ok(st));
        }
        let mut r = refund(Partial, 5, Processing);
        assert!(r.is_unsettled());
        r.move_to(Succeeded, Utc::now()).unwrap();
        assert!(r.refund_date.is_some() && !r.is_unsettled());
        assert_eq!(serde_json::to_string(&Total).unwrap(), "\"total\"");
    }
}
