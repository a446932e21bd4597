//! The 2-step operations on an existing payment: validate, confirm, cancel.

use std::time::Instant;

use chrono::Utc;
use switchboard_adapter::{AdapterError, UpstreamPayment};
use switchboard_core::{
    ApiError, ErrorCode, PaymentRecord, PaymentStatus, PendingAction, ValidationInfo,
};
use switchboard_router::Channel;

use super::settle::{next_check, update_with};
use crate::observe::Kind;
use crate::state::AppState;

fn channel_of(state: &AppState, p: &PaymentRecord) -> Result<std::sync::Arc<Channel>, ApiError> {
    p.channel_id
        .as_deref()
        .and_then(|id| state.router().channel(id))
        .ok_or_else(|| {
            tracing::error!(payment_id = %p.id, "the payment's channel is no longer configured");
            ApiError::new(
                ErrorCode::Unavailable,
                "The payment's operator channel is not available.",
            )
        })
}

fn unavailable(e: &AdapterError) -> ApiError {
    match e {
        AdapterError::Unknown(_) => ApiError::new(
            ErrorCode::Timeout,
            "The operator did not answer in time. Retry.",
        ),
        _ => ApiError::new(
            ErrorCode::Unavailable,
            "The operator cannot be reached. Try again later.",
        ),
    }
}

/// Whether the operator's answer leaves the payment processing (the metrics' outcome).
fn pending(up: &UpstreamPayment) -> bool {
    up.status == PaymentStatus::Processing
}

/// Records the operator's answer and schedules follow-up checks while something is pending.
async fn record_answer(
    state: &AppState,
    p: &PaymentRecord,
    up: &UpstreamPayment,
) -> Result<PaymentRecord, ApiError> {
    update_with(state, &p.merchant_id, &p.id, |r| {
        let now = Utc::now();
        let changed = r.apply_upstream(up, now);
        let next = r
            .is_unsettled()
            .then(|| next_check(&state.config().reconcile, 0, now));
        let rescheduled = r.next_check_at != next;
        r.next_check_at = next;
        Ok(changed || rescheduled)
    })
    .await
}

/// Why a payment is denied once its validation attempts are used up; further validations recognise it.
const VALIDATION_EXHAUSTED: &str = "Validation failed: too many wrong codes.";

/// `POST /payments/{id}/validate`.
pub async fn validate(
    state: &AppState,
    p: PaymentRecord,
    authorization_id: &str,
    code: &str,
) -> Result<(), ApiError> {
    match p.status {
        PaymentStatus::PendingValidation => {}
        PaymentStatus::Reserved => {
            return Err(ApiError::new(
                ErrorCode::AlreadyExists,
                "Payment already validated.",
            ))
        }
        PaymentStatus::Denied if p.denial_reason.as_deref() == Some(VALIDATION_EXHAUSTED) => {
            return Err(ApiError::of(ErrorCode::ValidationFailed))
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::IncompatibleState,
                format!("Only a payment pending validation can be validated; this one is {other}."),
            ))
        }
    }
    match &p.validation_info {
        Some(ValidationInfo::Validate {
            authorization_id: expected,
        }) if expected == authorization_id => {}
        _ => return Err(ApiError::of(ErrorCode::InvalidAuthorizationId)),
    }
    let channel = channel_of(state, &p)?;
    let started = Instant::now();
    let answer = channel
        .adapter
        .validate_payment(&p, authorization_id, code)
        .await;
    state
        .observe
        .recorder(Kind::Validate, &p.operator_id)
        .answered(&channel.id, &answer, started.elapsed(), pending);
    match answer {
        Ok(up) => record_answer(state, &p, &up).await.map(|_| ()),
        Err(AdapterError::Refused(e)) if e.code == ErrorCode::ValidationFailed => {
            let mut denied = UpstreamPayment::with_status(PaymentStatus::Denied);
            denied.denial_reason = Some(VALIDATION_EXHAUSTED.into());
            record_answer(state, &p, &denied).await?;
            Err(e)
        }
        Err(AdapterError::Refused(e)) => {
            update_with(state, &p.merchant_id, &p.id, |r| {
                r.validation_attempts += 1;
                Ok(true)
            })
            .await?;
            Err(e)
        }
        Err(e) => Err(unavailable(&e)),
    }
}

