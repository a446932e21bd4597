//! `POST /payments/prepare` with validate / confirm / cancel, conflicts, expiry.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn prepare_then_confirm_charges_once_then_conflicts() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let (status, body) = env.prepare(SYNC_OP, &token, 10, "cc-2s").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["paymentStatus"], "reserved");
    assert!(body.get("validationInfo").is_none());
    assert_eq!(env.sandbox.charges_for("cc-2s"), 0);

    let id = id_of(&body);
    let reply = env
        .action(
            SYNC_OP,
            &token,
            &id,
            "confirm",
            json!({"phoneNumber": phone(10)}),
        )
        .await;
    assert_eq!(reply, (StatusCode::ACCEPTED, Value::Null));
    let done = env.wait_status(SYNC_OP, &token, &id, "succeeded").await;
    assert!(done["paymentDate"].is_string());
    assert_eq!(env.sandbox.charges_for("cc-2s"), 1);

    let reply = env.action(SYNC_OP, &token, &id, "confirm", json!({})).await;
    assert_error(&reply, 409, "CARRIER_BILLING.PAYMENT_CONFIRMED");
    let reply = env.action(SYNC_OP, &token, &id, "cancel", json!({})).await;
    assert_error(&reply, 409, "CARRIER_BILLING.PAYMENT_CONFIRMED");
    assert_eq!(env.sandbox.charges_for("cc-2s"), 1);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn prepare_then_cancel_then_conflicts() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let (_, body) = env.prepare(SYNC_OP, &token, 11, "cc-cancel").await;
    let id = id_of(&body);
    let reply = env.action(SYNC_OP, &token, &id, "cancel", json!({})).await;
    assert_eq!(reply, (StatusCode::ACCEPTED, Value::Null));
    env.wait_status(SYNC_OP, &token, &id, "cancelled").await;
    let reply = env.action(SYNC_OP, &token, &id, "confirm", json!({})).await;
    assert_error(&reply, 409, "CARRIER_BILLING.PAYMENT_CANCELLED");
    let reply = env.action(SYNC_OP, &token, &id, "cancel", json!({})).await;
    assert_error(&reply, 409, "CARRIER_BILLING.PAYMENT_CANCELLED");
    assert_eq!(env.sandbox.total_charges(), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn async_operator_reserves_and_confirms_later() {
    let env = setup().await;
    let token = env.token(ASYNC_OP).await;
    let (_, body) = env.prepare(ASYNC_OP, &token, 12, "cc-async-2s").await;
    assert_eq!(body["paymentStatus"], "processing");
    let id = id_of(&body);
    let reply = env
        .action(ASYNC_OP, &token, &id, "confirm", json!({}))
        .await;
    assert_error(&reply, 409, "INCOMPATIBLE_STATE");

    env.wait_status(ASYNC_OP, &token, &id, "reserved").await;
    let reply = env
        .action(ASYNC_OP, &token, &id, "confirm", json!({}))
        .await;
    assert_eq!(reply.0, StatusCode::ACCEPTED);
    // Confirmed but not yet charged: a second confirm or a cancel must not slip in.
    let reply = env.action(ASYNC_OP, &token, &id, "cancel", json!({})).await;
    assert_error(&reply, 409, "INCOMPATIBLE_STATE");
    env.wait_status(ASYNC_OP, &token, &id, "succeeded").await;
    assert_eq!(env.sandbox.charges_for("cc-async-2s"), 1);
    env.sandbox.stop().await;
}

async fn prepare_with_otp(env: &Env, token: &str, cc: &str) -> (String, String) {
    let (status, body) = env.prepare(SYNC_OP, token, 87, cc).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["paymentStatus"], "pending_validation");
    assert_eq!(body["validationInfo"]["action"], "validate");
    let authorization_id = body["validationInfo"]["authorizationId"]
        .as_str()
        .expect("authorizationId")
        .to_owned();
    (id_of(&body), authorization_id)
}

