//! CAMARA Carrier Billing Refund v0.3.0 at `/carrier-billing-refund/v0.3`.

mod handlers;
mod model;
mod query;

use actix_web::web;

pub const BASE_PATH: &str = "/carrier-billing-refund/v0.3";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE_PATH)
            .route(
                "/payments/{paymentId}/refunds",
                web::post().to(handlers::create_refund),
            )
            .route(
                "/payments/{paymentId}/refunds",
                web::get().to(handlers::list_refunds),
            )
            // The static `remaining-amount` segment is registered before `{refundId}`.
            .route(
                "/payments/{paymentId}/refunds/remaining-amount",
                web::get().to(handlers::remaining_amount),
            )
            .route(
                "/payments/{paymentId}/refunds/{refundId}",
                web::get().to(handlers::get_refund),
            ),
    );
}
