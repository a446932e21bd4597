//! The CAMARA front API over the DCB aggregator (Vodafone IT), a channel described only by its file
//! (`config/channels/dcb_aggregator_it.toml`, adapter = "declarative"): minor units, digits-only
//! msisdn and signed requests upstream, E.164 and CAMARA codes towards the merchant.

use reqwest::Method;
use serde_json::json;
use switchboard_tests::{body_of, Env, TestGateway, CARRIER_BILLING};

use crate::assert_error;

async fn created_id(gw: &TestGateway, token: &str, phone: &str) -> (String, String) {
    let res = gw.create(token, &TestGateway::body(phone, 2.5)).await;
    let status = res.status();
    let created = body_of(res).await;
    assert_eq!(status, 201, "{created}");
    CARRIER_BILLING.check("PaymentCreated", &created);
    assert_eq!(
        created["amountTransaction"]["phoneNumber"], phone,
        "E.164 towards the merchant"
    );
    (
        created["paymentId"].as_str().unwrap().to_string(),
        created["paymentStatus"].as_str().unwrap().to_string(),
    )
}

pub async fn vodafone_it_payments_and_refunds_go_through_the_declarative_channel(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let (id, status) = created_id(&gw, &token, "+393401234500").await;
    assert_eq!(status, "succeeded");
    assert_eq!(gw.charges_for_payment(&id), 1);
    assert_eq!(gw.status_of(&token, &id).await, "succeeded");

    let refund = json!({"type": "partial", "reason": "returned", "amountTransaction": {
        "referenceCode": format!("refund-{id}"),
        "refundAmount": {"chargingInformation": {"amount": 1.0, "currency": "EUR", "description": "Refund"}}}});
    let res = gw
        .call(
            Method::POST,
            &format!("/carrier-billing-refund/v0.3/payments/{id}/refunds"),
            &token,
        )
        .json(&refund)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body = body_of(res).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["refundStatus"], "succeeded");
    gw.stop().await;
}

pub async fn aggregator_refusals_map_to_camara_codes(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let cases = [
        ("+393401234580", 403, "CARRIER_BILLING.PAYMENT_DENIED"),
        ("+393401234581", 422, "CARRIER_BILLING.UNAUTHORIZED_AMOUNT"),
        ("+393401234582", 404, "IDENTIFIER_NOT_FOUND"),
        ("+393401234583", 422, "SERVICE_NOT_APPLICABLE"),
    ];
    for (phone, status, code) in cases {
        assert_error(
            gw.create(&token, &TestGateway::body(phone, 2.5)).await,
            status,
            code,
        )
        .await;
    }
    assert_eq!(gw.sandbox().total_charges(), 0);
    gw.stop().await;
}

pub async fn aggregator_5xx_slow_and_pending_answers_settle_with_one_charge(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    // 84: 503 first; 85: answered after the deadline; 86: PENDING, then SUCCESS (callback or poll).
    let mut ids = Vec::new();
    for phone in ["+393401234584", "+393401234585", "+393401234586"] {
        let (id, status) = created_id(&gw, &token, phone).await;
        assert_eq!(status, "processing", "{phone}");
        ids.push(id);
    }
    for id in &ids {
        assert!(gw.wait_for_status(&token, id, "succeeded").await, "{id}");
    }
    gw.closing_barrier().await;
    for id in &ids {
        assert_eq!(gw.charges_for_payment(id), 1, "{id}");
    }
    assert_eq!(
        gw.sandbox().total_charges(),
        3,
        "at every upstream together"
    );
    // 88: PENDING, then FAILED.
    let (denied, _) = created_id(&gw, &token, "+393401234588").await;
    assert!(gw.wait_for_status(&token, &denied, "denied").await);
    assert_eq!(gw.charges_for_payment(&denied), 0);
    gw.stop().await;
}
