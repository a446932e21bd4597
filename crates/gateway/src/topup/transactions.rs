//! `POST /telecom/topup` and the settling of pending top-ups. The merchant's `external_tx_id` is the
//! idempotency key: an identical retry returns the same transaction, another body is `409 CONFLICT`.

use crate::observe::Kind;
use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use switchboard_adapter::{AdapterError, Capability, UpstreamTopUp};
use switchboard_core::topup::TopUpRecord;
use switchboard_core::{ApiError, ErrorCode, NewTopUp};
use switchboard_router::Channel;
use switchboard_store::TopUpInsert;
use tracing::Instrument;

use super::lookup;
use super::resource::{schedule, take_answer};
use crate::operation::{self, save, Claim, Operation};
use crate::payments::store_error;
use crate::state::AppState;

pub type Submitted = operation::Submitted<TopUpRecord>;

pub async fn create(state: &AppState, req: NewTopUp) -> Result<Submitted, ApiError> {
    let listed = state.catalogue.get(&req.product_id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("No product '{}'.", req.product_id),
        )
    })?;
    let product = &listed.product;
    let operator_id = crate::routing::operator_of(&state.live(), &req.msisdn)?
        .id
        .clone();
    crate::auth::check_operator_allowed(state, &req.merchant_id, &operator_id)?;
    if operator_id != product.operator_id {
        return Err(ApiError::new(
            ErrorCode::ServiceNotApplicable,
            format!(
                "Product '{}' is for operator {}; the number belongs to {operator_id}.",
                product.id, product.operator_id
            ),
        ));
    }
    let amount = product.price_for(req.amount)?;
    if product.line_types.len() < 2 {
        let line = lookup::lookup(state, &req.msisdn).await?.line_type;
        if !product.allows(line) {
            return Err(ApiError::new(
                ErrorCode::ServiceNotApplicable,
                format!(
                    "Product '{}' cannot be bought for a {} line.",
                    product.id,
                    line.as_str()
                ),
            ));
        }
    }
    let now = Utc::now().trunc_subsecs(3);
    // If this process dies mid-call, reconciliation takes the top-up over from then.
    let takeover = now + Duration::milliseconds(state.config().payments.duplicate_wait_ms as i64);
    let record = TopUpRecord::claimed(
        req,
        product,
        amount,
        operator_id,
        listed.channel_id.clone(),
        now,
        takeover,
    );
    let span = tracing::info_span!("topup", tx_id = %record.id, msisdn = %record.msisdn.masked(), product = %record.product_id);
    let request = TopUpRequest {
        channel_ids: &listed.channel_ids,
    };
    operation::run(state, &request, record)
        .instrument(span)
        .await
}

struct TopUpRequest<'a> {
    /// The product's channels, in catalogue order.
    channel_ids: &'a [String],
}

impl Operation for TopUpRequest<'_> {
    type Record = TopUpRecord;

    fn capability(&self, _: &TopUpRecord) -> Capability {
        Capability::Topup
    }

    fn kind(&self, _: &TopUpRecord) -> Kind {
        Kind::Topup
    }

    fn operator<'a>(&'a self, record: &'a TopUpRecord) -> &'a str {
        &record.operator_id
    }

    async fn claim(
        &self,
        state: &AppState,
        record: &mut TopUpRecord,
    ) -> Result<Claim<TopUpRecord>, ApiError> {
        match state
            .store
            .insert_topup(record)
            .await
            .map_err(store_error)?
        {
            TopUpInsert::Inserted => Ok(Claim::Inserted),
            TopUpInsert::Existing(existing) => Ok(Claim::Existing {
                key: None,
                existing: *existing,
            }),
        }
    }

    /// The product's providers that take new requests (not disabled or draining by ops), in the
    /// routing rule's order (`Router::order`: usable ones by priority and score, open circuits last).
    fn channels(&self, state: &AppState, _: &TopUpRecord) -> Result<Vec<Arc<Channel>>, ApiError> {
        let mut channels: Vec<_> = self
            .channel_ids
            .iter()
            .filter_map(|id| state.router().channel(id))
            .filter(|c| c.takes_new_requests())
            .collect();
        state.router().order(&mut channels, Capability::Topup);
        if channels.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                "The product's top-up channels are not configured.",
            ));
        }
        Ok(channels)
    }

    async fn call(
        &self,
        channel: &Channel,
        record: &TopUpRecord,
    ) -> Result<UpstreamTopUp, AdapterError> {
        channel.adapter.topup(record).await
    }
}

