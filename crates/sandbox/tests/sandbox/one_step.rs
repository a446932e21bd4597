//! `POST /payments`: every digit outcome, idempotent replays, bad bodies.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn sync_success_is_charged_once_and_echoes_the_request() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let (status, body) = env.create(SYNC_OP, &token, 0, "cc-00").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["paymentStatus"], "succeeded");
    let sent = payment_body(&phone(0), "cc-00");
    let transaction = &body["amountTransaction"];
    assert_eq!(transaction["phoneNumber"], phone(0));
    assert_eq!(transaction["clientCorrelator"], "cc-00");
    assert_eq!(transaction["referenceCode"], "ref-cc-00");
    assert_eq!(
        transaction["paymentAmount"],
        sent["amountTransaction"]["paymentAmount"]
    );
    assert!(transaction["serverReferenceCode"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(body["paymentCreationDate"].is_string());
    assert!(body["paymentDate"].is_string());
    assert!(body.get("validationInfo").is_none());
    assert_eq!(env.sandbox.charges_for("cc-00"), 1);

    let (status, got) = env
        .get(SYNC_OP, &format!("/payments/{}", id_of(&body)), &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, body);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn replay_with_the_same_client_correlator_returns_the_same_payment() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let (_, first) = env.create(SYNC_OP, &token, 5, "cc-replay").await;
    let (status, second) = env.create(SYNC_OP, &token, 5, "cc-replay").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(id_of(&first), id_of(&second));
    assert_eq!(
        first["amountTransaction"]["serverReferenceCode"],
        second["amountTransaction"]["serverReferenceCode"]
    );
    assert_eq!(env.sandbox.charges_for("cc-replay"), 1);
    assert_eq!(env.sandbox.total_charges(), 1);

    // Same key for a different request is refused, not merged.
    let reply = env.create(SYNC_OP, &token, 6, "cc-replay").await;
    assert_error(&reply, 400, "INVALID_ARGUMENT");
    let reply = env.prepare(SYNC_OP, &token, 5, "cc-replay").await;
    assert_error(&reply, 400, "INVALID_ARGUMENT");
    // Correlators are per operator.
    let async_token = env.token(ASYNC_OP).await;
    let (status, other) = env.create(ASYNC_OP, &async_token, 5, "cc-replay").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(id_of(&other), id_of(&first));
    env.sandbox.stop().await;
}

#[tokio::test]
async fn async_operator_succeeds_later_and_charges_once() {
    let env = setup().await;
    let token = env.token(ASYNC_OP).await;
    let (status, body) = env.create(ASYNC_OP, &token, 42, "cc-async").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["paymentStatus"], "processing");
    assert!(body.get("paymentDate").is_none());
    assert_eq!(env.sandbox.charges_for("cc-async"), 0);

    let id = id_of(&body);
    let done = env.wait_status(ASYNC_OP, &token, &id, "succeeded").await;
    assert!(done["paymentDate"].is_string());
    for _ in 0..3 {
        env.get(ASYNC_OP, &format!("/payments/{id}"), &token).await;
    }
    let (_, replay) = env.create(ASYNC_OP, &token, 42, "cc-async").await;
    assert_eq!(replay["paymentStatus"], "succeeded");
    assert_eq!(env.sandbox.charges_for("cc-async"), 1);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn scripted_refusals_create_nothing() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let cases = [
        (80, 403, "CARRIER_BILLING.PAYMENT_DENIED"),
        (81, 422, "CARRIER_BILLING.UNAUTHORIZED_AMOUNT"),
        (82, 404, "IDENTIFIER_NOT_FOUND"),
        (83, 422, "SERVICE_NOT_APPLICABLE"),
    ];
    for (digits, status, code) in cases {
        let cc = format!("cc-{digits}");
        assert_error(
            &env.create(SYNC_OP, &token, digits, &cc).await,
            status,
            code,
        );
        assert_error(
            &env.create(SYNC_OP, &token, digits, &cc).await,
            status,
            code,
        );
        assert_error(
            &env.prepare(SYNC_OP, &token, digits, &format!("p{cc}"))
                .await,
            status,
            code,
        );
    }
    let async_token = env.token(ASYNC_OP).await;
    assert_error(
        &env.create(ASYNC_OP, &async_token, 80, "cc-80-async").await,
        403,
        "CARRIER_BILLING.PAYMENT_DENIED",
    );
    assert_eq!(env.sandbox.total_charges(), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn transient_failure_then_success_on_retry() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    assert_error(
        &env.create(SYNC_OP, &token, 84, "cc-84").await,
        500,
        "INTERNAL",
    );
    assert_eq!(env.sandbox.charges_for("cc-84"), 0);
    let (status, body) = env.create(SYNC_OP, &token, 84, "cc-84").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["paymentStatus"], "succeeded");
    let (_, again) = env.create(SYNC_OP, &token, 84, "cc-84").await;
    assert_eq!(id_of(&again), id_of(&body));
    assert_eq!(env.sandbox.charges_for("cc-84"), 1);
    // A new correlator fails once again.
    assert_error(
        &env.create(SYNC_OP, &token, 84, "cc-84b").await,
        500,
        "INTERNAL",
    );
    env.sandbox.stop().await;
}

