//! CAMARA Carrier Billing v0.5.0 at `/carrier-billing/v0.5`.

mod actions;
mod create;
mod list_query;
pub mod model;
mod read;
mod subject;

use actix_web::{web, HttpRequest};

use crate::http::Endpoint;
use crate::state::AppState;

pub const BASE_PATH: &str = "/carrier-billing/v0.5";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE_PATH)
            // The static `prepare` segment is registered before `{paymentId}`.
            .service(Endpoint::at("/payments/prepare").post(create::prepare_payment))
            .service(
                Endpoint::at("/payments")
                    .post(create::create_payment)
                    .get(read::list_payments),
            )
            .service(Endpoint::at("/payments/{paymentId}").get(read::get_payment))
            .service(Endpoint::at("/payments/{paymentId}/validate").post(actions::validate_payment))
            .service(Endpoint::at("/payments/{paymentId}/confirm").post(actions::confirm_payment))
            .service(Endpoint::at("/payments/{paymentId}/cancel").post(actions::cancel_payment)),
    );
}

/// Where this deployment is reachable, for `resourceURL` and `Location`.
pub(crate) fn base_url(req: &HttpRequest, state: &AppState) -> String {
    let config = state.config();
    let configured = config.server.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_string();
    }
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}
