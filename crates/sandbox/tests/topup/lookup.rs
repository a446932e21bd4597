use serde_json::json;
use switchboard_sandbox::DEFAULT_TOPUP_API_KEY;

use crate::helpers::{assert_error, mts, setup};

#[tokio::test]
async fn the_api_key_is_required() {
    let env = setup().await;
    let url = env.url("/telecom/lookup");
    let body = json!({"phone": mts(0)});
    for key in [None, Some("wrong-key")] {
        let (status, reply) = env.post_with(&url, key, &body).await;
        assert_eq!(status.as_u16(), 401);
        assert_eq!(reply, json!({"error": "unauthorized"}));
    }
    let response = env
        .http
        .get(env.url("/telecom/products"))
        .header("authorization", format!("Basic {DEFAULT_TOPUP_API_KEY}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status().as_u16(), 401);
    // A CAMARA operator's path does not serve the top-up API.
    let other = format!("{}/telecom/lookup", env.sandbox.base_url("movistar-es"));
    let reply = env
        .post_with(&other, Some(DEFAULT_TOPUP_API_KEY), &body)
        .await;
    assert_error(&reply, 404, "not_found");
    env.sandbox.stop().await;
}

#[tokio::test]
async fn lookup_finds_operator_line_type_and_supports() {
    let env = setup().await;
    let expected = json!({"operator_id": "mts-ru", "operator_name": "MTS Russia", "country": "RU",
        "type": "prepaid", "supports": ["topup", "bundle", "plan_change"]});
    for phone in [mts(0), "79161234500".to_string()] {
        let (status, body) = env.post("/telecom/lookup", &json!({"phone": phone})).await;
        assert_eq!(status.as_u16(), 200, "{body}");
        assert_eq!(body, expected);
    }
    let (_, postpaid) = env
        .post("/telecom/lookup", &json!({"phone": mts(55)}))
        .await;
    assert_eq!(postpaid["type"], "postpaid");
    assert_eq!(postpaid["supports"], json!(["bundle", "plan_change"]));
    let (_, orange) = env
        .post("/telecom/lookup", &json!({"phone": "+33612345601"}))
        .await;
    assert_eq!(
        (orange["operator_id"].clone(), orange["type"].clone()),
        (json!("orange-fr"), json!("postpaid"))
    );
    let (_, movistar) = env
        .post("/telecom/lookup", &json!({"phone": "+34600000001"}))
        .await;
    assert_eq!(movistar["operator_id"], "movistar-es");
    let (_, telekom) = env
        .post("/telecom/lookup", &json!({"phone": "+4915112345601"}))
        .await;
    assert_eq!(telekom["operator_id"], "telekom-de");

    assert_error(
        &env.post("/telecom/lookup", &json!({"phone": mts(82)}))
            .await,
        404,
        "unknown_number",
    );
    assert_error(
        &env.post("/telecom/lookup", &json!({"phone": "+15550000001"}))
            .await,
        404,
        "unknown_number",
    );
    assert_error(
        &env.post("/telecom/lookup", &json!({"phone": "7916"})).await,
        400,
        "invalid_request",
    );
    assert_error(
        &env.post("/telecom/lookup", &json!({})).await,
        400,
        "invalid_request",
    );
    env.sandbox.stop().await;
}
