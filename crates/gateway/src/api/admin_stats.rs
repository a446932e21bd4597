//! `GET /admin/stats`: rolling 1 min / 15 min / 1 h figures per channel and operator, the last
//! 15 min as a series, and the backlog (admin bearer token). Shape: see [`crate::observe::stats`].
//! On the Redis store the figures are the fleet's (every replica publishes; see
//! [`crate::observe::fleet`]); on the memory store they are this replica's.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::{Endpoint, HttpError};
use crate::observe::fleet::Fleet;
use crate::observe::stats;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::at("/admin/stats").get(stats));
}

async fn stats(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    super::admin::authorize(&req, &state)?;
    Ok(HttpResponse::Ok().json(document(&state).await))
}

/// The stats document as `/admin/stats` answers it now (also the source of `/admin/channels`'
/// figures).
pub(crate) async fn document(state: &AppState) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let observe = &state.observe;
    if observe.backend == "redis" {
        match Fleet::read(state.store.as_ref(), observe, now).await {
            Ok(fleet) => stats::document(observe, &fleet, "fleet", now),
            Err(e) => {
                // Still useful on call: this replica's own figures, labelled as such.
                tracing::warn!(error = %e, "fleet stats unreadable; answering this replica's");
                stats::replica_document(observe, now)
            }
        }
    } else {
        stats::replica_document(observe, now)
    }
}
