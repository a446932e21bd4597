//! 1-step payments through both sandbox operators and every scripted outcome.

use serde_json::Value;
use switchboard_tests::{body_of, Env, TestGateway, CARRIER_BILLING};

use crate::assert_error;

pub async fn sync_operator_charges_once_and_answers_succeeded(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let body = TestGateway::body("+34600000001", 19.99);
    let res = gw
        .cb(reqwest::Method::POST, "/payments", &token)
        .header("x-correlator", "corr-123")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["x-correlator"], "corr-123");
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let created = body_of(res).await;
    CARRIER_BILLING.check("PaymentCreated", &created);
    assert_eq!(created["paymentStatus"], "succeeded");
    assert_eq!(
        created["amountTransaction"]["paymentAmount"]["chargingInformation"]["amount"],
        19.99
    );
    assert_eq!(created["amountTransaction"]["phoneNumber"], "+34600000001");
    assert!(created["paymentDate"].is_string());
    assert!(created["amountTransaction"]["serverReferenceCode"].is_string());
    let id = created["paymentId"].as_str().unwrap();
    assert!(location.ends_with(&format!("/carrier-billing/v0.5/payments/{id}")));
    assert_eq!(created["amountTransaction"]["resourceURL"], location);
    assert_eq!(gw.charges_for_payment(id), 1);
    let fetched = body_of(gw.get(&token, id).await).await;
    CARRIER_BILLING.check("Payment", &fetched);
    assert_eq!(fetched["paymentStatus"], "succeeded");
    gw.stop().await;
}

pub async fn async_operator_answers_processing_then_reconciliation_settles_it(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let res = gw
        .create(&token, &TestGateway::body("+491510000001", 5.0))
        .await;
    assert_eq!(res.status(), 201);
    let created = body_of(res).await;
    CARRIER_BILLING.check("PaymentCreated", &created);
    assert_eq!(created["paymentStatus"], "processing");
    let id = created["paymentId"].as_str().unwrap().to_string();
    assert!(
        gw.wait_for_status(&token, &id, "succeeded").await,
        "telekom-de completes later"
    );
    assert_eq!(gw.charges_for_payment(&id), 1);
    let fetched = body_of(gw.get(&token, &id).await).await;
    assert!(fetched["paymentDate"].is_string());
    gw.stop().await;
}

pub async fn definite_refusals_are_errors_and_create_nothing(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let cases = [
        ("+34600000080", 403, "CARRIER_BILLING.PAYMENT_DENIED"),
        ("+34600000081", 422, "CARRIER_BILLING.UNAUTHORIZED_AMOUNT"),
        ("+34600000082", 404, "IDENTIFIER_NOT_FOUND"),
        ("+34600000083", 422, "SERVICE_NOT_APPLICABLE"),
    ];
    for (phone, status, code) in cases {
        let res = gw.create(&token, &TestGateway::body(phone, 1.0)).await;
        assert_error(res, status, code).await;
    }
    let list = gw
        .cb(reqwest::Method::GET, "/payments", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(list.headers()["x-total-count"], "0");
    assert_eq!(body_of(list).await, Value::Array(vec![]));
    assert_eq!(gw.sandbox().total_charges(), 0);
    gw.stop().await;
}

pub async fn upstream_500_is_an_unknown_outcome_settled_without_double_charge(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let res = gw
        .create(&token, &TestGateway::body("+34600000084", 2.5))
        .await;
    assert_eq!(res.status(), 201);
    let created = body_of(res).await;
    assert_eq!(created["paymentStatus"], "processing");
    let id = created["paymentId"].as_str().unwrap().to_string();
    assert!(gw.wait_for_status(&token, &id, "succeeded").await);
    gw.closing_barrier().await;
    assert_eq!(gw.charges_for_payment(&id), 1);
    assert_eq!(
        gw.sandbox().total_charges(),
        1,
        "at every operator together"
    );
    assert_eq!(
        gw.sandbox().create_requests("movistar-es"),
        2,
        "the first send and one re-send with the same clientCorrelator by reconciliation, no more"
    );
    gw.stop().await;
}

pub async fn upstream_slower_than_the_deadline_is_settled_to_its_single_charge(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let res = gw
        .create(&token, &TestGateway::body("+34600000085", 3.0))
        .await;
    assert_eq!(res.status(), 201);
    let created = body_of(res).await;
    assert_eq!(
        created["paymentStatus"], "processing",
        "the gateway stopped waiting"
    );
    let id = created["paymentId"].as_str().unwrap().to_string();
    assert!(gw.wait_for_status(&token, &id, "succeeded").await);
    assert_eq!(
        gw.charges_for_payment(&id),
        1,
        "the operator charged once, the gateway never again"
    );
    gw.closing_barrier().await;
    assert_eq!(
        gw.sandbox().total_charges(),
        1,
        "at every operator together"
    );
    assert_eq!(
        gw.sandbox().create_requests("movistar-es"),
        2,
        "the first send and one re-send with the same clientCorrelator by reconciliation, no more"
    );
    gw.stop().await;
}

pub async fn async_success_and_async_denial(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let ok = body_of(
        gw.create(&token, &TestGateway::body("+34600000086", 1.0))
            .await,
    )
    .await;
    let no = body_of(
        gw.create(&token, &TestGateway::body("+34600000088", 1.0))
            .await,
    )
    .await;
    assert_eq!(
        (ok["paymentStatus"].as_str(), no["paymentStatus"].as_str()),
        (Some("processing"), Some("processing"))
    );
    let (ok_id, no_id) = (
        ok["paymentId"].as_str().unwrap(),
        no["paymentId"].as_str().unwrap(),
    );
    assert!(gw.wait_for_status(&token, ok_id, "succeeded").await);
    assert!(gw.wait_for_status(&token, no_id, "denied").await);
    assert_eq!(
        (gw.charges_for_payment(ok_id), gw.charges_for_payment(no_id)),
        (1, 0)
    );
    gw.stop().await;
}