/// The new state of a top-up after a status query or a notification. Only what the provider says
/// changes it: a query that did not reach the provider, or whose answer is unknown, proves nothing
/// (the top-up may have been credited) and leaves it pending for the next look.
fn apply_answer(
    state: &AppState,
    mut r: TopUpRecord,
    answer: &Result<UpstreamTopUp, AdapterError>,
    now: DateTime<Utc>,
) -> TopUpRecord {
    match answer {
        Ok(up) => take_answer(&mut r, up, now),
        Err(AdapterError::Refused(e)) => r.fail(&e.message, now),
        Err(AdapterError::Unsupported(what)) => {
            r.fail(&format!("The provider does not offer {what}."), now)
        }
        Err(AdapterError::NotSent(reason) | AdapterError::Unknown(reason)) => {
            tracing::warn!(tx_id = %r.id, %reason, "top-up status unknown; left pending for reconciliation");
        }
        Err(AdapterError::NotFound) => {}
    }
    schedule(&mut r, &state.config().reconcile, now);
    r
}

/// Applies a provider's notification to a top-up. The state machine decides: a stale or repeated
/// notification changes nothing (and is still acknowledged).
pub async fn apply_notice(
    state: &AppState,
    record: TopUpRecord,
    update: UpstreamTopUp,
) -> Result<(), ApiError> {
    let now = Utc::now();
    if record.status.check_move(update.status).is_err() {
        tracing::info!(tx_id = %record.id, "stale top-up notification ignored");
        return Ok(());
    }
    let next = apply_answer(state, record.clone(), &Ok(update), now);
    if next.status == record.status && next.upstream_tx_id == record.upstream_tx_id {
        return Ok(());
    }
    let saved = save(state, &record, next, &[]).await?;
    tracing::info!(tx_id = %saved.id, status = %saved.status.as_str(), "top-up notification applied");
    Ok(())
}

/// One reconciliation step for a pending top-up: ask the provider, record the answer.
pub async fn settle(state: &AppState, record: TopUpRecord) {
    let now = Utc::now();
    let too_old =
        (now - record.created_at).num_seconds() > state.config().reconcile.max_age_secs as i64;
    let channel = record
        .channel_id
        .as_deref()
        .and_then(|c| state.router().channel(c));
    let next = match (channel, too_old) {
        (Some(channel), false) => {
            let answer = channel.adapter.topup_status(&record).await;
            let mut next = apply_answer(state, record.clone(), &answer, Utc::now());
            if matches!(answer, Err(AdapterError::NotFound)) && next.upstream_tx_id.is_some() {
                tracing::warn!(tx_id = %record.id, "provider has no record of the top-up; stopped checking, needs review");
                next.next_check_at = None;
            }
            next.reconcile_attempts = record.reconcile_attempts + 1;
            next
        }
        _ => {
            tracing::warn!(tx_id = %record.id, "top-up still pending; stopped checking, needs review");
            TopUpRecord {
                next_check_at: None,
                needs_review: true,
                ..record.clone()
            }
        }
    };
    if let Err(e) = save(state, &record, next, &[]).await {
        tracing::warn!(tx_id = %record.id, error = %e.message, "could not record the top-up's state");
    }
}

/// A merchant's transaction, or 404.
pub async fn get(
    state: &AppState,
    merchant_id: &str,
    tx_id: &str,
) -> Result<TopUpRecord, ApiError> {
    state
        .store
        .get_topup(merchant_id, tx_id)
        .await
        .map_err(store_error)?
        .ok_or_else(ApiError::not_found)
}
