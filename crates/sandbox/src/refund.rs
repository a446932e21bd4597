//! The CAMARA Carrier Billing Refund v0.3 API of a simulated operator, at
//! `/{op}/carrier-billing-refund/v0.3/payments/{paymentId}/refunds`.
//!
//! - A refund needs a `succeeded` payment (else 422 `CARRIER_BILLING_REFUND.INVALID_PAYMENT_STATUS`).
//! - More than what is left of the payment: 422 `CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT`
//!   (processing refunds count as refunded; denied ones do not). A `total` refund takes what is left.
//! - A sync operator answers `succeeded`; an async one `processing`, then `succeeded` after
//!   `async_delay_ms`.
//! - Scripted denial: a partial amount whose cents are `.13` (for example `5.13`) is denied: a sync
//!   operator answers 403 `CARRIER_BILLING_REFUND.REFUND_DENIED`, an async one `processing` then
//!   `denied`.
//! - The same `clientCorrelator` replays the original refund (201, same body) and refunds nothing more.
//! - `GET /_admin/refunds` counts refunds applied (`succeeded`).
//! - `sink` / `sinkCredential` as for payments: an async refund's move to `succeeded` or `denied`
//!   is announced to the sink (`refund-completed` / `refund-denied` CloudEvents).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::config::OperatorMode;
use crate::error::ApiError;
use crate::notify::{Notice, Subscription, Taken};
use crate::state::AppState;

/// Base path of the refund API under each operator.
pub const REFUND_PATH: &str = "/carrier-billing-refund/v0.3";

#[derive(Clone, Debug)]
struct SimRefund {
    id: String,
    payment_id: String,
    client_correlator: Option<String>,
    kind: String,
    amount: Decimal,
    status: &'static str,
    scheduled: Option<(Instant, &'static str)>,
    created: DateTime<Utc>,
    refund_date: Option<DateTime<Utc>>,
    request: Value,
    subscription: Option<Subscription>,
    /// Notices of transitions not yet sent to the sink.
    outbox: Vec<Notice>,
}

/// CloudEvent `type`s of refund events.
pub const EVENT_COMPLETED: &str = "org.camaraproject.carrier-billing-refund.v0.refund-completed";
pub const EVENT_DENIED: &str = "org.camaraproject.carrier-billing-refund.v0.refund-denied";
/// Message and `denialReason` of a denied refund.
pub const DENIAL_REASON: &str = "Refund denied by business.";

impl SimRefund {
    fn settle(&mut self, now: Instant) {
        if let Some((at, to)) = self.scheduled {
            if now >= at {
                self.status = to;
                self.scheduled = None;
                if to == "succeeded" {
                    self.refund_date = Some(Utc::now());
                }
                if self.subscription.is_some() {
                    self.outbox.extend(self.notice());
                }
            }
        }
    }

    /// The CloudEvent `type` and `data` announcing a final state.
    fn notice(&self) -> Option<Notice> {
        let mut data = json!({"paymentId": self.payment_id, "refundId": self.id});
        let event_type = match self.status {
            "succeeded" => {
                data["status"] = json!("succeeded");
                data["description"] = json!("The refund is completed");
                let date = self.refund_date.unwrap_or(self.created);
                data["refundDate"] = json!(date.to_rfc3339_opts(SecondsFormat::Millis, true));
                EVENT_COMPLETED
            }
            "denied" => {
                data["status"] = json!("failed");
                data["description"] = json!(DENIAL_REASON);
                data["denialReason"] = json!(DENIAL_REASON);
                EVENT_DENIED
            }
            _ => return None,
        };
        Some(Notice { event_type, data })
    }

    fn holds(&self) -> Decimal {
        if self.status == "denied" {
            Decimal::ZERO
        } else {
            self.amount
        }
    }

    fn to_json(&self) -> Value {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut body = json!({
            "refundId": self.id,
            "refundStatus": self.status,
            "type": self.kind,
            "refundCreationDate": time(self.created),
            "amountTransaction": self.request.get("amountTransaction").cloned().unwrap_or(json!({})),
        });
        if let Some(d) = self.refund_date {
            body["refundDate"] = json!(time(d));
        }
        body
    }
}

/// Every operator's refunds, behind one mutex.
#[derive(Default)]
pub struct RefundBook {
    /// (operator, refund id) → refund.
    refunds: Mutex<HashMap<(String, String), SimRefund>>,
}

impl RefundBook {
    /// Refunds applied (`succeeded`) so far.
    pub fn applied(&self, now: Instant) -> usize {
        let mut all = self.refunds.lock().unwrap_or_else(PoisonError::into_inner);
        all.values_mut().for_each(|r| r.settle(now));
        all.values().filter(|r| r.status == "succeeded").count()
    }

    pub fn reset(&self) {
        self.refunds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Settles a refund and takes its unsent notices; `None` when it is gone or has no sink.
    pub fn take_notices(&self, operator: &str, refund_id: &str, now: Instant) -> Option<Taken> {
        let mut all = self.refunds.lock().unwrap_or_else(PoisonError::into_inner);
        let refund = all.get_mut(&(operator.to_owned(), refund_id.to_owned()))?;
        refund.settle(now);
        Some(Taken {
            subscription: refund.subscription.clone()?,
            notices: std::mem::take(&mut refund.outbox),
            next: refund.scheduled.map(|(at, _)| at),
        })
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(REFUND_PATH)
            .route(
                "/payments/{paymentId}/refunds",
                web::post().to(create_refund),
            )
            .route(
                "/payments/{paymentId}/refunds/{refundId}",
                web::get().to(retrieve_refund),
            ),
    );
}

/// `GET /_admin/refunds`: `{"applied": n}`.
pub async fn admin_refunds(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"applied": state.refunds.applied(Instant::now())}))
}

