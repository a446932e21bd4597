//! Input validation: every rejection is a clear CAMARA error and changes nothing.

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::{body_of, Env, TestGateway, CARRIER_BILLING};

use crate::assert_error;

fn set(body: &mut Value, path: &[&str], value: Value) {
    let mut node = body;
    for key in &path[..path.len() - 1] {
        node = &mut node[*key];
    }
    node[path[path.len() - 1]] = value;
}

fn charging(body: &mut Value, field: &str, value: Value) {
    set(
        body,
        &[
            "amountTransaction",
            "paymentAmount",
            "chargingInformation",
            field,
        ],
        value,
    );
}

pub async fn malformed_and_mistyped_bodies_name_the_problem(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let raw = |b: &'static str| {
        gw.cb(Method::POST, "/payments", &token)
            .header("content-type", "application/json")
            .body(b)
            .send()
    };
    assert_error(raw("{not json").await.unwrap(), 400, "INVALID_ARGUMENT").await;
    assert_error(raw("").await.unwrap(), 400, "INVALID_ARGUMENT").await;
    let mut body = TestGateway::body("+34600000060", 1.0);
    charging(&mut body, "amount", json!("ten"));
    let err = assert_error(gw.create(&token, &body).await, 400, "INVALID_ARGUMENT").await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("amountTransaction.paymentAmount.chargingInformation.amount"),
        "{err}"
    );
    let mut body = TestGateway::body("+34600000060", 1.0);
    body["amountTransaction"]
        .as_object_mut()
        .unwrap()
        .remove("referenceCode");
    let err = assert_error(gw.create(&token, &body).await, 400, "INVALID_ARGUMENT").await;
    assert!(
        err["message"].as_str().unwrap().contains("referenceCode"),
        "{err}"
    );
    assert_eq!(gw.sandbox().total_charges(), 0);
    gw.stop().await;
}

