//! Creating a refund: checks, claim with the remaining-amount guard, the upstream call, record.

use std::time::Duration;

use chrono::{SubsecRound, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use switchboard_adapter::{AdapterError, Capability, UpstreamRefund};
use switchboard_core::{
    Amount, ApiError, ChargingInformation, ErrorCode, PaymentRecord, Phase, RefundItem,
    RefundRecord, RefundStatus, RefundType, Sink, SinkCredential,
};
use switchboard_store::{IdempotencyKey, RefundInsert, UpdateOutcome};

use super::checks::{check_against_payment, remaining_of, RefundAsk};
use crate::payments::{next_check, store_error};
use crate::state::AppState;

/// A validated refund request (the payment is already the caller's, found by the handler).
#[derive(Debug, Serialize)]
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

pub struct Submitted {
    pub refund: RefundRecord,
    pub replayed: bool,
}

fn fingerprint(payment_id: &str, req: &NewRefund) -> String {
    let bytes = serde_json::to_vec(&(payment_id, req)).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

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
        .and_then(|id| state.router.channel(id))
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
    let id = uuid::Uuid::new_v4().to_string();
    let mut keys = Vec::with_capacity(2);
    if let Some(cc) = &req.client_correlator {
        keys.push(IdempotencyKey::ClientCorrelator(cc.clone()));
    }
    keys.push(IdempotencyKey::ReferenceCode(req.reference_code.clone()));
    let paid = payment.payment_amount.charging_information.amount;
    let mut record = RefundRecord {
        id: id.clone(),
        merchant_id: payment.merchant_id.clone(),
        payment_id: payment.id.clone(),
        refund_type: req.kind,
        amount: req.charging_information.as_ref().map_or(paid, |i| i.amount),
        currency: payment.payment_amount.charging_information.currency.clone(),
        charging_information: req.charging_information.clone(),
        merchant_identifier: req.merchant_identifier.clone(),
        refund_details: req.refund_details.clone(),
        reason: req.reason.clone(),
        client_correlator: req.client_correlator.clone(),
        reference_code: req.reference_code.clone(),
        phase: Phase::Submitting,
        status: RefundStatus::Processing,
        channel_id: Some(channel.id.clone()),
        upstream_correlator: RefundRecord::upstream_correlator_for(&id),
        upstream_id: None,
        sink: req.sink.clone(),
        sink_credential: req.sink_credential.clone(),
        correlator: req.correlator.clone(),
        created_at: now,
        updated_at: now,
        refund_date: None,
        denial_reason: None,
        version: 1,
        // If this process dies mid-call, reconciliation takes the refund over from here.
        next_check_at: Some(
            now + chrono::Duration::milliseconds(state.config.payments.duplicate_wait_ms as i64),
        ),
        reconcile_attempts: 0,
        needs_review: false,
        fingerprint: fingerprint(&payment.id, &req),
    };
    // A total refund takes what is left; the store refuses it if that changed meanwhile.
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
            .insert_refund(&record, &keys, paid)
            .await
            .map_err(store_error)?
        {
            RefundInsert::Inserted => break,
            RefundInsert::Existing { key, existing } => {
                return replay(state, &record, key, *existing).await
            }
            RefundInsert::OverRemaining { remaining } => {
                attempts += 1;
                if record.refund_type == RefundType::Partial || remaining.is_zero() || attempts >= 3
                {
                    return Err(unauthorized(remaining));
                }
            }
        }
    }
    let answer = channel.adapter.create_refund(payment, &record).await;
    let now = Utc::now();
    let claimed = record.version;
    match answer {
        Ok(up) => {
            apply_upstream(&mut record, &up, now);
            record.next_check_at = record
                .is_unsettled()
                .then(|| next_check(&state.config.reconcile, 0, now));
            finish(state, record, claimed, &[]).await
        }
        Err(AdapterError::Unknown(reason)) => {
            tracing::warn!(%reason, "refund outcome unknown; left processing for reconciliation");
            record.phase = Phase::Live;
            record.next_check_at = Some(next_check(&state.config.reconcile, 0, now));
            finish(state, record, claimed, &[]).await
        }
        Err(AdapterError::Refused(error)) => {
            let error = as_refund_error(error);
            record.phase = Phase::Rejected(error.clone());
            record.next_check_at = None;
            let release = [IdempotencyKey::ReferenceCode(record.reference_code.clone())];
            finish(state, record, claimed, &release).await?;
            Err(error)
        }
        Err(other) => {
            tracing::warn!(error = %other, "refund not sent upstream");
            let error = ApiError::new(
                ErrorCode::Unavailable,
                "The operator cannot be reached. Try again later.",
            );
            record.phase = Phase::Rejected(error.clone());
            record.next_check_at = None;
            finish(state, record, claimed, &keys).await?;
            Err(error)
        }
    }
    .map(|refund| Submitted {
        refund,
        replayed: false,
    })
}

