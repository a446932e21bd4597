//! Creating a payment (1-step) or a reservation (2-step): claim, route, call upstream, record.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use switchboard_adapter::{AdapterError, Capability};
use switchboard_core::{
    ApiError, ErrorCode, Msisdn, PaymentAmount, PaymentFlow, PaymentRecord, PaymentStatus, Phase,
    Sink, SinkCredential,
};
use switchboard_router::Channel;
use switchboard_store::{IdempotencyKey, InsertOutcome, UpdateOutcome};
use tracing::Instrument;

use super::fingerprint::fingerprint;
use super::settle::{apply_upstream, next_check};
use super::store_error;
use crate::limits::spend;
use crate::state::AppState;

/// A validated request for a new payment.
pub struct NewPayment {
    pub merchant_id: String,
    pub flow: PaymentFlow,
    pub msisdn: Msisdn,
    pub payment_amount: PaymentAmount,
    pub reference_code: String,
    pub client_correlator: Option<String>,
    pub sink: Option<Sink>,
    pub sink_credential: Option<SinkCredential>,
    /// The request's `x-correlator`, passed on with the payment's notifications.
    pub correlator: Option<String>,
}

/// The stored payment to answer with, and whether it is a replay of an earlier request.
pub struct Submitted {
    pub payment: PaymentRecord,
    pub replayed: bool,
}

fn capability(flow: PaymentFlow) -> Capability {
    match flow {
        PaymentFlow::OneStep => Capability::Payment,
        PaymentFlow::TwoStep => Capability::TwoStepPayment,
    }
}

/// Runs a create or prepare end to end. Guarantees: at most one upstream charge per
/// `(merchant, clientCorrelator)`; an unknown upstream outcome is recorded `processing`, never lost.
pub async fn submit(state: &AppState, req: NewPayment) -> Result<Submitted, ApiError> {
    let route = crate::routing::route(state, &req.msisdn, capability(req.flow))?;
    crate::auth::check_operator_allowed(state, &req.merchant_id, &route.operator.id)?;

    let currency = &req.payment_amount.charging_information.currency;
    if !route.operator.bills_in(currency) {
        return Err(ApiError::invalid_argument(format!(
            "Currency is unknown or not authorized: {currency}"
        )));
    }
    let now = Utc::now().trunc_subsecs(3);
    let id = uuid::Uuid::new_v4().to_string();
    let print = fingerprint(
        req.flow,
        &req.msisdn,
        &req.payment_amount,
        &req.reference_code,
        req.client_correlator.as_deref(),
        req.sink.as_ref(),
    );
    let mut keys = Vec::with_capacity(2);
    if let Some(cc) = &req.client_correlator {
        keys.push(IdempotencyKey::ClientCorrelator(cc.clone()));
    }
    keys.push(IdempotencyKey::ReferenceCode(req.reference_code.clone()));
    let record = PaymentRecord {
        id: id.clone(),
        merchant_id: req.merchant_id,
        flow: req.flow,
        phase: Phase::Submitting,
        status: PaymentStatus::Processing,
        version: 1,
        msisdn: req.msisdn,
        operator_id: route.operator.id.clone(),
        channel_id: route.channels.first().map(|c| c.id.clone()),
        client_correlator: req.client_correlator,
        reference_code: req.reference_code,
        payment_amount: req.payment_amount,
        upstream_correlator: PaymentRecord::upstream_correlator_for(&id),
        upstream_id: None,
        server_reference_code: None,
        validation_info: None,
        validation_attempts: 0,
        pending_action: None,
        sink: req.sink,
        sink_credential: req.sink_credential,
        correlator: req.correlator,
        created_at: now,
        updated_at: now,
        payment_date: None,
        denial_reason: None,
        fingerprint: print,
        needs_review: false,
        reconcile_attempts: 0,
        // If this process dies mid-call, reconciliation takes the payment over from here.
        next_check_at: Some(
            now + chrono::Duration::milliseconds(state.config.payments.duplicate_wait_ms as i64),
        ),
    };
    // Limits (over the per-payment limit: refused before anything is written), then the claim and
    // the month's reservation side by side: one round trip.
    let spend_plan = spend::plan(&state.config, &record)?;
    let store = state.store.as_ref();
    let (claim, reserved) = tokio::join!(store.insert_payment(&record, &keys), async {
        match &spend_plan {
            Some(plan) => Some(spend::reserve(store, plan, &record.id).await),
            None => None,
        }
    });
    let reserved_ok = matches!(reserved, Some(Ok(())));
    match claim {
        Err(e) => {
            if reserved_ok {
                spend::release(store, &record).await;
            }
            return Err(store_error(e));
        }
        Ok(InsertOutcome::Existing { key, existing }) => {
            // A replay or a conflict: this attempt's reservation is not needed.
            if reserved_ok {
                spend::release(store, &record).await;
            }
            return replay(state, &record, key, *existing).await;
        }
        Ok(InsertOutcome::Inserted) => {}
    }
    if let Some(Err(limit_error)) = reserved {
        // Claimed but over the month (or the store failed): give every key back, so a retry starts
        // afresh, and send nothing.
        return Err(refuse_unsent(state, record, limit_error).await);
    }
    let span = tracing::info_span!("payment", payment_id = %record.id, msisdn = %record.msisdn.masked(), operator = %record.operator_id);
    send(state, record, &route.channels)
        .instrument(span)
        .await
        .map(|payment| Submitted {
            payment,
            replayed: false,
        })
}