fn number(value: Option<&Value>) -> Option<Decimal> {
    value?.as_number()?.to_string().parse().ok()
}

fn unprocessable(code: &'static str, message: &str) -> ApiError {
    ApiError::new(422, code, message)
}

async fn create_refund(
    Caller(operator): Caller,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, payment_id) = path.into_inner();
    let request: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid_argument(format!("Malformed JSON: {e}")))?;
    let subscription = match request.as_object() {
        Some(root) => crate::request::parse_subscription(root)?,
        None => return Err(ApiError::invalid_argument("The body must be a JSON object")),
    };
    let kind = match request.get("type").and_then(Value::as_str) {
        Some(k @ ("total" | "partial")) => k.to_string(),
        _ => {
            return Err(ApiError::invalid_argument(
                "type must be 'total' or 'partial'",
            ))
        }
    };
    let tx = request
        .get("amountTransaction")
        .ok_or_else(|| ApiError::invalid_argument("amountTransaction is required"))?;
    let correlator = tx
        .get("clientCorrelator")
        .and_then(Value::as_str)
        .map(str::to_string);
    let asked = number(tx.pointer("/refundAmount/chargingInformation/amount"));
    if kind == "partial" && asked.is_none() {
        return Err(ApiError::invalid_argument(
            "refundAmount.chargingInformation.amount is required",
        ));
    }
    let now = Instant::now();
    let payment = state
        .store
        .with_payment(&operator.id, &payment_id, now, |p| Ok(p.to_json(false)))?;
    let mut all = state
        .refunds
        .refunds
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    all.values_mut().for_each(|r| r.settle(now));
    if let Some(cc) = &correlator {
        if let Some(existing) = all.iter().find(|((op, _), r)| {
            op == &operator.id
                && r.payment_id == payment_id
                && r.client_correlator.as_ref() == Some(cc)
        }) {
            return Ok(HttpResponse::Created().json(existing.1.to_json()));
        }
    }
    if payment.get("paymentStatus").and_then(Value::as_str) != Some("succeeded") {
        return Err(unprocessable(
            "CARRIER_BILLING_REFUND.INVALID_PAYMENT_STATUS",
            "Payment is not yet completed.",
        ));
    }
    let paid =
        number(payment.pointer("/amountTransaction/paymentAmount/chargingInformation/amount"))
            .unwrap_or_default();
    let held: Decimal = all
        .iter()
        .filter(|((op, _), r)| op == &operator.id && r.payment_id == payment_id)
        .map(|(_, r)| r.holds())
        .sum();
    let left = paid - held;
    let amount = asked.unwrap_or(left);
    if amount <= Decimal::ZERO || amount > left {
        return Err(unprocessable(
            "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT",
            "Unauthorized amount requested.",
        ));
    }
    let denied = kind == "partial"
        && (amount * Decimal::from(100)) % Decimal::from(100) == Decimal::from(13);
    let async_op = operator.mode == OperatorMode::Async;
    if denied && !async_op {
        return Err(ApiError::new(
            403,
            "CARRIER_BILLING_REFUND.REFUND_DENIED",
            "Refund denied by business.",
        ));
    }
    let final_status = if denied { "denied" } else { "succeeded" };
    let refund = SimRefund {
        id: uuid::Uuid::new_v4().to_string(),
        payment_id,
        client_correlator: correlator,
        kind,
        amount,
        status: if async_op { "processing" } else { final_status },
        scheduled: async_op.then(|| {
            (
                now + Duration::from_millis(state.timings.async_delay_ms),
                final_status,
            )
        }),
        created: Utc::now(),
        refund_date: (!async_op).then(Utc::now),
        request,
        subscription,
        outbox: Vec::new(),
    };
    let body = refund.to_json();
    tracing::info!(operator = %operator.id, refund_id = %refund.id, status = refund.status, "refund accepted");
    let watch = refund
        .subscription
        .as_ref()
        .and(refund.scheduled.map(|(at, _)| at));
    let refund_id = refund.id.clone();
    all.insert((operator.id.clone(), refund_id.clone()), refund);
    drop(all);
    if let Some(at) = watch {
        crate::watchers::refund(state.into_inner(), operator.id.clone(), refund_id, at);
    }
    Ok(HttpResponse::Created().json(body))
}

async fn retrieve_refund(
    Caller(operator): Caller,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, payment_id, refund_id) = path.into_inner();
    let mut all = state
        .refunds
        .refunds
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let refund = all
        .get_mut(&(operator.id.clone(), refund_id))
        .filter(|r| r.payment_id == payment_id)
        .ok_or_else(|| ApiError::not_found("The specified refund does not exist"))?;
    refund.settle(Instant::now());
    Ok(HttpResponse::Ok().json(refund.to_json()))
}
