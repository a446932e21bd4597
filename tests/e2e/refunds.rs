//! CAMARA Carrier Billing Refund v0.3: every response held against the refund OpenAPI.

use std::sync::{Arc, LazyLock};

use reqwest::{Method, Response};
use serde_json::{json, Value};
use switchboard_tests::{body_of, eventually, Env, OpenApi, TestGateway};

static REFUND: LazyLock<OpenApi> =
    LazyLock::new(|| OpenApi::parse(switchboard_gateway::REFUND_OPENAPI));

const SYNC: &str = "+34600000020";
const ASYNC: &str = "+491600000021";

fn call(gw: &TestGateway, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    gw.call(
        method,
        &format!("/carrier-billing-refund/v0.3{path}"),
        token,
    )
}

/// Asserts the status and holds the body against the document; returns the body.
async fn answer(res: Response, status: u16) -> Value {
    let path = res.url().path().to_string();
    let got = res.status().as_u16();
    assert!(res.headers().contains_key("x-correlator"));
    let body = body_of(res).await;
    assert_eq!(got, status, "{path}: {body}");
    REFUND.check_response(&path, status, &body);
    body
}

async fn error(res: Response, status: u16, code: &str) -> Value {
    let body = answer(res, status).await;
    assert_eq!(body["code"], code, "{body}");
    body
}

