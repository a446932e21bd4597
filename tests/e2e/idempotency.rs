//! clientCorrelator / referenceCode semantics: replays, concurrent duplicates, mismatches.

use serde_json::Value;
use switchboard_tests::{body_of, Env, TestGateway};

use crate::assert_error;

fn with_correlator(phone: &str, cc: &str) -> Value {
    let mut body = TestGateway::body(phone, 7.25);
    body["amountTransaction"]["clientCorrelator"] = Value::String(cc.into());
    body
}

pub async fn an_identical_retry_replays_the_original(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let body = with_correlator("+34600000020", "cc-retry");
    let first = gw.create(&token, &body).await;
    assert_eq!(first.status(), 201);
    let first = body_of(first).await;
    let second = gw.create(&token, &body).await;
    assert_eq!(second.status(), 201, "same status code");
    let second = body_of(second).await;
    assert_eq!(first["paymentId"], second["paymentId"]);
    assert_eq!(second["amountTransaction"]["clientCorrelator"], "cc-retry");
    assert_eq!(
        gw.charges_for_payment(first["paymentId"].as_str().unwrap()),
        1
    );
    gw.stop().await;
}

pub async fn concurrent_identical_requests_reach_the_operator_once(env: Env) {
    // Number 85: the operator answers late, so every duplicate arrives while the original is in flight.
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let body = with_correlator("+34600000085", "cc-storm");
    let requests = (0..20).map(|_| gw.create(&token, &body));
    let answers = futures::future::join_all(requests).await;
    let mut ids = Vec::new();
    for res in answers {
        assert_eq!(res.status(), 201);
        ids.push(
            body_of(res).await["paymentId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every answer names the same payment");
    // The operator saw one request for this payment, whatever reconciliation does later.
    let charges = switchboard_tests::eventually(std::time::Duration::from_secs(10), || async {
        let n = gw.charges_for_payment(&ids[0]);
        (n > 0).then_some(n)
    })
    .await;
    assert_eq!(charges, Some(1));
    assert_eq!(gw.sandbox().total_charges(), 1);
    gw.stop().await;
}

pub async fn the_same_correlator_with_another_body_is_refused(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let body = with_correlator("+34600000021", "cc-reuse");
    assert_eq!(gw.create(&token, &body).await.status(), 201);
    let mut changed = body.clone();
    changed["amountTransaction"]["paymentAmount"]["chargingInformation"]["amount"] = 8.into();
    let res = gw.create(&token, &changed).await;
    let err = assert_error(res, 400, "INVALID_ARGUMENT").await;
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("clientCorrelator"));
    assert_eq!(gw.sandbox().total_charges(), 1);
    gw.stop().await;
}

pub async fn a_repeated_reference_code_without_correlator_is_a_conflict(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let body = TestGateway::body("+34600000022", 1.0);
    assert_eq!(gw.create(&token, &body).await.status(), 201);
    assert_error(gw.create(&token, &body).await, 409, "ALREADY_EXISTS").await;
    // Another merchant may use the same reference.
    let other = gw.token("demo-merchant-2", "demo-secret-2").await;
    assert_eq!(gw.create(&other, &body).await.status(), 201);
    assert_eq!(gw.sandbox().total_charges(), 2);
    gw.stop().await;
}

pub async fn a_refusal_is_replayed_and_the_reference_stays_usable(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let body = with_correlator("+34600000080", "cc-denied");
    assert_error(
        gw.create(&token, &body).await,
        403,
        "CARRIER_BILLING.PAYMENT_DENIED",
    )
    .await;
    assert_error(
        gw.create(&token, &body).await,
        403,
        "CARRIER_BILLING.PAYMENT_DENIED",
    )
    .await;
    // The order reference was not consumed by the refused attempt.
    let mut retry = TestGateway::body("+34600000023", 1.0);
    retry["amountTransaction"]["referenceCode"] =
        body["amountTransaction"]["referenceCode"].clone();
    assert_eq!(gw.create(&token, &retry).await.status(), 201);
    gw.stop().await;
}

pub async fn prepare_is_idempotent_too(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let body = with_correlator("+34600000024", "cc-prepare");
    let a = body_of(gw.prepare(&token, &body).await).await;
    let b = body_of(gw.prepare(&token, &body).await).await;
    assert_eq!(a["paymentId"], b["paymentId"]);
    // A 1-step payment with the same correlator is a different request.
    assert_error(gw.create(&token, &body).await, 400, "INVALID_ARGUMENT").await;
    gw.stop().await;
}
