//! Reconciliation of refunds whose outcome is not known yet (timeouts, async operators).

use chrono::Utc;
use switchboard_adapter::AdapterError;
use switchboard_core::{Phase, RefundRecord};
use switchboard_store::UpdateOutcome;
use tracing::Instrument;

use super::create::apply_upstream;
use crate::payments::next_check;
use crate::state::AppState;

/// One pass over the due refunds. Returns how many were looked at.
pub async fn settle_due(state: &AppState, merchants: &[String]) -> usize {
    let due = match state
        .store
        .due_refunds(merchants, Utc::now(), state.config.reconcile.batch)
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
    let cfg = &state.config.reconcile;
    let payment = state
        .store
        .get_payment(&r.merchant_id, &r.payment_id)
        .await
        .ok()
        .flatten();
    let channel = r
        .channel_id
        .as_deref()
        .and_then(|id| state.router.channel(id));
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
        Some(Ok(up)) => apply_upstream(&mut r, up, now),
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
    match state.store.update_refund(&r, claimed, &[]).await {
        Ok(UpdateOutcome::Updated) => {
            tracing::info!(status = %r.status, settled = !r.is_unsettled(), "refund reconciled")
        }
        Ok(_) => tracing::info!("refund changed meanwhile; next pass looks again"),
        Err(e) => tracing::warn!(error = %e, "refund reconciliation could not record the answer"),
    }
}
