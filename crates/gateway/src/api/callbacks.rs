//! `POST /callbacks/{channel}`: operators' notifications. The channel's adapter verifies and reads
//! them; the state machine decides what they change, so duplicates and out-of-order notifications
//! are harmless. Unverified → 401 and nothing changes; an unknown resource → 404.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use switchboard_adapter::{
    CallbackError, CallbackNotice, CallbackRequest, UpstreamPayment, UpstreamTopUp,
};
use switchboard_core::{ApiError, ErrorCode};
use tracing::Instrument;

use crate::http::{Endpoint, HttpError};
use crate::payments::update_with;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::at("/callbacks/{channel}").post(receive));
}

async fn receive(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    let channel_id = path.into_inner();
    let span = tracing::info_span!("callback", channel = %channel_id);
    handle(&req, channel_id, &body, &state)
        .instrument(span)
        .await
        .map_err(HttpError::from)
}

async fn handle(
    req: &HttpRequest,
    channel_id: String,
    body: &[u8],
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let Some(channel) = state.router().channel(&channel_id) else {
        tracing::warn!("callback for an unknown channel");
        return Err(ApiError::new(ErrorCode::NotFound, "Unknown channel."));
    };
    let request = CallbackRequest {
        headers: req
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    name.as_str().to_ascii_lowercase(),
                    value.to_str().ok()?.to_string(),
                ))
            })
            .collect(),
        query: req.query_string().to_string(),
        body: body.to_vec(),
    };
    let notice = channel.adapter.parse_callback(&request).map_err(|e| {
        tracing::warn!(error = %e, "callback refused");
        match e {
            CallbackError::Unauthenticated => ApiError::of(ErrorCode::Unauthenticated),
            CallbackError::Malformed(m) => ApiError::invalid_argument(m),
            CallbackError::Unsupported => {
                ApiError::new(ErrorCode::NotFound, "This channel takes no callbacks.")
            }
        }
    })?;
    let applied = match notice {
        CallbackNotice::Payment {
            merchant_id,
            payment_id,
            update,
        } => payment(state, &channel_id, &merchant_id, &payment_id, &update).await,
        CallbackNotice::Refund {
            merchant_id,
            payment_id,
            refund_id,
            update,
        } => {
            crate::refunds::apply_notice(
                state,
                &channel_id,
                &merchant_id,
                &payment_id,
                &refund_id,
                &update,
            )
            .await
        }
        CallbackNotice::TopUp { tx_id, update } => topup(state, &channel_id, &tx_id, update).await,
    };
    match applied {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(e) => {
            if e.code == ErrorCode::NotFound {
                tracing::warn!(channel = %channel_id, "callback about an unknown resource");
            }
            Err(e)
        }
    }
}

/// Applies a payment notification unless the state machine refuses it (a stale or out-of-order
/// notification changes nothing and is still acknowledged).
async fn payment(
    state: &AppState,
    channel_id: &str,
    merchant_id: &str,
    payment_id: &str,
    update: &UpstreamPayment,
) -> Result<(), ApiError> {
    let mut stale = false;
    let stored = update_with(state, merchant_id, payment_id, |r| {
        if r.channel_id.as_deref() != Some(channel_id) {
            return Err(ApiError::not_found());
        }
        let now = Utc::now();
        if r.clone().move_to(update.status, now).is_err() {
            stale = true;
            return Ok(false);
        }
        let changed = r.apply_upstream(update, now);
        if !r.is_unsettled() {
            r.next_check_at = None;
        }
        Ok(changed)
    })
    .await?;
    tracing::info!(payment_id = %stored.id, status = %stored.status, stale, "payment notification applied");
    Ok(())
}

/// Top-up providers notify per account: the merchant is found by the transaction id.
async fn topup(
    state: &AppState,
    channel_id: &str,
    tx_id: &str,
    update: UpstreamTopUp,
) -> Result<(), ApiError> {
    for merchant_id in state.config().merchants.keys() {
        let found = state
            .store
            .get_topup(merchant_id, tx_id)
            .await
            .map_err(crate::payments::store_error)?;
        if let Some(record) = found.filter(|r| r.channel_id.as_deref() == Some(channel_id)) {
            return crate::topup::transactions::apply_notice(state, record, update).await;
        }
    }
    Err(ApiError::not_found())
}