#[tokio::test]
async fn otp_validation_then_confirm() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let (id, auth_id) = prepare_with_otp(&env, &token, "cc-otp").await;
    let (_, replay) = env.prepare(SYNC_OP, &token, 87, "cc-otp").await;
    assert_eq!(
        replay["validationInfo"]["authorizationId"],
        auth_id.as_str()
    );

    let reply = env.action(SYNC_OP, &token, &id, "confirm", json!({})).await;
    assert_error(&reply, 409, "INCOMPATIBLE_STATE");
    let reply = env
        .action(
            SYNC_OP,
            &token,
            &id,
            "validate",
            json!({"authorizationId": "other", "code": "123456"}),
        )
        .await;
    assert_error(&reply, 400, "CARRIER_BILLING.INVALID_AUTHORIZATION_ID");
    let reply = env
        .action(
            SYNC_OP,
            &token,
            &id,
            "validate",
            json!({"authorizationId": auth_id, "code": "000000"}),
        )
        .await;
    assert_error(&reply, 400, "CARRIER_BILLING.INVALID_CODE");
    let reply = env
        .action(
            SYNC_OP,
            &token,
            &id,
            "validate",
            json!({"authorizationId": auth_id}),
        )
        .await;
    assert_error(&reply, 400, "INVALID_ARGUMENT");

    let good = json!({"authorizationId": auth_id, "code": "123456"});
    let reply = env
        .action(SYNC_OP, &token, &id, "validate", good.clone())
        .await;
    assert_eq!(reply, (StatusCode::NO_CONTENT, Value::Null));
    let reserved = env.wait_status(SYNC_OP, &token, &id, "reserved").await;
    assert!(reserved.get("validationInfo").is_none());
    let reply = env
        .action(SYNC_OP, &token, &id, "validate", good.clone())
        .await;
    assert_error(&reply, 409, "ALREADY_EXISTS");

    let reply = env.action(SYNC_OP, &token, &id, "confirm", json!({})).await;
    assert_eq!(reply.0, StatusCode::ACCEPTED);
    env.wait_status(SYNC_OP, &token, &id, "succeeded").await;
    let reply = env.action(SYNC_OP, &token, &id, "validate", good).await;
    assert_error(&reply, 409, "INCOMPATIBLE_STATE");
    assert_eq!(env.sandbox.charges_for("cc-otp"), 1);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn three_wrong_codes_deny_the_payment() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let (id, auth_id) = prepare_with_otp(&env, &token, "cc-otp-fail").await;
    let wrong = json!({"authorizationId": auth_id, "code": "999999"});
    for expected in [
        "CARRIER_BILLING.INVALID_CODE",
        "CARRIER_BILLING.INVALID_CODE",
        "CARRIER_BILLING.VALIDATION_FAILED",
    ] {
        let reply = env
            .action(SYNC_OP, &token, &id, "validate", wrong.clone())
            .await;
        assert_error(&reply, 400, expected);
    }
    env.wait_status(SYNC_OP, &token, &id, "denied").await;
    let good = json!({"authorizationId": auth_id, "code": "123456"});
    let reply = env.action(SYNC_OP, &token, &id, "validate", good).await;
    assert_error(&reply, 409, "INCOMPATIBLE_STATE");
    let reply = env.action(SYNC_OP, &token, &id, "cancel", json!({})).await;
    assert_error(&reply, 409, "INCOMPATIBLE_STATE");
    assert_eq!(env.sandbox.total_charges(), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn expiring_reservation_becomes_cancelled() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let (_, body) = env.prepare(SYNC_OP, &token, 89, "cc-89").await;
    assert_eq!(body["paymentStatus"], "reserved");
    let id = id_of(&body);
    env.wait_status(SYNC_OP, &token, &id, "cancelled").await;
    let reply = env.action(SYNC_OP, &token, &id, "confirm", json!({})).await;
    assert_error(&reply, 409, "CARRIER_BILLING.PAYMENT_CANCELLED");
    assert_eq!(env.sandbox.charges_for("cc-89"), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn delayed_outcomes_in_two_step() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let (_, reserve) = env.prepare(SYNC_OP, &token, 86, "cc-86-2s").await;
    let (_, deny) = env.prepare(SYNC_OP, &token, 88, "cc-88-2s").await;
    assert_eq!(reserve["paymentStatus"], "processing");
    assert_eq!(deny["paymentStatus"], "processing");
    env.wait_status(SYNC_OP, &token, &id_of(&reserve), "reserved")
        .await;
    env.wait_status(SYNC_OP, &token, &id_of(&deny), "denied")
        .await;
    assert_eq!(env.sandbox.total_charges(), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn unknown_or_foreign_payment_ids_are_not_found() {
    let env = setup().await;
    let sync_token = env.token(SYNC_OP).await;
    let async_token = env.token(ASYNC_OP).await;
    let (_, body) = env.prepare(SYNC_OP, &sync_token, 13, "cc-foreign").await;
    let id = id_of(&body);
    assert_error(
        &env.get(SYNC_OP, "/payments/nope", &sync_token).await,
        404,
        "NOT_FOUND",
    );
    assert_error(
        &env.get(ASYNC_OP, &format!("/payments/{id}"), &async_token)
            .await,
        404,
        "NOT_FOUND",
    );
    for action in ["confirm", "cancel"] {
        let reply = env
            .action(ASYNC_OP, &async_token, &id, action, json!({}))
            .await;
        assert_error(&reply, 404, "NOT_FOUND");
    }
    let reply = env
        .action(
            SYNC_OP,
            &sync_token,
            "nope",
            "validate",
            json!({"authorizationId": "a", "code": "1"}),
        )
        .await;
    assert_error(&reply, 404, "NOT_FOUND");
    let reply = env
        .action(
            SYNC_OP,
            &sync_token,
            &id,
            "confirm",
            json!({"phoneNumber": 5}),
        )
        .await;
    assert_error(&reply, 400, "INVALID_ARGUMENT");
    env.sandbox.stop().await;
}
