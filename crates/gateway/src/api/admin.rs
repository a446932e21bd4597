//! Operations API (`/admin/...`), behind the admin bearer token (`admin.token`; empty disables it).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use switchboard_core::{ApiError, ErrorCode, Msisdn};

use crate::auth::admin::{AdminIdentity, AdminRole};
use crate::http::{parse_json, parse_query_pairs, Endpoint, HttpError};
use crate::payments::store_error;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::at("/admin/mnp").get(list_overrides))
        .service(Endpoint::at("/admin/reload").post(reload))
        .service(
            Endpoint::at("/admin/mnp/{msisdn}")
                .put(set_override)
                .delete(remove_override),
        )
        .configure(super::admin_outbox::routes)
        .configure(super::admin_control::routes)
        .configure(super::admin_stats::routes)
        .configure(super::admin_routing::routes);
}

/// The caller of an admin route that reads: any admin token (401 otherwise).
pub(crate) fn authorize(req: &HttpRequest, state: &AppState) -> Result<AdminIdentity, ApiError> {
    state
        .admins()
        .identify(bearer(req))
        .ok_or_else(|| ApiError::of(ErrorCode::Unauthenticated))
}

/// The caller of an admin route that changes something: an `operator` token (401 without a valid
/// token, 403 for a `viewer`).
pub(crate) fn authorize_change(
    req: &HttpRequest,
    state: &AppState,
) -> Result<AdminIdentity, ApiError> {
    let who = authorize(req, state)?;
    if who.role < AdminRole::Operator {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "This admin token may only read.",
        ));
    }
    Ok(who)
}

fn bearer(req: &HttpRequest) -> &str {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
}

/// Whether the request's `Authorization: Bearer …` is `expected` (constant-time enough for equal
/// lengths).
pub(crate) fn bearer_matches(req: &HttpRequest, expected: &str) -> bool {
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn number(text: &str) -> Result<Msisdn, ApiError> {
    Msisdn::parse(text)
        .ok_or_else(|| ApiError::invalid_argument("the path must hold an E.164 number"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideInput {
    operator_id: String,
}

/// Overrides per page of `GET /admin/mnp` unless `limit` says otherwise, and the most it may say.
const PAGE_DEFAULT: usize = 1000;
const PAGE_MAX: usize = 10_000;

/// `?cursor=<next_cursor of the previous page>&limit=<1..=10000>`.
fn page_query(req: &HttpRequest) -> Result<(Option<String>, usize), ApiError> {
    let (mut cursor, mut limit) = (None, PAGE_DEFAULT);
    for (key, value) in parse_query_pairs(req.query_string())? {
        match key.as_str() {
            "cursor" if switchboard_store::valid_cursor(&value) => cursor = Some(value),
            "cursor" => {
                return Err(ApiError::invalid_argument(
                    "cursor must be a next_cursor this endpoint returned",
                ))
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|l| (1..=PAGE_MAX).contains(l))
                    .ok_or_else(|| {
                        ApiError::invalid_argument(format!("limit must be 1 to {PAGE_MAX}"))
                    })?
            }
            other => {
                return Err(ApiError::invalid_argument(format!(
                    "unknown query parameter '{other}'"
                )))
            }
        }
    }
    Ok((cursor, limit))
}

/// One page of the overrides; `next_cursor` (absent on the last page) asks for the next one.
async fn list_overrides(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    authorize(&req, &state)?;
    let (cursor, limit) = page_query(&req)?;
    let page = state
        .store
        .operator_override_page(cursor.as_deref(), limit)
        .await
        .map_err(store_error)?;
    let items: Vec<_> = page
        .entries
        .iter()
        .map(|(m, op)| json!({"msisdn": m, "operator_id": op}))
        .collect();
    let mut body = json!({ "overrides": items });
    if let Some(next) = page.next {
        body["next_cursor"] = json!(next);
    }
    Ok(HttpResponse::Ok().json(body))
}

async fn set_override(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    authorize_change(&req, &state)?;
    let msisdn = number(&path)?;
    let input: OverrideInput = parse_json(&body)?;
    if state.router().plan().operator(&input.operator_id).is_none() {
        return Err(ApiError::invalid_argument(format!(
            "operator_id '{}' is not in the number plan",
            input.operator_id
        ))
        .into());
    }
    state
        .store
        .set_operator_override(&msisdn, &input.operator_id)
        .await
        .map_err(store_error)?;
    state
        .overrides()
        .set(state.router().plan(), &msisdn, Some(&input.operator_id));
    tracing::info!(msisdn = %msisdn.masked(), operator = %input.operator_id, "MNP override set");
    Ok(HttpResponse::Ok().json(json!({"msisdn": msisdn, "operator_id": input.operator_id})))
}

async fn remove_override(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    authorize_change(&req, &state)?;
    let msisdn = number(&path)?;
    let existed = state
        .store
        .remove_operator_override(&msisdn)
        .await
        .map_err(store_error)?;
    state.overrides().set(state.router().plan(), &msisdn, None);
    if existed {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found().into())
    }
}

/// `POST /admin/reload` (an `operator` token): reads the configuration again and applies it
/// without a restart (see `reload.rs`); an invalid configuration is 400 with the loader's messages
/// and the running one stays.
async fn reload(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    let who = authorize_change(&req, &state)?;
    let done = crate::reload::reload(&state, &who.name).await?;
    Ok(HttpResponse::Ok().json(done))
}
