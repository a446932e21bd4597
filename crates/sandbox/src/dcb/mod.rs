//! A simulated merchant-facing **DCB aggregator** (direct carrier billing, in the mould of Boku,
//! DIMOCO or Digital Virgo). No built-in adapter speaks it; the gateway reaches it through the
//! declarative adapter (`config/channels/dcb_aggregator_it.toml`).
//!
//! Deliberately unlike the CAMARA and Ideabiz styles:
//!
//! - **Auth**: no tokens. Every request carries `X-DCB-Merchant`, `X-DCB-Timestamp` (Unix seconds,
//!   ±300 s) and `X-DCB-Signature`: hex HMAC-SHA256 under the merchant secret of
//!   `METHOD\nPATH[?QUERY]\nTIMESTAMP\nhex(SHA256(body))`. A bad one is `401 E_SIGNATURE`.
//! - **Amounts in minor units** (`"amount": 250` is EUR 2.50), `msisdn` as digits without `+`.
//! - **Statuses as words**: `SUCCESS`, `FAILED`, `PENDING`; errors as
//!   `{"result":"FAILED","error":{"code":"E_…","message":…}}` with the aggregator's own codes.
//! - **Charge once** per `merchant_tx_id`: a repeat answers the same charge and charges nothing more.
//! - **Asynchronous results** both ways: `GET /charges/{charge_id}` or
//!   `GET /charges?merchant_tx_id=…`, and a signed `POST` to the charge's `notify_url` (same headers;
//!   canonical string `TIMESTAMP\nhex(SHA256(body))`) when a `PENDING` charge settles.
//! - **Refunds**: `POST /charges/{charge_id}/refunds` (idempotent on `merchant_refund_id`),
//!   `GET /refunds?merchant_refund_id=…`.
//!
//! Outcomes follow the shared last-two-digit table ([`crate::outcome`]).

mod config;
mod error;
mod routes;
mod signature;
mod store;

pub use config::DcbAggregator;
pub use signature::{canonical_request, sign};
pub use store::Store;

use actix_web::web;

/// Base path of the aggregator API below `/{id}`.
pub const DCB_API_PATH: &str = "/dcb/v1";
/// Default merchant id of the default aggregator.
pub const DEFAULT_DCB_MERCHANT: &str = "sandbox-merchant";
/// Default merchant signing secret of the default aggregator.
pub const DEFAULT_DCB_SECRET: &str = "sandbox-dcb-secret";
/// Id of the default aggregator (listed in `config/sandbox.toml`).
pub const DEFAULT_DCB_AGGREGATOR: &str = "dcb-it";

/// Registers the aggregator routes inside the `/{op}` scope.
pub fn configure(scope: &mut web::ServiceConfig) {
    scope.service(
        web::scope(DCB_API_PATH)
            .route("/charges", web::post().to(routes::create_charge))
            .route("/charges", web::get().to(routes::find_charge))
            .route("/charges/{charge_id}", web::get().to(routes::get_charge))
            .route(
                "/charges/{charge_id}/refunds",
                web::post().to(routes::create_refund),
            )
            .route("/refunds", web::get().to(routes::find_refund)),
    );
}
