//! The declarative adapter's OAuth2 auth types against the sandbox's real token endpoints: client
//! credentials at a CAMARA operator, and the password grant with a rotating refresh token at an
//! Ideabiz platform. The same CAMARA-family APIs the hand-written adapters speak, described by data.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;
use switchboard_adapter::testing::payment_record;
use switchboard_adapter::{Adapter, ChannelSettings, UpstreamHttp};
use switchboard_adapter_declarative::factory;
use switchboard_core::{PaymentRecord, PaymentStatus};
use switchboard_sandbox::{start, SandboxConfig, SandboxHandle};

async fn sandbox() -> SandboxHandle {
    start(SandboxConfig::with_default_operators(SocketAddr::from((
        [127, 0, 0, 1],
        0,
    ))))
    .await
    .expect("sandbox starts")
}

fn charge_body(phone: &str) -> serde_json::Value {
    json!({"amountTransaction": {
        "phoneNumber": phone, "clientCorrelator": "{idempotency_key}", "referenceCode": "{reference_code}",
        "paymentAmount": {"chargingInformation": {
            "amount": "{amount.major:number}", "currency": "{currency}", "description": "{description}"}}}})
}

fn adapter(
    base: &str,
    token_url: String,
    (id, secret): (&str, &str),
    options: serde_json::Value,
) -> Arc<dyn Adapter> {
    let settings: ChannelSettings = serde_json::from_value(json!({
        "id": "declarative-oauth", "adapter": "declarative", "base_url": base, "token_url": token_url,
        "credentials": {"client_id": id, "client_secret": secret},
        "operators": ["op"], "capabilities": ["payment"],
        "timeouts": {"connect_ms": 500, "request_ms": 2000}, "options": options
    }))
    .expect("valid channel settings");
    factory(&settings, &UpstreamHttp::new()).expect("adapter builds")
}

fn record(phone: &str, id: &str, currency: &str) -> PaymentRecord {
    payment_record(id, phone, "100", currency)
}

#[tokio::test]
async fn client_credentials_tokens_are_fetched_once_and_renewed_after_a_401() {
    let sb = sandbox().await;
    let base = sb.base_url("movistar-es");
    let a = adapter(
        &base,
        format!("{base}/oauth2/token"),
        ("sandbox-client", "sandbox-secret"),
        json!({
            "auth": {"type": "oauth2_client_credentials"},
            "statuses": {"succeeded": "succeeded", "processing": "processing", "denied": "denied"},
            "operations": {"create": {
                "method": "POST", "path": "/carrier-billing/v0.5/payments",
                "body": charge_body("{phone.e164}"),
                "response": {"status": "/paymentStatus", "upstream_id": "/paymentId"}}}
        }),
    );
    for n in 0..3 {
        let p = a
            .create_payment(&record("+34600000001", &format!("cc-{n}"), "EUR"))
            .await
            .unwrap();
        assert_eq!(p.status, PaymentStatus::Succeeded);
    }
    assert_eq!(
        sb.token_requests("movistar-es"),
        1,
        "one token for every call"
    );
    sb.revoke_access_tokens("movistar-es");
    let p = a
        .create_payment(&record("+34600000001", "cc-after", "EUR"))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(
        sb.token_requests("movistar-es"),
        2,
        "renewed once after the 401"
    );
    assert_eq!(sb.charges_for("sb-cc-after"), 1);
    sb.stop().await;
}

#[tokio::test]
async fn password_grant_refresh_tokens_rotate_and_a_dead_one_logs_in_again() {
    let sb = sandbox().await;
    let base = sb.base_url("dialog-lk");
    let a = adapter(
        &base,
        format!("{base}/token"),
        ("sandbox-key", "sandbox-secret"),
        json!({
            "auth": {"type": "oauth2_password", "username": "sandbox-user", "password": "sandbox-pass",
                     "scope": "PRODUCTION"},
            "statuses": {"Charged": "succeeded", "processing": "processing", "Denied": "denied"},
            "operations": {"create": {
                "method": "POST", "path": "/carrier-billing/v1/payments",
                "body": charge_body("tel:{phone.digits}"),
                "response": {"status": "/amountTransaction/transactionOperationStatus",
                             "upstream_id": "/paymentId"}}}
        }),
    );
    let pay = |id: &str| record("+94771234501", id, "LKR");
    assert_eq!(
        a.create_payment(&pay("pw-1")).await.unwrap().status,
        PaymentStatus::Succeeded
    );
    assert_eq!(
        (
            sb.token_requests("dialog-lk"),
            sb.refresh_grants("dialog-lk")
        ),
        (1, 0)
    );
    // A revoked access token: the 401 is answered by a refresh grant (the pair rotates).
    sb.revoke_access_tokens("dialog-lk");
    assert_eq!(
        a.create_payment(&pay("pw-2")).await.unwrap().status,
        PaymentStatus::Succeeded
    );
    assert_eq!(sb.refresh_grants("dialog-lk"), 1);
    // The rotated refresh token works again; the old one would not.
    sb.revoke_access_tokens("dialog-lk");
    assert_eq!(
        a.create_payment(&pay("pw-3")).await.unwrap().status,
        PaymentStatus::Succeeded
    );
    assert_eq!(sb.refresh_grants("dialog-lk"), 2);
    // Both revoked: the refresh grant fails and the adapter logs in with the password again.
    sb.revoke_access_tokens("dialog-lk");
    sb.revoke_refresh_tokens("dialog-lk");
    assert_eq!(
        a.create_payment(&pay("pw-4")).await.unwrap().status,
        PaymentStatus::Succeeded
    );
    assert_eq!(
        sb.token_requests("dialog-lk") - sb.refresh_grants("dialog-lk"),
        2,
        "two logins"
    );
    for id in ["sb-pw-1", "sb-pw-2", "sb-pw-3", "sb-pw-4"] {
        assert_eq!(sb.charges_for(id), 1, "{id}");
    }
    sb.stop().await;
}
