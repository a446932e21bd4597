//! A refund as the operation engine drives it.

use crate::observe::Outcome;
use chrono::{DateTime, Utc};
use switchboard_core::{ApiError, ErrorCode, Phase, RefundRecord, RefundStatus, UpstreamRefund};
use switchboard_store::{IdempotencyKey, StoreError, UpdateOutcome};

use crate::config::ReconcileConfig;
use crate::operation::Resource;
use crate::payments::next_check;
use crate::state::AppState;

impl Resource for RefundRecord {
    type Upstream = UpstreamRefund;

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
        self.phase == Phase::Submitting
    }

    fn outcome(&self) -> Outcome {
        match self.status {
            RefundStatus::Processing => Outcome::Processing,
            RefundStatus::Denied => Outcome::Denied,
            RefundStatus::Succeeded => Outcome::Succeeded,
        }
    }

    fn take_answer(&mut self, up: &UpstreamRefund, now: DateTime<Utc>) {
        let flagged = self.needs_review;
        self.apply_upstream(up, now);
        if self.needs_review && !flagged {
            tracing::warn!(refund_id = %self.id, "operator contradicts the refund state machine; marked for review");
        }
    }

    fn outcome_unknown(&mut self, _now: DateTime<Utc>) {
        self.phase = Phase::Live;
    }

    fn reject(&mut self, error: &ApiError, _now: DateTime<Utc>) {
        self.phase = Phase::Rejected(error.clone());
        self.next_check_at = None;
    }

    fn schedule(&mut self, config: &ReconcileConfig, now: DateTime<Utc>) {
        self.next_check_at = self.is_unsettled().then(|| next_check(config, 0, now));
    }

    fn released_keys(&self, sent: bool) -> Vec<IdempotencyKey> {
        let mut keys = Vec::with_capacity(2);
        if let (false, Some(cc)) = (sent, &self.client_correlator) {
            keys.push(IdempotencyKey::ClientCorrelator(cc.clone()));
        }
        keys.push(IdempotencyKey::ReferenceCode(self.reference_code.clone()));
        keys
    }

    fn into_answer(self) -> Result<Self, ApiError> {
        match self.phase {
            Phase::Rejected(error) => Err(error),
            _ => Ok(self),
        }
    }

    fn reference_taken(code: &str) -> ApiError {
        ApiError::new(
            ErrorCode::AlreadyExists,
            format!("A refund with referenceCode '{code}' already exists."),
        )
    }

    fn key_reused() -> ApiError {
        ApiError::invalid_argument("clientCorrelator already exist on server.")
    }

    fn still_in_progress() -> ApiError {
        ApiError::new(
            ErrorCode::AlreadyExists,
            "The original request with this clientCorrelator is still in progress. Retry later.",
        )
    }

    async fn store_update(
        &self,
        state: &AppState,
        before: &Self,
        release: &[IdempotencyKey],
    ) -> Result<UpdateOutcome<Self>, StoreError> {
        let events = crate::events::for_refund(&state.config().webhooks, before, self, Utc::now());
        state
            .store
            .update_refund(self, before.version, release, &events)
            .await
    }

    async fn reload(&self, state: &AppState) -> Result<Option<Self>, StoreError> {
        state
            .store
            .get_refund(&self.merchant_id, &self.payment_id, &self.id)
            .await
    }
}