/// Records a claimed payment as refused before anything was sent, freeing its keys.
async fn refuse_unsent(state: &AppState, mut record: PaymentRecord, error: ApiError) -> ApiError {
    let claimed_version = record.version;
    record.phase = Phase::Rejected(error.clone());
    record.next_check_at = None;
    let mut release = vec![IdempotencyKey::ReferenceCode(record.reference_code.clone())];
    if let Some(cc) = &record.client_correlator {
        release.push(IdempotencyKey::ClientCorrelator(cc.clone()));
    }
    match finish(state, record, claimed_version, &release).await {
        Ok(_) => error,
        Err(e) => e,
    }
}

/// Tries the channels in order; moves on only when the previous one provably did nothing.
async fn send(
    state: &AppState,
    mut record: PaymentRecord,
    channels: &[std::sync::Arc<Channel>],
) -> Result<PaymentRecord, ApiError> {
    let claimed_version = record.version;
    let mut last_error = ApiError::new(
        ErrorCode::Unavailable,
        "No channel could take the payment. Try again later.",
    );
    // Set while the last error is a channel's rate limit: the `Retry-After` of the 503.
    let mut limited_for: Option<u64> = None;
    for channel in channels {
        if let Err(wait) = state.limits.channels.check(&channel.id) {
            let secs = crate::limits::retry_after_secs(wait);
            tracing::warn!(channel = %channel.id, retry_after = secs, "channel rate limit reached; nothing sent");
            last_error = ApiError::new(
                ErrorCode::Unavailable,
                format!("The operator's request quota is used up. Retry after {secs} s."),
            );
            limited_for = Some(secs);
            continue;
        }
        limited_for = None;
        record.channel_id = Some(channel.id.clone());
        let answer = match record.flow {
            PaymentFlow::OneStep => channel.adapter.create_payment(&record).await,
            PaymentFlow::TwoStep => channel.adapter.prepare_payment(&record).await,
        };
        let now = Utc::now();
        match &answer {
            Ok(_) | Err(AdapterError::Refused(_)) => channel.health.record_answer(),
            Err(AdapterError::NotSent(_) | AdapterError::Unknown(_)) => {
                channel.health.record_failure()
            }
            Err(_) => {}
        }
        match answer {
            Ok(up) => {
                apply_upstream(&mut record, &up, now);
                schedule(state, &mut record, now);
                tracing::info!(channel = %channel.id, status = %record.status, "payment accepted upstream");
                return finish(state, record, claimed_version, &[]).await;
            }
            Err(AdapterError::Refused(error)) => {
                tracing::info!(channel = %channel.id, code = error.code.as_str(), "refused upstream");
                record.phase = Phase::Rejected(error.clone());
                record.next_check_at = None;
                // The order reference is free again; the clientCorrelator keeps replaying this refusal.
                let release = [IdempotencyKey::ReferenceCode(record.reference_code.clone())];
                finish(state, record, claimed_version, &release).await?;
                return Err(error);
            }
            Err(AdapterError::Unknown(reason)) => {
                tracing::warn!(channel = %channel.id, %reason, "upstream outcome unknown; left processing for reconciliation");
                record.phase = Phase::Live;
                record.status = PaymentStatus::Processing;
                schedule(state, &mut record, now);
                return finish(state, record, claimed_version, &[]).await;
            }
            Err(AdapterError::NotSent(reason)) => {
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
    // Nothing reached any operator: give every key back so an identical retry starts afresh.
    if let Some(secs) = limited_for {
        crate::limits::set_retry_after(secs);
    }
    record.phase = Phase::Rejected(last_error.clone());
    record.next_check_at = None;
    let mut release = vec![IdempotencyKey::ReferenceCode(record.reference_code.clone())];
    if let Some(cc) = &record.client_correlator {
        release.push(IdempotencyKey::ClientCorrelator(cc.clone()));
    }
    finish(state, record, claimed_version, &release).await?;
    Err(last_error)
}

fn schedule(state: &AppState, record: &mut PaymentRecord, now: DateTime<Utc>) {
    record.next_check_at = record
        .is_unsettled()
        .then(|| next_check(&state.config.reconcile, 0, now));
}

async fn finish(
    state: &AppState,
    mut record: PaymentRecord,
    claimed_version: u64,
    release: &[IdempotencyKey],
) -> Result<PaymentRecord, ApiError> {
    record.version = claimed_version + 1;
    let stored = match state
        .store
        .update_payment(&record, claimed_version, release, &[])
        .await
        .map_err(store_error)?
    {
        UpdateOutcome::Updated => record,
        // Reconciliation took the payment over meanwhile; what it stored is the truth.
        UpdateOutcome::Conflict(current) => *current,
        UpdateOutcome::Missing => return Err(ApiError::of(ErrorCode::Internal)),
    };
    // Refused, denied or never sent: the spending reservation goes back.
    if spend::releases(&stored) && spend::tracked(&state.config, &stored) {
        spend::release(state.store.as_ref(), &stored).await;
    }
    Ok(stored)
}

/// A request whose key is taken: replay the original, or explain why not.
async fn replay(
    state: &AppState,
    request: &PaymentRecord,
    key: IdempotencyKey,
    existing: PaymentRecord,
) -> Result<Submitted, ApiError> {
    if let IdempotencyKey::ReferenceCode(code) = key {
        return Err(ApiError::new(
            ErrorCode::AlreadyExists,
            format!("A payment with referenceCode '{code}' already exists."),
        ));
    }
    if existing.fingerprint != request.fingerprint {
        return Err(ApiError::invalid_argument(
            "clientCorrelator already exists on server for a different request.",
        ));
    }
    let settled = wait_while_submitting(state, existing).await?;
    match settled.phase {
        Phase::Live => Ok(Submitted {
            payment: settled,
            replayed: true,
        }),
        Phase::Rejected(error) => Err(error),
        Phase::Submitting => Err(ApiError::new(
            ErrorCode::Aborted,
            "The original request with this clientCorrelator is still in progress. Retry later.",
        )),
    }
}

async fn wait_while_submitting(
    state: &AppState,
    mut payment: PaymentRecord,
) -> Result<PaymentRecord, ApiError> {
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(state.config.payments.duplicate_wait_ms);
    let mut pause = Duration::from_millis(10);
    while payment.phase == Phase::Submitting && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
        payment = state
            .store
            .get_payment(&payment.merchant_id, &payment.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::of(ErrorCode::Internal))?;
    }
    Ok(payment)
}
