//! `GET /admin/stats`: rolling 1 min / 15 min / 1 h figures per channel and operator, the last
//! 15 min as a series, and the backlog (admin bearer token). Shape: see [`crate::observe::stats`].

use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::{Endpoint, HttpError};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::at("/admin/stats").get(stats));
}

async fn stats(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, HttpError> {
    super::admin::authorize(&req, &state)?;
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let doc = crate::observe::stats::replica_document(&state.observe, now);
    Ok(HttpResponse::Ok().json(doc))
}
