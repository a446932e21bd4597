//! Operations on what background work left behind: webhook dead letters (list, replay) and the
//! records reconciliation gave up on (`/admin/reconciliation`). Admin bearer token required.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_core::{ApiError, PaymentRecord, RefundRecord, TopUpRecord};
use switchboard_store::DeadLetter;

use super::admin::authorize;
use crate::http::{parse_query_pairs, Endpoint, HttpError};
use crate::payments::store_error;
use crate::state::AppState;

/// Most records listed per kind by `/admin/reconciliation`.
const REVIEW_LIMIT: usize = 500;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::at("/admin/webhooks/dead-letters").get(list_dead_letters))
        .service(Endpoint::at("/admin/webhooks/dead-letters/replay").post(replay_all))
        .service(
            Endpoint::at("/admin/webhooks/dead-letters/{merchant}/{id}/replay").post(replay_one),
        )
        .service(Endpoint::at("/admin/reconciliation").get(review_list));
}

/// `?merchant=<id>` narrows to one merchant; unknown merchants are 400.
fn merchants(req: &HttpRequest, state: &AppState) -> Result<Vec<String>, ApiError> {
    let mut only = None;
    for (key, value) in parse_query_pairs(req.query_string())? {
        match key.as_str() {
            "merchant" => only = Some(value),
            other => {
                return Err(ApiError::invalid_argument(format!(
                    "unknown query parameter '{other}'"
                )))
            }
        }
    }
    match only {
        Some(m) if state.config().merchants.contains_key(&m) => Ok(vec![m]),
        Some(m) => Err(ApiError::invalid_argument(format!(
            "unknown merchant '{m}'"
        ))),
        None => Ok(state.config().merchants.keys().cloned().collect()),
    }
}

/// A dead letter as operators see it: never the bearer token, the body only as JSON.
fn dead_letter_view(d: &DeadLetter) -> Value {
    let delivery = &d.delivery;
    json!({
        "merchant_id": delivery.merchant_id,
        "id": delivery.id,
        "webhook_id": delivery.event_id,
        "type": delivery.event_type,
        "subject": delivery.subject,
        "endpoint": {"id": delivery.endpoint.id, "url": delivery.endpoint.url},
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "reason": d.reason,
        "created_at": delivery.created_at,
        "failed_at": d.failed_at,
        "body": serde_json::from_str::<Value>(&delivery.body).unwrap_or(Value::Null),
    })
}

async fn list_dead_letters(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    authorize(&req, &state)?;
    let mut items = Vec::new();
    for merchant in merchants(&req, &state)? {
        let letters = state
            .store
            .dead_letters(&merchant)
            .await
            .map_err(store_error)?;
        items.extend(letters.iter().map(dead_letter_view));
    }
    Ok(HttpResponse::Ok().json(json!({ "dead_letters": items })))
}

#[derive(Deserialize)]
struct OneLetter {
    merchant: String,
    id: String,
}

async fn replay_one(
    req: HttpRequest,
    path: web::Path<OneLetter>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    super::admin::authorize_change(&req, &state)?;
    let replayed = state
        .store
        .replay_dead_letter(&path.merchant, &path.id, chrono::Utc::now())
        .await
        .map_err(store_error)?;
    if !replayed {
        return Err(ApiError::not_found().into());
    }
    tracing::info!(merchant = %path.merchant, delivery_id = %path.id, "dead letter replayed");
    Ok(HttpResponse::Accepted().json(json!({ "replayed": 1 })))
}

async fn replay_all(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    super::admin::authorize_change(&req, &state)?;
    let mut replayed = 0usize;
    for merchant in merchants(&req, &state)? {
        let letters = state
            .store
            .dead_letters(&merchant)
            .await
            .map_err(store_error)?;
        for letter in letters {
            let done = state
                .store
                .replay_dead_letter(&merchant, &letter.delivery.id, chrono::Utc::now())
                .await
                .map_err(store_error)?;
            replayed += usize::from(done);
        }
    }
    tracing::info!(replayed, "dead letters replayed");
    Ok(HttpResponse::Accepted().json(json!({ "replayed": replayed })))
}

fn payment_view(p: &PaymentRecord) -> Value {
    json!({
        "merchant_id": p.merchant_id, "payment_id": p.id, "status": p.status,
        "msisdn": p.msisdn.masked(), "operator_id": p.operator_id, "channel_id": p.channel_id,
        "created_at": p.created_at, "updated_at": p.updated_at,
        "reconcile_attempts": p.reconcile_attempts,
    })
}

fn refund_view(r: &RefundRecord) -> Value {
    json!({
        "merchant_id": r.merchant_id, "payment_id": r.payment_id, "refund_id": r.id,
        "status": r.status, "channel_id": r.channel_id, "created_at": r.created_at,
        "updated_at": r.updated_at, "reconcile_attempts": r.reconcile_attempts,
    })
}

fn topup_view(t: &TopUpRecord) -> Value {
    json!({
        "merchant_id": t.merchant_id, "tx_id": t.id, "external_tx_id": t.external_tx_id,
        "status": t.status.as_str(), "msisdn": t.msisdn.masked(), "operator_id": t.operator_id,
        "channel_id": t.channel_id, "created_at": t.created_at, "updated_at": t.updated_at,
        "reconcile_attempts": t.reconcile_attempts,
    })
}

async fn review_list(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    authorize(&req, &state)?;
    let merchants = merchants(&req, &state)?;
    let list = state
        .store
        .review_list(&merchants, REVIEW_LIMIT)
        .await
        .map_err(store_error)?;
    Ok(HttpResponse::Ok().json(json!({
        "payments": list.payments.iter().map(payment_view).collect::<Vec<_>>(),
        "refunds": list.refunds.iter().map(refund_view).collect::<Vec<_>>(),
        "topups": list.topups.iter().map(topup_view).collect::<Vec<_>>(),
    })))
}
