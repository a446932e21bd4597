//! `POST /telecom/topup` and the settling of pending top-ups. The merchant's `external_tx_id` is the
//! idempotency key: an identical retry returns the same transaction, another body is `409 CONFLICT`.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use sha2::{Digest, Sha256};
use switchboard_adapter::{AdapterError, UpstreamTopUp};
use switchboard_core::topup::{TopUpRecord, TopUpStatus};
use switchboard_core::{Amount, ApiError, ErrorCode, Msisdn};
use switchboard_store::{TopUpInsert, UpdateOutcome};
use tracing::Instrument;

use super::lookup;
use crate::payments::{next_check, store_error};
use crate::state::AppState;

pub struct NewTopUp {
    pub merchant_id: String,
    pub msisdn: Msisdn,
    pub product_id: String,
    pub external_tx_id: String,
    pub amount: Option<Amount>,
}

pub struct Answer {
    pub record: TopUpRecord,
    pub replayed: bool,
}

fn fingerprint(msisdn: &Msisdn, product_id: &str, amount: Amount) -> String {
    let text = format!(
        "{}\n{}\n{}",
        msisdn.as_str(),
        product_id,
        amount.value().normalize()
    );
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn operator_of(state: &AppState, msisdn: &Msisdn) -> Result<String, ApiError> {
    if let Some(op) = state.overrides.get(msisdn) {
        return Ok(op);
    }
    state
        .router
        .operator_for(msisdn)
        .map(|op| op.id.clone())
        .map_err(ApiError::from)
}

pub async fn create(state: &AppState, req: NewTopUp) -> Result<Answer, ApiError> {
    let listed = state.catalogue.get(&req.product_id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("No product '{}'.", req.product_id),
        )
    })?;
    let product = &listed.product;
    let operator_id = operator_of(state, &req.msisdn)?;
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
    let id = format!("tx_{}", uuid::Uuid::new_v4().simple());
    let record = TopUpRecord {
        upstream_reference: TopUpRecord::upstream_reference_for(&id),
        id,
        merchant_id: req.merchant_id,
        external_tx_id: req.external_tx_id,
        msisdn: req.msisdn.clone(),
        product_id: product.id.clone(),
        operator_id,
        channel_id: Some(listed.channel_id.clone()),
        amount,
        currency: product.currency.clone(),
        status: TopUpStatus::Pending,
        upstream_tx_id: None,
        operator_tx_id: None,
        credited: None,
        failure_reason: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
        fingerprint: fingerprint(&req.msisdn, &product.id, amount),
        version: 1,
        reconcile_attempts: 0,
        // If this process dies mid-call, reconciliation takes the top-up over from here.
        next_check_at: Some(
            now + Duration::milliseconds(state.config.payments.duplicate_wait_ms as i64),
        ),
        needs_review: false,
    };
    match state
        .store
        .insert_topup(&record)
        .await
        .map_err(store_error)?
    {
        TopUpInsert::Inserted => {}
        TopUpInsert::Existing(existing) => {
            if existing.fingerprint != record.fingerprint {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    "external_tx_id was already used for a different top-up.",
                ));
            }
            return Ok(Answer {
                record: *existing,
                replayed: true,
            });
        }
    }
    let span = tracing::info_span!("topup", tx_id = %record.id, msisdn = %record.msisdn.masked(), product = %record.product_id);
    let (channel_id, answer) = send(state, &record, &listed.channel_ids)
        .instrument(span)
        .await;
    let inserted = record.clone();
    let record = TopUpRecord {
        channel_id,
        ..record
    };
    let settled = apply_answer(state, record, &answer, Utc::now());
    save(state, settled, &inserted).await.map(|record| Answer {
        record,
        replayed: false,
    })
}

/// Tries the product's channels, healthy ones first in catalogue order; moves to the next only when the
/// previous one provably did nothing (not reached). Returns the channel that answered.
async fn send(
    state: &AppState,
    record: &TopUpRecord,
    channel_ids: &[String],
) -> (Option<String>, Result<UpstreamTopUp, AdapterError>) {
    let mut channels: Vec<_> = channel_ids
        .iter()
        .filter_map(|id| state.router.channel(id))
        .collect();
    channels.sort_by_key(|c| !c.health.is_healthy());
    let mut last = Err(AdapterError::NotSent(
        "the product's channels are not configured".into(),
    ));
    for channel in channels {
        let answer = channel.adapter.topup(record).await;
        match &answer {
            Err(AdapterError::NotSent(reason)) => {
                tracing::warn!(channel = %channel.id, %reason, "top-up provider not reached; trying the next");
                channel.health.record_failure();
                last = answer;
            }
            Err(AdapterError::Unknown(_)) => {
                channel.health.record_failure();
                return (Some(channel.id.clone()), answer);
            }
            _ => {
                channel.health.record_answer();
                return (Some(channel.id.clone()), answer);
            }
        }
    }
    (record.channel_id.clone(), last)
}

