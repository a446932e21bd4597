//! The top-up API: `/telecom/lookup`, `/telecom/products`, `/telecom/topup`, `/esim/orders`,
//! `/esim/orders/{order_id}`.

mod handlers;
pub mod model;

use actix_web::web;

use crate::http::Endpoint;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::at("/telecom/lookup").post(handlers::lookup))
        .service(Endpoint::at("/telecom/products").get(handlers::products))
        .service(Endpoint::at("/telecom/products/{id}").get(handlers::product))
        .service(Endpoint::at("/telecom/topup").post(handlers::create_topup))
        .service(Endpoint::at("/telecom/topup/{tx_id}").get(handlers::get_topup))
        .service(Endpoint::at("/esim/orders").post(handlers::create_esim_order))
        .service(Endpoint::at("/esim/orders/{order_id}").get(handlers::get_esim_order));
}
