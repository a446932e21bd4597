use serde_json::json;

use crate::helpers::{assert_error, mts, setup};

const BUNDLE: &str = "mts-ru-bundle-10gb-30d";

#[tokio::test]
async fn completed_at_once_and_idempotent() {
    let env = setup().await;
    let (status, tx) = env.topup(&mts(0), BUNDLE, "t-00", None).await;
    assert_eq!(status.as_u16(), 201, "{tx}");
    assert_eq!(tx["status"], "completed");
    assert_eq!(tx["external_tx_id"], "t-00");
    assert_eq!(tx["phone"], "79161234500");
    assert_eq!(tx["amount"], 500);
    assert_eq!(tx["currency"], "RUB");
    assert_eq!(
        tx["credited"],
        json!({"data_gb": 10, "minutes": 300, "sms": 100, "validity_days": 30})
    );
    assert!(
        tx["operator_tx_id"]
            .as_str()
            .is_some_and(|s| s.starts_with("MTS-")),
        "{tx}"
    );
    assert!(
        tx["completed_at"].is_string() && tx["tx_id"].is_string(),
        "{tx}"
    );
    assert_eq!(env.sandbox.credits_for("t-00"), 1);

    // The same request again (with or without `+`, with the price named): same transaction.
    let (status, again) = env.topup("79161234500", BUNDLE, "t-00", Some(500.0)).await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(again, tx);
    let (_, read) = env
        .get(&format!(
            "/telecom/topup/{}",
            tx["tx_id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(read, tx);
    // The same id with another body.
    assert_error(
        &env.topup(&mts(1), BUNDLE, "t-00", None).await,
        409,
        "external_tx_id_conflict",
    );
    assert_error(
        &env.topup(&mts(0), "mts-ru-bundle-1gb-1d", "t-00", None)
            .await,
        409,
        "external_tx_id_conflict",
    );
    assert_error(
        &env.topup(&mts(0), BUNDLE, "t-00", Some(499.0)).await,
        409,
        "external_tx_id_conflict",
    );
    assert_eq!(env.sandbox.credits_for("t-00"), 1);
    assert_eq!(env.sandbox.total_credits(), 1);

    let admin: serde_json::Value = env
        .http
        .get(format!("http://{}/_admin/credits", env.sandbox.addr()))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(admin, json!({"total": 1, "by_external_tx_id": {"t-00": 1}}));
    let reset = env
        .http
        .post(format!("http://{}/_admin/reset", env.sandbox.addr()))
        .send()
        .await
        .expect("POST");
    assert_eq!(reset.status().as_u16(), 204);
    assert_eq!(env.sandbox.total_credits(), 0);
    assert_error(
        &env.get("/telecom/topup/nope").await,
        404,
        "transaction_not_found",
    );
    env.sandbox.stop().await;
}

#[tokio::test]
async fn any_amount_and_business_rules() {
    let env = setup().await;
    let (status, tx) = env.topup(&mts(1), "mts-ru-topup", "a-1", Some(100.5)).await;
    assert_eq!(status.as_u16(), 201, "{tx}");
    assert_eq!(tx["credited"], json!({"amount": 100.5, "currency": "RUB"}));
    assert_error(
        &env.topup(&mts(2), "mts-ru-topup", "a-2", None).await,
        422,
        "invalid_amount",
    );
    assert_error(
        &env.topup(&mts(2), "mts-ru-topup", "a-3", Some(15000.01))
            .await,
        422,
        "invalid_amount",
    );
    assert_error(
        &env.topup(&mts(2), BUNDLE, "a-4", Some(1.0)).await,
        422,
        "invalid_amount",
    );
    assert_error(
        &env.topup(&mts(55), "mts-ru-topup", "a-5", Some(100.0))
            .await,
        422,
        "product_not_available",
    );
    assert_error(
        &env.topup("+33612345601", BUNDLE, "a-6", None).await,
        422,
        "product_operator_mismatch",
    );
    assert_error(
        &env.topup(&mts(2), "nope", "a-7", None).await,
        404,
        "product_not_found",
    );
    assert_error(
        &env.topup(&mts(82), BUNDLE, "a-8", None).await,
        404,
        "unknown_number",
    );
    assert_error(
        &env.topup(&mts(2), BUNDLE, "", None).await,
        400,
        "invalid_request",
    );
    // A postpaid line may buy a bundle; orange-fr sells plan changes.
    let (_, post) = env.topup(&mts(55), BUNDLE, "a-9", None).await;
    assert_eq!(post["status"], "completed");
    let (_, plan) = env
        .topup("+33612345601", "orange-fr-plan-80gb-month", "a-10", None)
        .await;
    assert_eq!(
        plan["credited"],
        json!({"data_gb": 80, "plan": "Orange Forfait 80 Go", "period": "month"})
    );
    assert_eq!(env.sandbox.total_credits(), 3);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn scripted_failures() {
    let env = setup().await;
    let (status, barred) = env.topup(&mts(80), BUNDLE, "f-80", None).await;
    assert_eq!(status.as_u16(), 201);
    assert_eq!(
        (barred["status"].clone(), barred["failure_reason"].clone()),
        (json!("failed"), json!("number barred"))
    );
    assert!(
        barred.get("credited").is_none() && barred.get("operator_tx_id").is_none(),
        "{barred}"
    );

    // 84: the first request fails with nothing credited; the retry is processed.
    assert_error(
        &env.topup(&mts(84), BUNDLE, "f-84", None).await,
        500,
        "internal_error",
    );
    assert_eq!(env.sandbox.credits_for("f-84"), 0);
    let (status, retry) = env.topup(&mts(84), BUNDLE, "f-84", None).await;
    assert_eq!(status.as_u16(), 201);
    assert_eq!(retry["status"], "completed");
    let (_, again) = env.topup(&mts(84), BUNDLE, "f-84", None).await;
    assert_eq!(again["tx_id"], retry["tx_id"]);
    assert_eq!(env.sandbox.credits_for("f-84"), 1);
    // Another external_tx_id fails once too.
    assert_error(
        &env.topup(&mts(84), BUNDLE, "f-84b", None).await,
        500,
        "internal_error",
    );
    assert_eq!(env.sandbox.credits_for("f-80"), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn slow_and_pending_outcomes() {
    let env = setup().await;
    // 85: credited at once, the answer comes later.
    let slow = {
        let http = env.http.clone();
        let url = env.url("/telecom/topup");
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(switchboard_sandbox::DEFAULT_TOPUP_API_KEY)
                .json(&json!({"phone": mts(85), "product_id": BUNDLE, "external_tx_id": "s-85"}))
                .send()
                .await
                .expect("POST")
                .json::<serde_json::Value>()
                .await
                .expect("JSON")
        })
    };
    env.wait_credits("s-85", 1).await;
    let body = slow.await.expect("task");
    assert_eq!(body["status"], "completed");
    let (status, replay) = env.topup(&mts(85), BUNDLE, "s-85", None).await;
    assert_eq!(
        (status.as_u16(), replay["tx_id"].clone()),
        (200, body["tx_id"].clone())
    );
    assert_eq!(env.sandbox.credits_for("s-85"), 1);

    // 86: pending, then completed.
    let (_, pending) = env.topup(&mts(86), BUNDLE, "s-86", None).await;
    assert_eq!(pending["status"], "pending");
    assert!(pending.get("credited").is_none(), "{pending}");
    let id = pending["tx_id"].as_str().unwrap_or_default().to_string();
    let done = env.wait_status(&id, "completed").await;
    assert!(
        done["credited"].is_object() && done["completed_at"].is_string(),
        "{done}"
    );
    assert_eq!(env.sandbox.credits_for("s-86"), 1);

    // 88: pending, then failed.
    let (_, pending) = env.topup(&mts(88), BUNDLE, "s-88", None).await;
    assert_eq!(pending["status"], "pending");
    let id = pending["tx_id"].as_str().unwrap_or_default().to_string();
    let failed = env.wait_status(&id, "failed").await;
    assert_eq!(failed["failure_reason"], "operator declined the top-up");
    let (_, replay) = env.topup(&mts(88), BUNDLE, "s-88", None).await;
    assert_eq!(replay["status"], "failed");
    assert_eq!(env.sandbox.credits_for("s-88"), 0);
    assert_eq!(env.sandbox.total_credits(), 2);
    env.sandbox.stop().await;
}
