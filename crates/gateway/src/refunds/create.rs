//! Creating a refund: the refund's parts of the operation engine — the checks against the payment,
//! the claim with the remaining-amount guard (atomic in the store), and the upstream call through the
//! payment's channel.

use crate::observe::Kind;
use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use switchboard_adapter::{AdapterError, Capability};
use switchboard_core::{
    Amount, ApiError, ErrorCode, NewRefund, PaymentRecord, RefundRecord, RefundType, UpstreamRefund,
};
use switchboard_router::Channel;
use switchboard_store::{IdempotencyKey, RefundInsert};

use super::checks::{check_against_payment, remaining_of, RefundAsk};
use crate::operation::{self, Claim, Operation};
use crate::payments::store_error;
use crate::state::AppState;

pub type Submitted = operation::Submitted<RefundRecord>;

fn unauthorized(remaining: Amount) -> ApiError {
    ApiError::new(
        ErrorCode::RefundUnauthorizedAmount,
        format!(
            "Unauthorized amount requested. The remaining amount of the payment is {remaining}."
        ),
    )
}

/// Runs a createRefund end to end: at most one upstream refund per `(merchant, clientCorrelator)`,
/// never more than the payment in total (even under concurrency), an unknown outcome is `processing`.
pub async fn submit(
    state: &AppState,
    payment: &PaymentRecord,
    req: NewRefund,
) -> Result<Submitted, ApiError> {
    let channel = payment
        .channel_id
        .as_deref()
        .and_then(|id| state.router().channel(id))
        .filter(|c| c.capabilities.contains(Capability::Refund))
        .ok_or_else(|| ApiError::of(ErrorCode::PaymentNotEligibleForRefund))?;
    check_against_payment(
        payment,
        &RefundAsk {
            kind: req.kind,
            charging_information: req.charging_information.as_ref(),
            refund_details: req.refund_details.as_deref(),
        },
    )?;
    let now = Utc::now().trunc_subsecs(3);
    // If this process dies mid-call, reconciliation takes the refund over from then.
    let takeover =
        now + chrono::Duration::milliseconds(state.config().payments.duplicate_wait_ms as i64);
    let record = RefundRecord::claimed(payment, req, channel.id.clone(), now, takeover);
    operation::run(state, &RefundRequest { payment, channel }, record).await
}

struct RefundRequest<'a> {
    payment: &'a PaymentRecord,
    /// The payment's channel: a refund goes where the money was taken.
    channel: Arc<Channel>,
}

impl Operation for RefundRequest<'_> {
    type Record = RefundRecord;

    fn capability(&self, _: &RefundRecord) -> Capability {
        Capability::Refund
    }

    fn kind(&self, _: &RefundRecord) -> Kind {
        Kind::Refund
    }

    fn operator<'a>(&'a self, _: &'a RefundRecord) -> &'a str {
        &self.payment.operator_id
    }

    /// A total refund takes what is left; the store refuses it if that changed meanwhile.
    async fn claim(
        &self,
        state: &AppState,
        record: &mut RefundRecord,
    ) -> Result<Claim<RefundRecord>, ApiError> {
        let payment = self.payment;
        let mut keys = Vec::with_capacity(2);
        if let Some(cc) = &record.client_correlator {
            keys.push(IdempotencyKey::ClientCorrelator(cc.clone()));
        }
        keys.push(IdempotencyKey::ReferenceCode(record.reference_code.clone()));
        let paid = payment.payment_amount.charging_information.amount;
        let mut attempts = 0;
        loop {
            if record.refund_type == RefundType::Total {
                let all = state
                    .store
                    .payment_refunds(&payment.merchant_id, &payment.id)
                    .await
                    .map_err(store_error)?;
                record.amount = remaining_of(payment, &all);
            }
            match state
                .store
                .insert_refund(record, &keys, paid)
                .await
                .map_err(store_error)?
            {
                RefundInsert::Inserted => return Ok(Claim::Inserted),
                RefundInsert::Existing { key, existing } => {
                    return Ok(Claim::Existing {
                        key: Some(key),
                        existing: *existing,
                    })
                }
                RefundInsert::OverRemaining { remaining } => {
                    attempts += 1;
                    if record.refund_type == RefundType::Partial
                        || remaining.is_zero()
                        || attempts >= 3
                    {
                        return Err(unauthorized(remaining));
                    }
                }
            }
        }
    }

    fn channels(&self, _: &AppState, _: &RefundRecord) -> Result<Vec<Arc<Channel>>, ApiError> {
        Ok(vec![Arc::clone(&self.channel)])
    }

    async fn call(
        &self,
        channel: &Channel,
        record: &RefundRecord,
    ) -> Result<UpstreamRefund, AdapterError> {
        channel.adapter.create_refund(self.payment, record).await
    }

    /// An operator refusal in the refund API's codes: its own refund and common 4xx codes pass, any
    /// other business refusal is `REFUND_DENIED`.
    fn refusal(&self, e: ApiError) -> ApiError {
        use ErrorCode::*;
        match e.code {
            RefundDenied
            | PaymentNotEligibleForRefund
            | RefundUnauthorizedAmount
            | RefundUserAmountThresholdOverpassed
            | InvalidPaymentStatus
            | TaxesManagementMismatch
            | RefundDetailsMismatch
            | InvalidArgument => e,
            UnauthorizedAmount => ApiError::new(RefundUnauthorizedAmount, e.message),
            _ => ApiError::of(RefundDenied),
        }
    }
}
