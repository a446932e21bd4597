//! The routing picture for ops (admin bearer token): `GET /admin/operators` (the number plan and the
//! channels configured for each operator), `GET /admin/channels` (every configured channel: what it
//! is, its circuit, its rolling figures) and `GET /admin/route` (the route test: the operator of a
//! number, how it was found, and the channels in the order a request would try them, with why).
//! Read-only: nothing here changes routing or health.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use switchboard_adapter::{Capability, ChannelSettings};
use switchboard_core::{ApiError, Msisdn};
use switchboard_router::{explain, Channel};

use super::admin::authorize;
use crate::config::Config;
use crate::http::{parse_query_pairs, Endpoint, HttpError};
use crate::observe::stats;
use crate::state::AppState;

/// `health.value` of a channel disabled in configuration: after `CircuitState::gauge`'s 0..=2.
const DISABLED_VALUE: i64 = 3;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::at("/admin/operators").get(operators))
        .service(Endpoint::at("/admin/channels").get(channels))
        .service(Endpoint::at("/admin/route").get(route_test));
}

/// The operator's display name (`[operators.<id>] name`), `null` when not configured.
fn operator_name(state: &AppState, id: &str) -> Value {
    json!(state
        .config()
        .operators
        .get(id)
        .and_then(|op| op.name.as_deref()))
}

/// Configured channels (enabled or not) in the order routing prefers them: priority, then id.
fn configured_channels(config: &Config) -> Vec<(&String, &ChannelSettings)> {
    let mut all: Vec<_> = config.channels.iter().collect();
    all.sort_by(|a, b| a.1.priority.cmp(&b.1.priority).then_with(|| a.0.cmp(b.0)));
    all
}

async fn operators(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    authorize(&req, &state)?;
    let config = state.config();
    let channels = configured_channels(&config);
    let operators: Vec<Value> = state
        .router()
        .plan()
        .operators()
        .iter()
        .map(|op| {
            let serving: Vec<&String> = channels
                .iter()
                .filter(|(_, ch)| ch.operators.contains(&op.id))
                .map(|(id, _)| *id)
                .collect();
            json!({
                "id": op.id,
                "name": operator_name(&state, &op.id),
                "country": op.country,
                "currency": op.currencies.first(),
                "currencies": op.currencies,
                "prefixes": op.prefixes,
                "channels": serving,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "operators": operators })))
}

/// What ops set on a running channel and what routing uses now.
pub(super) fn control_view(channel: &Channel) -> Value {
    let c = &channel.control;
    json!({
        "state": c.state(),
        "circuit": c.circuit(),
        "priority": channel.routing_priority(),
        "weight": channel.routing_weight(),
        "priority_set": c.priority().is_some(),
        "weight_set": c.weight().is_some(),
        "in_flight": c.in_flight(),
    })
}

/// One channel's `health`: live from the router when enabled, `disabled` otherwise.
fn health(live: Option<&Channel>) -> Value {
    match live {
        Some(channel) => {
            let circuit = channel.circuit();
            json!({
                "circuit": circuit,
                "value": circuit.gauge(),
                "consecutive_failures": channel.health.consecutive_failures(),
            })
        }
        None => json!({"circuit": "disabled", "value": DISABLED_VALUE, "consecutive_failures": 0}),
    }
}

async fn channels(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    authorize(&req, &state)?;
    let doc = super::admin_stats::document(&state).await;
    let config = state.config();
    let channels: Vec<Value> = configured_channels(&config)
        .into_iter()
        .map(|(id, settings)| {
            let live = state.router().channel(id).filter(|_| settings.enabled);
            // The router's view when the channel runs (capabilities cut to the adapter's).
            let capabilities = live
                .as_ref()
                .map_or(&settings.capabilities, |c| &c.capabilities);
            let mut entry = json!({
                "id": id,
                "adapter": settings.adapter,
                "operators": settings.operators,
                "capabilities": capabilities,
                "priority": settings.priority,
                "weight": settings.weight,
                "enabled": live.is_some(),
                "health": health(live.as_deref()),
                "stats": stats::channel_windows(&doc, id, &settings.operators),
            });
            // Only a running channel has runtime controls.
            if let Some(channel) = live.as_deref() {
                entry["control"] = control_view(channel);
            }
            entry
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "channels": channels })))
}

/// `?phone=<E.164>&operation=<capability>` (operation defaults to `payment`). An unencoded `+` in a
/// query string arrives as a space: it is read back as the `+` it was.
fn route_query(req: &HttpRequest) -> Result<(Msisdn, Capability), ApiError> {
    let (mut phone, mut operation) = (None, Capability::Payment);
    for (key, value) in parse_query_pairs(req.query_string())? {
        match key.as_str() {
            "phone" => {
                let text = match value.strip_prefix(' ') {
                    Some(rest) => format!("+{rest}"),
                    None => value,
                };
                phone = Some(Msisdn::parse(&text).ok_or_else(|| {
                    ApiError::invalid_argument("phone must be an E.164 number (+ and digits)")
                })?);
            }
            "operation" => {
                operation = serde_json::from_value(json!(value)).map_err(|_| {
                    ApiError::invalid_argument(
                        "operation must be one of payment, two_step_payment, payment_status, \
                         refund, topup, lookup",
                    )
                })?;
            }
            other => {
                return Err(ApiError::invalid_argument(format!(
                    "unknown query parameter '{other}'"
                )))
            }
        }
    }
    let phone = phone.ok_or_else(|| ApiError::invalid_argument("phone is required"))?;
    Ok((phone, operation))
}

/// The route test: the same routing call the request path makes (MNP override first, then the
/// number plan), with the reason for each channel's place. Never echoes the full number.
async fn route_test(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    authorize(&req, &state)?;
    let (phone, operation) = route_query(&req)?;
    // One read of the override table for both the route and how its operator was found.
    let live = state.live();
    let ported = live.overrides.read();
    let route = live
        .router
        .route_now(&phone, &ported, operation)
        .map_err(ApiError::from)?;
    let (source, matched_prefix) = if ported.get(&phone).is_some() {
        ("mnp_override", None)
    } else {
        ("number_plan", live.router.plan().matched_prefix(&phone))
    };
    drop(ported);
    let channels: Vec<Value> = explain(&route)
        .into_iter()
        .map(|ranked| {
            let c = &ranked.channel;
            json!({
                "id": c.id,
                "priority": c.routing_priority(),
                "weight": c.routing_weight(),
                "circuit": c.circuit_at(route.capability, switchboard_router::now_ms()),
                "reason": ranked.reason,
            })
        })
        .collect();
    let operator = route.operator;
    Ok(HttpResponse::Ok().json(json!({
        "phone": phone.masked(),
        "operation": operation,
        "operator": {"id": operator.id, "name": operator_name(&state, &operator.id)},
        "source": source,
        "matched_prefix": matched_prefix,
        "channels": channels,
    })))
}
