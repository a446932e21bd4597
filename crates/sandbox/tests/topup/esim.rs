use serde_json::json;

use crate::helpers::{assert_error, setup};

#[tokio::test]
async fn esim_orders_return_an_lpa_code_and_are_idempotent() {
    let env = setup().await;
    let body = json!({"product_id": "orange-fr-bundle-5gb-7d", "external_order_id": "e-1"});
    let (status, order) = env.post("/esim/orders", &body).await;
    assert_eq!(status.as_u16(), 201, "{order}");
    assert_eq!(order["status"], "completed");
    let qr = order["qr_code"].as_str().unwrap_or_default();
    assert!(
        qr.starts_with("LPA:1$smdp.globaltopup.sandbox.test$"),
        "{qr}"
    );
    assert_eq!(order["iccid"].as_str().map(str::len), Some(19));
    let (status, again) = env.post("/esim/orders", &body).await;
    assert_eq!((status.as_u16(), again), (200, order));
    assert_error(
        &env.post(
            "/esim/orders",
            &json!({"product_id": "mts-ru-bundle-1gb-1d", "external_order_id": "e-1"}),
        )
        .await,
        409,
        "external_order_id_conflict",
    );
    assert_error(
        &env.post(
            "/esim/orders",
            &json!({"product_id": "mts-ru-topup", "external_order_id": "e-2"}),
        )
        .await,
        422,
        "product_not_esim_capable",
    );
    assert_error(
        &env.post(
            "/esim/orders",
            &json!({"product_id": "nope", "external_order_id": "e-3"}),
        )
        .await,
        404,
        "product_not_found",
    );
    assert_error(
        &env.post("/esim/orders", &json!({"product_id": "x"})).await,
        400,
        "invalid_request",
    );
    env.sandbox.stop().await;
}
