//! Routing table and the CAMARA Carrier Billing v0.5 handlers (the Ideabiz
//! platforms' handlers live in [`crate::ideabiz`]).

use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};

use crate::admin;
use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::ideabiz;
use crate::outcome::Flow;
use crate::phone;
use crate::request;
use crate::state::AppState;
use crate::topup;
use crate::watchers;

/// Base path of the Carrier Billing API under each operator.
pub const CARRIER_BILLING_PATH: &str = "/carrier-billing/v0.5";

/// Registers every route (admin first, then `/{op}/...`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_admin")
            .route("/charges", web::get().to(admin::charges))
            .route("/reset", web::post().to(admin::reset))
            .route("/credits", web::get().to(topup::admin_credits))
            .route("/refunds", web::get().to(crate::refund::admin_refunds))
            .route("/traceparents", web::get().to(crate::traceparents::list))
            .route("/faults", web::get().to(crate::faults::list))
            .route("/faults/{id}", web::put().to(crate::faults::put))
            .route("/faults/{id}", web::delete().to(crate::faults::delete)),
    )
    .service(
        web::scope("/{op}")
            .route("/oauth2/token", web::post().to(auth::token))
            // Subscriber consent for phone-bound tokens: `/consent/v1/...`.
            .configure(crate::consent::configure)
            // Ideabiz platforms: `/token` and `/carrier-billing/v1/...`.
            .configure(ideabiz::configure)
            // DCB aggregators: `/dcb/v1/...`.
            .configure(crate::dcb::configure)
            // Top-up providers: `/telecom/...` and `/esim/orders`.
            .configure(topup::configure)
            // CAMARA operators' refunds: `/carrier-billing-refund/v0.3/...`.
            .configure(crate::refund::configure)
            .service(
                web::scope(CARRIER_BILLING_PATH)
                    // `/payments/prepare` must come before `/payments/{paymentId}`.
                    .route("/payments", web::post().to(create_payment))
                    .route("/payments/prepare", web::post().to(prepare_payment))
                    .route("/payments/{paymentId}", web::get().to(retrieve_payment))
                    .route(
                        "/payments/{paymentId}/validate",
                        web::post().to(validate_payment),
                    )
                    .route(
                        "/payments/{paymentId}/confirm",
                        web::post().to(confirm_payment),
                    )
                    .route(
                        "/payments/{paymentId}/cancel",
                        web::post().to(cancel_payment),
                    ),
            ),
    )
    .default_service(web::to(not_found));
}

async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found("No such resource"))
}

async fn create_payment(
    caller: Caller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    submit(caller, &body, state, Flow::OneStep).await
}

async fn prepare_payment(
    caller: Caller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    submit(caller, &body, state, Flow::TwoStep).await
}

async fn submit(
    Caller(operator): Caller,
    body: &[u8],
    state: web::Data<AppState>,
    flow: Flow,
) -> Result<HttpResponse, ApiError> {
    let request = request::parse_payment(body)?;
    let phone = phone::mask(&request.phone_number);
    let correlator = request.client_correlator.clone().unwrap_or_default();
    let result = state
        .store
        .create(&operator, flow, request, &state.timings, Instant::now());
    match &result {
        Ok(created) => tracing::info!(
            operator = %operator.id, ?flow, %phone, %correlator, replay = !created.fresh,
            status = created.body.get("paymentStatus").and_then(|s| s.as_str()).unwrap_or_default(),
            "payment request accepted"
        ),
        Err(error) => tracing::info!(
            operator = %operator.id, ?flow, %phone, %correlator, %error,
            "payment request refused"
        ),
    }
    let created = result?;
    if let (Some(at), Some(id)) = (created.watch, created.body["paymentId"].as_str()) {
        watchers::payment(
            state.clone().into_inner(),
            operator.id.clone(),
            id.to_owned(),
            at,
        );
    }
    if created.slow {
        tokio::time::sleep(Duration::from_millis(state.timings.slow_ms)).await;
    }
    Ok(HttpResponse::Created().json(created.body))
}

async fn retrieve_payment(
    Caller(operator): Caller,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, payment_id) = path.into_inner();
    let body = state
        .store
        .with_payment(&operator.id, &payment_id, Instant::now(), |p| {
            Ok(p.to_json(false))
        })?;
    Ok(HttpResponse::Ok().json(body))
}

async fn validate_payment(
    Caller(operator): Caller,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, payment_id) = path.into_inner();
    let (authorization_id, code) = request::parse_validate(&body)?;
    let result = state
        .store
        .with_payment(&operator.id, &payment_id, Instant::now(), |p| {
            p.validate(&authorization_id, &code)
        });
    log_action(&operator.id, "validate", &payment_id, &result);
    result?;
    Ok(HttpResponse::NoContent().finish())
}

async fn confirm_payment(
    Caller(operator): Caller,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, payment_id) = path.into_inner();
    request::parse_phone_body(&body)?;
    let now = Instant::now();
    let result = state
        .store
        .with_payment(&operator.id, &payment_id, now, |p| {
            p.confirm(now).map(|()| p.watch_due())
        });
    log_action(&operator.id, "confirm", &payment_id, &result);
    if let Some(at) = result? {
        watchers::payment(state.into_inner(), operator.id.clone(), payment_id, at);
    }
    Ok(HttpResponse::Accepted().finish())
}

async fn cancel_payment(
    Caller(operator): Caller,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, payment_id) = path.into_inner();
    request::parse_phone_body(&body)?;
    let result = state
        .store
        .with_payment(&operator.id, &payment_id, Instant::now(), |p| p.cancel());
    log_action(&operator.id, "cancel", &payment_id, &result);
    result?;
    Ok(HttpResponse::Accepted().finish())
}

fn log_action<T>(operator: &str, action: &str, payment_id: &str, result: &Result<T, ApiError>) {
    match result {
        Ok(_) => tracing::info!(%operator, %action, %payment_id, "payment action accepted"),
        Err(error) => {
            tracing::info!(%operator, %action, %payment_id, %error, "payment action refused")
        }
    }
}
