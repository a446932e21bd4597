//! What the engine needs to know about a payment, a refund or a top-up record.

use chrono::{DateTime, Utc};
use switchboard_core::{ApiError, ErrorCode};
use switchboard_store::{IdempotencyKey, StoreError, UpdateOutcome};

use crate::config::ReconcileConfig;
use crate::payments::store_error;
use crate::state::AppState;

/// A record the engine drives from its claim to its first settled state.
#[allow(async_fn_in_trait)]
pub trait Resource: Clone + Send + Sync + Sized {
    /// What the upstream answers about it.
    type Upstream: Send + Sync;

    fn version(&self) -> u64;
    fn set_version(&mut self, version: u64);
    fn fingerprint(&self) -> &str;
    fn set_channel(&mut self, channel_id: &str);

    /// Whether the original request may still be on its way upstream (a replay waits for it).
    fn in_flight(&self) -> bool;

    fn take_answer(&mut self, up: &Self::Upstream, now: DateTime<Utc>);

    /// Still waiting on the operator (after an answer: accepted, not settled yet).
    fn unsettled(&self) -> bool;

    /// The upstream's answer is unknown (a timeout): it stays unsettled for reconciliation.
    fn outcome_unknown(&mut self, now: DateTime<Utc>);

    /// Refused with `error`, by the upstream or before anything was sent.
    fn reject(&mut self, error: &ApiError, now: DateTime<Utc>);

    /// When reconciliation should look next (nothing when settled).
    fn schedule(&mut self, config: &ReconcileConfig, now: DateTime<Utc>);

    /// The idempotency keys a refusal gives back: `sent` when the upstream refused, otherwise
    /// nothing reached any upstream.
    fn released_keys(&self, sent: bool) -> Vec<IdempotencyKey>;

    /// The merchant's answer: the record, or the error it was refused with.
    fn into_answer(self) -> Result<Self, ApiError>;

    /// 409: another resource of the merchant has this reference code.
    fn reference_taken(code: &str) -> ApiError;
    /// The idempotency key was used for a different request.
    fn key_reused() -> ApiError;
    /// The original request is still being sent after the replay waited for it.
    fn still_in_progress() -> ApiError;

    /// Compare-and-set of `self` over `before` (the stored version), freeing `release` and adding
    /// the events the change produces, in one step.
    async fn store_update(
        &self,
        state: &AppState,
        before: &Self,
        release: &[IdempotencyKey],
    ) -> Result<UpdateOutcome<Self>, StoreError>;

    /// The stored record now.
    async fn reload(&self, state: &AppState) -> Result<Option<Self>, StoreError>;

    /// After the record was saved in a settled-or-live state (payments give refused spending back).
    async fn saved(&self, state: &AppState) {
        let _ = state;
    }
}

/// Writes `after` over `before`. A concurrent writer (reconciliation taking over) wins: what it
/// stored is the truth and is returned.
#[tracing::instrument(name = "store.save", skip_all)]
pub async fn save<R: Resource>(
    state: &AppState,
    before: &R,
    mut after: R,
    release: &[IdempotencyKey],
) -> Result<R, ApiError> {
    after.set_version(before.version() + 1);
    let stored = match after
        .store_update(state, before, release)
        .await
        .map_err(store_error)?
    {
        UpdateOutcome::Updated => after,
        UpdateOutcome::Conflict(current) => *current,
        UpdateOutcome::Missing => return Err(ApiError::of(ErrorCode::Internal)),
    };
    stored.saved(state).await;
    Ok(stored)
}
