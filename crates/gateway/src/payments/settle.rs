//! Applying what the operator says to a stored payment, with compare-and-set retries.

use chrono::{DateTime, Duration, Utc};
use switchboard_adapter::UpstreamPayment;
use switchboard_core::{ApiError, PaymentRecord, PaymentStatus, PendingAction, Phase};
use switchboard_store::UpdateOutcome;

use super::store_error;
use crate::config::ReconcileConfig;
use crate::events;
use crate::state::AppState;

/// When reconciliation should look again: `min_delay · 2^attempts`, capped at `max_delay`.
pub fn next_check(r: &ReconcileConfig, attempts: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    let factor = 1u64.checked_shl(attempts.min(20)).unwrap_or(u64::MAX);
    let delay = r.min_delay_ms.saturating_mul(factor).min(r.max_delay_ms);
    now + Duration::milliseconds(delay as i64)
}

/// Folds the operator's view into `p`. Returns whether anything changed. An impossible move (the
/// operator contradicts the state machine) flags the payment for review instead of corrupting it.
pub fn apply_upstream(p: &mut PaymentRecord, up: &UpstreamPayment, now: DateTime<Utc>) -> bool {
    let before = p.clone();
    if p.phase == Phase::Submitting {
        p.phase = Phase::Live;
    }
    if p.upstream_id.is_none() {
        p.upstream_id.clone_from(&up.upstream_id);
    }
    if up.server_reference_code.is_some() {
        p.server_reference_code
            .clone_from(&up.server_reference_code);
    }
    if up.validation_info.is_some() {
        p.validation_info.clone_from(&up.validation_info);
    }
    // Some operators show a reservation being confirmed as `processing`; for us it stays reserved
    // with the pending action until the operator reports the outcome.
    let confirming = p.status == PaymentStatus::Reserved
        && up.status == PaymentStatus::Processing
        && p.pending_action.is_some();
    let target = if confirming {
        PaymentStatus::Reserved
    } else {
        up.status
    };
    match p.move_to(target, now) {
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(payment_id = %p.id, error = %e.message, "operator contradicts the state machine");
            p.needs_review = true;
        }
    }
    if let Some(date) = up
        .payment_date
        .filter(|_| p.status == PaymentStatus::Succeeded)
    {
        p.payment_date = Some(date);
    }
    if p.status == PaymentStatus::Denied && p.denial_reason.is_none() {
        p.denial_reason.clone_from(&up.denial_reason);
    }
    let settled_action = match p.pending_action {
        Some(PendingAction::Confirm) => p.status != PaymentStatus::Reserved,
        Some(PendingAction::Cancel) => p.status != PaymentStatus::Reserved,
        None => false,
    };
    if settled_action {
        p.pending_action = None;
    }
    let changed = *p != before;
    if changed {
        p.updated_at = now;
    }
    changed
}

/// Reads the payment, lets `change` edit it, and writes it back with compare-and-set, retrying on a
/// concurrent write. `change` returns `false` to leave the payment untouched.
pub async fn update_with<F>(
    state: &AppState,
    merchant_id: &str,
    payment_id: &str,
    mut change: F,
) -> Result<PaymentRecord, ApiError>
where
    F: FnMut(&mut PaymentRecord) -> Result<bool, ApiError>,
{
    let store = state.store.as_ref();
    for _ in 0..8 {
        let current = store
            .get_payment(merchant_id, payment_id)
            .await
            .map_err(store_error)?
            .ok_or_else(ApiError::not_found)?;
        let mut next = current.clone();
        if !change(&mut next)? {
            return Ok(current);
        }
        next.version = current.version + 1;
        let events = events::for_payment(&state.config.webhooks, &current, &next, Utc::now());
        match store
            .update_payment(&next, current.version, &[], &events)
            .await
            .map_err(store_error)?
        {
            UpdateOutcome::Updated => {
                // Denied, cancelled (or expired) now: the spending reservation goes back.
                if crate::limits::spend::releases(&next)
                    && !crate::limits::spend::releases(&current)
                {
                    crate::limits::spend::release(store, &next).await;
                }
                return Ok(next);
            }
            UpdateOutcome::Conflict(_) => continue,
            UpdateOutcome::Missing => return Err(ApiError::not_found()),
        }
    }
    Err(ApiError::new(
        switchboard_core::ErrorCode::Aborted,
        "The payment is being changed concurrently; retry.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_store::conformance::sample_payment;

    fn reconcile() -> ReconcileConfig {
        ReconcileConfig {
            interval_ms: 100,
            min_delay_ms: 1000,
            max_delay_ms: 8000,
            max_age_secs: 60,
            batch: 10,
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let now = Utc::now();
        let delays: Vec<i64> = (0..6)
            .map(|a| (next_check(&reconcile(), a, now) - now).num_milliseconds())
            .collect();
        assert_eq!(delays, [1000, 2000, 4000, 8000, 8000, 8000]);
        assert!(next_check(&reconcile(), u32::MAX, now) > now);
    }

    #[test]
    fn applying_success_goes_live_and_dates_the_payment() {
        let mut p = sample_payment("p", "m", 1);
        p.phase = Phase::Submitting;
        p.status = PaymentStatus::Processing;
        let mut up = UpstreamPayment::with_status(PaymentStatus::Succeeded);
        up.upstream_id = Some("u1".into());
        let now = Utc::now();
        assert!(apply_upstream(&mut p, &up, now));
        assert_eq!(
            (p.phase.clone(), p.status, p.upstream_id.as_deref()),
            (Phase::Live, PaymentStatus::Succeeded, Some("u1"))
        );
        assert_eq!(p.payment_date, Some(now));
        assert!(
            !apply_upstream(&mut p, &up, now),
            "a duplicate answer changes nothing"
        );
    }

    #[test]
    fn contradictions_are_flagged_not_applied() {
        let mut p = sample_payment("p", "m", 1); // succeeded
        let up = UpstreamPayment::with_status(PaymentStatus::Reserved);
        apply_upstream(&mut p, &up, Utc::now());
        assert_eq!(p.status, PaymentStatus::Succeeded);
        assert!(p.needs_review);
    }

    #[test]
    fn a_settled_confirmation_clears_the_pending_action() {
        let mut p = sample_payment("p", "m", 1);
        p.status = PaymentStatus::Reserved;
        p.pending_action = Some(PendingAction::Confirm);
        apply_upstream(
            &mut p,
            &UpstreamPayment::with_status(PaymentStatus::Reserved),
            Utc::now(),
        );
        assert_eq!(
            p.pending_action,
            Some(PendingAction::Confirm),
            "still waiting"
        );
        apply_upstream(
            &mut p,
            &UpstreamPayment::with_status(PaymentStatus::Succeeded),
            Utc::now(),
        );
        assert_eq!(p.pending_action, None);
    }
}
