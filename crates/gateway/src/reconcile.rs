//! Settles payments whose outcome Switchboard does not know yet (timeouts, async operators, pending
//! confirmations, reservations that may expire) by asking the operator, with backoff.

use std::time::Duration;

use actix_web::web;
use chrono::Utc;
use switchboard_adapter::AdapterError;
use switchboard_core::{PaymentRecord, PaymentStatus, Phase};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::payments::{next_check, update_with};
use crate::state::AppState;

/// Runs [`run_once`] every `reconcile.interval_ms` until the task is aborted.
pub fn spawn(state: web::Data<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick =
            tokio::time::interval(Duration::from_millis(state.config().reconcile.interval_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            run_once(&state).await;
        }
    })
}

/// One pass over the payments that are due. Returns how many were looked at.
pub async fn run_once(state: &AppState) -> usize {
    let merchants: Vec<String> = state.config().merchants.keys().cloned().collect();
    let batch = state.config().reconcile.batch;
    let due = match state
        .store
        .due_for_reconciliation(&merchants, Utc::now(), batch)
        .await
    {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "reconciliation skipped: store unavailable");
            return 0;
        }
    };
    let mut count = due.len();
    for payment in due {
        let span =
            tracing::info_span!("reconcile", payment_id = %payment.id, status = %payment.status);
        settle_one(state, payment).instrument(span).await;
    }
    count += crate::refunds::settle_due(state, &merchants).await;
    match state.store.due_topups(&merchants, Utc::now(), batch).await {
        Ok(topups) => {
            count += topups.len();
            for topup in topups {
                let span = tracing::info_span!("reconcile_topup", tx_id = %topup.id);
                crate::topup::transactions::settle(state, topup)
                    .instrument(span)
                    .await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "top-up reconciliation skipped: store unavailable"),
    }
    count
}

/// The channel a payment claimed by a process that died before it recorded one must have gone to,
/// when its operator has only one channel for the operation; with several, nobody can tell which
/// one was called (and replaying on the wrong one could charge twice), so it waits for a human.
fn sole_channel(state: &AppState, p: &PaymentRecord) -> Option<String> {
    if p.phase != Phase::Submitting {
        return None;
    }
    let capability = crate::payments::create::capability(p.flow);
    let router = state.router();
    let mut candidates = router
        .channels()
        .filter(|c| c.operators.contains(&p.operator_id))
        .filter(|c| c.capabilities.contains(capability));
    let only = candidates.next()?;
    candidates.next().is_none().then(|| only.id.clone())
}

async fn settle_one(state: &AppState, p: PaymentRecord) {
    let cfg = &state.config().reconcile;
    let now = Utc::now();
    let too_old = (now - p.created_at).num_seconds() > cfg.max_age_secs as i64;
    let channel_id = p.channel_id.clone().or_else(|| sole_channel(state, &p));
    let channel = channel_id
        .as_deref()
        .and_then(|id| state.router().channel(id));
    let answer = match (&channel, too_old) {
        (Some(channel), false) => Some(channel.adapter.payment_status(&p).await),
        _ => None,
    };
    let result = update_with(state, &p.merchant_id, &p.id, |r| {
        let now = Utc::now();
        r.reconcile_attempts += 1;
        if r.channel_id.is_none() {
            r.channel_id.clone_from(&channel_id);
        }
        match &answer {
            None => {
                // Too old, or its channel is gone: stop asking; anything money-relevant needs a human.
                let waiting = r.phase == Phase::Submitting
                    || r.status == PaymentStatus::Processing
                    || r.pending_action.is_some();
                r.needs_review = waiting;
                r.next_check_at = None;
                if waiting {
                    tracing::warn!("payment outcome still unknown; marked for review");
                }
                return Ok(true);
            }
            Some(Ok(up)) => {
                r.apply_upstream(up, now);
            }
            Some(Err(AdapterError::Refused(e))) => {
                if r.phase == Phase::Submitting {
                    r.phase = Phase::Rejected(e.clone());
                } else if r.status == PaymentStatus::Processing {
                    let _ = r.move_to(PaymentStatus::Denied, now);
                    r.denial_reason = Some(e.message.clone());
                }
            }
            Some(Err(AdapterError::NotFound | AdapterError::Unsupported(_))) => {
                tracing::warn!("operator cannot tell the payment's outcome; marked for review");
                r.needs_review = true;
            }
            Some(Err(AdapterError::NotSent(_) | AdapterError::Unknown(_))) => {}
        }
        r.next_check_at = r
            .is_unsettled()
            .then(|| next_check(cfg, r.reconcile_attempts, now));
        Ok(true)
    })
    .await;
    match result {
        Ok(r) => tracing::info!(status = %r.status, settled = !r.is_unsettled(), "reconciled"),
        Err(e) => tracing::warn!(error = %e.message, "reconciliation could not record the answer"),
    }
}
