//! `POST /payments` (1-step) and `POST /payments/prepare` (2-step).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use switchboard_core::{ApiError, PaymentFlow};
use switchboard_webhooks::AllowList;

use super::model::{notification_target, PaymentInput, PaymentView};
use super::{base_url, subject};
use crate::auth::{scopes, Caller};
use crate::http::{correlator_of, from_value, json_value, HttpError};
use crate::payments::{self, NewPayment};
use crate::state::AppState;

/// Body checks in the order the spec's codes need: sink rules, then schema, then identifier rules.
fn new_payment(
    caller: &Caller,
    body: &[u8],
    flow: PaymentFlow,
    correlator: Option<String>,
    allow: &AllowList,
) -> Result<NewPayment, ApiError> {
    let raw = json_value(body)?;
    let (sink, sink_credential) = notification_target(&raw, allow)?;
    let input: PaymentInput = from_value(raw)?;
    let tx = input.amount_transaction;
    tx.validate()?;
    let msisdn = subject::resolve(caller, tx.phone_number)?;
    Ok(NewPayment {
        merchant_id: caller.merchant_id.clone(),
        flow,
        msisdn,
        payment_amount: tx.payment_amount,
        reference_code: tx.reference_code,
        client_correlator: tx.client_correlator,
        sink,
        sink_credential,
        correlator,
    })
}

async fn submit(
    req: HttpRequest,
    caller: Caller,
    body: web::Bytes,
    state: web::Data<AppState>,
    flow: PaymentFlow,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::PAYMENTS_CREATE)?;
    let new = new_payment(
        &caller,
        &body,
        flow,
        correlator_of(&req),
        &state.webhook_allow,
    )?;
    let submitted = payments::submit(&state, new).await?;
    let base = base_url(&req, &state);
    let view = match flow {
        PaymentFlow::OneStep => PaymentView::payment(&submitted.record, &base),
        PaymentFlow::TwoStep => PaymentView::reservation(&submitted.record, &base),
    };
    if submitted.replayed {
        tracing::info!(payment_id = %submitted.record.id, "idempotent replay");
    }
    let location = view
        .amount_transaction
        .resource_url
        .clone()
        .unwrap_or_default();
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(view))
}

pub async fn create_payment(
    req: HttpRequest,
    caller: Caller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    submit(req, caller, body, state, PaymentFlow::OneStep).await
}

pub async fn prepare_payment(
    req: HttpRequest,
    caller: Caller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    submit(req, caller, body, state, PaymentFlow::TwoStep).await
}
