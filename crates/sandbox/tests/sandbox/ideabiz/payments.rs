//! Charges: every digit outcome, duplicates, status queries, validation, admin.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;

fn id_of(body: &Value) -> String {
    body["paymentId"].as_str().expect("paymentId").to_owned()
}

#[tokio::test]
async fn success_is_charged_synchronously_and_echoes_the_request() {
    let env = setup().await;
    let token = env.login().await.access;
    let sent = charge_body(&tel(0), "cc-00");
    let (status, body) = env.charge(&token, &sent).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = id_of(&body);
    let tx = &body["amountTransaction"];
    assert_eq!(tx["transactionOperationStatus"], "Charged");
    assert_eq!(tx["phoneNumber"], tel(0));
    assert_eq!(tx["clientCorrelator"], "cc-00");
    assert_eq!(tx["referenceCode"], "ref-cc-00");
    assert_eq!(
        tx["paymentAmount"],
        sent["amountTransaction"]["paymentAmount"]
    );
    assert_eq!(tx["resourceURL"], format!("urn:payments:{id}"));
    assert_eq!(tx["serverReferenceCode"], "ref-cc-00-serv");
    assert!(body["paymentCreationDate"].is_string());
    assert!(body["paymentDate"].is_string());
    assert_eq!(body["webhook"], sent["webhook"]);
    assert_eq!(env.sandbox.charges_for("cc-00"), 1);
    assert_eq!(env.sandbox.total_charges(), 1);

    let (status, got) = env.get(&token, &format!("/payments/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, body);
    let (status, got) = env.get(&token, "/payments?clientCorrelator=cc-00").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, body);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn scripted_refusals_use_the_platform_error_table() {
    let env = setup().await;
    let token = env.login().await.access;
    let cases = [
        (
            80,
            403,
            "CARRIER_BILLING.PAYMENT_DENIED",
            "Transaction not allowed: outgoing is barred for this account.",
        ),
        (
            81,
            403,
            "CARRIER_BILLING.UNAUTHORIZED_AMOUNT",
            "User has insufficient credit for the full transaction amount",
        ),
        (
            82,
            400,
            "INVALID_ARGUMENT",
            "Invalid account details. Please verify the subscriber/account and try again.",
        ),
        (
            83,
            403,
            "CARRIER_BILLING.PAYMENT_DENIED",
            "Not authorized to perform this transaction.",
        ),
    ];
    for (digits, status, code, message) in cases {
        let cc = format!("cc-{digits}");
        let reply = env.charge_digits(&token, digits, &cc).await;
        assert_platform_error(&reply, status, code, message);
        // Nothing was created: a retry gets the same refusal, not a duplicate.
        let reply = env.charge_digits(&token, digits, &cc).await;
        assert_platform_error(&reply, status, code, message);
        let (status, _) = env
            .get(&token, &format!("/payments?clientCorrelator={cc}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    assert_eq!(env.sandbox.total_charges(), 0);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn transient_failure_applies_nothing_then_processes_the_retry() {
    let env = setup().await;
    let token = env.login().await.access;
    let reply = env.charge_digits(&token, 84, "cc-84").await;
    assert_platform_error(
        &reply,
        502,
        "SERVER_ERROR",
        "Temporary system error while processing the transaction. Please try again later.",
    );
    assert_eq!(env.sandbox.charges_for("cc-84"), 0);
    let (status, _) = env.get(&token, "/payments?clientCorrelator=cc-84").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = env.charge_digits(&token, 84, "cc-84").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(status_of(&body), "Charged");
    assert_eq!(env.sandbox.charges_for("cc-84"), 1);
    // Each new clientCorrelator gets its own first failure.
    assert_eq!(
        env.charge_digits(&token, 84, "cc-84b").await.0.as_u16(),
        502
    );
    env.sandbox.stop().await;
}

#[tokio::test]
async fn slow_answers_are_charged_before_they_arrive() {
    let env = setup().await;
    let token = env.login().await.access;
    let http = env.http.clone();
    let url = env.api("/payments");
    let body = charge_body(&tel(85), "cc-85");
    let bearer = token.clone();
    let slow = tokio::spawn(async move {
        http.post(url)
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .expect("send")
            .status()
    });
    // Bounded poll: the status query finds it charged while the answer is still delayed.
    let mut found = Value::Null;
    for _ in 0..200 {
        let (status, body) = env.get(&token, "/payments?clientCorrelator=cc-85").await;
        if status == StatusCode::OK {
            found = body;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(status_of(&found), "Charged", "{found}");
    assert_eq!(slow.await.expect("join"), StatusCode::CREATED);
    assert_eq!(env.sandbox.charges_for("cc-85"), 1);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn processing_then_charged_or_denied() {
    let env = setup().await;
    let token = env.login().await.access;
    let (status, body) = env.charge_digits(&token, 86, "cc-86").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(status_of(&body), "processing");
    assert_eq!(env.sandbox.charges_for("cc-86"), 0);
    let done = env.wait_status(&token, &id_of(&body), "Charged").await;
    assert!(done["paymentDate"].is_string());
    assert_eq!(env.sandbox.charges_for("cc-86"), 1);

    let (_, body) = env.charge_digits(&token, 88, "cc-88").await;
    assert_eq!(status_of(&body), "processing");
    env.wait_status(&token, &id_of(&body), "Denied").await;
    assert_eq!(env.sandbox.charges_for("cc-88"), 0);
    assert_eq!(env.sandbox.total_charges(), 1);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn duplicates_are_refused_and_never_charged_twice() {
    let env = setup().await;
    let token = env.login().await.access;
    let duplicate = |reply: &crate::helpers::Reply| {
        assert_eq!(
            reply.1,
            json!({"code": "INVALID_ARGUMENT", "status": 409,
                "message": "Duplicate request detected. This transaction appears to have been submitted already."}),
        );
        assert_eq!(reply.0, StatusCode::CONFLICT);
    };
    let (status, first) = env.charge_digits(&token, 5, "cc-dup").await;
    assert_eq!(status, StatusCode::CREATED);
    duplicate(&env.charge_digits(&token, 5, "cc-dup").await);
    // Another number or amount with the same correlator is a duplicate too.
    duplicate(&env.charge_digits(&token, 6, "cc-dup").await);
    // Also while the first one is still processing.
    let (_, processing) = env.charge_digits(&token, 86, "cc-dup-86").await;
    duplicate(&env.charge_digits(&token, 86, "cc-dup-86").await);

    // Concurrent duplicates: exactly one is created.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (http, url, token) = (env.http.clone(), env.api("/payments"), token.clone());
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&charge_body(&tel(7), "cc-race"))
                .send()
                .await
                .expect("send")
                .status()
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.expect("join") {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 1);
    env.wait_status(&token, &id_of(&processing), "Charged")
        .await;
    assert_eq!(env.sandbox.charges_for("cc-dup"), 1);
    assert_eq!(env.sandbox.charges_for("cc-dup-86"), 1);
    assert_eq!(env.sandbox.charges_for("cc-race"), 1);
    let (_, got) = env.get(&token, "/payments?clientCorrelator=cc-dup").await;
    assert_eq!(id_of(&got), id_of(&first));
    env.sandbox.stop().await;
}

#[tokio::test]
async fn status_queries_find_by_id_or_correlator_or_answer_404() {
    let env = setup().await;
    let token = env.login().await.access;
    let reply = env.get(&token, "/payments/NOSUCHPAYMENT").await;
    assert_eq!(reply.0, StatusCode::NOT_FOUND);
    assert_eq!(reply.1["code"], "NOT_FOUND");
    assert_eq!(reply.1["status"], 404);
    let reply = env.get(&token, "/payments?clientCorrelator=nobody").await;
    assert_eq!(reply.0, StatusCode::NOT_FOUND);
    assert_platform_error(
        &env.get(&token, "/payments").await,
        400,
        "INVALID_ARGUMENT",
        "Schema validation failed at clientCorrelator",
    );
    // Correlators with URL-special characters round-trip through the query.
    let (status, body) = env.charge_digits(&token, 3, "sb-a&b=c d").await;
    assert_eq!(status, StatusCode::CREATED);
    let response = env
        .http
        .get(env.api("/payments"))
        .query(&[("clientCorrelator", "sb-a&b=c d")])
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let got: Value = response.json().await.expect("json");
    assert_eq!(id_of(&got), id_of(&body));
    // A charge without a clientCorrelator is found by id only.
    let mut anonymous = charge_body(&tel(4), "x");
    anonymous["amountTransaction"]
        .as_object_mut()
        .expect("object")
        .remove("clientCorrelator");
    let (status, body) = env.charge(&token, &anonymous).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["amountTransaction"].get("clientCorrelator").is_none());
    assert_eq!(
        env.get(&token, &format!("/payments/{}", id_of(&body)))
            .await
            .0,
        StatusCode::OK
    );
    env.sandbox.stop().await;
}

#[tokio::test]
async fn malformed_requests_are_schema_errors_and_charge_nothing() {
    let env = setup().await;
    let token = env.login().await.access;
    for phone in ["+94777123400", "tel:+94777123400", "94777123400", "tel:abc"] {
        assert_platform_error(
            &env.charge(&token, &charge_body(phone, &format!("cc-{phone}")))
                .await,
            400,
            "INVALID_ARGUMENT",
            "Schema validation failed at phoneNumber",
        );
    }
    let mut no_amount = charge_body(&tel(0), "cc-bad");
    no_amount["amountTransaction"]["paymentAmount"]["chargingInformation"]
        .as_object_mut()
        .expect("object")
        .remove("amount");
    assert_platform_error(
        &env.charge(&token, &no_amount).await,
        400,
        "INVALID_ARGUMENT",
        "Schema validation failed at amount",
    );
    let reply = env.charge(&token, &json!("not an object")).await;
    assert_eq!(reply.0, StatusCode::BAD_REQUEST);
    assert_eq!(env.sandbox.total_charges(), 0);
    // A refused body does not use up the correlator.
    let (status, _) = env.charge_digits(&token, 0, "cc-bad").await;
    assert_eq!(status, StatusCode::CREATED);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn admin_counts_and_resets_ideabiz_charges() {
    let env = setup().await;
    let token = env.login().await.access;
    env.charge_digits(&token, 1, "cc-admin-i").await;
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
        json!({"total": 1, "by_client_correlator": {"cc-admin-i": 1}})
    );
    let reset = env
        .http
        .post(format!("{admin}/reset"))
        .send()
        .await
        .expect("send");
    assert!(reset.status().is_success());
    assert_eq!(env.sandbox.total_charges(), 0);
    assert_eq!(env.sandbox.token_requests(PLATFORM), 0);
    // Tokens survive a reset; the correlator is free again.
    let (status, _) = env.charge_digits(&token, 1, "cc-admin-i").await;
    assert_eq!(status, StatusCode::CREATED);
    env.sandbox.stop().await;
}
