//! Reconciliation of refunds whose outcome is not known yet (timeouts, async operators).

use chrono::Utc;
use switchboard_adapter::{AdapterError, UpstreamRefund};
use switchboard_core::{ApiError, ErrorCode, Phase, RefundRecord};
use switchboard_store::UpdateOutcome;
use tracing::Instrument;

use crate::payments::{next_check, store_error};
use crate::state::AppState;

/// Applies an operator's notification about a refund (compare-and-set, retried on a concurrent
/// write). A stale or out-of-order notification the state machine refuses changes nothing.
pub async fn apply_notice(
    state: &AppState,
    channel_id: &str,
    merchant_id: &str,
    payment_id: &str,
    refund_id: &str,
    update: &UpstreamRefund,
) -> Result<(), ApiError> {
    for _ in 0..8 {
        let current = state
            .store
            .get_refund(merchant_id, payment_id, refund_id)
            .await
            .map_err(store_error)?
            .filter(|r| r.channel_id.as_deref() == Some(channel_id))
            .ok_or_else(ApiError::not_found)?;
        let now = Utc::now();
        if current.clone().move_to(update.status, now).is_err() {
            tracing::info!(refund_id, "stale refund notification ignored");
            return Ok(());
        }
        let mut next = current.clone();
        next.apply_upstream(update, now);
        if !next.is_unsettled() {
            next.next_check_at = None;
        }
        let unchanged = RefundRecord {
            updated_at: current.updated_at,
            ..next.clone()
        } == current;
        if unchanged {
            return Ok(());
        }
        next.version = current.version + 1;
        let events = crate::events::for_refund(&state.config().webhooks, &current, &next, now);
        match state
            .store
            .update_refund(&next, current.version, &[], &events)
            .await
            .map_err(store_error)?
        {
            UpdateOutcome::Updated => {
                tracing::info!(refund_id, status = %next.status, "refund notification applied");
                return Ok(());
            }
            UpdateOutcome::Conflict(_) => continue,
            UpdateOutcome::Missing => return Err(ApiError::not_found()),
        }
    }
    Err(ApiError::new(
        ErrorCode::Aborted,
        "The refund is being changed concurrently; retry.",
    ))
}

/// One pass over the due refunds. Returns how many were looked at.
pub async fn settle_due(state: &AppState, merchants: &[String]) -> usize {
    let due = match state
        .store
        .due_refunds(merchants, Utc::now(), state.config().reconcile.batch)
        .await
    {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "refund reconciliation skipped: store unavailable");
            return 0;
        }
    };
    let count = due.len();
    for refund in due {
        let span = tracing::info_span!("reconcile_refund", refund_id = %refund.id);
        settle_one(state, refund).instrument(span).await;
    }
    count
}

async fn settle_one(state: &AppState, mut r: RefundRecord) {
    let before = r.clone();
    let cfg = &state.config().reconcile;
    let payment = state
        .store
        .get_payment(&r.merchant_id, &r.payment_id)
        .await
        .ok()
        .flatten();
    let channel = r
        .channel_id
        .as_deref()
        .and_then(|id| state.router().channel(id));
    let too_old = (Utc::now() - r.created_at).num_seconds() > cfg.max_age_secs as i64;
    let answer = match (&payment, &channel, too_old) {
        (Some(p), Some(c), false) => Some(c.adapter.refund_status(p, &r).await),
        _ => None,
    };
    let now = Utc::now();
    let claimed = r.version;
    r.reconcile_attempts += 1;
    match &answer {
        None => r.needs_review = true,
        Some(Ok(up)) => r.apply_upstream(up, now),
        Some(Err(AdapterError::Refused(e))) => {
            if r.phase == Phase::Submitting {
                r.phase = Phase::Rejected(e.clone());
            } else {
                let _ = r.move_to(switchboard_core::RefundStatus::Denied, now);
                r.denial_reason = Some(e.message.clone());
            }
        }
        Some(Err(AdapterError::NotFound | AdapterError::Unsupported(_))) => r.needs_review = true,
        Some(Err(AdapterError::NotSent(_) | AdapterError::Unknown(_))) => {}
    }
    r.next_check_at = r
        .is_unsettled()
        .then(|| next_check(cfg, r.reconcile_attempts, now));
    r.version = claimed + 1;
    let events = crate::events::for_refund(&state.config().webhooks, &before, &r, now);
    match state.store.update_refund(&r, claimed, &[], &events).await {
        Ok(UpdateOutcome::Updated) => {
            tracing::info!(status = %r.status, settled = !r.is_unsettled(), "refund reconciled")
        }
        Ok(_) => tracing::info!("refund changed meanwhile; next pass looks again"),
        Err(e) => tracing::warn!(error = %e, "refund reconciliation could not record the answer"),
    }
}
