//! Sending a claimed record over its channels and settling what the upstream said.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use switchboard_adapter::AdapterError;
use switchboard_core::{ApiError, ErrorCode};
use switchboard_router::{Admission, CallHealth, Channel};
use switchboard_store::IdempotencyKey;
use tracing::Instrument;

use super::{save, Operation, Resource, Submitted};
use crate::observe::{CallResult, Limit, Outcome, Recorder};
use crate::state::AppState;

/// Tries the channels in order; moves on only when the previous one provably did nothing. A channel
/// whose circuit for this operation is open (or whose half-open probes are all out) is skipped with
/// nothing sent; when every channel was skipped the answer is 503 with `Retry-After`.
pub(super) async fn send<O: Operation>(
    state: &AppState,
    op: &O,
    mut record: O::Record,
    channels: &[Arc<Channel>],
    rec: &Recorder<'_>,
) -> Result<Submitted<O::Record>, ApiError> {
    let claimed = record.clone();
    // The last channel that was called, and how long it took.
    let mut tried: Option<(&str, Duration)> = None;
    let mut not_reached = false;
    let reconcile = &state.config().reconcile;
    let mut last_error = ApiError::new(
        ErrorCode::Unavailable,
        "No channel could take the request. Try again later.",
    );
    for channel in channels {
        if let Err(wait) = state.limits().channels.check(&channel.id) {
            let secs = crate::limits::retry_after_secs(wait);
            tracing::warn!(channel = %channel.id, retry_after = secs, "channel rate limit reached; nothing sent");
            rec.limit_refused(Limit::ChannelRate);
            last_error = ApiError::new(
                ErrorCode::Unavailable,
                format!("The operator's request quota is used up. Retry after {secs} s."),
            )
            .retry_after(secs);
            continue;
        }
        let capability = op.capability(&record);
        if let Admission::Refused { retry_after_ms } = channel.admit(capability) {
            let secs = retry_after_ms.div_ceil(1_000).max(1);
            tracing::info!(channel = %channel.id, retry_after = secs, "circuit open; channel skipped, nothing sent");
            // The soonest any skipped channel takes requests again.
            let soonest = last_error.retry_after_secs.map_or(secs, |s| s.min(secs));
            last_error = ApiError::new(
                ErrorCode::Unavailable,
                format!("The operator cannot be reached for now. Retry after {soonest} s."),
            )
            .retry_after(soonest);
            continue;
        }
        record.set_channel(&channel.id);
        let span = upstream_span::<O::Record>(&channel.id);
        let started = Instant::now();
        let in_flight = channel.control.sending();
        let answer = op.call(channel, &record).instrument(span.clone()).await;
        drop(in_flight);
        let took = started.elapsed();
        tried = Some((channel.id.as_str(), took));
        let result = CallResult::of(&answer);
        rec.call(&channel.id, result, took);
        span.record("result", result.as_str());
        let now = Utc::now();
        channel
            .health
            .record(capability, call_health(&answer, took));
        match answer {
            Ok(up) => {
                record.take_answer(&up, now);
                record.schedule(reconcile, now);
                tracing::info!(channel = %channel.id, "accepted upstream");
                rec.done(Some(&channel.id), record.outcome(), None, Some(took));
                return answered(state, &claimed, record, &[]).await;
            }
            Err(AdapterError::Refused(error)) => {
                let error = op.refusal(error);
                tracing::info!(channel = %channel.id, code = error.code.as_str(), "refused upstream");
                rec.done(
                    Some(&channel.id),
                    Outcome::Denied,
                    Some(error.code),
                    Some(took),
                );
                record.reject(&error, now);
                let release = record.released_keys(true);
                return answered(state, &claimed, record, &release).await;
            }
            Err(AdapterError::Unknown(reason)) => {
                tracing::warn!(channel = %channel.id, %reason, "upstream outcome unknown; left for reconciliation");
                rec.done(Some(&channel.id), Outcome::Unknown, None, Some(took));
                record.outcome_unknown(now);
                record.schedule(reconcile, now);
                return answered(state, &claimed, record, &[]).await;
            }
            Err(AdapterError::NotSent(reason)) => {
                not_reached = true;
                tracing::warn!(channel = %channel.id, %reason, "upstream not reached; trying the next channel");
                last_error = ApiError::new(
                    ErrorCode::Unavailable,
                    "The operator cannot be reached. Try again later.",
                );
            }
            Err(AdapterError::NotFound) => {
                last_error = ApiError::of(ErrorCode::IdentifierNotFound);
                break;
            }
            Err(AdapterError::Unsupported(what)) => {
                last_error = ApiError::new(
                    ErrorCode::ServiceNotApplicable,
                    format!("The operator does not offer {what}."),
                );
            }
        }
    }
    // Nothing was taken upstream: not reached anywhere, or refused before sending.
    let outcome = if not_reached {
        Outcome::NotSent
    } else {
        Outcome::Rejected
    };
    rec.done(
        tried.map(|(c, _)| c),
        outcome,
        Some(last_error.code),
        tried.map(|(_, t)| t),
    );
    refuse_from(state, &claimed, record, last_error).await
}

/// What an answer says about the channel: business refusals are outcomes, never health.
fn call_health<T>(answer: &Result<T, AdapterError>, took: Duration) -> CallHealth {
    match answer {
        Ok(_) | Err(AdapterError::Refused(_)) => CallHealth::Answered(took),
        Err(AdapterError::NotSent(_) | AdapterError::Unknown(_)) => CallHealth::Failed,
        Err(AdapterError::NotFound | AdapterError::Unsupported(_)) => CallHealth::Neutral,
    }
}

async fn answered<R: Resource>(
    state: &AppState,
    claimed: &R,
    record: R,
    release: &[IdempotencyKey],
) -> Result<Submitted<R>, ApiError> {
    let span = crate::telemetry::span(|| tracing::info_span!("store.save"));
    save(state, claimed, record, release)
        .instrument(span)
        .await?
        .into_answer()
        .map(|record| Submitted {
            record,
            replayed: false,
        })
}

/// Records a claimed record as refused before anything was sent, freeing its keys (so an identical
/// retry starts afresh), and answers as the stored record says: the refusal, or (a failed top-up) the
/// record itself.
pub(super) async fn refuse_unsent<R: Resource>(
    state: &AppState,
    record: R,
    error: ApiError,
) -> Result<Submitted<R>, ApiError> {
    let claimed = record.clone();
    refuse_from(state, &claimed, record, error).await
}

async fn refuse_from<R: Resource>(
    state: &AppState,
    claimed: &R,
    mut record: R,
    error: ApiError,
) -> Result<Submitted<R>, ApiError> {
    record.reject(&error, Utc::now());
    let release = record.released_keys(false);
    answered(state, claimed, record, &release).await
}

/// The span of one upstream call: channel (a configuration id), the record kind, the result.
fn upstream_span<R>(channel: &str) -> tracing::Span {
    if !crate::telemetry::enabled() {
        return tracing::Span::none();
    }
    let kind = std::any::type_name::<R>()
        .rsplit("::")
        .next()
        .unwrap_or("record");
    tracing::info_span!(
        "upstream.call",
        otel.kind = "client",
        channel = %channel,
        operation = %kind.trim_end_matches("Record"),
        result = tracing::field::Empty,
    )
}
