//! GET /payments/{id} and GET /payments: filters, order, pagination, merchant isolation.

use reqwest::Method;
use serde_json::Value;
use switchboard_tests::{body_of, Env, TestGateway, CARRIER_BILLING};

use crate::assert_error;

async fn list(
    gw: &TestGateway,
    token: &str,
    query: &str,
) -> (reqwest::StatusCode, Option<(String, String)>, Value) {
    let res = gw
        .cb(Method::GET, &format!("/payments{query}"), token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().get("x-total-count").map(|t| {
        (
            t.to_str().unwrap().to_string(),
            res.headers()["content-last-key"]
                .to_str()
                .unwrap()
                .to_string(),
        )
    });
    (status, headers, body_of(res).await)
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| p["paymentId"].as_str().unwrap().to_string())
        .collect()
}

pub async fn lists_filter_sort_and_paginate(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let mut created = Vec::new();
    for i in 0..6 {
        let mut body = TestGateway::body(&format!("+3460000003{i}"), 1.0);
        if i == 2 {
            body["amountTransaction"]["paymentAmount"]["chargingMetaData"]["merchantIdentifier"] =
                "shop-x".into();
        }
        let res = if i >= 4 {
            gw.prepare(&token, &body).await
        } else {
            gw.create(&token, &body).await
        };
        created.push(
            body_of(res).await["paymentId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let (status, headers, all) = list(&gw, &token, "").await;
    assert_eq!(status, 200);
    CARRIER_BILLING.check("PaymentArray", &all);
    assert_eq!(headers, Some(("6".into(), "6".into())));
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(ids(&all), newest_first);

    let (_, headers, page) = list(&gw, &token, "?order=asc&page=2&perPage=4").await;
    assert_eq!(ids(&page), created[4..].to_vec());
    assert_eq!(headers, Some(("6".into(), "6".into())));
    let (_, headers, page) = list(&gw, &token, "?order=asc&page=1&perPage=4").await;
    assert_eq!(ids(&page), created[..4].to_vec());
    assert_eq!(headers, Some(("6".into(), "4".into())));

    let (_, _, reserved) = list(&gw, &token, "?paymentStatus=reserved").await;
    assert_eq!(ids(&reserved).len(), 2);
    let (_, _, both) = list(&gw, &token, "?paymentStatus=reserved,succeeded").await;
    assert_eq!(ids(&both).len(), 6);
    let (_, _, both) = list(
        &gw,
        &token,
        "?paymentStatus=reserved&paymentStatus=succeeded",
    )
    .await;
    assert_eq!(ids(&both).len(), 6);
    let (_, _, shop) = list(&gw, &token, "?merchantIdentifier=shop-x").await;
    assert_eq!(ids(&shop), vec![created[2].clone()]);

    let (_, _, future) = list(&gw, &token, "?paymentCreationDate.gte=2999-01-01T00:00:00Z").await;
    assert_eq!(future, Value::Array(vec![]));
    let (_, _, past) = list(
        &gw,
        &token,
        "?paymentCreationDate.lte=2999-01-01T00:00:00%2B01:00",
    )
    .await;
    assert_eq!(ids(&past).len(), 6);
    gw.stop().await;
}

pub async fn list_errors(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    gw.create(&token, &TestGateway::body("+34600000040", 1.0))
        .await;
    let get = |q: &'static str| gw.cb(Method::GET, &format!("/payments{q}"), &token).send();
    assert_error(
        get("?paymentCreationDate.gte=2026-02-01T00:00:00Z&paymentCreationDate.lte=2026-01-01T00:00:00Z").await.unwrap(),
        400,
        "CARRIER_BILLING.INVALID_DATE_RANGE",
    )
    .await;
    assert_error(
        get("?page=1000&perPage=1000").await.unwrap(),
        400,
        "OUT_OF_RANGE",
    )
    .await;
    assert_error(
        get("?page=1&perPage=1000").await.unwrap(),
        400,
        "CARRIER_BILLING.TOO_MANY_MATCHING_RECORDS",
    )
    .await;
    assert_error(get("?page=0").await.unwrap(), 400, "INVALID_ARGUMENT").await;
    assert_error(
        get("?paymentStatus=paid").await.unwrap(),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    assert_error(get("?order=random").await.unwrap(), 400, "INVALID_ARGUMENT").await;
    assert_error(
        get("?paymentCreationDate.gte=yesterday").await.unwrap(),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    gw.stop().await;
}

pub async fn merchants_never_see_each_other(env: Env) {
    let gw = env.start().await;
    let mine = gw.demo_token().await;
    let theirs = gw.token("demo-merchant-2", "demo-secret-2").await;
    let created = body_of(
        gw.prepare(&mine, &TestGateway::body("+34600000041", 1.0))
            .await,
    )
    .await;
    let id = created["paymentId"].as_str().unwrap();
    assert_eq!(gw.get(&mine, id).await.status(), 200);
    assert_error(gw.get(&theirs, id).await, 404, "NOT_FOUND").await;
    let (_, headers, list) = list(&gw, &theirs, "").await;
    assert_eq!(list, Value::Array(vec![]));
    assert_eq!(headers.unwrap().0, "0");
    let phone = serde_json::json!({"phoneNumber": "+34600000041"});
    assert_error(
        gw.action(&theirs, id, "confirm", &phone).await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_error(
        gw.action(&theirs, id, "cancel", &phone).await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_eq!(gw.status_of(&mine, id).await, "reserved");
    assert_error(
        gw.get(&mine, "00000000-0000-0000-0000-000000000000").await,
        404,
        "NOT_FOUND",
    )
    .await;
    gw.stop().await;
}
