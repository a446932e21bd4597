//! CAMARA notifications: `sink` / `sinkCredential` rules and the CloudEvents sent to the sink.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use switchboard_sandbox::Inbox;

use crate::helpers::{assert_error, id_of, payment_body, phone, setup, ASYNC_OP, SYNC_OP};

const WAIT: Duration = Duration::from_secs(10);

fn with_sink(mut body: Value, sink: &str, credential: Option<Value>) -> Value {
    body["sink"] = json!(sink);
    if let Some(credential) = credential {
        body["sinkCredential"] = credential;
    }
    body
}

fn bearer(token: &str) -> Value {
    json!({"credentialType": "ACCESSTOKEN", "accessToken": token, "accessTokenType": "bearer",
        "accessTokenExpiresUtc": "2099-01-01T00:00:00Z"})
}

#[tokio::test]
async fn sinks_must_be_https_or_loopback_http_with_a_bearer_credential() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let body = |cc: &str| payment_body(&phone(0), cc);
    let cases = [
        (
            with_sink(body("s1"), "http://merchant.example/n", None),
            "INVALID_SINK",
        ),
        (
            with_sink(body("s2"), "ftp://127.0.0.1/n", None),
            "INVALID_SINK",
        ),
        (
            with_sink(
                body("s3"),
                "https://merchant.example/n",
                Some(json!({"credentialType": "PLAIN", "identifier": "a", "secret": "b"})),
            ),
            "INVALID_CREDENTIAL",
        ),
        (
            with_sink(
                body("s4"),
                "https://merchant.example/n",
                Some(json!({"credentialType": "ACCESSTOKEN", "accessToken": "t",
                    "accessTokenType": "mac", "accessTokenExpiresUtc": "2099-01-01T00:00:00Z"})),
            ),
            "INVALID_TOKEN",
        ),
    ];
    for (request, code) in cases {
        let reply = env.post(SYNC_OP, "/payments", &token, &request).await;
        assert_error(&reply, 400, code);
    }
    for sink in [
        "https://merchant.example/n",
        "http://127.0.0.1:9/n",
        "http://localhost:9/n",
        "http://[::1]:9/n",
    ] {
        let cc = format!("ok-{sink}");
        let request = with_sink(body(&cc), sink, Some(bearer("t")));
        let (status, created) = env.post(SYNC_OP, "/payments", &token, &request).await;
        assert_eq!(status, StatusCode::CREATED, "{sink}: {created}");
        assert_eq!(created["sink"], sink);
    }
    env.sandbox.stop().await;
}

#[tokio::test]
async fn an_async_payment_notifies_its_sink_with_a_cloud_event() {
    let env = setup().await;
    let mut inbox = Inbox::start().await.expect("inbox starts");
    let token = env.token(ASYNC_OP).await;
    let sink = inbox.url("/notify?ref=abc");
    let request = with_sink(
        payment_body(&phone(0), "n-1"),
        &sink,
        Some(bearer("sink-token")),
    );
    let (status, created) = env.post(ASYNC_OP, "/payments", &token, &request).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["paymentStatus"], "processing");
    let id = id_of(&created);

    let got = inbox.next(WAIT).await.expect("a notification");
    assert_eq!(
        (got.method.as_str(), got.path.as_str(), got.query.as_str()),
        ("POST", "/notify", "ref=abc")
    );
    assert_eq!(got.header("authorization"), Some("Bearer sink-token"));
    assert_eq!(
        got.header("content-type"),
        Some("application/cloudevents+json")
    );
    assert!(got.header("x-correlator").is_some_and(|c| !c.is_empty()));
    let event: Value = serde_json::from_slice(&got.body).expect("JSON event");
    assert_eq!(
        event["type"],
        "org.camaraproject.carrier-billing.v0.payment-completed"
    );
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["datacontenttype"], "application/json");
    assert_eq!(event["source"], format!("/{ASYNC_OP}/carrier-billing/v0.5"));
    assert!(event["id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(event["time"].as_str().is_some_and(|s| s.ends_with('Z')));
    assert_eq!(event["data"]["paymentId"], id.as_str());
    assert_eq!(event["data"]["status"], "succeeded");
    let settled = env.wait_status(ASYNC_OP, &token, &id, "succeeded").await;
    assert_eq!(event["data"]["paymentDate"], settled["paymentDate"]);

    // Without a credential: the same event, without Authorization.
    let request = with_sink(payment_body(&phone(88), "n-2"), &sink, None);
    let (_, created) = env.post(ASYNC_OP, "/payments", &token, &request).await;
    let got = inbox.next(WAIT).await.expect("a notification");
    assert_eq!(got.header("authorization"), None);
    let event: Value = serde_json::from_slice(&got.body).expect("JSON event");
    assert_eq!(
        event["type"],
        "org.camaraproject.carrier-billing.v0.payment-denied"
    );
    assert_eq!(event["data"]["paymentId"], id_of(&created).as_str());
    assert_eq!(event["data"]["status"], "failed");
    assert!(event["data"]["denialReason"].is_string());
    env.sandbox.stop().await;
}