/// An operator refusal in the refund API's codes: its own refund and common 4xx codes pass, any
/// other business refusal is `REFUND_DENIED`.
fn as_refund_error(e: ApiError) -> ApiError {
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

/// Folds the operator's answer into the record.
pub(super) fn apply_upstream(
    r: &mut RefundRecord,
    up: &UpstreamRefund,
    now: chrono::DateTime<Utc>,
) {
    if r.phase == Phase::Submitting {
        r.phase = Phase::Live;
    }
    if up.upstream_id.is_some() {
        r.upstream_id.clone_from(&up.upstream_id);
    }
    match r.move_to(up.status, now) {
        Ok(_) => {
            if up.status == RefundStatus::Succeeded {
                r.refund_date = up.refund_date.or(r.refund_date);
            }
            if up.status == RefundStatus::Denied {
                r.denial_reason.clone_from(&up.denial_reason);
            }
        }
        Err(_) => {
            tracing::warn!("operator contradicts the refund state machine; marked for review");
            r.needs_review = true;
        }
    }
    r.updated_at = now;
}

async fn finish(
    state: &AppState,
    mut record: RefundRecord,
    claimed_version: u64,
    release: &[IdempotencyKey],
) -> Result<RefundRecord, ApiError> {
    record.version = claimed_version + 1;
    match state
        .store
        .update_refund(&record, claimed_version, release, &[])
        .await
        .map_err(store_error)?
    {
        UpdateOutcome::Updated => Ok(record),
        UpdateOutcome::Conflict(current) => Ok(*current),
        UpdateOutcome::Missing => Err(ApiError::of(ErrorCode::Internal)),
    }
}

async fn replay(
    state: &AppState,
    request: &RefundRecord,
    key: IdempotencyKey,
    existing: RefundRecord,
) -> Result<Submitted, ApiError> {
    if let IdempotencyKey::ReferenceCode(code) = key {
        return Err(ApiError::new(
            ErrorCode::AlreadyExists,
            format!("A refund with referenceCode '{code}' already exists."),
        ));
    }
    if existing.fingerprint != request.fingerprint {
        return Err(ApiError::invalid_argument(
            "clientCorrelator already exist on server.",
        ));
    }
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(state.config.payments.duplicate_wait_ms);
    let mut refund = existing;
    let mut pause = Duration::from_millis(10);
    while refund.phase == Phase::Submitting && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
        refund = state
            .store
            .get_refund(&refund.merchant_id, &refund.payment_id, &refund.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::of(ErrorCode::Internal))?;
    }
    match refund.phase {
        Phase::Live => Ok(Submitted {
            refund,
            replayed: true,
        }),
        Phase::Rejected(error) => Err(error),
        Phase::Submitting => Err(ApiError::new(
            ErrorCode::AlreadyExists,
            "The original request with this clientCorrelator is still in progress. Retry later.",
        )),
    }
}
