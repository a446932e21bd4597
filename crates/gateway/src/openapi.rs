//! Switchboard's own OpenAPI documents.

use actix_web::HttpResponse;

/// Carrier Billing as Switchboard serves it (CAMARA v0.5.0 plus Switchboard's documented additions).
pub const CARRIER_BILLING: &str = include_str!("../openapi/carrier-billing.yaml");

/// Carrier Billing Refund as Switchboard serves it (CAMARA v0.3.0 plus documented additions).
pub const REFUND: &str = include_str!("../openapi/carrier-billing-refund.yaml");

pub async fn refund() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(REFUND)
}

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

/// The operations API (`/admin/...`): every admin route, its methods, parameters and answers.
pub const ADMIN: &str = include_str!("../openapi/admin.yaml");

pub async fn admin() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(ADMIN)
}
