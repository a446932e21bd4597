//! OAuth2 client credentials and scope checks.

use reqwest::Method;
use switchboard_tests::{body_of, Env, TestGateway};

use crate::assert_error;

pub async fn token_by_basic_or_form_and_refusals(env: Env) {
    let gw = env.start().await;
    let url = format!("{}/oauth2/token", gw.base);
    let form = gw
        .http
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "demo-merchant"),
            ("client_secret", "demo-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let body = body_of(form).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["scope"]
        .as_str()
        .unwrap()
        .contains("carrier-billing:payments:create"));

    let bad = gw
        .http
        .post(&url)
        .basic_auth("demo-merchant", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(body_of(bad).await["error"], "invalid_client");
    let grant = gw
        .http
        .post(&url)
        .basic_auth("demo-merchant", Some("demo-secret"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 400);
    assert_eq!(body_of(grant).await["error"], "unsupported_grant_type");
    let scope = gw
        .http
        .post(&url)
        .basic_auth("demo-merchant", Some("demo-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "carrier-billing:payments:delete"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(scope.status(), 400);
    assert_eq!(body_of(scope).await["error"], "invalid_scope");
    gw.stop().await;
}

pub async fn missing_bad_and_foreign_tokens_are_unauthenticated(env: Env) {
    let gw = env.start().await;
    let body = TestGateway::body("+34600000050", 1.0);
    let url = format!("{}/carrier-billing/v0.5/payments", gw.base);
    let none = gw.http.post(&url).json(&body).send().await.unwrap();
    assert_error(none, 401, "UNAUTHENTICATED").await;
    assert_error(gw.create("garbage", &body).await, 401, "UNAUTHENTICATED").await;
    let mut tampered = gw.demo_token().await;
    tampered.push('A');
    assert_error(gw.create(&tampered, &body).await, 401, "UNAUTHENTICATED").await;
    // A token from another deployment (other signing key) is not accepted.
    let other = env
        .start_with(Default::default(), |c| {
            c.auth.signing_key = switchboard_core::Secret::new("another-key");
        })
        .await;
    let foreign = other.demo_token().await;
    assert_error(gw.create(&foreign, &body).await, 401, "UNAUTHENTICATED").await;
    assert_eq!(gw.sandbox().total_charges(), 0);
    other.stop().await;
    gw.stop().await;
}

pub async fn every_operation_checks_its_scope(env: Env) {
    let gw = env.start().await;
    let full = gw.demo_token().await;
    let prepared = body_of(
        gw.prepare(&full, &TestGateway::body("+34600000051", 1.0))
            .await,
    )
    .await;
    let id = prepared["paymentId"].as_str().unwrap().to_string();
    let scoped = |scope: &'static str| {
        let gw = &gw;
        async move {
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
    };
    let read_only = scoped("carrier-billing:payments:read").await;
    let create_only = scoped("carrier-billing:payments:create").await;
    let phone = serde_json::json!({"phoneNumber": "+34600000051"});
    let body = TestGateway::body("+34600000052", 1.0);
    assert_error(gw.create(&read_only, &body).await, 403, "PERMISSION_DENIED").await;
    assert_error(
        gw.prepare(&read_only, &body).await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    assert_error(
        gw.action(&read_only, &id, "confirm", &phone).await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    assert_error(
        gw.action(&read_only, &id, "cancel", &phone).await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    let validate = serde_json::json!({"authorizationId": "a", "code": "1"});
    assert_error(
        gw.action(&read_only, &id, "validate", &validate).await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    assert_error(gw.get(&create_only, &id).await, 403, "PERMISSION_DENIED").await;
    let list = gw
        .cb(Method::GET, "/payments", &create_only)
        .send()
        .await
        .unwrap();
    assert_error(list, 403, "PERMISSION_DENIED").await;
    assert_eq!(gw.get(&read_only, &id).await.status(), 200);
    assert_eq!(gw.create(&create_only, &body).await.status(), 201);
    gw.stop().await;
}
