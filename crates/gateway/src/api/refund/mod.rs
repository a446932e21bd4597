//! CAMARA Carrier Billing Refund v0.3.0 at `/carrier-billing-refund/v0.3`.

mod handlers;
mod model;
mod query;

use actix_web::web;

use crate::http::Endpoint;

pub const BASE_PATH: &str = "/carrier-billing-refund/v0.3";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE_PATH)
            .service(
                Endpoint::at("/payments/{paymentId}/refunds")
                    .post(handlers::create_refund)
                    .get(handlers::list_refunds),
            )
            // The static `remaining-amount` segment is registered before `{refundId}`.
            .service(
                Endpoint::at("/payments/{paymentId}/refunds/remaining-amount")
                    .get(handlers::remaining_amount),
            )
            .service(
                Endpoint::at("/payments/{paymentId}/refunds/{refundId}").get(handlers::get_refund),
            ),
    );
}
