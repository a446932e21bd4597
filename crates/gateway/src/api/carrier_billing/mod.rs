//! CAMARA Carrier Billing v0.5.0 at `/carrier-billing/v0.5`.

mod actions;
mod create;
mod list_query;
pub mod model;
mod read;
mod subject;

use actix_web::{web, HttpRequest};

use crate::state::AppState;

pub const BASE_PATH: &str = "/carrier-billing/v0.5";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE_PATH)
            // The static `prepare` segment is registered before `{paymentId}`.
            .route("/payments/prepare", web::post().to(create::prepare_payment))
            .route("/payments", web::post().to(create::create_payment))
            .route("/payments", web::get().to(read::list_payments))
            .route("/payments/{paymentId}", web::get().to(read::get_payment))
            .route(
                "/payments/{paymentId}/validate",
                web::post().to(actions::validate_payment),
            )
            .route(
                "/payments/{paymentId}/confirm",
                web::post().to(actions::confirm_payment),
            )
            .route(
                "/payments/{paymentId}/cancel",
                web::post().to(actions::cancel_payment),
            ),
    );
}

/// Where this deployment is reachable, for `resourceURL` and `Location`.
pub(crate) fn base_url(req: &HttpRequest, state: &AppState) -> String {
    let configured = state.config.server.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_string();
    }
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}
