//! `GET /payments` and `GET /payments/{paymentId}`.

use actix_web::{web, HttpRequest, HttpResponse};
use switchboard_core::{ApiError, ErrorCode};

use super::actions::owned_payment;
use super::model::PaymentView;
use super::{base_url, list_query};
use crate::auth::{scopes, Caller};
use crate::http::{parse_query_pairs, HttpError};
use crate::payments::store_error;
use crate::state::AppState;

pub async fn get_payment(
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::PAYMENTS_READ)?;
    let payment = owned_payment(&state, &caller, &path).await?;
    Ok(HttpResponse::Ok().json(PaymentView::payment(&payment, &base_url(&req, &state))))
}

pub async fn list_payments(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::PAYMENTS_READ)?;
    let mut query = list_query::parse(&parse_query_pairs(req.query_string())?)?;
    query.msisdn.clone_from(&caller.msisdn);
    let max = state.config().payments.max_per_page;
    let asked = query.per_page;
    query.per_page = asked.min(max);
    let page = state
        .store
        .list_payments(&caller.merchant_id, &query)
        .await
        .map_err(store_error)?;
    let offset = (query.page as usize - 1) * asked as usize;
    if query.page > 1 && offset >= page.total {
        return Err(ApiError::new(
            ErrorCode::OutOfRange,
            format!("page {} is beyond the last page.", query.page),
        )
        .into());
    }
    if asked > max {
        return Err(ApiError::new(
            ErrorCode::TooManyMatchingRecords,
            format!(
                "perPage may be at most {max}. Narrow the filters or page through the results."
            ),
        )
        .into());
    }
    let base = base_url(&req, &state);
    let views: Vec<PaymentView> = page
        .items
        .iter()
        .map(|p| PaymentView::payment(p, &base))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", page.total.to_string()))
        .insert_header(("Content-Last-Key", (offset + views.len()).to_string()))
        .json(views))
}
