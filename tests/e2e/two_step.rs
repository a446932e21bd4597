//! 2-step payments: prepare, validate, confirm, cancel, expiry and the conflict codes.

use serde_json::{json, Value};
use switchboard_tests::{body_of, Env, TestGateway, CARRIER_BILLING};

use crate::assert_error;

async fn prepared(gw: &TestGateway, token: &str, phone: &str) -> (String, Value) {
    let res = gw.prepare(token, &TestGateway::body(phone, 4.5)).await;
    assert_eq!(res.status(), 201);
    let body = body_of(res).await;
    CARRIER_BILLING.check("BodyAmountReservationTransactionForReserve", &body);
    assert!(
        body.get("paymentDate").is_none(),
        "prepare answers carry no paymentDate"
    );
    (body["paymentId"].as_str().unwrap().to_string(), body)
}

fn phone(p: &str) -> Value {
    json!({"phoneNumber": p})
}

pub async fn prepare_then_confirm_charges_once(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let (id, body) = prepared(&gw, &token, "+34600000010").await;
    assert_eq!(body["paymentStatus"], "reserved");
    assert_eq!(
        gw.charges_for_payment(&id),
        0,
        "a reservation charges nothing"
    );
    let res = gw
        .action(&token, &id, "confirm", &phone("+34600000010"))
        .await;
    assert_eq!(res.status(), 202);
    assert!(res.headers().contains_key("x-correlator"));
    assert!(res.bytes().await.unwrap().is_empty(), "202 has no body");
    assert_eq!(gw.status_of(&token, &id).await, "succeeded");
    assert_eq!(gw.charges_for_payment(&id), 1);
    let again = gw
        .action(&token, &id, "confirm", &phone("+34600000010"))
        .await;
    assert_error(again, 409, "CARRIER_BILLING.PAYMENT_CONFIRMED").await;
    let cancel = gw
        .action(&token, &id, "cancel", &phone("+34600000010"))
        .await;
    assert_error(cancel, 409, "CARRIER_BILLING.PAYMENT_CONFIRMED").await;
    assert_eq!(gw.charges_for_payment(&id), 1);
    gw.stop().await;
}

pub async fn async_operator_confirmation_settles_through_reconciliation(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let (id, _) = prepared(&gw, &token, "+491600000011").await;
    assert!(gw.wait_for_status(&token, &id, "reserved").await);
    let res = gw
        .action(&token, &id, "confirm", &phone("+491600000011"))
        .await;
    assert_eq!(res.status(), 202);
    assert!(gw.wait_for_status(&token, &id, "succeeded").await);
    assert_eq!(gw.charges_for_payment(&id), 1);
    gw.stop().await;
}

pub async fn cancel_releases_the_reservation(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let (id, _) = prepared(&gw, &token, "+34600000012").await;
    let res = gw
        .action(&token, &id, "cancel", &phone("+34600000012"))
        .await;
    assert_eq!(res.status(), 202);
    assert_eq!(gw.status_of(&token, &id).await, "cancelled");
    let confirm = gw
        .action(&token, &id, "confirm", &phone("+34600000012"))
        .await;
    assert_error(confirm, 409, "CARRIER_BILLING.PAYMENT_CANCELLED").await;
    let cancel = gw
        .action(&token, &id, "cancel", &phone("+34600000012"))
        .await;
    assert_error(cancel, 409, "CARRIER_BILLING.PAYMENT_CANCELLED").await;
    assert_eq!(gw.charges_for_payment(&id), 0);
    gw.stop().await;
}

pub async fn otp_validation_flow(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let (id, body) = prepared(&gw, &token, "+34600000087").await;
    assert_eq!(body["paymentStatus"], "pending_validation");
    assert_eq!(body["validationInfo"]["action"], "validate");
    let auth_id = body["validationInfo"]["authorizationId"]
        .as_str()
        .unwrap()
        .to_string();
    // confirm before validation is a state conflict
    let early = gw
        .action(&token, &id, "confirm", &phone("+34600000087"))
        .await;
    assert_error(early, 409, "INCOMPATIBLE_STATE").await;
    let wrong_id = gw
        .action(
            &token,
            &id,
            "validate",
            &json!({"authorizationId": "nope", "code": "123456"}),
        )
        .await;
    assert_error(wrong_id, 400, "CARRIER_BILLING.INVALID_AUTHORIZATION_ID").await;
    let wrong_code = gw
        .action(
            &token,
            &id,
            "validate",
            &json!({"authorizationId": auth_id, "code": "000000"}),
        )
        .await;
    assert_error(wrong_code, 400, "CARRIER_BILLING.INVALID_CODE").await;
    let missing = gw
        .action(
            &token,
            &id,
            "validate",
            &json!({"authorizationId": auth_id}),
        )
        .await;
    assert!(
        assert_error(missing, 400, "INVALID_ARGUMENT").await["message"]
            .as_str()
            .unwrap()
            .contains("code")
    );
    let ok = gw
        .action(
            &token,
            &id,
            "validate",
            &json!({"authorizationId": auth_id, "code": "123456"}),
        )
        .await;
    assert_eq!(ok.status(), 204);
    assert_eq!(gw.status_of(&token, &id).await, "reserved");
    let twice = gw
        .action(
            &token,
            &id,
            "validate",
            &json!({"authorizationId": auth_id, "code": "123456"}),
        )
        .await;
    assert_error(twice, 409, "ALREADY_EXISTS").await;
    assert_eq!(
        gw.action(&token, &id, "confirm", &phone("+34600000087"))
            .await
            .status(),
        202
    );
    assert_eq!(gw.charges_for_payment(&id), 1);
    gw.stop().await;
}

