//! Applying what the operator says to a stored payment, with compare-and-set retries.

use chrono::{DateTime, Duration, Utc};
use switchboard_core::{ApiError, PaymentRecord};
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
        let events = events::for_payment(&state.config().webhooks, &current, &next, Utc::now());
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
}
