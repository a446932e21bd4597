//! Token endpoint, bearer checks, admin endpoints, routing basics.

use reqwest::StatusCode;
use serde_json::{json, Value};
use switchboard_sandbox::Timings;

use crate::helpers::*;

#[tokio::test]
async fn issues_tokens_by_basic_auth_and_form_and_counts_them() {
    let env = setup().await;
    let response = env
        .http
        .post(env.token_url(SYNC_OP))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["access_token"].as_str().is_some_and(|t| t.len() >= 32));

    let response = env
        .http
        .post(env.token_url(SYNC_OP))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(env.sandbox.token_requests(SYNC_OP), 2);
    assert_eq!(env.sandbox.token_requests(ASYNC_OP), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn refuses_bad_credentials_and_grants() {
    let env = setup().await;
    let send = |op: &str, secret: &str, grant: &str| {
        env.http
            .post(env.token_url(op))
            .basic_auth(CLIENT_ID, Some(secret))
            .form(&[("grant_type", grant)])
            .send()
    };
    let bad_secret = send(SYNC_OP, "wrong", "client_credentials")
        .await
        .expect("send");
    assert_eq!(bad_secret.status(), StatusCode::UNAUTHORIZED);
    let body: Value = bad_secret.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");

    let no_creds = env
        .http
        .post(env.token_url(SYNC_OP))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    assert_eq!(no_creds.status(), StatusCode::UNAUTHORIZED);

    let bad_grant = send(SYNC_OP, CLIENT_SECRET, "password")
        .await
        .expect("send");
    assert_eq!(bad_grant.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad_grant.json().await.expect("json");
    assert_eq!(body["error"], "unsupported_grant_type");

    let unknown_op = send("nope", CLIENT_SECRET, "client_credentials")
        .await
        .expect("send");
    assert_eq!(unknown_op.status(), StatusCode::NOT_FOUND);
    assert_eq!(env.sandbox.token_requests(SYNC_OP), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn requires_a_valid_bearer_of_the_same_operator() {
    let env = setup().await;
    let body = payment_body(&phone(0), "cc-auth");

    let response = env
        .http
        .post(env.api(SYNC_OP, "/payments"))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let json: Value = response.json().await.expect("json");
    assert_eq!(json["code"], "UNAUTHENTICATED");
    assert_eq!(json["status"], 401);

    assert_error(
        &env.post(SYNC_OP, "/payments", "garbage", &body).await,
        401,
        "UNAUTHENTICATED",
    );
    let other_operator_token = env.token(ASYNC_OP).await;
    let reply = env
        .post(SYNC_OP, "/payments", &other_operator_token, &body)
        .await;
    assert_error(&reply, 401, "UNAUTHENTICATED");
    assert_error(
        &env.get(SYNC_OP, "/payments/x", "garbage").await,
        401,
        "UNAUTHENTICATED",
    );
    assert_eq!(env.sandbox.total_charges(), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let env = setup_with(Timings {
        token_ttl_secs: 0,
        ..short_timings()
    })
    .await;
    let token = env.token(SYNC_OP).await;
    let reply = env.create(SYNC_OP, &token, 0, "cc-expired").await;
    assert_error(&reply, 401, "UNAUTHENTICATED");
    env.sandbox.stop().await;
}

#[tokio::test]
async fn admin_reports_and_resets_charges() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let (_, created) = env.create(SYNC_OP, &token, 1, "cc-admin").await;
    let admin = format!("http://{}/_admin", env.sandbox.addr());
    let charges: Value = env
        .http
        .get(format!("{admin}/charges"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(
        charges,
        json!({"total": 1, "by_client_correlator": {"cc-admin": 1}})
    );

    let reset = env
        .http
        .post(format!("{admin}/reset"))
        .send()
        .await
        .expect("send");
    assert!(reset.status().is_success());
    assert_eq!(env.sandbox.total_charges(), 0);
    let reply = env
        .get(SYNC_OP, &format!("/payments/{}", id_of(&created)), &token)
        .await;
    assert_error(&reply, 404, "NOT_FOUND");
    env.sandbox.stop().await;
}

#[tokio::test]
async fn echoes_x_correlator_and_answers_unknown_paths_in_camara_form() {
    let env = setup().await;
    let token = env.token(SYNC_OP).await;
    let response = env
        .http
        .get(env.api(SYNC_OP, "/payments/unknown"))
        .bearer_auth(&token)
        .header("x-correlator", "abc-123")
        .send()
        .await
        .expect("send");
    assert_eq!(response.headers()["x-correlator"], "abc-123");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let response = env
        .http
        .get(format!("http://{}/nowhere/at/all", env.sandbox.addr()))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "NOT_FOUND");
    env.sandbox.stop().await;
}
