//! The top-up API end to end: lookup, catalogue, idempotent top-ups, line-type rules, eSIM, MNP.

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::fault_proxy::{Fault, FaultProxy};
use switchboard_tests::{body_of, Env, OpenApi, TestGateway};

use std::sync::LazyLock;

pub(crate) static TOPUP: LazyLock<OpenApi> =
    LazyLock::new(|| OpenApi::parse(switchboard_gateway::TOPUP_OPENAPI));

async fn assert_topup_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status for {code}");
    assert!(res.headers().contains_key("x-correlator"));
    let body = body_of(res).await;
    TOPUP.check("ErrorInfo", &body);
    assert_eq!(body["code"], code, "{body}");
    body
}

async fn topup(gw: &TestGateway, token: &str, body: Value) -> reqwest::Response {
    gw.call(Method::POST, "/telecom/topup", token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub async fn lookup_finds_operator_line_type_and_what_it_can_buy(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let lookup = |phone: &'static str| {
        gw.call(Method::POST, "/telecom/lookup", &token)
            .json(&json!({"phone": phone}))
            .send()
    };
    let res = lookup("79161234567").await.unwrap();
    assert_eq!(res.status(), 200);
    let body = body_of(res).await;
    TOPUP.check("Lookup", &body);
    assert_eq!(body["operator_id"], "mts-ru");
    assert_eq!(body["country"], "RU");
    assert_eq!(body["type"], "prepaid");
    assert_eq!(body["source"], "number_plan");
    assert_eq!(body["phone"], "+79161234567");
    let supports: Vec<&str> = body["supports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        supports.contains(&"topup") && supports.contains(&"bundle"),
        "{supports:?}"
    );
    // Postpaid lines cannot buy a balance top-up.
    let post = body_of(lookup("+79161234555").await.unwrap()).await;
    assert_eq!(post["type"], "postpaid");
    assert!(
        !post["supports"]
            .as_array()
            .unwrap()
            .contains(&json!("topup")),
        "{post}"
    );
    assert_topup_error(
        lookup("+12025550182").await.unwrap(),
        404,
        "IDENTIFIER_NOT_FOUND",
    )
    .await;
    assert_topup_error(
        lookup("+94771234567").await.unwrap(),
        422,
        "SERVICE_NOT_APPLICABLE",
    )
    .await;
    assert_topup_error(lookup("12").await.unwrap(), 400, "INVALID_ARGUMENT").await;
    gw.stop().await;
}

pub async fn catalogue_is_merged_filtered_and_served_from_cache(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let res = gw
        .call(
            Method::GET,
            "/telecom/products?operator_id=mts-ru&type=bundle",
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = body_of(res).await;
    TOPUP.check("ProductList", &body);
    let products = body["products"].as_array().unwrap();
    assert!(!products.is_empty());
    assert!(
        products
            .iter()
            .all(|p| p["operator_id"] == "mts-ru" && p["type"] == "bundle"),
        "{body}"
    );
    let one = gw
        .call(
            Method::GET,
            "/telecom/products/mts-ru-bundle-10gb-30d",
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    let product = body_of(one).await;
    TOPUP.check("Product", &product);
    assert_eq!(product["price"], 500);
    let missing = gw
        .call(Method::GET, "/telecom/products/nope", &token)
        .send()
        .await
        .unwrap();
    assert_topup_error(missing, 404, "NOT_FOUND").await;
    let bad = gw
        .call(Method::GET, "/telecom/products?type=gift", &token)
        .send()
        .await
        .unwrap();
    assert_topup_error(bad, 400, "INVALID_ARGUMENT").await;
    // Carrier-billing-only operators have no products.
    let none = body_of(
        gw.call(
            Method::GET,
            "/telecom/products?operator_id=dialog-lk",
            &token,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(none["products"], json!([]));
    gw.stop().await;
}

/// The top-up seed's own two steps, verbatim: its ids are spelled with underscores.
pub async fn the_seed_examples_work_verbatim(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let lookup = gw
        .call(Method::POST, "/telecom/lookup", &token)
        .json(&json!({"phone": "79161234567"}))
        .send()
        .await
        .unwrap();
    let lookup = body_of(lookup).await;
    let supports = lookup["supports"].as_array().unwrap();
    assert!(
        supports.contains(&json!("topup")) && supports.contains(&json!("bundle")),
        "{lookup}"
    );
    let seed = json!({"phone": "79161234567", "product_id": "mts_ru_bundle_10gb_30d", "external_tx_id": "your-tx-901"});
    let res = topup(&gw, &token, seed.clone()).await;
    assert_eq!(res.status(), 201);
    let tx = body_of(res).await;
    TOPUP.check("TopUp", &tx);
    assert_eq!(tx["status"], "completed", "{tx}");
    assert!(tx["operator_tx_id"].is_string());
    let again = body_of(topup(&gw, &token, seed).await).await;
    assert_eq!(again["tx_id"], tx["tx_id"], "replayed, not credited twice");
    assert_eq!(gw.credits_for_topup(tx["tx_id"].as_str().unwrap()), 1);
    // Both spellings reach the same product and operator.
    for path in [
        "/telecom/products/mts_ru_bundle_10gb_30d",
        "/telecom/products/mts-ru-bundle-10gb-30d",
    ] {
        let one = body_of(gw.call(Method::GET, path, &token).send().await.unwrap()).await;
        assert_eq!(one["id"], "mts-ru-bundle-10gb-30d", "{path}: {one}");
    }
    let listed = gw
        .call(
            Method::GET,
            "/telecom/products?operator_id=mts_ru&type=topup",
            &token,
        )
        .send()
        .await
        .unwrap();
    let listed = body_of(listed).await;
    let products = listed["products"].as_array().unwrap();
    assert!(!products.is_empty(), "{listed}");
    assert!(
        products
            .iter()
            .all(|p| p["operator_id"] == "mts-ru" && p["type"] == "prepaid"),
        "{listed}"
    );
    gw.stop().await;
}

pub async fn a_top_up_is_credited_once_and_replayed_on_retry(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let body = json!({"phone": "+79161234501", "product_id": "mts-ru-bundle-10gb-30d", "external_tx_id": "order-77"});
    let res = topup(&gw, &token, body.clone()).await;
    assert_eq!(res.status(), 201);
    let tx = body_of(res).await;
    TOPUP.check("TopUp", &tx);
    assert_eq!(tx["status"], "completed");
    assert_eq!(tx["amount"], 500);
    assert_eq!(tx["currency"], "RUB");
    assert!(tx["operator_tx_id"].is_string());
    let tx_id = tx["tx_id"].as_str().unwrap().to_string();
    let again = body_of(topup(&gw, &token, body.clone()).await).await;
    assert_eq!(again["tx_id"], tx_id.as_str(), "same transaction");
    assert_eq!(gw.credits_for_topup(&tx_id), 1);
    let mut other = body.clone();
    other["product_id"] = json!("mts-ru-bundle-1gb-1d");
    assert_topup_error(topup(&gw, &token, other).await, 409, "CONFLICT").await;
    let fetched = gw
        .call(Method::GET, &format!("/telecom/topup/{tx_id}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
    TOPUP.check("TopUp", &body_of(fetched).await);
    let stranger = gw.token("demo-merchant-2", "demo-secret-2").await;
    let hidden = gw
        .call(Method::GET, &format!("/telecom/topup/{tx_id}"), &stranger)
        .send()
        .await
        .unwrap();
    assert_topup_error(hidden, 404, "NOT_FOUND").await;
    // The same external_tx_id belongs to each merchant separately.
    assert_eq!(topup(&gw, &stranger, body).await.status(), 201);
    gw.stop().await;
}

pub async fn amounts_line_types_and_operators_are_checked_before_anything_is_sent(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let any = |phone: &str, amount: Value, ext: &str| json!({"phone": phone, "product_id": "mts-ru-topup", "external_tx_id": ext, "amount": amount});
    let ok = body_of(topup(&gw, &token, any("+79161234502", json!(150.5), "a1")).await).await;
    assert_eq!(
        (ok["status"].as_str(), ok["amount"].as_f64()),
        (Some("completed"), Some(150.5))
    );
    let mut missing = any("+79161234502", json!(1), "a2");
    missing.as_object_mut().unwrap().remove("amount");
    assert_topup_error(topup(&gw, &token, missing).await, 400, "INVALID_ARGUMENT").await;
    assert_topup_error(
        topup(&gw, &token, any("+79161234502", json!(20000), "a3")).await,
        400,
        "OUT_OF_RANGE",
    )
    .await;
    let postpaid = topup(&gw, &token, any("+79161234555", json!(100), "a4")).await;
    let err = assert_topup_error(postpaid, 422, "SERVICE_NOT_APPLICABLE").await;
    assert!(
        err["message"].as_str().unwrap().contains("postpaid"),
        "{err}"
    );
    let wrong_operator = json!({"phone": "+34600000001", "product_id": "mts-ru-bundle-1gb-1d", "external_tx_id": "a5"});
    assert_topup_error(
        topup(&gw, &token, wrong_operator).await,
        422,
        "SERVICE_NOT_APPLICABLE",
    )
    .await;
    let unknown = json!({"phone": "+79161234502", "product_id": "nope", "external_tx_id": "a6"});
    assert_topup_error(topup(&gw, &token, unknown).await, 404, "NOT_FOUND").await;
    assert_eq!(
        gw.sandbox().total_credits(),
        1,
        "only the valid top-up reached the provider"
    );
    gw.stop().await;
}

pub async fn pending_unknown_and_failed_top_ups_settle_correctly(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let send = |phone: &str, ext: &str| {
        topup(
            &gw,
            &token,
            json!({"phone": phone, "product_id": "mts-ru-bundle-1gb-1d", "external_tx_id": ext}),
        )
    };
    let failed = body_of(send("+79161234580", "f1").await).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["failure_reason"].is_string());
    for (phone, ext, end) in [
        ("+79161234586", "p1", "completed"),
        ("+79161234584", "p2", "completed"),
        ("+79161234588", "p3", "failed"),
    ] {
        let tx = body_of(send(phone, ext).await).await;
        assert_eq!(tx["status"], "pending", "{phone}: {tx}");
        let id = tx["tx_id"].as_str().unwrap().to_string();
        let settled = switchboard_tests::eventually(std::time::Duration::from_secs(10), || async {
            let now = body_of(
                gw.call(Method::GET, &format!("/telecom/topup/{id}"), &token)
                    .send()
                    .await
                    .ok()?,
            )
            .await;
            (now["status"] == end).then_some(now)
        })
        .await;
        assert!(settled.is_some(), "{phone} settles to {end}");
        let credits = gw.credits_for_topup(&id);
        assert_eq!(
            credits,
            u32::from(end == "completed"),
            "{phone} credited {credits} times"
        );
    }
    gw.stop().await;
}

pub async fn esim_orders_return_an_activation_code(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let res = gw
        .call(Method::POST, "/esim/orders", &token)
        .json(&json!({"product_id": "orange-fr-bundle-travel-2gb-30d", "external_order_id": "esim-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let order = body_of(res).await;
    TOPUP.check("EsimOrder", &order);
    assert!(order["qr_code"].as_str().unwrap().starts_with("LPA:1$"));
    let unknown = gw
        .call(Method::POST, "/esim/orders", &token)
        .json(&json!({"product_id": "nope"}))
        .send()
        .await
        .unwrap();
    assert_topup_error(unknown, 404, "NOT_FOUND").await;
    gw.stop().await;
}

/// `POST /esim/orders` with the merchant's `external_order_id`.
async fn order_esim(
    gw: &TestGateway,
    token: &str,
    product: &str,
    key: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({ "product_id": product });
    if let Some(key) = key {
        body["external_order_id"] = json!(key);
    }
    let res = gw
        .call(Method::POST, "/esim/orders", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), body_of(res).await)
}

/// The merchant's `external_order_id` is the order's idempotency key: an identical retry is the
/// same order (one profile bought), another product under it is 409, no key is a new order each
/// time; the order is readable by its merchant only.
pub async fn esim_orders_are_idempotent_on_the_merchant_order_id(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let travel = "orange-fr-bundle-travel-2gb-30d";
    let (status, first) = order_esim(&gw, &token, travel, Some("esim-idem")).await;
    assert_eq!(status, 201, "{first}");
    TOPUP.check("EsimOrder", &first);
    assert_eq!(first["external_order_id"], "esim-idem");
    assert_eq!(first["operator_id"], "orange-fr");
    let (status, again) = order_esim(&gw, &token, travel, Some("esim-idem")).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again, first, "an identical retry is the same order");
    assert_eq!(gw.sandbox().esim_orders_made(), 1);

    let (status, other) =
        order_esim(&gw, &token, "orange-fr-bundle-5gb-7d", Some("esim-idem")).await;
    assert_eq!(status, 409, "{other}");
    assert_eq!(other["code"], "CONFLICT", "{other}");
    assert_eq!(
        gw.sandbox().esim_orders_made(),
        1,
        "nothing sent for a reused key"
    );

    let (_, a) = order_esim(&gw, &token, travel, None).await;
    let (_, b) = order_esim(&gw, &token, travel, None).await;
    assert_ne!(
        a["order_id"], b["order_id"],
        "without a key every request is an order"
    );
    assert!(a.get("external_order_id").is_none(), "{a}");
    assert_eq!(gw.sandbox().esim_orders_made(), 3);

    let path = format!("/esim/orders/{}", first["order_id"].as_str().unwrap());
    let read = gw.call(Method::GET, &path, &token).send().await.unwrap();
    assert_eq!(read.status(), 200);
    let read = body_of(read).await;
    TOPUP.check("EsimOrder", &read);
    assert_eq!(read, first);
    let other_merchant = gw.token("demo-merchant-2", "demo-secret-2").await;
    let hidden = gw
        .call(Method::GET, &path, &other_merchant)
        .send()
        .await
        .unwrap();
    assert_topup_error(hidden, 404, "NOT_FOUND").await;
    let (status, theirs) = order_esim(&gw, &other_merchant, travel, Some("esim-idem")).await;
    assert_eq!(status, 201, "keys are per merchant: {theirs}");
    assert_ne!(theirs["order_id"], first["order_id"]);
    let missing = gw
        .call(
            Method::GET,
            "/esim/orders/esim_00000000000000000000000000000000",
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_topup_error(missing, 404, "NOT_FOUND").await;
    gw.stop().await;
}

/// The provider made the profile but its answer was lost: the merchant's retry sends the order
/// again under the same reference, the provider answers with the profile it made, and the
/// merchant gets it — one eSIM bought.
pub async fn an_esim_order_whose_answer_was_lost_is_sent_again_under_its_reference(env: Env) {
    let sandbox = std::net::SocketAddr::from(([127, 0, 0, 1], switchboard_tests::free_port()));
    let proxy = FaultProxy::start(sandbox).await;
    let through = format!("http://{}/topup-primary", proxy.addr());
    let gw = env
        .start_with(Default::default(), |c| {
            c.sandbox.listen = sandbox;
            c.channels
                .get_mut("topup_primary")
                .expect("the primary top-up channel")
                .base_url = through;
        })
        .await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let travel = "orange-fr-bundle-travel-2gb-30d";
    // The order reaches the provider; the connection is reset before any byte of its answer.
    proxy.set(Fault::ResetAfter(0));
    let (status, lost) = order_esim(&gw, &token, travel, Some("esim-lost")).await;
    proxy.set(Fault::None);
    assert!(
        status >= 500,
        "an unknown outcome is not an order: {status} {lost}"
    );
    assert!(lost["code"].is_string(), "{lost}");
    assert_eq!(gw.sandbox().esim_orders_made(), 1, "the provider made it");

    let (status, order) = order_esim(&gw, &token, travel, Some("esim-lost")).await;
    assert_eq!(status, 201, "{order}");
    TOPUP.check("EsimOrder", &order);
    assert!(order["qr_code"].as_str().unwrap().starts_with("LPA:1$"));
    assert_eq!(
        gw.sandbox().esim_orders_made(),
        1,
        "sent again, not bought twice"
    );
    let (_, replay) = order_esim(&gw, &token, travel, Some("esim-lost")).await;
    assert_eq!(replay, order);
    assert_eq!(gw.sandbox().esim_orders_made(), 1);
    gw.stop().await;
}

pub async fn top_up_scopes_are_enforced(env: Env) {
    let gw = env.start().await;
    let res = gw
        .http
        .post(format!("{}/oauth2/token", gw.base))
        .basic_auth("demo-merchant", Some("demo-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "topup:products:read"),
        ])
        .send()
        .await
        .unwrap();
    let token = body_of(res).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"phone": "+79161234501", "product_id": "mts-ru-bundle-1gb-1d", "external_tx_id": "s1"});
    assert_topup_error(topup(&gw, &token, body).await, 403, "PERMISSION_DENIED").await;
    let lookup = gw
        .call(Method::POST, "/telecom/lookup", &token)
        .json(&json!({"phone": "+79161234501"}))
        .send()
        .await
        .unwrap();
    assert_topup_error(lookup, 403, "PERMISSION_DENIED").await;
    assert_eq!(
        gw.call(Method::GET, "/telecom/products", &token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let anonymous = gw
        .http
        .get(format!("{}/telecom/products", gw.base))
        .send()
        .await
        .unwrap();
    assert_topup_error(anonymous, 401, "UNAUTHENTICATED").await;
    gw.stop().await;
}

pub async fn mnp_overrides_route_payments_and_lookups(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let admin = "demo-admin-token";
    let number = "+34600000031";
    let put = gw
        .call(Method::PUT, &format!("/admin/mnp/{number}"), admin)
        .json(&json!({"operator_id": "telekom-de"}));
    assert_eq!(put.send().await.unwrap().status(), 200);
    let listed = body_of(
        gw.call(Method::GET, "/admin/mnp", admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        listed["overrides"],
        json!([{"msisdn": number, "operator_id": "telekom-de"}])
    );
    let lookup = body_of(
        gw.call(Method::POST, "/telecom/lookup", &token)
            .json(&json!({"phone": number}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (lookup["operator_id"].as_str(), lookup["source"].as_str()),
        (Some("telekom-de"), Some("override"))
    );
    // The ported number now goes to Telekom DE, which answers asynchronously.
    let ported = body_of(gw.create(&token, &TestGateway::body(number, 1.0)).await).await;
    assert_eq!(ported["paymentStatus"], "processing", "{ported}");
    let removed = gw
        .call(Method::DELETE, &format!("/admin/mnp/{number}"), admin)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let home = body_of(gw.create(&token, &TestGateway::body(number, 1.0)).await).await;
    assert_eq!(home["paymentStatus"], "succeeded", "back on Movistar ES");
    // Admin needs its own token; bad input changes nothing.
    let denied = gw
        .call(Method::PUT, &format!("/admin/mnp/{number}"), &token)
        .json(&json!({"operator_id": "telekom-de"}));
    assert_topup_error(denied.send().await.unwrap(), 401, "UNAUTHENTICATED").await;
    let unknown_op = gw
        .call(Method::PUT, &format!("/admin/mnp/{number}"), admin)
        .json(&json!({"operator_id": "atlantis"}));
    assert_topup_error(unknown_op.send().await.unwrap(), 400, "INVALID_ARGUMENT").await;
    let gone = gw
        .call(Method::DELETE, &format!("/admin/mnp/{number}"), admin)
        .send()
        .await
        .unwrap();
    assert_topup_error(gone, 404, "NOT_FOUND").await;
    gw.stop().await;
}

/// A separate primary provider (so the test can stop it) in front of the in-process secondary.
async fn with_own_primary(env: &Env) -> (switchboard_sandbox::SandboxHandle, TestGateway) {
    let config = switchboard_sandbox::SandboxConfig {
        operators: vec![],
        ideabiz: vec![],
        topup: vec![switchboard_sandbox::TopUpProvider::with_defaults(
            "topup-primary",
        )],
        timings: switchboard_sandbox::Timings {
            async_delay_ms: 300,
            slow_ms: 3000,
            ..Default::default()
        },
        ..switchboard_sandbox::SandboxConfig::default()
    };
    let primary = switchboard_sandbox::start(config).await.unwrap();
    let base = primary.base_url("topup-primary");
    let gw = env
        .start_with(switchboard_tests::Timing::default(), |c| {
            c.channels.get_mut("topup_primary").unwrap().base_url = base;
        })
        .await;
    (primary, gw)
}

pub async fn top_ups_fail_over_only_when_the_primary_provably_did_nothing(env: Env) {
    let (primary, gw) = with_own_primary(&env).await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let send = |phone: &str, ext: &str| {
        topup(
            &gw,
            &token,
            json!({"phone": phone, "product_id": "mts-ru-bundle-1gb-1d", "external_tx_id": ext}),
        )
    };
    let secondary_credits = |tx: &str| gw.sandbox().credits_for(&format!("sb-{tx}"));
    // The primary serves while it is up.
    let first = body_of(send("+79161234501", "fo-1").await).await;
    let first_id = first["tx_id"].as_str().unwrap().to_string();
    assert_eq!(first["status"], "completed");
    assert_eq!(
        (
            primary.credits_for(&format!("sb-{first_id}")),
            secondary_credits(&first_id)
        ),
        (1, 0)
    );
    // An unknown outcome (the primary answers after the deadline) is never retried elsewhere.
    let slow = body_of(send("+79161234585", "fo-2").await).await;
    assert_eq!(slow["status"], "pending", "{slow}");
    let slow_id = slow["tx_id"].as_str().unwrap().to_string();
    let settled = switchboard_tests::eventually(std::time::Duration::from_secs(10), || async {
        let now = body_of(
            gw.call(Method::GET, &format!("/telecom/topup/{slow_id}"), &token)
                .send()
                .await
                .ok()?,
        )
        .await;
        (now["status"] == "completed").then_some(())
    })
    .await;
    assert!(
        settled.is_some(),
        "settled by status queries on the primary"
    );
    assert_eq!(
        (
            primary.credits_for(&format!("sb-{slow_id}")),
            secondary_credits(&slow_id)
        ),
        (1, 0)
    );
    // The primary goes away: the secondary takes over, and the product stays on sale.
    primary.stop().await;
    let over = body_of(send("+79161234502", "fo-3").await).await;
    assert_eq!(over["status"], "completed", "{over}");
    assert_eq!(secondary_credits(over["tx_id"].as_str().unwrap()), 1);
    gw.stop().await;
}

pub async fn concurrent_identical_top_ups_credit_once(env: Env) {
    let gw = env.start().await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let body = json!({"phone": "+905321234501", "product_id": "turkcell-tr-bundle-8gb-30d", "external_tx_id": "storm"});
    let answers =
        futures::future::join_all((0..12).map(|_| topup(&gw, &token, body.clone()))).await;
    let mut ids = Vec::new();
    for res in answers {
        assert_eq!(res.status(), 201);
        ids.push(body_of(res).await["tx_id"].as_str().unwrap().to_string());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one transaction");
    assert_eq!(gw.sandbox().total_credits(), 1, "one upstream top-up");
    // The other new operators sell too.
    let india = json!({"phone": "+919812345601", "product_id": "airtel-in-topup", "external_tx_id": "in-1", "amount": 199});
    let tx = body_of(topup(&gw, &token, india).await).await;
    assert_eq!(
        (tx["status"].as_str(), tx["currency"].as_str()),
        (Some("completed"), Some("INR"))
    );
    gw.stop().await;
}

/// A merchant limited to some operators or countries can neither look up nor order for the others.
pub async fn allow_lists_apply_to_lookup_and_esim_orders(env: Env) {
    let gw = env
        .start_with(Default::default(), |c| {
            c.merchants
                .get_mut("demo-merchant")
                .unwrap()
                .allowed_countries = vec!["RU".into()];
        })
        .await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let lookup = |phone: &'static str| {
        gw.call(Method::POST, "/telecom/lookup", &token)
            .json(&json!({ "phone": phone }))
            .send()
    };
    assert_eq!(lookup("79161234567").await.unwrap().status(), 200);
    let refused = body_of(lookup("+33612345678").await.unwrap()).await;
    assert_eq!(refused["code"], "PERMISSION_DENIED", "{refused}");

    let order = gw
        .call(Method::POST, "/esim/orders", &token)
        .json(&json!({"product_id": "orange-fr-bundle-travel-2gb-30d", "external_order_id": "esim-allow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), 403);
    let body = body_of(order).await;
    assert_eq!(body["code"], "PERMISSION_DENIED", "{body}");
    gw.stop().await;
}
