//! `POST /payments/{id}/validate|confirm|cancel`.

use actix_web::{web, HttpResponse};
use switchboard_core::{ApiError, PaymentRecord};

use super::model::{PhoneNumberInput, ValidateInput};
use super::subject;
use crate::auth::{scopes, Caller};
use crate::http::{parse_json, HttpError};
use crate::payments;
use crate::payments::store_error;
use crate::state::AppState;

/// The caller's visible payment, or 404 (another merchant's id is indistinguishable from none).
pub(super) async fn owned_payment(
    state: &AppState,
    caller: &Caller,
    payment_id: &str,
) -> Result<PaymentRecord, ApiError> {
    let payment = state
        .store
        .get_payment(&caller.merchant_id, payment_id)
        .await
        .map_err(store_error)?
        .filter(|p| p.is_visible())
        .filter(|p| caller.msisdn.as_ref().is_none_or(|m| &p.msisdn == m))
        .ok_or_else(ApiError::not_found)?;
    Ok(payment)
}

pub async fn validate_payment(
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::PAYMENTS_WRITE)?;
    let input: ValidateInput = parse_json(&body)?;
    let payment = owned_payment(&state, &caller, &path).await?;
    payments::validate(&state, payment, &input.authorization_id, &input.code).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Confirm and cancel share their checks: the `PhoneNumber` body and the identifier rules.
async fn phone_checked_payment(
    caller: &Caller,
    payment_id: &str,
    body: &[u8],
    state: &AppState,
) -> Result<PaymentRecord, ApiError> {
    caller.require(scopes::PAYMENTS_WRITE)?;
    let input: PhoneNumberInput = parse_json(body)?;
    let number = subject::resolve(caller, input.phone_number)?;
    // A number no operator serves is 404 IDENTIFIER_NOT_FOUND, as at create (CAMARA r3.2).
    crate::routing::operator_of(&state.live(), &number)?;
    let payment = owned_payment(state, caller, payment_id).await?;
    if payment.msisdn != number {
        return Err(ApiError::new(
            switchboard_core::ErrorCode::NotFound,
            "No such payment for this phone number.",
        ));
    }
    Ok(payment)
}

pub async fn confirm_payment(
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    let payment = phone_checked_payment(&caller, &path, &body, &state).await?;
    payments::confirm(&state, payment).await?;
    Ok(HttpResponse::Accepted().finish())
}

pub async fn cancel_payment(
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    let payment = phone_checked_payment(&caller, &path, &body, &state).await?;
    payments::cancel(&state, payment).await?;
    Ok(HttpResponse::Accepted().finish())
}
