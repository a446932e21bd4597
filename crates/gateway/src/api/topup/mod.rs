//! The top-up API: `/telecom/lookup`, `/telecom/products`, `/telecom/topup`, `/esim/orders`.

mod handlers;
pub mod model;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/telecom/lookup", web::post().to(handlers::lookup))
        .route("/telecom/products", web::get().to(handlers::products))
        .route("/telecom/products/{id}", web::get().to(handlers::product))
        .route("/telecom/topup", web::post().to(handlers::create_topup))
        .route("/telecom/topup/{tx_id}", web::get().to(handlers::get_topup))
        .route("/esim/orders", web::post().to(handlers::create_esim_order));
}
