//! The one operation engine: every new payment, reservation, refund and top-up goes
//! claim → route → send → settle, or replay.
//!
//! 1. **Claim** ([`Operation::claim`]): the record and its idempotency keys go into the store in one
//!    atomic step, with whatever must be decided in that step (the merchant's shared rate limit, the
//!    subscriber's spending reservation, a refund's remaining-amount guard). A key already taken is
//!    answered by [`replay`](replay::replay) — a duplicate is never routed and never sent.
//! 2. **Route** ([`Operation::channels`]): the channels able to do it, best first.
//! 3. **Send** ([`send`](send::send)): channel by channel, moving on only when the previous one
//!    provably did nothing (not reached, its quota used up, the operation not offered).
//! 4. **Settle**: the answer is folded into the record and saved with compare-and-set; an unknown
//!    outcome stays unsettled for reconciliation; nothing sent anywhere gives the keys back.
//!
//! What differs between resources lives beside them: [`Resource`] (the record: how it takes an
//! answer, is refused, is stored) and [`Operation`] (one request: its claim, its channels, its call).

mod replay;
mod resource;
mod send;

use std::sync::Arc;

use switchboard_adapter::{AdapterError, Capability};
use switchboard_core::{ApiError, ErrorCode};
use switchboard_router::Channel;
use switchboard_store::IdempotencyKey;
use tracing::Instrument;

pub use resource::{save, Resource};

use crate::observe::{Limit, Outcome};
use crate::state::AppState;

/// The stored record to answer with, and whether it is a replay of an earlier request.
pub struct Submitted<R> {
    pub record: R,
    pub replayed: bool,
}

/// What the claim found.
pub enum Claim<R> {
    /// The record is stored with its keys: go on.
    Inserted,
    /// A key is taken (by `existing`); nothing was written. `key` is `None` when a resource has a
    /// single key.
    Existing {
        key: Option<IdempotencyKey>,
        existing: R,
    },
    /// The record is stored but may not be sent (a limit refused it in the same step): it is
    /// recorded as refused and its keys go back.
    Refused(ApiError),
}

/// One request for a new resource: the parts the engine cannot know.
#[allow(async_fn_in_trait)]
pub trait Operation: Sync {
    type Record: Resource;

    /// Stores `record` with its keys (see [`Claim`]). An `Err` means nothing was written.
    async fn claim(
        &self,
        state: &AppState,
        record: &mut Self::Record,
    ) -> Result<Claim<Self::Record>, ApiError>;

    /// The operation asked of the channel: its circuit breaker and window are this capability's.
    fn capability(&self, record: &Self::Record) -> Capability;

    /// The channels to try, best first.
    fn channels(
        &self,
        state: &AppState,
        record: &Self::Record,
    ) -> Result<Vec<Arc<Channel>>, ApiError>;

    /// The upstream call on one channel.
    async fn call(
        &self,
        channel: &Channel,
        record: &Self::Record,
    ) -> Result<<Self::Record as Resource>::Upstream, AdapterError>;

    /// What this request asks of the operator (the `kind` label of the metrics).
    fn kind(&self, record: &Self::Record) -> crate::observe::Kind;

    /// The operator it is for (a configured operator id).
    fn operator<'a>(&'a self, record: &'a Self::Record) -> &'a str;

    /// An upstream refusal as this API tells it to the merchant.
    fn refusal(&self, error: ApiError) -> ApiError {
        error
    }
}

/// Runs one request end to end. Guarantees: at most one upstream request per idempotency key; an
/// unknown upstream outcome is recorded unsettled, never lost; nothing sent → the keys are free.
pub async fn run<O: Operation>(
    state: &AppState,
    op: &O,
    mut record: O::Record,
) -> Result<Submitted<O::Record>, ApiError> {
    let rec = state
        .observe
        .recorder(op.kind(&record), op.operator(&record));
    let claim = op
        .claim(state, &mut record)
        .instrument(crate::telemetry::span(|| {
            tracing::info_span!("store.claim")
        }))
        .await
        .inspect_err(|e| {
            if e.code == ErrorCode::TooManyRequests {
                rec.limit_refused(Limit::MerchantRate);
            }
        })?;
    match claim {
        Claim::Inserted => {}
        Claim::Existing { key, existing } => {
            let replayed = replay::replay(state, &record, key, existing).await;
            if matches!(replayed, Ok(Submitted { replayed: true, .. })) {
                rec.replayed();
            }
            return replayed;
        }
        Claim::Refused(error) => {
            rec.limit_refused(Limit::Spending);
            rec.done(None, Outcome::Rejected, Some(error.code), None);
            return send::refuse_unsent(state, record, error).await;
        }
    }
    let channels = match op.channels(state, &record) {
        Ok(channels) => channels,
        Err(error) => {
            rec.done(None, Outcome::Rejected, Some(error.code), None);
            return send::refuse_unsent(state, record, error).await;
        }
    };
    send::send(state, op, record, &channels, &rec).await
}

/// Sends a stored record again: its outcome was unknown, or the request that sent it is gone. Only
/// for resources whose upstream reference derives from the record's id, so the upstream answers
/// with the transaction it already has instead of making a second one. The save is the same
/// compare-and-set as in [`run`]: a concurrent writer's record wins.
pub async fn resend<O: Operation>(
    state: &AppState,
    op: &O,
    record: O::Record,
) -> Result<Submitted<O::Record>, ApiError> {
    let rec = state
        .observe
        .recorder(op.kind(&record), op.operator(&record));
    let channels = op.channels(state, &record)?;
    let sent = send::send(state, op, record, &channels, &rec).await?;
    Ok(Submitted {
        replayed: true,
        ..sent
    })
}