/// A key written twice anywhere in a body is 400 `INVALID_ARGUMENT` on every operation, before
/// anything reads it: `{"amount": 1.5, …, "amount": 45}` charges neither.
pub async fn duplicate_json_keys_are_refused_and_change_nothing(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let send = |path: &'static str, body: String| {
        gw.cb(Method::POST, path, &token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let one = serde_json::to_string(&TestGateway::body("+34600000064", 1.5)).unwrap();
    assert!(one.contains(r#""amount":1.5"#), "{one}");
    let cases = [
        one.replace(
            r#""amount":1.5"#,
            r#""amount":1.5,"currency":"EUR","amount":45"#,
        ),
        one.replace(
            r#""referenceCode":"#,
            r#""referenceCode":"a","referenceCode":"#,
        ),
        format!(
            r#"{},"amountTransaction":{{}}}}"#,
            one.strip_suffix('}').unwrap()
        ),
    ];
    for body in cases {
        for path in ["/payments", "/payments/prepare"] {
            let err = assert_error(
                send(path, body.clone()).await.unwrap(),
                400,
                "INVALID_ARGUMENT",
            )
            .await;
            let message = err["message"].as_str().unwrap();
            assert!(message.contains("duplicate key"), "{path} {body}: {err}");
        }
    }
    let listed = body_of(
        gw.cb(Method::GET, "/payments", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed, json!([]), "nothing stored");
    assert_eq!(gw.sandbox().total_charges(), 0, "nothing charged");
    // The same body without the duplicate is charged once, 1.5.
    let res = send("/payments", one).await.unwrap();
    assert_eq!(res.status(), 201);
    let created = body_of(res).await;
    assert_eq!(
        created["amountTransaction"]["paymentAmount"]["chargingInformation"]["amount"],
        json!(1.5)
    );
    // Any other body too: webhook registration.
    let res = gw
        .call(Method::POST, "/webhooks", &token)
        .header("content-type", "application/json")
        .body(r#"{"url": "https://merchant.example.com/a", "url": "https://10.0.0.1/b"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(body_of(res).await["code"], "INVALID_ARGUMENT");
    gw.stop().await;
}

pub async fn money_rules(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    for (amount, ok) in [
        (json!(19.99), true),
        (json!(0.001), true),
        (json!(0.0001), false),
        (json!(0), false),
        (json!(-5), false),
        (json!(1e12), false),
    ] {
        let mut body = TestGateway::body("+34600000061", 1.0);
        charging(&mut body, "amount", amount.clone());
        let res = gw.create(&token, &body).await;
        if ok {
            assert_eq!(res.status(), 201, "{amount}");
            assert_eq!(
                body_of(res).await["amountTransaction"]["paymentAmount"]["chargingInformation"]
                    ["amount"],
                amount
            );
        } else {
            assert_error(res, 400, "INVALID_ARGUMENT").await;
        }
    }
    let mut unknown = TestGateway::body("+34600000061", 1.0);
    charging(&mut unknown, "currency", json!("XYZ"));
    let err = assert_error(gw.create(&token, &unknown).await, 400, "INVALID_ARGUMENT").await;
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("Currency is unknown or not authorized"));
    let mut foreign = TestGateway::body("+34600000061", 1.0);
    charging(&mut foreign, "currency", json!("USD"));
    let err = assert_error(gw.create(&token, &foreign).await, 400, "INVALID_ARGUMENT").await;
    assert!(err["message"].as_str().unwrap().contains("not authorized"));
    let mut tax = TestGateway::body("+34600000061", 1.0);
    charging(&mut tax, "taxAmount", json!(-1));
    assert_error(gw.create(&token, &tax).await, 400, "INVALID_ARGUMENT").await;
    gw.stop().await;
}

pub async fn phone_number_rules(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let mut missing = TestGateway::body("+34600000062", 1.0);
    missing["amountTransaction"]
        .as_object_mut()
        .unwrap()
        .remove("phoneNumber");
    assert_error(gw.create(&token, &missing).await, 422, "MISSING_IDENTIFIER").await;
    assert_error(
        gw.prepare(&token, &missing).await,
        422,
        "MISSING_IDENTIFIER",
    )
    .await;
    assert_error(
        gw.create(&token, &TestGateway::body("34600000062", 1.0))
            .await,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    assert_error(
        gw.create(&token, &TestGateway::body("+0123456", 1.0)).await,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    // A number of an operator reached only for top-ups: known, but not for carrier billing.
    assert_error(
        gw.create(&token, &TestGateway::body("+33612345678", 1.0))
            .await,
        422,
        "SERVICE_NOT_APPLICABLE",
    )
    .await;
    // A valid number no configured operator serves.

    assert_error(
        gw.create(&token, &TestGateway::body("+12025550123", 1.0))
            .await,
        404,
        "IDENTIFIER_NOT_FOUND",
    )
    .await;
    assert_eq!(gw.sandbox().total_charges(), 0);
    gw.stop().await;
}

pub async fn sink_rules_and_storage(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let mut body = TestGateway::body("+34600000063", 1.0);
    body["sink"] = json!("http://merchant.example/notify");
    assert_error(gw.create(&token, &body).await, 400, "INVALID_SINK").await;
    body["sink"] = json!("https://merchant.example/notify");
    body["sinkCredential"] = json!({"credentialType": "PLAIN", "identifier": "u", "secret": "p"});
    assert_error(gw.create(&token, &body).await, 400, "INVALID_CREDENTIAL").await;
    body["sinkCredential"] = json!({"credentialType": "ACCESSTOKEN", "accessToken": "tok", "accessTokenType": "mac", "accessTokenExpiresUtc": "2030-01-01T00:00:00Z"});
    assert_error(gw.create(&token, &body).await, 400, "INVALID_TOKEN").await;
    body["sinkCredential"]["accessTokenType"] = json!("bearer");
    let res = gw.create(&token, &body).await;
    assert_eq!(res.status(), 201);
    let created = body_of(res).await;
    CARRIER_BILLING.check("PaymentCreated", &created);
    assert_eq!(created["sink"], "https://merchant.example/notify");
    assert!(
        created.get("sinkCredential").is_none(),
        "credentials are never echoed"
    );
    let fetched = body_of(gw.get(&token, created["paymentId"].as_str().unwrap()).await).await;
    assert_eq!(fetched["sink"], "https://merchant.example/notify");
    assert!(!fetched.to_string().contains("tok\""));
    gw.stop().await;
}

pub async fn x_correlator_is_validated_and_always_echoed(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    let bad = gw
        .cb(Method::GET, "/payments", &token)
        .header("x-correlator", "has spaces!")
        .send()
        .await
        .unwrap();
    assert_error(bad, 400, "INVALID_ARGUMENT").await;
    let err = gw
        .cb(Method::GET, "/payments/nope", &token)
        .header("x-correlator", "abc-1")
        .send()
        .await
        .unwrap();
    assert_eq!(err.headers()["x-correlator"], "abc-1");
    assert_error(err, 404, "NOT_FOUND").await;
    let minted = gw
        .cb(Method::GET, "/payments", &token)
        .send()
        .await
        .unwrap();
    assert!(!minted.headers()["x-correlator"].is_empty());
    let unknown = gw
        .http
        .get(format!("{}/no/such/path", gw.base))
        .send()
        .await
        .unwrap();
    assert_error(unknown, 404, "NOT_FOUND").await;
    gw.stop().await;
}

pub async fn health_readiness_and_openapi_document(env: Env) {
    let gw = env.start().await;
    assert_eq!(
        gw.http
            .get(format!("{}/healthz", gw.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        gw.http
            .get(format!("{}/readyz", gw.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let doc = gw
        .http
        .get(format!("{}/openapi/carrier-billing.yaml", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
    let text = doc.text().await.unwrap();
    assert_eq!(text, switchboard_gateway::CARRIER_BILLING_OPENAPI);
    switchboard_tests::OpenApi::parse(&text).check(
        "ErrorInfo",
        &json!({"status": 400, "code": "X", "message": "m"}),
    );
    gw.stop().await;
}

/// Errors the HTTP layer answers itself keep the CAMARA shape and the `x-correlator`.
async fn assert_protocol_error(res: reqwest::Response, status: u16, code: &str) -> Option<String> {
    assert_eq!(res.status().as_u16(), status, "status for {code}");
    assert!(res.headers().contains_key("x-correlator"));
    let allow = res
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string());
    let body = body_of(res).await;
    CARRIER_BILLING.check("ErrorInfo", &body);
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    allow
}

pub async fn protocol_errors_have_the_camara_shape(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;

    // Over the 256 KiB body limit: refused before parsing, nothing created.
    let mut body = TestGateway::body("+34600000061", 1.0);
    body["amountTransaction"]["description"] = json!("x".repeat(300 * 1024));
    let res = gw.create(&token, &body).await;
    assert_protocol_error(res, 413, "PAYLOAD_TOO_LARGE").await;
    let list = gw
        .cb(Method::GET, "/payments", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(list).await.as_array().map(Vec::len), Some(0));

    // A known path with a method it does not answer: 405 naming the ones it does.
    let res = gw
        .cb(Method::DELETE, "/payments", &token)
        .send()
        .await
        .unwrap();
    let allow = assert_protocol_error(res, 405, "METHOD_NOT_ALLOWED").await;
    assert_eq!(allow.as_deref(), Some("POST, GET"));
    let res = gw
        .cb(Method::GET, "/payments/prepare", &token)
        .send()
        .await
        .unwrap();
    let allow = assert_protocol_error(res, 405, "METHOD_NOT_ALLOWED").await;
    assert_eq!(allow.as_deref(), Some("POST"));
    let res = gw
        .call(Method::PUT, "/telecom/topup", &token)
        .send()
        .await
        .unwrap();
    let allow = assert_protocol_error(res, 405, "METHOD_NOT_ALLOWED").await;
    assert_eq!(allow.as_deref(), Some("POST"));

    // An unknown path is still a 404.
    let res = gw
        .call(Method::GET, "/no/such/thing", &token)
        .send()
        .await
        .unwrap();
    assert_protocol_error(res, 404, "NOT_FOUND").await;
    gw.stop().await;
}
