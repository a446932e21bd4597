//! A request whose idempotency key is taken: replay the original, or explain why not.

use std::time::Duration;

use switchboard_core::ApiError;
use switchboard_store::IdempotencyKey;

use super::{Resource, Submitted};
use crate::payments::store_error;
use crate::state::AppState;

pub(super) async fn replay<R: Resource>(
    state: &AppState,
    request: &R,
    key: Option<IdempotencyKey>,
    existing: R,
) -> Result<Submitted<R>, ApiError> {
    if let Some(IdempotencyKey::ReferenceCode(code)) = key {
        return Err(R::reference_taken(&code));
    }
    if existing.fingerprint() != request.fingerprint() {
        return Err(R::key_reused());
    }
    let settled = wait_while_in_flight(state, existing).await?;
    if settled.in_flight() {
        return Err(R::still_in_progress());
    }
    settled.into_answer().map(|record| Submitted {
        record,
        replayed: true,
    })
}

/// Polls the stored record (10 ms, doubling to 200 ms) until the original request has been
/// answered or `payments.duplicate_wait_ms` has passed.
async fn wait_while_in_flight<R: Resource>(state: &AppState, mut record: R) -> Result<R, ApiError> {
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(state.config().payments.duplicate_wait_ms);
    let mut pause = Duration::from_millis(10);
    while record.in_flight() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
        record = record
            .reload(state)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::of(switchboard_core::ErrorCode::Internal))?;
    }
    Ok(record)
}
