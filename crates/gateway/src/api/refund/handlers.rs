//! The four Refund API operations. A refund is reached only through its payment, which must be the
//! caller's (and, with a phone-bound token, the token's number's): anything else is 404.

use actix_web::{web, HttpRequest, HttpResponse};
use switchboard_core::{ApiError, ErrorCode, PaymentRecord};

use super::model::{new_refund, RefundView, RemainingView};
use super::query;
use crate::auth::{scopes, Caller};
use crate::http::{parse_query_pairs, HttpError};
use crate::payments::store_error;
use crate::refunds;
use crate::state::AppState;

async fn owned_payment(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<PaymentRecord, ApiError> {
    state
        .store
        .get_payment(&caller.merchant_id, id)
        .await
        .map_err(store_error)?
        .filter(|p| p.is_visible())
        .filter(|p| caller.msisdn.as_ref().is_none_or(|m| &p.msisdn == m))
        .ok_or_else(ApiError::not_found)
}

pub async fn create_refund(
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::REFUNDS_CREATE)?;
    let mut new = new_refund(&body, &state.webhook_allow)?;
    new.correlator = crate::http::correlator_of(&req);
    let payment = owned_payment(&state, &caller, &path).await?;
    let submitted = refunds::submit(&state, &payment, new).await?;
    if submitted.replayed {
        tracing::info!(refund_id = %submitted.record.id, "idempotent replay");
    }
    Ok(HttpResponse::Created().json(RefundView::from(&submitted.record)))
}

pub async fn list_refunds(
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::REFUNDS_READ)?;
    let mut q = query::parse(&parse_query_pairs(req.query_string())?)?;
    let payment = owned_payment(&state, &caller, &path).await?;
    let max = state.config().payments.max_per_page;
    let asked = q.per_page;
    q.per_page = asked.min(max);
    let page = state
        .store
        .list_refunds(&caller.merchant_id, &payment.id, &q)
        .await
        .map_err(store_error)?;
    let offset = (q.page as usize - 1) * asked as usize;
    if q.page > 1 && offset >= page.total {
        return Err(ApiError::new(
            ErrorCode::OutOfRange,
            format!("page {} is beyond the last page.", q.page),
        )
        .into());
    }
    if asked > max {
        return Err(ApiError::new(
            ErrorCode::RefundTooManyMatchingRecords,
            format!(
                "perPage may be at most {max}. Narrow the filters or page through the results."
            ),
        )
        .into());
    }
    let views: Vec<RefundView> = page.items.iter().map(RefundView::from).collect();
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", page.total.to_string()))
        .insert_header(("Content-Last-Key", (offset + views.len()).to_string()))
        .json(views))
}

pub async fn get_refund(
    caller: Caller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::REFUNDS_READ)?;
    let (payment_id, refund_id) = path.into_inner();
    let payment = owned_payment(&state, &caller, &payment_id).await?;
    let refund = state
        .store
        .get_refund(&caller.merchant_id, &payment.id, &refund_id)
        .await
        .map_err(store_error)?
        .filter(|r| r.is_visible())
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(RefundView::from(&refund)))
}

pub async fn remaining_amount(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::REFUNDS_READ)?;
    let payment = owned_payment(&state, &caller, &path).await?;
    let all = state
        .store
        .payment_refunds(&caller.merchant_id, &payment.id)
        .await
        .map_err(store_error)?;
    let info = &payment.payment_amount.charging_information;
    Ok(HttpResponse::Ok().json(RemainingView {
        amount: refunds::remaining_of(&payment, &all),
        currency: info.currency.clone(),
        description: "Current Amount not refunded so far".into(),
        is_tax_included: info.is_tax_included,
    }))
}
