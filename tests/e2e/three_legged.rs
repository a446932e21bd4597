//! Phone-bound (3-legged) tokens by CIBA, and the CAMARA identifier rules they bring.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::{body_of, Env, TestGateway, Timing};

use crate::assert_error;

const SCOPES: &str = "openid carrier-billing:payments:create carrier-billing:payments:read \
                      carrier-billing:payments:write";

async fn bc_authorize(
    gw: &TestGateway,
    merchant: (&str, &str),
    hint: &str,
    scope: &str,
) -> (u16, Value) {
    let res = gw
        .http
        .post(format!("{}/bc-authorize", gw.base))
        .basic_auth(merchant.0, Some(merchant.1))
        .form(&[("login_hint", hint), ("scope", scope)])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), body_of(res).await)
}

async fn poll(gw: &TestGateway, merchant: (&str, &str), auth_req_id: &str) -> (u16, Value) {
    let res = gw
        .http
        .post(format!("{}/oauth2/token", gw.base))
        .basic_auth(merchant.0, Some(merchant.1))
        .form(&[
            ("grant_type", "urn:openid:params:grant-type:ciba"),
            ("auth_req_id", auth_req_id),
        ])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), body_of(res).await)
}

const DEMO: (&str, &str) = ("demo-merchant", "demo-secret");

/// Polls (bounded) until the token endpoint stops answering `authorization_pending`.
async fn settle(gw: &TestGateway, auth_req_id: &str) -> (u16, Value) {
    switchboard_tests::eventually(Duration::from_secs(10), || async {
        let (status, body) = poll(gw, DEMO, auth_req_id).await;
        (body["error"] != "authorization_pending").then_some((status, body))
    })
    .await
    .expect("the consent request was never answered")
}

/// A phone-bound token for `phone` (an approving number), by the whole CIBA flow.
pub async fn phone_bound_token(gw: &TestGateway, phone: &str) -> String {
    phone_bound_token_for(gw, phone, SCOPES).await
}