pub async fn three_wrong_codes_deny_the_payment(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let (id, body) = prepared(&gw, &token, "+34700000087").await;
    let auth_id = body["validationInfo"]["authorizationId"]
        .as_str()
        .unwrap()
        .to_string();
    let wrong = json!({"authorizationId": auth_id, "code": "111111"});
    for _ in 0..2 {
        assert_error(
            gw.action(&token, &id, "validate", &wrong).await,
            400,
            "CARRIER_BILLING.INVALID_CODE",
        )
        .await;
    }
    assert_error(
        gw.action(&token, &id, "validate", &wrong).await,
        400,
        "CARRIER_BILLING.VALIDATION_FAILED",
    )
    .await;
    assert_eq!(gw.status_of(&token, &id).await, "denied");
    // Once the attempts are used up every further validation says so, with any code (CAMARA r3.2).
    for code in ["111111", "000000"] {
        let again = json!({"authorizationId": auth_id, "code": code});
        assert_error(
            gw.action(&token, &id, "validate", &again).await,
            400,
            "CARRIER_BILLING.VALIDATION_FAILED",
        )
        .await;
    }
    gw.stop().await;
}

pub async fn an_expired_reservation_becomes_cancelled(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let (id, body) = prepared(&gw, &token, "+34600000089").await;
    assert_eq!(body["paymentStatus"], "reserved");
    assert!(
        gw.wait_for_status(&token, &id, "cancelled").await,
        "reconciliation notices the operator's expiry"
    );
    let confirm = gw
        .action(&token, &id, "confirm", &phone("+34600000089"))
        .await;
    assert_error(confirm, 409, "CARRIER_BILLING.PAYMENT_CANCELLED").await;
    assert_eq!(gw.charges_for_payment(&id), 0);
    gw.stop().await;
}

pub async fn confirm_and_cancel_apply_the_identifier_rules(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let (id, _) = prepared(&gw, &token, "+34600000013").await;
    assert_error(
        gw.action(&token, &id, "confirm", &json!({})).await,
        422,
        "MISSING_IDENTIFIER",
    )
    .await;
    assert_error(
        gw.action(&token, &id, "cancel", &json!({})).await,
        422,
        "MISSING_IDENTIFIER",
    )
    .await;
    assert_error(
        gw.action(&token, &id, "confirm", &phone("+34600000099"))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_error(
        gw.action(&token, &id, "confirm", &phone("0034600000013"))
            .await,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    assert_error(
        gw.action(&token, "no-such-payment", "confirm", &phone("+34600000013"))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    // A valid number that no configured operator serves (CAMARA r3.2), on both actions.
    for action in ["confirm", "cancel"] {
        assert_error(
            gw.action(&token, &id, action, &phone("+12025550123")).await,
            404,
            "IDENTIFIER_NOT_FOUND",
        )
        .await;
    }
    assert_eq!(
        gw.status_of(&token, &id).await,
        "reserved",
        "nothing changed"
    );
    gw.stop().await;
}

pub async fn one_step_payments_cannot_be_confirmed(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let created = body_of(
        gw.create(&token, &TestGateway::body("+34600000014", 1.0))
            .await,
    )
    .await;
    let id = created["paymentId"].as_str().unwrap();
    let res = gw
        .action(&token, id, "confirm", &phone("+34600000014"))
        .await;
    assert_error(res, 409, "CARRIER_BILLING.PAYMENT_CONFIRMED").await;
    let denied = body_of(
        gw.create(&token, &TestGateway::body("+34600000088", 1.0))
            .await,
    )
    .await;
    let denied_id = denied["paymentId"].as_str().unwrap();
    let res = gw
        .action(&token, denied_id, "cancel", &phone("+34600000088"))
        .await;
    assert_error(res, 409, "INCOMPATIBLE_STATE").await;
    gw.stop().await;
}
