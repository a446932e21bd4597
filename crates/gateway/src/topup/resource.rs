//! A top-up as the operation engine drives it. Unlike a payment, a top-up refused or never sent is
//! kept as `failed` under its `external_tx_id` (a retry with the same id replays the failure).

use crate::observe::Outcome;
use chrono::{DateTime, Utc};
use switchboard_core::topup::{TopUpRecord, TopUpStatus};
use switchboard_core::{ApiError, ErrorCode, UpstreamTopUp};
use switchboard_store::{IdempotencyKey, StoreError, UpdateOutcome};

use crate::config::ReconcileConfig;
use crate::operation::Resource;
use crate::payments::next_check;
use crate::state::AppState;

/// Reconciliation's next look at a pending top-up: each answer that leaves it pending once the
/// provider has its id counts as an attempt for the backoff.
pub(super) fn schedule(r: &mut TopUpRecord, config: &ReconcileConfig, now: DateTime<Utc>) {
    r.reconcile_attempts +=
        u32::from(r.status == TopUpStatus::Pending && r.upstream_tx_id.is_some());
    r.next_check_at = r
        .is_unsettled()
        .then(|| next_check(config, r.reconcile_attempts, now));
    r.updated_at = now;
}

/// Folds a provider's answer in, logging a contradiction of the state machine.
pub(super) fn take_answer(r: &mut TopUpRecord, up: &UpstreamTopUp, now: DateTime<Utc>) {
    if !r.apply_upstream(up, now) {
        tracing::warn!(tx_id = %r.id, "provider contradicts the top-up state machine");
    }
}

impl Resource for TopUpRecord {
    type Upstream = UpstreamTopUp;

    fn version(&self) -> u64 {
        self.version
    }

    fn set_version(&mut self, version: u64) {
        self.version = version;
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn set_channel(&mut self, channel_id: &str) {
        self.channel_id = Some(channel_id.to_string());
    }

    /// A replay answers with the top-up as it stands (`pending` while the provider works on it).
    fn in_flight(&self) -> bool {
        false
    }

    fn outcome(&self) -> Outcome {
        match self.status {
            TopUpStatus::Pending => Outcome::Processing,
            TopUpStatus::Failed => Outcome::Denied,
            TopUpStatus::Completed => Outcome::Succeeded,
        }
    }

    fn take_answer(&mut self, up: &UpstreamTopUp, now: DateTime<Utc>) {
        take_answer(self, up, now);
    }

    /// May have been applied: stays pending and is settled by status queries.
    fn outcome_unknown(&mut self, _now: DateTime<Utc>) {}

    /// Proven not applied: failed, nothing was credited.
    fn reject(&mut self, error: &ApiError, now: DateTime<Utc>) {
        self.fail(&error.message, now);
        self.next_check_at = None;
    }

    fn schedule(&mut self, config: &ReconcileConfig, now: DateTime<Utc>) {
        schedule(self, config, now);
    }

    fn released_keys(&self, _sent: bool) -> Vec<IdempotencyKey> {
        Vec::new()
    }

    fn into_answer(self) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn reference_taken(_code: &str) -> ApiError {
        Self::key_reused()
    }

    fn key_reused() -> ApiError {
        ApiError::new(
            ErrorCode::Conflict,
            "external_tx_id was already used for a different top-up.",
        )
    }

    fn still_in_progress() -> ApiError {
        ApiError::new(
            ErrorCode::Aborted,
            "The original top-up with this external_tx_id is still in progress. Retry later.",
        )
    }

    async fn store_update(
        &self,
        state: &AppState,
        before: &Self,
        _release: &[IdempotencyKey],
    ) -> Result<UpdateOutcome<Self>, StoreError> {
        let events = crate::events::for_topup(&state.config().webhooks, before, self, Utc::now());
        state
            .store
            .update_topup(self, before.version, &events)
            .await
    }

    async fn reload(&self, state: &AppState) -> Result<Option<Self>, StoreError> {
        state.store.get_topup(&self.merchant_id, &self.id).await
    }
}