/// The same with the given scopes.
pub async fn phone_bound_token_for(gw: &TestGateway, phone: &str, scope: &str) -> String {
    let (status, started) = bc_authorize(gw, DEMO, &format!("tel:{phone}"), scope).await;

    assert_eq!(status, 200, "{started}");
    let (status, body) = settle(gw, started["auth_req_id"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn without_phone(mut body: Value) -> Value {
    body["amountTransaction"]
        .as_object_mut()
        .unwrap()
        .remove("phoneNumber");
    body
}

pub async fn ciba_pending_then_approved_gives_a_phone_bound_token(env: Env) {
    // The async operator (telekom-de) answers consent after async_delay_ms: long enough here for
    // the first poll to find it pending.
    let timing = Timing {
        async_delay_ms: 1500,
        ..Timing::default()
    };
    let gw = env.start_with(timing, |_| {}).await;
    let (status, started) = bc_authorize(&gw, DEMO, "tel:+491510000060", SCOPES).await;
    assert_eq!(status, 200, "{started}");
    assert!(started["expires_in"].as_u64().unwrap() > 0);
    assert!(started["interval"].as_u64().is_some());
    let auth_req_id = started["auth_req_id"].as_str().unwrap();
    let (status, body) = poll(&gw, DEMO, auth_req_id).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    // Another merchant cannot redeem it; it is not an access token either.
    let (status, body) = poll(&gw, ("demo-merchant-2", "demo-secret-2"), auth_req_id).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_error(
        gw.cb(Method::GET, "/payments", auth_req_id)
            .send()
            .await
            .unwrap(),
        401,
        "UNAUTHENTICATED",
    )
    .await;
    let (status, body) = settle(&gw, auth_req_id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().unwrap();
    let claims = claims(token);
    assert_eq!(claims["msisdn"], "+491510000060");
    assert_eq!(claims["sub"], "demo-merchant");
    assert!(!claims["scope"].as_str().unwrap().contains("openid"));
    // One auth_req_id gives one token.
    let (again, body) = poll(&gw, DEMO, auth_req_id).await;
    assert_eq!(
        (again, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );

    // The token works, for that number only.
    let res = gw
        .create(
            token,
            &without_phone(TestGateway::body("+491510000060", 1.0)),
        )
        .await;
    assert_eq!(res.status(), 201);
    let (status, body) = poll(&gw, DEMO, "not-an-auth-req-id").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    gw.stop().await;
}

pub async fn ciba_refusals_expiry_and_bad_requests(env: Env) {
    let gw = env
        .start_with(Timing::default(), |c| c.auth.ciba_expires_secs = 1)
        .await;
    // Numbers ending 80–99 refuse.
    let (status, started) = bc_authorize(&gw, DEMO, "tel:+34600000085", SCOPES).await;
    assert_eq!(status, 200, "{started}");
    let (status, body) = settle(&gw, started["auth_req_id"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("access_denied"))
    );
    // Unanswered in time: expired.
    let (_, started) = bc_authorize(&gw, DEMO, "tel:+34600000061", SCOPES).await;
    let id = started["auth_req_id"].as_str().unwrap().to_string();
    let expired = switchboard_tests::eventually(Duration::from_secs(10), || async {
        let (status, body) = poll(&gw, DEMO, &id).await;
        (body["error"] == "expired_token").then_some(status)
    })
    .await;
    assert_eq!(expired, Some(400));
    for (hint, scope, status, error) in [
        ("34600000062", SCOPES, 400, "invalid_request"),
        ("tel:+15550000062", SCOPES, 400, "unknown_user_id"),
        ("tel:+34600000062", "openid", 400, "invalid_scope"),
        (
            "tel:+34600000062",
            "openid carrier-billing:payments:delete",
            400,
            "invalid_scope",
        ),
        // Dialog is reached through an Ideabiz platform, which cannot ask for consent.
        ("tel:+94770000062", SCOPES, 400, "invalid_request"),
    ] {
        let (got, body) = bc_authorize(&gw, DEMO, hint, scope).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{hint} {scope}"
        );
    }
    let (got, body) =
        bc_authorize(&gw, ("demo-merchant", "wrong"), "tel:+34600000062", SCOPES).await;
    assert_eq!((got, body["error"].as_str()), (401, Some("invalid_client")));
    gw.stop().await;
}

pub async fn phone_bound_tokens_apply_the_identifier_rules_everywhere(env: Env) {
    let gw = env.start().await;
    let bound_number = "+34600000063";
    let other_number = "+34600000064";
    let token = phone_bound_token(&gw, bound_number).await;
    let two_legged = gw.demo_token().await;
    let with_phone = || TestGateway::body(bound_number, 1.0);

    // create / prepare: phoneNumber present → 422, even the same number; absent → the token's.
    assert_error(
        gw.create(&token, &with_phone()).await,
        422,
        "UNNECESSARY_IDENTIFIER",
    )
    .await;
    assert_error(
        gw.prepare(&token, &with_phone()).await,
        422,
        "UNNECESSARY_IDENTIFIER",
    )
    .await;
    let created = gw.create(&token, &without_phone(with_phone())).await;
    assert_eq!(created.status(), 201);
    let created = body_of(created).await;
    let paid = created["paymentId"].as_str().unwrap().to_string();
    assert_eq!(gw.charges_for_payment(&paid), 1);

    // confirm / cancel: phoneNumber in the body → 422; without → accepted.
    let same = json!({"phoneNumber": bound_number});
    let prepared = body_of(gw.prepare(&token, &without_phone(with_phone())).await).await;
    let to_confirm = prepared["paymentId"].as_str().unwrap().to_string();
    assert_error(
        gw.action(&token, &to_confirm, "confirm", &same).await,
        422,
        "UNNECESSARY_IDENTIFIER",
    )
    .await;
    assert_eq!(
        gw.action(&token, &to_confirm, "confirm", &json!({}))
            .await
            .status(),
        202
    );
    assert!(gw.wait_for_status(&token, &to_confirm, "succeeded").await);
    let prepared = body_of(gw.prepare(&token, &without_phone(with_phone())).await).await;
    let to_cancel = prepared["paymentId"].as_str().unwrap().to_string();
    assert_error(
        gw.action(&token, &to_cancel, "cancel", &same).await,
        422,
        "UNNECESSARY_IDENTIFIER",
    )
    .await;
    assert_eq!(
        gw.action(&token, &to_cancel, "cancel", &json!({}))
            .await
            .status(),
        202
    );
    assert!(gw.wait_for_status(&token, &to_cancel, "cancelled").await);

    // Another number's payment (same merchant, 2-legged) is not visible through the bound token.
    let foreign = body_of(
        gw.create(&two_legged, &TestGateway::body(other_number, 1.0))
            .await,
    )
    .await;
    let foreign_id = foreign["paymentId"].as_str().unwrap().to_string();
    assert_error(gw.get(&token, &foreign_id).await, 404, "NOT_FOUND").await;
    let foreign_prepared = body_of(
        gw.prepare(&two_legged, &TestGateway::body(other_number, 1.0))
            .await,
    )
    .await;
    let foreign_prepared = foreign_prepared["paymentId"].as_str().unwrap().to_string();
    for action in ["confirm", "cancel"] {
        assert_error(
            gw.action(&token, &foreign_prepared, action, &json!({}))
                .await,
            404,
            "NOT_FOUND",
        )
        .await;
    }
    assert_eq!(gw.get(&token, &paid).await.status(), 200);
    let list = body_of(
        gw.cb(Method::GET, "/payments", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ids: Vec<&str> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["paymentId"].as_str().unwrap())
        .collect();
    for id in [&paid, &to_confirm, &to_cancel] {
        assert!(ids.contains(&id.as_str()), "{id} listed");
    }
    assert!(!ids.contains(&foreign_id.as_str()));
    assert!(!ids.contains(&foreign_prepared.as_str()));
    // The 2-legged token still sees everything of its merchant and still needs phoneNumber.
    assert_eq!(gw.get(&two_legged, &paid).await.status(), 200);
    assert_error(
        gw.create(&two_legged, &without_phone(with_phone())).await,
        422,
        "MISSING_IDENTIFIER",
    )
    .await;
    gw.stop().await;
}
