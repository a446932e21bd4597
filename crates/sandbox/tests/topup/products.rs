use serde_json::{json, Value};

use crate::helpers::{assert_error, setup};

fn ids(body: &Value) -> Vec<String> {
    body["products"]
        .as_array()
        .expect("products array")
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn catalogue_with_filters() {
    let env = setup().await;
    let (status, all) = env.get("/telecom/products").await;
    assert_eq!(status.as_u16(), 200, "{all}");
    assert_eq!(ids(&all).len(), 21);
    for op in [
        "mts-ru",
        "orange-fr",
        "movistar-es",
        "telekom-de",
        "turkcell-tr",
        "airtel-in",
    ] {
        let (_, body) = env
            .get(&format!("/telecom/products?operator_id={op}"))
            .await;
        let products = body["products"].as_array().expect("products");
        assert!(!products.is_empty(), "{op}");
        assert!(products.iter().all(|p| p["operator_id"] == op), "{body}");
    }
    let (_, bundles) = env
        .get("/telecom/products?operator_id=mts-ru&type=bundle")
        .await;
    assert_eq!(
        ids(&bundles),
        ["mts-ru-bundle-1gb-1d", "mts-ru-bundle-10gb-30d"]
    );
    let (_, orange_topups) = env
        .get("/telecom/products?operator_id=orange-fr&type=prepaid")
        .await;
    assert_eq!(ids(&orange_topups), Vec::<String>::new());
    let (_, plans) = env.get("/telecom/products?type=plan_change").await;
    assert_eq!(ids(&plans).len(), 7);
    let (_, nobody) = env.get("/telecom/products?operator_id=atlantis").await;
    assert_eq!(ids(&nobody), Vec::<String>::new());
    assert_error(
        &env.get("/telecom/products?type=topup").await,
        400,
        "invalid_request",
    );

    let (status, one) = env.get("/telecom/products/mts-ru-bundle-10gb-30d").await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(
        one,
        json!({"id": "mts-ru-bundle-10gb-30d", "operator_id": "mts-ru", "name": "MTS 10 GB + 300 min",
            "type": "bundle", "description": "10 GB, 300 minutes and 100 SMS for 30 days", "currency": "RUB",
            "price": 500, "contents": {"data_gb": 10, "minutes": 300, "sms": 100}, "validity_days": 30,
            "subscriber_types": ["prepaid", "postpaid"]})
    );
    let (_, topup) = env.get("/telecom/products/mts-ru-topup").await;
    assert_eq!(
        (
            topup["price"].clone(),
            topup["min_amount"].clone(),
            topup["max_amount"].clone()
        ),
        (Value::Null, json!(50), json!(15000))
    );
    assert_error(
        &env.get("/telecom/products/nope").await,
        404,
        "product_not_found",
    );
    env.sandbox.stop().await;
}
