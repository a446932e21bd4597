//! `POST /webhooks`: registrations, and the signed events a registered webhook receives.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use switchboard_sandbox::{Inbox, DEFAULT_TOPUP_PROVIDER};

use crate::helpers::{assert_error, mts, setup};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test]
async fn registrations_are_one_per_url_and_never_echo_the_secret() {
    let env = setup().await;
    let url = "http://127.0.0.1:9/callbacks/globaltopup";
    let (status, body) = env
        .post("/webhooks", &json!({"url": url, "secret": SECRET}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body, json!({"url": url}));
    let (status, _) = env
        .post(
            "/webhooks",
            &json!({"url": url, "secret": "whsec_c2Vjb25k"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same URL replaces its registration"
    );
    let (status, list) = env.get("/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!({"webhooks": [{"url": url}]}));
    assert!(!list.to_string().contains("whsec_"));
    assert_eq!(env.sandbox.topup_webhooks(DEFAULT_TOPUP_PROVIDER), [url]);

    for bad in [
        json!({"url": "http://gateway.example/cb", "secret": SECRET}),
        json!({"url": url, "secret": "not-whsec"}),
        json!({"url": url}),
    ] {
        assert_error(&env.post("/webhooks", &bad).await, 400, "invalid_request");
    }
    let unauthorized = env
        .post_with(
            &env.url("/webhooks"),
            None,
            &json!({"url": url, "secret": SECRET}),
        )
        .await;
    assert_error(&unauthorized, 401, "unauthorized");
    env.sandbox.stop().await;
}

#[tokio::test]
async fn a_pending_top_up_sends_signed_pending_and_completed_events() {
    let env = setup().await;
    let mut inbox = Inbox::start().await.expect("inbox starts");
    let url = inbox.url("/cb");
    let (status, _) = env
        .post("/webhooks", &json!({"url": url, "secret": SECRET}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, tx) = env
        .topup(&mts(86), "mts-ru-topup", "ev-86", Some(100.0))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tx}");
    assert_eq!(tx["status"], "pending");
    let mut seen = Vec::new();
    for _ in 0..2 {
        let got = inbox.next(Duration::from_secs(10)).await.expect("an event");
        let id = got.header("webhook-id").unwrap_or_default().to_owned();
        assert!(got
            .header("webhook-timestamp")
            .is_some_and(|t| t.parse::<i64>().is_ok()));
        assert!(got
            .header("webhook-signature")
            .is_some_and(|s| s.starts_with("v1,")));
        assert_eq!(got.header("content-type"), Some("application/json"));
        let event: Value = serde_json::from_slice(&got.body).expect("JSON event");
        assert_eq!(event["id"], id.as_str());
        assert_eq!(event["data"]["tx_id"], tx["tx_id"]);
        assert_eq!(event["data"]["external_tx_id"], "ev-86");
        seen.push((event["type"].clone(), event["data"]["status"].clone()));
    }
    assert_eq!(
        seen,
        [
            (json!("topup.pending"), json!("pending")),
            (json!("topup.completed"), json!("completed"))
        ]
    );
    let settled = env
        .wait_status(tx["tx_id"].as_str().unwrap_or_default(), "completed")
        .await;
    assert_eq!(settled["status"], "completed");
    assert_eq!(env.sandbox.credits_for("ev-86"), 1);
    env.sandbox.stop().await;
}