/// The new state of a top-up after an upstream answer.
fn apply_answer(
    state: &AppState,
    mut r: TopUpRecord,
    answer: &Result<UpstreamTopUp, AdapterError>,
    now: DateTime<Utc>,
) -> TopUpRecord {
    match answer {
        Ok(up) => {
            if r.upstream_tx_id.is_none() {
                r.upstream_tx_id.clone_from(&up.upstream_tx_id);
            }
            if up.operator_tx_id.is_some() {
                r.operator_tx_id.clone_from(&up.operator_tx_id);
            }
            if up.credited.is_some() {
                r.credited.clone_from(&up.credited);
            }
            if up.status == TopUpStatus::Failed && r.failure_reason.is_none() {
                r.failure_reason.clone_from(&up.failure_reason);
            }
            if let Err(e) = r.move_to(up.status, now) {
                tracing::warn!(tx_id = %r.id, error = %e.message, "provider contradicts the top-up state machine");
            }
            if let (Some(at), TopUpStatus::Completed) = (up.completed_at, r.status) {
                r.completed_at = Some(at);
            }
        }
        // Proven not applied: the transaction failed and nothing was credited.
        Err(AdapterError::Refused(e)) => fail(&mut r, &e.message, now),
        Err(AdapterError::NotSent(_)) => fail(
            &mut r,
            "The top-up provider could not be reached; nothing was credited.",
            now,
        ),
        Err(AdapterError::Unsupported(what)) => {
            fail(&mut r, &format!("The provider does not offer {what}."), now)
        }
        // May have been applied: stays pending and is settled by status queries.
        Err(AdapterError::Unknown(reason)) => {
            tracing::warn!(tx_id = %r.id, %reason, "top-up outcome unknown; left pending for reconciliation");
        }
        Err(AdapterError::NotFound) => {}
    }
    r.reconcile_attempts +=
        u32::from(r.status == TopUpStatus::Pending && r.upstream_tx_id.is_some());
    r.next_check_at = r
        .is_unsettled()
        .then(|| next_check(&state.config.reconcile, r.reconcile_attempts, now));
    r.updated_at = now;
    r
}

fn fail(r: &mut TopUpRecord, reason: &str, now: DateTime<Utc>) {
    if r.move_to(TopUpStatus::Failed, now).unwrap_or(false) {
        r.failure_reason = Some(reason.to_string());
    }
}

/// Writes `record` over `before` (compare-and-set on its version), with the events the change
/// produces.
async fn save(
    state: &AppState,
    mut record: TopUpRecord,
    before: &TopUpRecord,
) -> Result<TopUpRecord, ApiError> {
    let expected = before.version;
    record.version = expected + 1;
    let events = crate::events::for_topup(&state.config.webhooks, before, &record, Utc::now());
    match state
        .store
        .update_topup(&record, expected, &events)
        .await
        .map_err(store_error)?
    {
        UpdateOutcome::Updated => Ok(record),
        // Reconciliation moved it meanwhile; the stored one is the truth.
        UpdateOutcome::Conflict(current) => Ok(*current),
        UpdateOutcome::Missing => Err(ApiError::of(ErrorCode::Internal)),
    }
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
    let saved = save(state, next, &record).await?;
    tracing::info!(tx_id = %saved.id, status = %saved.status.as_str(), "top-up notification applied");
    Ok(())
}

/// One reconciliation step for a pending top-up: ask the provider, record the answer.
pub async fn settle(state: &AppState, record: TopUpRecord) {
    let now = Utc::now();
    let too_old =
        (now - record.created_at).num_seconds() > state.config.reconcile.max_age_secs as i64;
    let channel = record
        .channel_id
        .as_deref()
        .and_then(|c| state.router.channel(c));
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
    if let Err(e) = save(state, next, &record).await {
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