#[tokio::test]
async fn slow_answer_is_charged_at_once_and_replays_answer_immediately() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let slow = {
        let request = env
            .http
            .post(env.api(SYNC_OP, "/payments"))
            .bearer_auth(&token)
            .json(&payment_body(&phone(85), "cc-85"));
        tokio::spawn(async move { request.send().await })
    };
    env.wait_charges("cc-85", 1).await;
    let (status, replay) = env.create(SYNC_OP, &token, 85, "cc-85").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(replay["paymentStatus"], "succeeded");
    let (status, got) = env
        .get(SYNC_OP, &format!("/payments/{}", id_of(&replay)), &token)
        .await;
    assert_eq!(
        (status, &got["paymentStatus"]),
        (StatusCode::OK, &json!("succeeded"))
    );

    let first = slow.await.expect("join").expect("slow answer");
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: serde_json::Value = first.json().await.expect("json");
    assert_eq!(id_of(&first), id_of(&replay));
    assert_eq!(env.sandbox.charges_for("cc-85"), 1);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn delayed_success_and_delayed_denial_on_any_operator() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let (_, ok) = env.create(SYNC_OP, &token, 86, "cc-86").await;
    let (_, denied) = env.create(SYNC_OP, &token, 88, "cc-88").await;
    assert_eq!(ok["paymentStatus"], "processing");
    assert_eq!(denied["paymentStatus"], "processing");

    env.wait_status(SYNC_OP, &token, &id_of(&ok), "succeeded")
        .await;
    let denied = env
        .wait_status(SYNC_OP, &token, &id_of(&denied), "denied")
        .await;
    assert!(denied.get("paymentDate").is_none());
    assert_eq!(env.sandbox.charges_for("cc-86"), 1);
    assert_eq!(env.sandbox.charges_for("cc-88"), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn two_step_digits_are_plain_successes_in_one_step() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    for digits in [87, 89] {
        let (status, body) = env
            .create(SYNC_OP, &token, digits, &format!("cc-{digits}"))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(body["paymentStatus"], "succeeded");
        assert!(body.get("validationInfo").is_none());
    }
    assert_eq!(env.sandbox.total_charges(), 2);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn bad_bodies_are_invalid_argument() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let mut no_phone = payment_body(&phone(0), "cc-bad");
    if let Some(t) = no_phone["amountTransaction"].as_object_mut() {
        t.remove("phoneNumber");
    }
    assert_error(
        &env.post(SYNC_OP, "/payments", &token, &no_phone).await,
        400,
        "INVALID_ARGUMENT",
    );
    let bad_phone = payment_body("600000000", "cc-bad");
    assert_error(
        &env.post(SYNC_OP, "/payments", &token, &bad_phone).await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_error(
        &env.post(SYNC_OP, "/payments", &token, &json!([1])).await,
        400,
        "INVALID_ARGUMENT",
    );

    let response = env
        .http
        .post(env.api(SYNC_OP, "/payments"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["code"], "INVALID_ARGUMENT");
    assert_eq!(env.sandbox.total_charges(), 0);
    env.sandbox.stop().await;
}
