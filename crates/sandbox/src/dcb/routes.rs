//! The aggregator's handlers. Every one first checks the merchant signature.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::config::DcbAggregator;
use super::error::DcbError;
use super::signature;
use super::store::ChargeRequest;
use crate::notify::{self, sink_allowed, Delivery, Step};
use crate::phone;
use crate::state::AppState;

/// Largest accepted clock difference of `X-DCB-Timestamp`.
const MAX_SKEW_SECS: i64 = 300;

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The aggregator of `/{op}` whose merchant signed this request, or `401 E_SIGNATURE`.
fn authenticate<'s>(
    req: &HttpRequest,
    body: &[u8],
    state: &'s AppState,
) -> Result<&'s DcbAggregator, DcbError> {
    let id = req.match_info().get("op").unwrap_or_default();
    let aggregator = state
        .dcb_aggregator(id)
        .ok_or_else(|| DcbError::not_found(format!("Unknown aggregator '{id}'")))?;
    let merchant = header(req, "x-dcb-merchant")
        .ok_or_else(|| DcbError::signature("X-DCB-Merchant missing"))?;
    let timestamp = header(req, "x-dcb-timestamp")
        .ok_or_else(|| DcbError::signature("X-DCB-Timestamp missing"))?;
    let presented = header(req, "x-dcb-signature")
        .ok_or_else(|| DcbError::signature("X-DCB-Signature missing"))?;
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| DcbError::signature("X-DCB-Timestamp is not Unix seconds"))?;
    if (chrono::Utc::now().timestamp() - ts).abs() > MAX_SKEW_SECS {
        return Err(DcbError::signature("X-DCB-Timestamp too far from now"));
    }
    let path = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    let canonical = signature::canonical_request(req.method().as_str(), &path, timestamp, body);
    if merchant != aggregator.merchant
        || !signature::verify(&aggregator.secret, &canonical, presented)
    {
        return Err(DcbError::signature("Signature does not match"));
    }
    Ok(aggregator)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChargeBody {
    merchant_tx_id: String,
    msisdn: String,
    amount: u64,
    currency: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    notify_url: Option<String>,
}

fn parse_charge(body: &[u8]) -> Result<ChargeRequest, DcbError> {
    let b: ChargeBody =
        serde_json::from_slice(body).map_err(|e| DcbError::invalid(format!("Bad body: {e}")))?;
    if b.merchant_tx_id.is_empty() || b.merchant_tx_id.len() > 64 {
        return Err(DcbError::invalid(
            "merchant_tx_id must be 1 to 64 characters",
        ));
    }
    if b.msisdn.starts_with('+') || !phone::is_valid(&format!("+{}", b.msisdn)) {
        return Err(DcbError::invalid(
            "msisdn must be international digits without '+'",
        ));
    }
    if b.amount == 0 {
        return Err(DcbError::invalid(
            "amount must be a positive number of minor units",
        ));
    }
    if b.currency.len() != 3 || !b.currency.bytes().all(|c| c.is_ascii_uppercase()) {
        return Err(DcbError::invalid("currency must be an ISO 4217 code"));
    }
    if let Some(url) = &b.notify_url {
        if !sink_allowed(url) {
            return Err(DcbError::invalid(
                "notify_url must be https (or http on loopback)",
            ));
        }
    }
    Ok(ChargeRequest {
        merchant_tx_id: b.merchant_tx_id,
        msisdn: b.msisdn,
        amount: b.amount,
        currency: b.currency,
        description: b.description,
        notify_url: b.notify_url,
    })
}

/// `POST /{id}/dcb/v1/charges`.
pub async fn create_charge(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, DcbError> {
    let aggregator = authenticate(&req, &body, &state)?.clone();
    let request = parse_charge(&body)?;
    let masked = phone::mask(&request.msisdn);
    let tx = request.merchant_tx_id.clone();
    let result = state.dcb.create(
        &aggregator.id,
        aggregator.mode,
        request,
        &state.timings,
        Instant::now(),
    );
    match &result {
        Ok(c) => tracing::info!(aggregator = %aggregator.id, phone = %masked, %tx,
            status = c.body["status"].as_str().unwrap_or_default(), "dcb charge answered"),
        Err(e) => tracing::info!(aggregator = %aggregator.id, phone = %masked, %tx, error = %e,
            "dcb charge refused"),
    }
    let created = result?;
    if let (Some(at), Some(id)) = (created.watch, created.body["charge_id"].as_str()) {
        watch(state.clone().into_inner(), aggregator, id.to_owned(), at);
    }
    if created.slow {
        tokio::time::sleep(Duration::from_millis(state.timings.slow_ms)).await;
    }
    Ok(HttpResponse::Ok().json(created.body))
}

/// Announces the settlement of `charge_id` to its `notify_url`, signed like a request.
fn watch(state: Arc<AppState>, aggregator: DcbAggregator, charge_id: String, at: Instant) {
    notify::watch(state.notifier.clone(), at, move |now| {
        let (found, next) = state.dcb.take_notification(&aggregator.id, &charge_id, now);
        let deliveries = found
            .map(|(url, body)| {
                let body = body.to_string().into_bytes();
                let ts = chrono::Utc::now().timestamp().to_string();
                let sig = signature::sign(
                    &aggregator.secret,
                    &signature::canonical_notification(&ts, &body),
                );
                Delivery {
                    kind: "dcb-charge",
                    url,
                    bearer: None,
                    content_type: "application/json",
                    headers: vec![
                        ("x-dcb-merchant", aggregator.merchant.clone()),
                        ("x-dcb-timestamp", ts),
                        ("x-dcb-signature", sig),
                    ],
                    body,
                }
            })
            .into_iter()
            .collect();
        Step { deliveries, next }
    });
}

fn query(req: &HttpRequest, name: &str) -> Result<String, DcbError> {
    let q: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    q.get(name)
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| DcbError::invalid(format!("{name} is required")))
}

/// `GET /{id}/dcb/v1/charges/{charge_id}`.
pub async fn get_charge(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, DcbError> {
    let aggregator = authenticate(&req, &[], &state)?;
    let id = req.match_info().get("charge_id").unwrap_or_default();
    let body = state.dcb.charge(&aggregator.id, id, Instant::now())?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /{id}/dcb/v1/charges?merchant_tx_id=…`.
pub async fn find_charge(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, DcbError> {
    let aggregator = authenticate(&req, &[], &state)?;
    let tx = query(&req, "merchant_tx_id")?;
    let body = state
        .dcb
        .charge_by_tx(&aggregator.id, &tx, Instant::now())?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    merchant_refund_id: String,
    amount: u64,
}

/// `POST /{id}/dcb/v1/charges/{charge_id}/refunds`.
pub async fn create_refund(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, DcbError> {
    let aggregator = authenticate(&req, &body, &state)?;
    let b: RefundBody =
        serde_json::from_slice(&body).map_err(|e| DcbError::invalid(format!("Bad body: {e}")))?;
    if b.merchant_refund_id.is_empty() {
        return Err(DcbError::invalid("merchant_refund_id is required"));
    }
    let id = req.match_info().get("charge_id").unwrap_or_default();
    let body = state.dcb.refund(
        &aggregator.id,
        id,
        &b.merchant_refund_id,
        b.amount,
        Instant::now(),
    )?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /{id}/dcb/v1/refunds?merchant_refund_id=…`.
pub async fn find_refund(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, DcbError> {
    let aggregator = authenticate(&req, &[], &state)?;
    let id = query(&req, "merchant_refund_id")?;
    Ok(HttpResponse::Ok().json(state.dcb.refund_by_id(&aggregator.id, &id)?))
}