/// A succeeded 1-step payment of `amount` EUR; returns its id.
async fn paid(gw: &TestGateway, token: &str, phone: &str, body: Value) -> String {
    let _ = phone;
    let res = gw.create(token, &body).await;
    assert_eq!(res.status(), 201);
    let id = body_of(res).await["paymentId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(gw.wait_for_status(token, &id, "succeeded").await);
    id
}

async fn pay(gw: &TestGateway, token: &str, phone: &str, amount: f64) -> String {
    paid(gw, token, phone, TestGateway::body(phone, amount)).await
}

fn partial(amount: f64) -> Value {
    json!({"type": "partial", "reason": "returned", "amountTransaction": {
        "referenceCode": format!("refund-{}", uuid::Uuid::new_v4()),
        "refundAmount": {"chargingInformation": {"amount": amount, "currency": "EUR", "description": "Refund"}}}})
}

fn total() -> Value {
    json!({"type": "total", "amountTransaction": {
        "referenceCode": format!("refund-{}", uuid::Uuid::new_v4()), "refundAmount": {}}})
}

async fn refund(gw: &TestGateway, token: &str, payment: &str, body: &Value) -> Response {
    call(
        gw,
        Method::POST,
        &format!("/payments/{payment}/refunds"),
        token,
    )
    .json(body)
    .send()
    .await
    .unwrap()
}

async fn remaining(gw: &TestGateway, token: &str, payment: &str) -> Value {
    let res = call(
        gw,
        Method::GET,
        &format!("/payments/{payment}/refunds/remaining-amount"),
        token,
    )
    .send()
    .await
    .unwrap();
    answer(res, 200).await
}

async fn get_refund(gw: &TestGateway, token: &str, payment: &str, id: &str) -> Response {
    call(
        gw,
        Method::GET,
        &format!("/payments/{payment}/refunds/{id}"),
        token,
    )
    .send()
    .await
    .unwrap()
}

pub async fn a_total_refund_returns_everything_and_ends_refunds(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let pid = pay(&gw, &token, SYNC, 12.5).await;
    let created = answer(refund(&gw, &token, &pid, &total()).await, 201).await;
    assert_eq!(created["refundStatus"], "succeeded");
    assert_eq!(created["type"], "total");
    assert_eq!(created["amountTransaction"]["refundAmount"], json!({}));
    assert!(created.get("refundDate").is_some());
    assert_eq!(remaining(&gw, &token, &pid).await["amount"], json!(0));
    let id = created["refundId"].as_str().unwrap();
    let read = answer(get_refund(&gw, &token, &pid, id).await, 200).await;
    assert_eq!(read["refundId"], created["refundId"]);
    error(
        refund(&gw, &token, &pid, &partial(1.0)).await,
        422,
        "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT",
    )
    .await;
    error(
        refund(&gw, &token, &pid, &total()).await,
        422,
        "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT",
    )
    .await;
    error(
        get_refund(&gw, &token, &pid, "nope").await,
        404,
        "NOT_FOUND",
    )
    .await;
    gw.stop().await;
}

pub async fn partial_refunds_add_up_to_the_payment_then_422(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let pid = pay(&gw, &token, SYNC, 30.0).await;
    for amount in [10.0, 19.99] {
        let r = answer(refund(&gw, &token, &pid, &partial(amount)).await, 201).await;
        assert_eq!(r["refundStatus"], "succeeded");
        assert_eq!(
            r["amountTransaction"]["refundAmount"]["chargingInformation"]["amount"].as_f64(),
            Some(amount)
        );
    }
    let left = remaining(&gw, &token, &pid).await;
    assert_eq!(
        (left["amount"].clone(), left["currency"].clone()),
        (json!(0.01), json!("EUR"))
    );
    error(
        refund(&gw, &token, &pid, &partial(0.02)).await,
        422,
        "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT",
    )
    .await;
    answer(refund(&gw, &token, &pid, &partial(0.01)).await, 201).await;
    assert_eq!(remaining(&gw, &token, &pid).await["amount"], json!(0));
    gw.stop().await;
}

pub async fn remaining_amount_counts_processing_refunds(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let pid = pay(&gw, &token, ASYNC, 30.0).await;
    let first = answer(refund(&gw, &token, &pid, &partial(10.0)).await, 201).await;
    assert_eq!(
        first["refundStatus"], "processing",
        "an async operator answers processing"
    );
    assert_eq!(remaining(&gw, &token, &pid).await["amount"], json!(20));
    // Scripted denial (.13 cents): processing, then denied, which gives the amount back.
    let denied = answer(refund(&gw, &token, &pid, &partial(5.13)).await, 201).await;
    assert_eq!(denied["refundStatus"], "processing");
    assert_eq!(remaining(&gw, &token, &pid).await["amount"], json!(14.87));
    let status_of = |id: String| {
        let gw = &gw;
        let token = &token;
        let pid = &pid;
        async move {
            body_of(get_refund(gw, token, pid, &id).await).await["refundStatus"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    let first_id = first["refundId"].as_str().unwrap().to_string();
    let denied_id = denied["refundId"].as_str().unwrap().to_string();
    let settled = eventually(std::time::Duration::from_secs(10), || async {
        let a = status_of(first_id.clone()).await;
        let b = status_of(denied_id.clone()).await;
        (a == "succeeded" && b == "denied").then_some(())
    })
    .await;
    assert!(settled.is_some(), "reconciliation settles both refunds");
    answer(get_refund(&gw, &token, &pid, &denied_id).await, 200).await;
    assert_eq!(remaining(&gw, &token, &pid).await["amount"], json!(20));
    gw.stop().await;
}

pub async fn only_succeeded_payments_are_refundable(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let res = gw.prepare(&token, &TestGateway::body(SYNC, 5.0)).await;
    let reserved = body_of(res).await;
    assert_eq!(reserved["paymentStatus"], "reserved");
    let pid = reserved["paymentId"].as_str().unwrap();
    error(
        refund(&gw, &token, pid, &partial(1.0)).await,
        422,
        "CARRIER_BILLING_REFUND.INVALID_PAYMENT_STATUS",
    )
    .await;
    error(
        refund(&gw, &token, "no-such-payment", &partial(1.0)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    gw.stop().await;
}

pub async fn refund_details_taxes_and_currency_must_match_the_payment(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let mut body = TestGateway::body(SYNC, 30.0);
    body["amountTransaction"]["paymentAmount"]["paymentDetails"] = json!([
        {"id": "sword", "amount": 20, "currency": "EUR", "description": "Sword"},
        {"id": "shield", "amount": 10, "currency": "EUR", "description": "Shield"}]);
    let pid = paid(&gw, &token, SYNC, body).await;
    let with_details = |items: Value, amount: f64| {
        let mut b = partial(amount);
        b["amountTransaction"]["refundAmount"]["refundDetails"] = items;
        b
    };
    let good = with_details(
        json!([{"paymentItemId": "shield", "amount": 10, "currency": "EUR", "description": "Shield"}]),
        10.0,
    );
    answer(refund(&gw, &token, &pid, &good).await, 201).await;
    let unknown = with_details(
        json!([{"paymentItemId": "bow", "amount": 5, "currency": "EUR", "description": "Bow"}]),
        5.0,
    );
    error(
        refund(&gw, &token, &pid, &unknown).await,
        422,
        "CARRIER_BILLING_REFUND.REFUND_DETAILS_MISMATCH",
    )
    .await;
    let wrong_sum = with_details(
        json!([{"paymentItemId": "sword", "amount": 5, "currency": "EUR", "description": "Sword"}]),
        6.0,
    );
    error(
        refund(&gw, &token, &pid, &wrong_sum).await,
        422,
        "CARRIER_BILLING_REFUND.REFUND_DETAILS_MISMATCH",
    )
    .await;
    let mut taxed = partial(1.0);
    taxed["amountTransaction"]["refundAmount"]["chargingInformation"]["isTaxIncluded"] =
        json!(true);
    error(
        refund(&gw, &token, &pid, &taxed).await,
        422,
        "CARRIER_BILLING_REFUND.TAXES_MANAGEMENT_MISMATCH",
    )
    .await;
    let mut usd = partial(1.0);
    usd["amountTransaction"]["refundAmount"]["chargingInformation"]["currency"] = json!("USD");
    error(
        refund(&gw, &token, &pid, &usd).await,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    assert_eq!(remaining(&gw, &token, &pid).await["amount"], json!(20));
    gw.stop().await;
}

pub async fn payments_over_a_channel_without_refunds_are_not_eligible(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let mut body = TestGateway::body("+94771234501", 150.0);
    body["amountTransaction"]["paymentAmount"]["chargingInformation"]["currency"] = "LKR".into();
    let pid = paid(&gw, &token, "+94771234501", body).await;
    let mut ask = partial(1.0);
    ask["amountTransaction"]["refundAmount"]["chargingInformation"]["currency"] = json!("LKR");
    error(
        refund(&gw, &token, &pid, &ask).await,
        403,
        "CARRIER_BILLING_REFUND.PAYMENT_NOT_ELIGIBLE_FOR_REFUND",
    )
    .await;
    gw.stop().await;
}

pub async fn another_merchants_payment_and_refunds_are_not_found(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let other = gw.token("demo-merchant-2", "demo-secret-2").await;
    let pid = pay(&gw, &token, SYNC, 5.0).await;
    let r = answer(refund(&gw, &token, &pid, &partial(1.0)).await, 201).await;
    let rid = r["refundId"].as_str().unwrap();
    error(
        refund(&gw, &other, &pid, &partial(1.0)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    let list = call(
        &gw,
        Method::GET,
        &format!("/payments/{pid}/refunds"),
        &other,
    )
    .send()
    .await
    .unwrap();
    error(list, 404, "NOT_FOUND").await;
    error(get_refund(&gw, &other, &pid, rid).await, 404, "NOT_FOUND").await;
    let rem = call(
        &gw,
        Method::GET,
        &format!("/payments/{pid}/refunds/remaining-amount"),
        &other,
    )
    .send()
    .await
    .unwrap();
    error(rem, 404, "NOT_FOUND").await;
    assert_eq!(remaining(&gw, &token, &pid).await["amount"], json!(4));
    gw.stop().await;
}

pub async fn refund_lists_filter_and_paginate(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let pid = pay(&gw, &token, SYNC, 20.0).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut b = partial(1.0);
        if i == 0 {
            b["amountTransaction"]["refundAmount"]["chargingMetaData"] =
                json!({"merchantIdentifier": "shop-a"});
        }
        ids.push(answer(refund(&gw, &token, &pid, &b).await, 201).await["refundId"].clone());
    }
    let list = |q: &str| {
        call(
            &gw,
            Method::GET,
            &format!("/payments/{pid}/refunds{q}"),
            &token,
        )
        .send()
    };
    let res = list("?perPage=2").await.unwrap();
    assert_eq!(res.headers()["X-Total-Count"], "3");
    assert_eq!(res.headers()["Content-Last-Key"], "2");
    let page = answer(res, 200).await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[0]["refundId"], ids[2], "newest first");
    let asc = answer(list("?order=asc&page=2&perPage=2").await.unwrap(), 200).await;
    assert_eq!(asc[0]["refundId"], ids[2]);
    let shop = answer(list("?merchantIdentifier=shop-a").await.unwrap(), 200).await;
    assert_eq!(shop.as_array().unwrap().len(), 1);
    let none = answer(list("?refundStatus=denied,processing").await.unwrap(), 200).await;
    assert_eq!(none, json!([]));
    let all = answer(
        list("?refundStatus=succeeded&refundCreationDate.gte=2020-01-01T00:00:00Z")
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    error(
        list("?page=3&perPage=2").await.unwrap(),
        400,
        "OUT_OF_RANGE",
    )
    .await;
    error(
        list("?refundCreationDate.gte=2026-02-01T00:00:00Z&refundCreationDate.lte=2026-01-01T00:00:00Z").await.unwrap(),
        400,
        "CARRIER_BILLING_REFUND.INVALID_DATE_RANGE",
    )
    .await;
    error(
        list("?perPage=100000").await.unwrap(),
        400,
        "CARRIER_BILLING_REFUND.TOO_MANY_MATCHING_RECORDS",
    )
    .await;
    error(
        list("?refundStatus=paid").await.unwrap(),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    gw.stop().await;
}

pub async fn an_identical_refund_retry_replays_the_original(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let pid = pay(&gw, &token, SYNC, 10.0).await;
    let mut body = partial(4.0);
    body["amountTransaction"]["clientCorrelator"] = json!(format!("cc-{}", uuid::Uuid::new_v4()));
    let first = answer(refund(&gw, &token, &pid, &body).await, 201).await;
    let again = answer(refund(&gw, &token, &pid, &body).await, 201).await;
    assert_eq!(first["refundId"], again["refundId"]);
    assert_eq!(
        remaining(&gw, &token, &pid).await["amount"],
        json!(6),
        "refunded once"
    );
    let mut other = body.clone();
    other["amountTransaction"]["refundAmount"]["chargingInformation"]["amount"] = json!(1);
    error(
        refund(&gw, &token, &pid, &other).await,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    let mut same_ref = partial(1.0);
    same_ref["amountTransaction"]["referenceCode"] =
        body["amountTransaction"]["referenceCode"].clone();
    error(
        refund(&gw, &token, &pid, &same_ref).await,
        409,
        "ALREADY_EXISTS",
    )
    .await;
    gw.stop().await;
}

pub async fn concurrent_partial_refunds_never_exceed_the_payment(env: Env) {
    let gw = Arc::new(env.start().await);
    let token = gw.demo_token().await;
    let pid = pay(&gw, &token, SYNC, 10.0).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let gw = Arc::clone(&gw);
            let token = token.clone();
            let pid = pid.clone();
            tokio::spawn(async move {
                refund(&gw, &token, &pid, &partial(3.0))
                    .await
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            201 => created += 1,
            422 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created, 3, "3 × 3 fits in 10, a 4th does not");
    assert_eq!(remaining(&gw, &token, &pid).await["amount"], json!(1));
    if let Ok(gw) = Arc::try_unwrap(gw) {
        gw.stop().await;
    }
}

/// A token of the demo merchant narrowed to `scope`.
async fn scoped_token(gw: &TestGateway, scope: &str) -> String {
    let res = gw
        .http
        .post(format!("{}/oauth2/token", gw.base))
        .basic_auth("demo-merchant", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    body_of(res).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn refund_scopes_and_phone_bound_callers(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let mine = pay(&gw, &token, "+34600000024", 10.0).await;
    let other = pay(&gw, &token, "+34600000025", 10.0).await;
    // Each refund operation checks its own scope.
    let payments_only = scoped_token(
        &gw,
        "carrier-billing:payments:create carrier-billing:payments:read",
    )
    .await;
    error(
        refund(&gw, &payments_only, &mine, &partial(1.0)).await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    let list = call(
        &gw,
        Method::GET,
        &format!("/payments/{mine}/refunds"),
        &payments_only,
    )
    .send()
    .await
    .unwrap();
    error(list, 403, "PERMISSION_DENIED").await;
    let read_only = scoped_token(&gw, "carrier-billing-refund:refunds:read").await;
    error(
        refund(&gw, &read_only, &mine, &partial(1.0)).await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    assert_eq!(remaining(&gw, &read_only, &mine).await["amount"], 10);
    // A phone-bound token reaches only its own number's payments.
    let scopes = "openid carrier-billing-refund:refunds:create carrier-billing-refund:refunds:read";
    let bound = crate::three_legged::phone_bound_token_for(&gw, "+34600000024", scopes).await;
    answer(refund(&gw, &bound, &mine, &partial(2.0)).await, 201).await;
    error(
        refund(&gw, &bound, &other, &partial(2.0)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    let hidden = call(
        &gw,
        Method::GET,
        &format!("/payments/{other}/refunds/remaining-amount"),
        &bound,
    )
    .send()
    .await
    .unwrap();
    error(hidden, 404, "NOT_FOUND").await;
    assert_eq!(remaining(&gw, &bound, &mine).await["amount"], 8);
    gw.stop().await;
}
