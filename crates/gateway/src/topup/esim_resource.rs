//! An eSIM order as the operation engine drives it. Nothing is reconciled in the background: an
//! order whose outcome is unknown is sent again, under the same reference, by the merchant's retry
//! (see `esim.rs`).

use chrono::{DateTime, Utc};
use switchboard_core::{ApiError, ErrorCode, EsimOrder, EsimOrderRecord, EsimOrderStatus};
use switchboard_store::{IdempotencyKey, StoreError, UpdateOutcome};

use crate::config::ReconcileConfig;
use crate::observe::Outcome;
use crate::operation::Resource;
use crate::state::AppState;

impl Resource for EsimOrderRecord {
    type Upstream = EsimOrder;

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

    fn in_flight(&self) -> bool {
        EsimOrderRecord::in_flight(self, Utc::now())
    }

    fn outcome(&self) -> Outcome {
        match self.status {
            EsimOrderStatus::Sending => Outcome::Processing,
            EsimOrderStatus::Unknown => Outcome::Unknown,
            EsimOrderStatus::Ordered => Outcome::Succeeded,
            EsimOrderStatus::Failed => Outcome::Denied,
        }
    }

    fn take_answer(&mut self, up: &EsimOrder, now: DateTime<Utc>) {
        self.take_order(up, now);
    }

    fn outcome_unknown(&mut self, now: DateTime<Utc>) {
        EsimOrderRecord::outcome_unknown(self, now);
    }

    fn reject(&mut self, error: &ApiError, now: DateTime<Utc>) {
        self.refuse(error, now);
    }

    /// Settled by the merchant's retry, not by reconciliation.
    fn schedule(&mut self, _config: &ReconcileConfig, now: DateTime<Utc>) {
        self.updated_at = now;
    }

    /// The key stays with the order: a retry finds it and sends it again if needed.
    fn released_keys(&self, _sent: bool) -> Vec<IdempotencyKey> {
        Vec::new()
    }

    /// The handler answers from the record ([`EsimOrderRecord::answer`]).
    fn into_answer(self) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn reference_taken(_code: &str) -> ApiError {
        Self::key_reused()
    }

    fn key_reused() -> ApiError {
        ApiError::new(
            ErrorCode::Conflict,
            "external_order_id was already used for a different eSIM order.",
        )
    }

    fn still_in_progress() -> ApiError {
        EsimOrderRecord::still_in_progress()
    }

    async fn store_update(
        &self,
        state: &AppState,
        before: &Self,
        _release: &[IdempotencyKey],
    ) -> Result<UpdateOutcome<Self>, StoreError> {
        state.store.update_esim_order(self, before.version).await
    }

    async fn reload(&self, state: &AppState) -> Result<Option<Self>, StoreError> {
        state
            .store
            .get_esim_order(&self.merchant_id, &self.id)
            .await
    }
}
