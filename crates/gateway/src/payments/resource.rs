//! A payment as the operation engine drives it.

use crate::observe::Outcome;
use chrono::{DateTime, Utc};
use switchboard_core::{ApiError, ErrorCode, PaymentRecord, PaymentStatus, Phase, UpstreamPayment};
use switchboard_store::{IdempotencyKey, StoreError, UpdateOutcome};

use super::next_check;
use crate::config::ReconcileConfig;
use crate::limits::spend;
use crate::operation::Resource;
use crate::state::AppState;

impl Resource for PaymentRecord {
    type Upstream = UpstreamPayment;

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
            PaymentStatus::Processing => Outcome::Processing,
            PaymentStatus::Denied => Outcome::Denied,
            _ => Outcome::Succeeded,
        }
    }

    fn take_answer(&mut self, up: &UpstreamPayment, now: DateTime<Utc>) {
        let flagged = self.needs_review;
        self.apply_upstream(up, now);
        if self.needs_review && !flagged {
            tracing::warn!(payment_id = %self.id, "operator contradicts the state machine; marked for review");
        }
    }

    fn outcome_unknown(&mut self, _now: DateTime<Utc>) {
        self.phase = Phase::Live;
        self.status = PaymentStatus::Processing;
    }

    fn reject(&mut self, error: &ApiError, _now: DateTime<Utc>) {
        self.phase = Phase::Rejected(error.clone());
        self.next_check_at = None;
    }

    fn schedule(&mut self, config: &ReconcileConfig, now: DateTime<Utc>) {
        self.next_check_at = self.is_unsettled().then(|| next_check(config, 0, now));
    }

    /// Refused upstream: the order reference is free again, the `clientCorrelator` keeps replaying the
    /// refusal. Nothing sent: both are free.
    fn released_keys(&self, sent: bool) -> Vec<IdempotencyKey> {
        let mut keys = vec![IdempotencyKey::ReferenceCode(self.reference_code.clone())];
        if let (false, Some(cc)) = (sent, &self.client_correlator) {
            keys.push(IdempotencyKey::ClientCorrelator(cc.clone()));
        }
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
            format!("A payment with referenceCode '{code}' already exists."),
        )
    }

    fn key_reused() -> ApiError {
        ApiError::invalid_argument(
            "clientCorrelator already exists on server for a different request.",
        )
    }

    fn still_in_progress() -> ApiError {
        ApiError::new(
            ErrorCode::Aborted,
            "The original request with this clientCorrelator is still in progress. Retry later.",
        )
    }

    async fn store_update(
        &self,
        state: &AppState,
        before: &Self,
        release: &[IdempotencyKey],
    ) -> Result<UpdateOutcome<Self>, StoreError> {
        let events = crate::events::for_payment(&state.config().webhooks, before, self, Utc::now());
        state
            .store
            .update_payment(self, before.version, release, &events)
            .await
    }

    async fn reload(&self, state: &AppState) -> Result<Option<Self>, StoreError> {
        state.store.get_payment(&self.merchant_id, &self.id).await
    }

    /// Refused, denied or never sent: the spending reservation goes back.
    async fn saved(&self, state: &AppState) {
        if spend::releases(self) && spend::tracked(&state.config(), self) {
            spend::release(state.store.as_ref(), self).await;
        }
    }
}
