//! Merchant webhook endpoints for top-up events: `POST /webhooks`, `GET /webhooks`,
//! `DELETE /webhooks/{id}`. Deliveries are signed with the merchant's `webhook_secret`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::{ApiError, ErrorCode};
use switchboard_store::WebhookEndpoint;

use crate::auth::{scopes, Caller};
use crate::http::{parse_json, Endpoint, HttpError};
use crate::payments::store_error;
use crate::state::AppState;

/// The event types a top-up endpoint can ask for.
pub const TOPUP_EVENTS: &[&str] = &["topup.completed", "topup.failed", "topup.pending"];
/// Endpoints per merchant (each event fans out to all of them inside one store step).
const MAX_ENDPOINTS: usize = 10;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::at("/webhooks").post(register).get(list))
        .service(Endpoint::at("/webhooks/{id}").delete(remove));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointInput {
    url: String,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Serialize)]
struct EndpointView<'a> {
    id: &'a str,
    url: &'a str,
    events: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    created_at: DateTime<Utc>,
    /// `active`, or `stopped` after the endpoint answered 410 Gone (replaying one of its dead
    /// letters re-enables it).
    status: &'static str,
}

fn view(e: &WebhookEndpoint) -> EndpointView<'_> {
    EndpointView {
        id: &e.id,
        url: &e.url,
        events: &e.events,
        description: e.description.as_deref(),
        created_at: e.created_at,
        status: if e.stopped { "stopped" } else { "active" },
    }
}

fn validate(state: &AppState, input: &EndpointInput) -> Result<(), ApiError> {
    if input.url.len() > 2048 {
        return Err(ApiError::invalid_argument(
            "url is longer than 2048 characters",
        ));
    }
    crate::api::deliverable::deliverable(&input.url, &state.webhook_allow)
        .map_err(|why| ApiError::invalid_argument(format!("url: {why}")))?;
    if let Some(bad) = input
        .events
        .iter()
        .find(|e| !TOPUP_EVENTS.contains(&e.as_str()))
    {
        return Err(ApiError::invalid_argument(format!(
            "events: '{bad}' is not one of {}",
            TOPUP_EVENTS.join(", ")
        )));
    }
    if input.description.as_ref().is_some_and(|d| d.len() > 256) {
        return Err(ApiError::invalid_argument(
            "description is longer than 256 characters",
        ));
    }
    Ok(())
}

async fn register(
    caller: Caller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::WEBHOOKS_MANAGE)?;
    let input: EndpointInput = parse_json(&body)?;
    validate(&state, &input)?;
    if state
        .merchants()
        .by_id(&caller.merchant_id)
        .is_none_or(|m| m.webhook_secret.is_empty())
    {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "No webhook signing secret is configured for this merchant.",
        )
        .into());
    }
    let existing = state
        .store
        .webhook_endpoints(&caller.merchant_id)
        .await
        .map_err(store_error)?;
    if existing.len() >= MAX_ENDPOINTS {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("At most {MAX_ENDPOINTS} webhook endpoints per merchant."),
        )
        .into());
    }
    let mut events = input.events;
    events.sort();
    events.dedup();
    let endpoint = WebhookEndpoint {
        id: format!("we_{}", uuid::Uuid::new_v4().simple()),
        url: input.url,
        events,
        description: input.description,
        created_at: Utc::now().trunc_subsecs(3),
        stopped: false,
    };
    state
        .store
        .put_webhook_endpoint(&caller.merchant_id, &endpoint)
        .await
        .map_err(store_error)?;
    tracing::info!(endpoint_id = %endpoint.id, "webhook endpoint registered");
    Ok(HttpResponse::Created().json(view(&endpoint)))
}

async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::WEBHOOKS_MANAGE)?;
    let endpoints = state
        .store
        .webhook_endpoints(&caller.merchant_id)
        .await
        .map_err(store_error)?;
    let items: Vec<_> = endpoints.iter().map(view).collect();
    Ok(HttpResponse::Ok().json(items))
}

async fn remove(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    caller.require(scopes::WEBHOOKS_MANAGE)?;
    let removed = state
        .store
        .remove_webhook_endpoint(&caller.merchant_id, &path)
        .await
        .map_err(store_error)?;
    if !removed {
        return Err(ApiError::not_found().into());
    }
    Ok(HttpResponse::NoContent().finish())
}
