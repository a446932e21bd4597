//! End-to-end: the real gateway and the real sandbox over HTTP, every response held against
//! Switchboard's OpenAPI document.

mod auth;
mod errors;
mod idempotency;
mod one_step;
mod reads;
mod routing;
mod two_step;

use serde_json::Value;
use switchboard_tests::CARRIER_BILLING;

/// Asserts a CAMARA error: status, code, body schema, and the `x-correlator` header.
pub async fn assert_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status for {code}");
    assert!(
        res.headers().contains_key("x-correlator"),
        "errors carry x-correlator"
    );
    let body = switchboard_tests::body_of(res).await;
    CARRIER_BILLING.check("ErrorInfo", &body);
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    body
}