/// What a confirm or cancel does, so the two share one flow.
#[derive(Clone, Copy)]
enum Action {
    Confirm,
    Cancel,
}

/// `POST /payments/{id}/confirm`: 202 once the operator accepted (or the outcome is being settled).
pub async fn confirm(state: &AppState, p: PaymentRecord) -> Result<(), ApiError> {
    act(state, p, Action::Confirm).await
}

/// `POST /payments/{id}/cancel`.
pub async fn cancel(state: &AppState, p: PaymentRecord) -> Result<(), ApiError> {
    act(state, p, Action::Cancel).await
}

fn conflict_for(status: PaymentStatus) -> ApiError {
    match status {
        PaymentStatus::Succeeded => ApiError::of(ErrorCode::PaymentConfirmed),
        PaymentStatus::Cancelled => ApiError::of(ErrorCode::PaymentCancelled),
        other => ApiError::new(
            ErrorCode::IncompatibleState,
            format!("Only a reserved payment can be confirmed or cancelled; this one is {other}."),
        ),
    }
}

async fn act(state: &AppState, p: PaymentRecord, action: Action) -> Result<(), ApiError> {
    let wanted = match action {
        Action::Confirm => PendingAction::Confirm,
        Action::Cancel => PendingAction::Cancel,
    };
    // Claim the action on the stored payment first, so concurrent calls do not race upstream.
    let mut already_pending = false;
    let claimed = update_with(state, &p.merchant_id, &p.id, |r| {
        if r.status != PaymentStatus::Reserved {
            return Err(conflict_for(r.status));
        }
        match r.pending_action {
            Some(a) if a == wanted => {
                already_pending = true;
                Ok(false)
            }
            Some(_) => Err(ApiError::new(
                ErrorCode::Aborted,
                "Another operation on this payment is in progress.",
            )),
            None => {
                r.pending_action = Some(wanted);
                r.next_check_at = Some(next_check(&state.config().reconcile, 0, Utc::now()));
                Ok(true)
            }
        }
    })
    .await?;
    if already_pending {
        return Ok(());
    }
    let channel = channel_of(state, &claimed)?;
    let started = Instant::now();
    let (answer, kind) = match action {
        Action::Confirm => (
            channel.adapter.confirm_payment(&claimed).await,
            Kind::Confirm,
        ),
        Action::Cancel => (channel.adapter.cancel_payment(&claimed).await, Kind::Cancel),
    };
    state.observe.recorder(kind, &claimed.operator_id).answered(
        &channel.id,
        &answer,
        started.elapsed(),
        pending,
    );
    match answer {
        Ok(up) => record_answer(state, &claimed, &up).await.map(|_| ()),
        // Sent but unanswered: the pending action stays and reconciliation settles it.
        Err(AdapterError::Unknown(reason)) => {
            tracing::warn!(payment_id = %claimed.id, %reason, "confirm/cancel outcome unknown; reconciliation will settle it");
            Ok(())
        }
        Err(AdapterError::Refused(e)) => {
            let outcome = match e.code {
                ErrorCode::PaymentCancelled => Some(PaymentStatus::Cancelled),
                ErrorCode::PaymentDenied => Some(PaymentStatus::Denied),
                _ => None,
            };
            release(state, &claimed, outcome).await?;
            Err(e)
        }
        Err(e) => {
            release(state, &claimed, None).await?;
            Err(unavailable(&e))
        }
    }
}

/// Drops the pending action after a refusal, moving to the state the refusal proves (if any).
async fn release(
    state: &AppState,
    p: &PaymentRecord,
    outcome: Option<PaymentStatus>,
) -> Result<(), ApiError> {
    update_with(state, &p.merchant_id, &p.id, |r| {
        r.pending_action = None;
        if let Some(status) = outcome {
            let _ = r.move_to(status, Utc::now());
        }
        r.next_check_at = r
            .is_unsettled()
            .then(|| next_check(&state.config().reconcile, 0, Utc::now()));
        Ok(true)
    })
    .await
    .map(|_| ())
}
