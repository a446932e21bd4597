//! Handlers of the top-up API.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use switchboard_core::topup::ProductType;
use switchboard_core::{ApiError, ErrorCode, NewEsimOrder};

use super::model::{phone, EsimOrderInput, EsimOrderView, LookupInput, TopUpInput, TopUpView};
use crate::auth::{scopes, Caller};
use crate::http::{parse_json, parse_query_pairs, HttpError};
use crate::state::AppState;
use crate::topup::{esim, lookup as lookup_service, transactions};

pub async fn lookup(
    caller: Caller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::TOPUP_LOOKUP)?;
    let input: LookupInput = parse_json(&body)?;
    let msisdn = phone(&input.phone)?;
    let answer = lookup_service::lookup(&state, &msisdn).await?;
    // A merchant limited to some operators or countries learns nothing about the others' numbers.
    crate::auth::check_operator_allowed(&state, &caller.merchant_id, &answer.operator_id)?;
    let mut body = serde_json::to_value(&answer).map_err(|_| ApiError::of(ErrorCode::Internal))?;
    body["phone"] = json!(msisdn);
    Ok(HttpResponse::Ok().json(body))
}

pub async fn products(
    caller: Caller,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::TOPUP_PRODUCTS_READ)?;
    let mut operator = None;
    let mut product_type = None;
    for (key, value) in parse_query_pairs(req.query_string())? {
        match key.as_str() {
            "operator_id" => operator = Some(value),
            "type" => {
                let t: ProductType = value.parse().map_err(|_| {
                    ApiError::invalid_argument(
                        "type must be one of prepaid (or topup), bundle, plan_change",
                    )
                })?;
                product_type = Some(t);
            }
            _ => {}
        }
    }
    let products = state.catalogue.list(operator.as_deref(), product_type);
    Ok(HttpResponse::Ok().json(json!({ "products": products })))
}

pub async fn product(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::TOPUP_PRODUCTS_READ)?;
    let listed = state.catalogue.get(&path).ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(listed.product))
}

pub async fn create_topup(
    caller: Caller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::TOPUP_CREATE)?;
    let input: TopUpInput = parse_json(&body)?;
    switchboard_core::payment::check_reference("external_tx_id", &input.external_tx_id)?;
    let answer = transactions::create(
        &state,
        switchboard_core::NewTopUp {
            merchant_id: caller.merchant_id,
            msisdn: phone(&input.phone)?,
            product_id: input.product_id,
            external_tx_id: input.external_tx_id,
            amount: input.amount,
        },
    )
    .await?;
    if answer.replayed {
        tracing::info!(tx_id = %answer.record.id, "idempotent top-up replay");
    }
    Ok(HttpResponse::Created().json(TopUpView::from(&answer.record)))
}

pub async fn get_topup(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::TOPUP_READ)?;
    let record = transactions::get(&state, &caller.merchant_id, &path).await?;
    Ok(HttpResponse::Ok().json(TopUpView::from(&record)))
}

pub async fn create_esim_order(
    caller: Caller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::ESIM_ORDERS_CREATE)?;
    let input: EsimOrderInput = parse_json(&body)?;
    if let Some(key) = &input.external_order_id {
        switchboard_core::payment::check_reference("external_order_id", key)?;
    }
    let record = esim::create(
        &state,
        NewEsimOrder {
            merchant_id: caller.merchant_id,
            product_id: input.product_id,
            external_order_id: input.external_order_id,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(EsimOrderView::of(&record)?))
}

pub async fn get_esim_order(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::ESIM_ORDERS_READ)?;
    let record = esim::get(&state, &caller.merchant_id, &path).await?;
    Ok(HttpResponse::Ok().json(EsimOrderView::of(&record)?))
}
