//! Switchboard's own OpenAPI documents.

use actix_web::HttpResponse;

/// Carrier Billing as Switchboard serves it (CAMARA v0.5.0 plus Switchboard's documented additions).
pub const CARRIER_BILLING: &str = include_str!("../openapi/carrier-billing.yaml");

/// The top-up API, Switchboard's own.
pub const TOPUP: &str = include_str!("../openapi/topup.yaml");

pub async fn topup() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(TOPUP)
}

pub async fn carrier_billing() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(CARRIER_BILLING)
}
