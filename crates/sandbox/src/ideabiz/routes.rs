//! The platform's Carrier Billing handlers: charge, and the two status queries.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};

use super::auth::PlatformCaller;
use super::request;
use crate::error::ApiError;
use crate::phone;
use crate::state::AppState;

/// `POST /{id}/carrier-billing/v1/payments`: charge a subscriber.
pub async fn create_payment(
    PlatformCaller(platform): PlatformCaller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = request::parse_charge(&body)?;
    let phone = phone::mask(&request.phone_number);
    let correlator = request.client_correlator.clone().unwrap_or_default();
    let result = state
        .ideabiz
        .create(&platform.id, request, &state.timings, Instant::now());
    match &result {
        Ok(created) => tracing::info!(
            platform = %platform.id, %phone, %correlator,
            status = created.body["amountTransaction"]["transactionOperationStatus"].as_str().unwrap_or_default(),
            "charge accepted"
        ),
        Err(error) => tracing::info!(
            platform = %platform.id, %phone, %correlator, %error, "charge refused"
        ),
    }
    let created = result?;
    if let (Some(at), Some(id)) = (created.watch, created.body["paymentId"].as_str()) {
        crate::watchers::ideabiz_payment(
            state.clone().into_inner(),
            platform.id.clone(),
            id.to_owned(),
            at,
        );
    }
    if created.slow {
        tokio::time::sleep(Duration::from_millis(state.timings.slow_ms)).await;
    }
    Ok(HttpResponse::Created().json(created.body))
}

/// `GET /{id}/carrier-billing/v1/payments/{paymentId}`.
pub async fn retrieve_payment(
    PlatformCaller(platform): PlatformCaller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, payment_id) = path.into_inner();
    let body = state
        .ideabiz
        .payment(&platform.id, &payment_id, Instant::now())?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /{id}/carrier-billing/v1/payments?clientCorrelator=…`: the payment
/// created with that `clientCorrelator`, or 404.
pub async fn find_payment(
    PlatformCaller(platform): PlatformCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let correlator = query
        .get("clientCorrelator")
        .filter(|cc| !cc.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_argument("Schema validation failed at clientCorrelator")
        })?;
    let body = state
        .ideabiz
        .payment_by_correlator(&platform.id, correlator, Instant::now())?;
    Ok(HttpResponse::Ok().json(body))
}
