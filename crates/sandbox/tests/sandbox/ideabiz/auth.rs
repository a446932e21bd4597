//! Token grants, rotation, expiry and the bearer check.

use reqwest::StatusCode;
use serde_json::Value;
use switchboard_sandbox::{IdeabizPlatform, SandboxConfig};

use super::*;

#[tokio::test]
async fn the_default_config_includes_dialog_lk() {
    let config = SandboxConfig::default();
    let platform = config
        .ideabiz
        .iter()
        .find(|p| p.id == PLATFORM)
        .expect("dialog-lk configured");
    assert_eq!(
        (
            platform.consumer_key.as_str(),
            platform.consumer_secret.as_str(),
            platform.username.as_str(),
            platform.password.as_str()
        ),
        (KEY, SECRET, USER, PASS)
    );
    assert_eq!(config.operators.len(), 2, "CAMARA operators unchanged");
}

#[tokio::test]
async fn password_grant_answers_a_pair_and_is_counted() {
    let env = setup().await;
    let (status, body) = env
        .grant(
            SECRET,
            &[
                ("grant_type", "password"),
                ("username", USER),
                ("password", PASS),
                ("scope", "PRODUCTION"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "PRODUCTION");
    let p = pair(&body);
    assert!(p.access.len() >= 32 && p.refresh.len() >= 32 && p.access != p.refresh);

    let (_, body) = env
        .grant(
            SECRET,
            &[
                ("grant_type", "password"),
                ("username", USER),
                ("password", PASS),
            ],
        )
        .await;
    assert_eq!(body["scope"], "default");
    assert_eq!(env.sandbox.token_requests(PLATFORM), 2);
    assert_eq!(env.sandbox.refresh_grants(PLATFORM), 0);
    assert_eq!(env.sandbox.token_requests("movistar-es"), 0);
    // An earlier pair stays valid after a new login.
    let (status, _) = env.charge_digits(&p.access, 1, "cc-login").await;
    assert_eq!(status, StatusCode::CREATED);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn bad_clients_users_and_grants_are_refused() {
    let env = setup().await;
    let password = [
        ("grant_type", "password"),
        ("username", USER),
        ("password", PASS),
    ];
    let (status, body) = env.grant("wrong", &password).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    let (status, body) = env
        .grant(
            SECRET,
            &[
                ("grant_type", "password"),
                ("username", USER),
                ("password", "nope"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    let (status, body) = env
        .grant(SECRET, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");

    let (status, body) = env.grant(SECRET, &[("username", USER)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");

    // Form credentials work as well as Basic.
    let response = env
        .http
        .post(env.token_url())
        .form(&[
            ("grant_type", "password"),
            ("username", USER),
            ("password", PASS),
            ("client_id", KEY),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);

    // The CAMARA operators have no `/token`; Ideabiz has no `/oauth2/token`.
    let response = env
        .http
        .post(format!("{}/token", env.sandbox.base_url("movistar-es")))
        .basic_auth(KEY, Some(SECRET))
        .form(&password)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = env
        .http
        .post(format!("{}/oauth2/token", env.sandbox.base_url(PLATFORM)))
        .basic_auth(KEY, Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(env.sandbox.token_requests(PLATFORM), 1);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_revokes_the_old_one() {
    let env = setup().await;
    let first = env.login().await;
    let (status, body) = env.refresh(&first.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], 3600);
    let second = pair(&body);
    assert_ne!(second.access, first.access);
    assert_ne!(second.refresh, first.refresh);

    // The old refresh token is used up; the old access token is revoked.
    let (status, body) = env.refresh(&first.refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let reply = env.charge_digits(&first.access, 0, "cc-old").await;
    assert_fault(&reply, 900901, "Access token expired");
    assert_eq!(reply.1["fault"]["message"], "Invalid Credentials");

    // The new pair works, and rotates again.
    let (status, _) = env.charge_digits(&second.access, 0, "cc-new").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = env.refresh(&second.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(env.sandbox.token_requests(PLATFORM), 3);
    assert_eq!(env.sandbox.refresh_grants(PLATFORM), 2);
    assert_eq!(env.sandbox.charges_for("cc-old"), 0);
    assert_eq!(env.sandbox.total_charges(), 1);

    // Refreshing needs the client's credentials too.
    let third = pair(&body);
    let (status, _) = env
        .grant(
            "wrong",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &third.refresh),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn expired_access_tokens_get_the_wso2_fault() {
    let env = setup_with(IdeabizPlatform {
        token_ttl_secs: 0,
        ..IdeabizPlatform::with_defaults(PLATFORM)
    })
    .await;
    let p = env.login().await;
    let reply = env.charge_digits(&p.access, 0, "cc-expired").await;
    assert_fault(&reply, 900901, "Access token expired");
    let reply = env
        .get(&p.access, "/payments?clientCorrelator=cc-expired")
        .await;
    assert_fault(&reply, 900901, "Access token expired");
    // The refresh token outlives the access token.
    let (status, body) = env.refresh(&p.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(env.sandbox.total_charges(), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn expired_refresh_tokens_are_refused() {
    let env = setup_with(IdeabizPlatform {
        refresh_token_ttl_secs: 0,
        ..IdeabizPlatform::with_defaults(PLATFORM)
    })
    .await;
    let p = env.login().await;
    let (status, body) = env.refresh(&p.refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    env.sandbox.stop().await;
}

#[tokio::test]
async fn missing_foreign_and_revoked_tokens_are_refused() {
    let env = setup().await;
    let body = charge_body(&tel(0), "cc-auth");
    let response = env
        .http
        .post(env.api("/payments"))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert!(response.headers().contains_key("www-authenticate"));
    let status = response.status();
    let json: Value = response.json().await.expect("json");
    assert_fault(&(status, json), 900902, "Required OAuth credentials not provided. Make sure your API invocation call has a header: 'Authorization : Bearer ACCESS_TOKEN'");

    let reply = env.charge(&"f".repeat(32), &body).await;
    assert_eq!(reply.0, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.1["fault"]["code"], 900901);

    // A CAMARA operator's token is not an Ideabiz token.
    let camara = env
        .http
        .post(format!(
            "{}/oauth2/token",
            env.sandbox.base_url("movistar-es")
        ))
        .basic_auth("sandbox-client", Some("sandbox-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send")
        .json::<Value>()
        .await
        .expect("json");
    let camara_token = camara["access_token"].as_str().expect("token");
    assert_eq!(
        env.charge(camara_token, &body).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Revocation (test support) kills access tokens but not refresh tokens.
    let p = env.login().await;
    env.sandbox.revoke_access_tokens(PLATFORM);
    assert_fault(
        &env.charge(&p.access, &body).await,
        900901,
        "Access token expired",
    );
    let (status, body2) = env.refresh(&p.refresh).await;
    assert_eq!(status, StatusCode::OK);
    let fresh = pair(&body2);
    env.sandbox.revoke_refresh_tokens(PLATFORM);
    assert_eq!(env.refresh(&fresh.refresh).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        env.charge(&fresh.access, &body).await.0,
        StatusCode::CREATED
    );

    // Unknown platforms are 404 in the platform's error form.
    let response = env
        .http
        .post(format!(
            "http://{}/nowhere/carrier-billing/v1/payments",
            env.sandbox.addr()
        ))
        .bearer_auth(&fresh.access)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(env.sandbox.total_charges(), 1);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn ids_must_be_unique_across_styles() {
    let mut config = SandboxConfig::default();
    config
        .ideabiz
        .push(IdeabizPlatform::with_defaults("movistar-es"));
    let err = switchboard_sandbox::start(config)
        .await
        .err()
        .expect("duplicate ids refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
