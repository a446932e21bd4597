//! The provider's HTTP handlers (inside the shared `/{op}` scope) and its API-key check.

use std::future::{ready, Ready};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde_json::json;

use super::catalogue::{self, Product};
use super::config::TopUpProvider;
use super::error::TopUpError;
use super::lookup;
use super::request;
use super::webhooks;
use crate::phone;
use crate::state::AppState;

/// Registers the provider's routes inside the `/{op}` scope.
pub fn configure(scope: &mut web::ServiceConfig) {
    scope
        .route("/telecom/lookup", web::post().to(lookup_number))
        .route("/telecom/products", web::get().to(list_products))
        .route("/telecom/products/{productId}", web::get().to(get_product))
        .route("/telecom/topup", web::post().to(create_topup))
        .route("/telecom/topup/{txId}", web::get().to(get_topup))
        .route("/esim/orders", web::post().to(create_esim_order))
        .route("/webhooks", web::post().to(register_webhook))
        .route("/webhooks", web::get().to(list_webhooks));
}

/// The provider of the request path, after checking the API key.
///
/// As an extractor it answers 404 `not_found` when `/{op}` is no top-up provider and 401
/// `{"error":"unauthorized"}` for a missing or wrong `Authorization: Bearer <key>`.
pub struct Customer(pub TopUpProvider);

fn authorize(req: &HttpRequest) -> Result<Customer, TopUpError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| TopUpError::new(500, "internal_error", "sandbox state missing"))?;
    let id = req.match_info().get("op").unwrap_or_default();
    let provider = state.topup.provider(id).ok_or_else(TopUpError::not_found)?;
    let key = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    if key != Some(provider.api_key.as_str()) {
        tracing::info!(provider = %provider.id, "top-up request refused: bad API key");
        return Err(TopUpError::unauthorized());
    }
    Ok(Customer(provider.clone()))
}

impl FromRequest for Customer {
    type Error = TopUpError;
    type Future = Ready<Result<Self, TopUpError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authorize(req))
    }
}

async fn lookup_number(
    Customer(provider): Customer,
    body: web::Bytes,
) -> Result<HttpResponse, TopUpError> {
    let digits = request::parse_lookup(&body)?;
    let result = lookup::lookup(&digits);
    tracing::info!(provider = %provider.id, phone = %phone::mask(&digits), found = result.is_ok(), "lookup");
    Ok(HttpResponse::Ok().json(result?))
}

async fn list_products(_: Customer, req: HttpRequest) -> Result<HttpResponse, TopUpError> {
    let (operator, kind) = request::parse_products_query(req.query_string())?;
    let products: Vec<_> = catalogue::products(operator.as_deref(), kind)
        .map(Product::to_json)
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "products": products })))
}

async fn get_product(
    _: Customer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, TopUpError> {
    let (_, id) = path.into_inner();
    let product = catalogue::product(&id).ok_or_else(|| TopUpError::product_not_found(&id))?;
    Ok(HttpResponse::Ok().json(product.to_json()))
}

async fn create_topup(
    Customer(provider): Customer,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TopUpError> {
    let request = request::parse_topup(&body)?;
    let phone = phone::mask(&request.phone);
    let external_tx_id = request.external_tx_id.clone();
    let delay = Duration::from_millis(state.timings.async_delay_ms);
    let result = state
        .topup
        .store
        .topup(&provider.id, request, delay, Instant::now());
    match &result {
        Ok(s) => tracing::info!(
            provider = %provider.id, %phone, %external_tx_id, replay = !s.fresh,
            status = s.body["status"].as_str().unwrap_or_default(), "top-up accepted"
        ),
        Err(error) => {
            tracing::info!(provider = %provider.id, %phone, %external_tx_id, %error, "top-up refused")
        }
    }
    let submitted = result?;
    if let (true, Some(tx_id)) = (submitted.watch, submitted.body["tx_id"].as_str()) {
        crate::watchers::topup(
            state.clone().into_inner(),
            provider.id.clone(),
            tx_id.to_owned(),
            Instant::now(),
        );
    }
    if submitted.slow {
        tokio::time::sleep(Duration::from_millis(state.timings.slow_ms)).await;
    }
    let mut response = if submitted.fresh {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(submitted.body))
}

async fn get_topup(
    Customer(provider): Customer,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TopUpError> {
    let (_, tx_id) = path.into_inner();
    let body = state
        .topup
        .store
        .transaction(&provider.id, &tx_id, Instant::now())?;
    Ok(HttpResponse::Ok().json(body))
}

async fn create_esim_order(
    Customer(provider): Customer,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TopUpError> {
    let request = request::parse_esim(&body)?;
    let (body, fresh) = state.topup.store.esim_order(&provider.id, request)?;
    tracing::info!(provider = %provider.id, replay = !fresh, "eSIM order");
    let mut response = if fresh {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(body))
}

/// `POST /{p}/webhooks {"url","secret"}`: 201 for a new URL, 200 when it replaced the
/// registration of the same URL. The secret is never echoed.
async fn register_webhook(
    Customer(provider): Customer,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TopUpError> {
    let webhook = webhooks::parse_registration(&body)?;
    let url = webhook.url.clone();
    let fresh = state.topup.store.register_webhook(&provider.id, webhook);
    tracing::info!(provider = %provider.id, replaced = !fresh, "webhook registered");
    let mut response = if fresh {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(json!({ "url": url })))
}

/// `GET /{p}/webhooks` → `{"webhooks": [{"url"}]}`.
async fn list_webhooks(Customer(provider): Customer, state: web::Data<AppState>) -> HttpResponse {
    let hooks: Vec<_> = state
        .topup
        .webhook_urls(&provider.id)
        .into_iter()
        .map(|url| json!({ "url": url }))
        .collect();
    HttpResponse::Ok().json(json!({ "webhooks": hooks }))
}

/// `GET /_admin/credits` → `{"total": n, "by_external_tx_id": {"id": n, ...}}`.
pub async fn admin_credits(state: web::Data<AppState>) -> HttpResponse {
    let report = state.topup.store.credits(Instant::now());
    HttpResponse::Ok().json(json!({
        "total": report.total,
        "by_external_tx_id": report.by_external_tx_id,
    }))
}
