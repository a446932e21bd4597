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
            // Same kid, another key.
            c.auth.keys = vec![switchboard_tests::signing_key("test", 2)];
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

/// A 2-legged request that needs only a valid token: the first page of the merchant's payments.
async fn list_status(gw: &TestGateway, token: &str) -> u16 {
    gw.cb(Method::GET, "/payments", token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .unwrap()
        .kid
        .expect("tokens carry a kid")
}

pub async fn tokens_are_eddsa_jwts_verifiable_with_the_published_jwks(env: Env) {
    let gw = env.start().await;
    let conf = body_of(
        gw.http
            .get(format!("{}/.well-known/openid-configuration", gw.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(conf["issuer"], "switchboard");
    assert_eq!(conf["token_endpoint"], format!("{}/oauth2/token", gw.base));
    assert_eq!(
        conf["jwks_uri"],
        format!("{}/.well-known/jwks.json", gw.base)
    );
    assert_eq!(
        conf["backchannel_authentication_endpoint"],
        format!("{}/bc-authorize", gw.base)
    );
    let grants = conf["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&"client_credentials".into()));
    assert!(grants.contains(&"urn:openid:params:grant-type:ciba".into()));
    let scopes = conf["scopes_supported"].as_array().unwrap();
    assert!(scopes.contains(&"carrier-billing:payments:create".into()));
    assert!(scopes.contains(&"openid".into()));

    let jwks = body_of(
        gw.http
            .get(format!("{}/.well-known/jwks.json", gw.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    assert!(!jwks.to_string().contains("PRIVATE"));
    let token = gw.demo_token().await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let jwk = set
        .find(&header.kid.unwrap())
        .expect("the token's kid is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["switchboard"]);
    validation.set_issuer(&["switchboard"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation)
        .expect("verifies with the published key")
        .claims;
    assert_eq!(claims["sub"], "demo-merchant");
    assert!(
        claims.get("msisdn").is_none(),
        "client-credentials tokens are 2-legged"
    );
    gw.stop().await;
}

pub async fn expired_tampered_and_wrong_audience_tokens_are_unauthenticated(env: Env) {
    let gw = env
        .start_with(Default::default(), |c| c.auth.token_ttl_secs = 1)
        .await;
    let token = gw.demo_token().await;
    // Tampered payload (another merchant), signature kept.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = String::from_utf8(b64.decode(&parts[1]).unwrap())
        .unwrap()
        .replace("\"demo-merchant\"", "\"demo-merchant-2\"");
    parts[1] = b64.encode(payload);
    let body = TestGateway::body("+34600000053", 1.0);
    assert_error(
        gw.create(&parts.join("."), &body).await,
        401,
        "UNAUTHENTICATED",
    )
    .await;
    // Same keys, another audience.
    let other = env
        .start_with(Default::default(), |c| c.auth.audience = "elsewhere".into())
        .await;
    let foreign = other.demo_token().await;
    assert_eq!(kid_of(&foreign), kid_of(&token), "same key, same kid");
    assert_error(gw.create(&foreign, &body).await, 401, "UNAUTHENTICATED").await;
    other.stop().await;
    // The short-lived token stops working once expired.
    let expired = switchboard_tests::eventually(std::time::Duration::from_secs(10), || async {
        (list_status(&gw, &token).await == 401).then_some(())
    })
    .await;
    assert!(expired.is_some(), "the token never expired");
    assert_error(gw.create(&token, &body).await, 401, "UNAUTHENTICATED").await;
    assert_eq!(gw.sandbox().total_charges(), 0);
    gw.stop().await;
}

pub async fn signing_keys_rotate_without_cutting_off_issued_tokens(env: Env) {
    use switchboard_tests::signing_key;
    let before = env
        .start_with(Default::default(), |c| {
            c.auth.keys = vec![signing_key("2025", 11)]
        })
        .await;
    let old_token = before.demo_token().await;
    assert_eq!(kid_of(&old_token), "2025");
    before.stop().await;
    // New key first (signs), old key kept (verifies only).
    let during = env
        .start_with(Default::default(), |c| {
            c.auth.keys = vec![signing_key("2026", 12), signing_key("2025", 11)]
        })
        .await;
    assert_eq!(list_status(&during, &old_token).await, 200);
    let new_token = during.demo_token().await;
    assert_eq!(kid_of(&new_token), "2026");
    let jwks = body_of(
        during
            .http
            .get(format!("{}/.well-known/jwks.json", during.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["2026", "2025"]);
    during.stop().await;
    // Old key removed: its tokens (unknown kid now) are refused, new ones still work.
    let after = env
        .start_with(Default::default(), |c| {
            c.auth.keys = vec![signing_key("2026", 12)]
        })
        .await;
    assert_eq!(list_status(&after, &new_token).await, 200);
    let list = after
        .cb(Method::GET, "/payments", &old_token)
        .send()
        .await
        .unwrap();
    assert_error(list, 401, "UNAUTHENTICATED").await;
    after.stop().await;
}

pub async fn hashed_and_plain_development_secrets(env: Env) {
    let gw = env
        .start_with(Default::default(), |c| {
            let m = c.merchants.get_mut("demo-merchant-2").unwrap();
            m.client_secret = switchboard_core::Secret::new("local-dev-secret");
        })
        .await;
    // demo-merchant: the argon2 hash in config/switchboard.toml.
    gw.token("demo-merchant", "demo-secret").await;
    // demo-merchant-2: a plain secret, hashed at start; it replaces the configured hash.
    gw.token("demo-merchant-2", "local-dev-secret").await;
    for (id, secret) in [
        ("demo-merchant-2", "demo-secret-2"),
        ("demo-merchant", "Demo-secret"),
        ("demo-merchant", "$argon2id$"),
        ("nobody", "demo-secret"),
    ] {
        let res = gw
            .http
            .post(format!("{}/oauth2/token", gw.base))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{id}");
        assert_eq!(body_of(res).await["error"], "invalid_client");
    }
    gw.stop().await;
}

pub async fn merchants_are_limited_to_their_operators_and_countries(env: Env) {
    let gw = env
        .start_with(Default::default(), |c| {
            c.merchants
                .get_mut("demo-merchant")
                .unwrap()
                .allowed_operators = vec!["movistar-es".into()];
            c.merchants
                .get_mut("demo-merchant-2")
                .unwrap()
                .allowed_countries = vec!["DE".into()];
        })
        .await;
    let one = gw.demo_token().await;
    let two = gw.token("demo-merchant-2", "demo-secret-2").await;
    assert_eq!(
        gw.create(&one, &TestGateway::body("+34600000054", 1.0))
            .await
            .status(),
        201
    );
    let body = assert_error(
        gw.create(&one, &TestGateway::body("+491510000054", 1.0))
            .await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    assert_eq!(body["message"], "merchant not allowed for this operator");
    assert_error(
        gw.prepare(&one, &TestGateway::body("+491510000055", 1.0))
            .await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    assert_error(
        gw.create(&two, &TestGateway::body("+34600000056", 1.0))
            .await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    assert_eq!(
        gw.create(&two, &TestGateway::body("+491510000057", 1.0))
            .await
            .status(),
        201
    );
    // Phone-bound tokens cannot be asked for a number of another operator either.
    let res = gw
        .http
        .post(format!("{}/bc-authorize", gw.base))
        .basic_auth("demo-merchant", Some("demo-secret"))
        .form(&[
            ("login_hint", "tel:+491510000058"),
            ("scope", "openid carrier-billing:payments:create"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(body_of(res).await["error"], "access_denied");
    gw.stop().await;
}
