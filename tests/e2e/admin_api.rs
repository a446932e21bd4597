//! The admin read API end to end: `/admin/operators`, `/admin/channels` (every configured channel,
//! its circuit and its figures after real payments) and the route test `/admin/route` (number plan,
//! MNP override, refusals), each answer held against the served `/openapi/admin.yaml`.

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::{body_of, eventually, Env, TestGateway, Timing, ADMIN};

use crate::assert_error;
use crate::observe::{pay_two_and_one_denied, ADMIN_TOKEN};
use crate::routing::dead_channel;

/// `GET path` with the admin token: the status and the body, checked against admin.yaml.
pub async fn admin_get(gw: &TestGateway, path_and_query: &str) -> (u16, Value) {
    let res = gw
        .call(Method::GET, path_and_query, ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let (status, path) = (res.status().as_u16(), res.url().path().to_string());
    let body = body_of(res).await;
    ADMIN.check_response(&path, status, &body);
    (status, body)
}

fn by_id<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {list}"))
}

/// Asserts no subscriber number of the test appears in `body`, in any form.
fn no_phone_number(body: &Value) {
    let text = body.to_string();
    for digits in [
        "600000001",
        "600000002",
        "600000080",
        "600000031",
        "600000050",
    ] {
        assert!(
            !text.contains(digits),
            "phone digits {digits} leaked: {text}"
        );
    }
}

pub async fn operators_and_channels_show_the_configuration_and_live_figures(env: Env) {
    let gw = env
        .start_with(Timing::default(), |c| {
            // Tried first and never answers: its circuit opens after a few payments.
            c.channels.insert("movistar_dead".into(), dead_channel(10));
            c.channels.get_mut("dcb_aggregator_it").unwrap().enabled = false;
            c.operators.get_mut("orange-fr").unwrap().name = None;
        })
        .await;
    let res = gw
        .call(Method::GET, "/admin/channels", "not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    pay_two_and_one_denied(&gw).await;

    let (status, doc) = admin_get(&gw, "/admin/operators").await;
    assert_eq!(status, 200);
    let movistar = by_id(&doc["operators"], "movistar-es");
    assert_eq!(movistar["name"], "Movistar ES");
    assert_eq!(
        (&movistar["country"], &movistar["currency"]),
        (&json!("ES"), &json!("EUR"))
    );
    assert_eq!(movistar["prefixes"], json!(["+346", "+347"]));
    assert_eq!(
        movistar["channels"],
        json!([
            "topup_primary",
            "topup_secondary",
            "movistar_dead",
            "movistar_es_sandbox"
        ]),
        "priority order"
    );
    assert_eq!(by_id(&doc["operators"], "orange-fr")["name"], Value::Null);
    assert_eq!(
        by_id(&doc["operators"], "vodafone-it")["channels"],
        json!(["dcb_aggregator_it"]),
        "a disabled channel is still listed under its operator"
    );

    // On Redis the figures are the fleet's, published every ~2 s: wait for them.
    let doc = eventually(std::time::Duration::from_secs(30), || async {
        let (_, doc) = admin_get(&gw, "/admin/channels").await;
        let used = by_id(&doc["channels"], "movistar_es_sandbox");
        (used["stats"]["1m"]["attempts"] == 3).then_some(doc)
    })
    .await
    .expect("the used channel shows its three payments");
    let mut ids: Vec<&str> = doc["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "dcb_aggregator_it",
            "dialog_lk_ideabiz",
            "movistar_dead",
            "movistar_es_sandbox",
            "telekom_de_sandbox",
            "topup_primary",
            "topup_secondary"
        ],
        "every configured channel"
    );
    let used = by_id(&doc["channels"], "movistar_es_sandbox");
    assert_eq!(used["adapter"], "camara");
    assert_eq!(used["operators"], json!(["movistar-es"]));
    assert_eq!(
        used["capabilities"],
        json!(["payment", "two_step_payment", "payment_status", "refund"])
    );
    assert_eq!(
        (&used["priority"], &used["weight"]),
        (&json!(100), &json!(1))
    );
    assert_eq!(used["enabled"], true);
    assert_eq!(
        used["health"],
        json!({"circuit": "closed", "value": 0, "consecutive_failures": 0})
    );
    for window in ["1m", "15m", "1h"] {
        let w = &used["stats"][window];
        assert_eq!(w["attempts"], 3, "{window}: {w}");
        assert_eq!((&w["succeeded"], &w["refused"]), (&json!(2), &json!(1)));
        assert_eq!(w["errors"]["CARRIER_BILLING.PAYMENT_DENIED"], 1);
    }
    // The same entry as /admin/stats gives for the channel.
    let stats = crate::observe::stats(&gw).await;
    let listed = crate::observe::entry(&stats, "15m", "channels", "channel", "movistar_es_sandbox");
    assert_eq!(&used["stats"]["15m"], listed);

    let dead = by_id(&doc["channels"], "movistar_dead");
    assert_eq!(dead["health"]["circuit"], "open", "{dead}");
    assert_eq!(dead["health"]["value"], 2);
    assert!(dead["health"]["consecutive_failures"].as_u64().unwrap() >= 3);
    let disabled = by_id(&doc["channels"], "dcb_aggregator_it");
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["adapter"], "declarative");
    assert_eq!(
        disabled["health"],
        json!({"circuit": "disabled", "value": 3, "consecutive_failures": 0})
    );
    assert_eq!(disabled["stats"]["1h"]["attempts"], 0);
    no_phone_number(&doc);
    gw.stop().await;
}

pub async fn the_route_test_explains_number_plan_and_mnp_routes(env: Env) {
    let gw = env
        .start_with(Timing::default(), |c| {
            c.channels.insert("movistar_dead".into(), dead_channel(10));
        })
        .await;
    // `%2B` is the encoded `+`; an unencoded one (a space once decoded) is read the same.
    for phone in ["%2B34600000001", "+34600000001"] {
        let (status, route) = admin_get(
            &gw,
            &format!("/admin/route?phone={phone}&operation=payment"),
        )
        .await;
        assert_eq!(status, 200, "{route}");
        assert_eq!(route["phone"], "+34*******01");
        assert_eq!(route["operation"], "payment");
        assert_eq!(
            route["operator"],
            json!({"id": "movistar-es", "name": "Movistar ES"})
        );
        assert_eq!(route["source"], "number_plan");
        assert_eq!(route["matched_prefix"], "+346");
        let channels = route["channels"].as_array().unwrap();
        let ids: Vec<&str> = channels.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            ["movistar_dead", "movistar_es_sandbox"],
            "priority order"
        );
        assert_eq!(channels[0]["priority"], 10);
        assert_eq!(channels[0]["circuit"], "closed");
        let reason = channels[0]["reason"].as_str().unwrap();
        assert!(reason.contains("priority 10, circuit closed"), "{reason}");
        no_phone_number(&route);
    }
    // The operation picks the channels: top-ups go through the providers.
    let (_, topup) = admin_get(&gw, "/admin/route?phone=%2B34600000001&operation=topup").await;
    let ids: Vec<&Value> = topup["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(ids, [&json!("topup_primary"), &json!("topup_secondary")]);

    // Once the dead channel has failed a few payments it goes behind, and the reason says so.
    let token = gw.demo_token().await;
    for _ in 0..3 {
        let res = gw
            .create(&token, &TestGateway::body("+34600000050", 1.0))
            .await;
        assert_eq!(res.status(), 201);
    }
    let (_, route) = admin_get(&gw, "/admin/route?phone=%2B34600000001").await;
    assert_eq!(route["operation"], "payment", "the default operation");
    let channels = route["channels"].as_array().unwrap();
    assert_eq!(channels[0]["id"], "movistar_es_sandbox");
    assert_eq!(channels[1]["circuit"], "open");
    assert!(
        channels[1]["reason"]
            .as_str()
            .unwrap()
            .contains("skipped for new requests (behind every usable channel)"),
        "{route}"
    );

    // An MNP override wins over the number plan.
    let ported = "+34600000031";
    let put = gw
        .call(Method::PUT, &format!("/admin/mnp/{ported}"), ADMIN_TOKEN)
        .json(&json!({"operator_id": "telekom-de"}));
    assert_eq!(put.send().await.unwrap().status(), 200);
    let (status, route) = admin_get(&gw, "/admin/route?phone=%2B34600000031").await;
    assert_eq!(status, 200);
    assert_eq!(route["operator"]["id"], "telekom-de");
    assert_eq!(route["source"], "mnp_override");
    assert_eq!(route["matched_prefix"], Value::Null);
    assert_eq!(route["channels"][0]["id"], "telekom_de_sandbox");
    no_phone_number(&route);

    // Refusals.
    let ask = |query: &'static str| {
        gw.call(Method::GET, &format!("/admin/route{query}"), ADMIN_TOKEN)
            .send()
    };
    for bad in [
        "",
        "?operation=payment",
        "?phone=34600000001",
        "?phone=%2B34abc",
        "?phone=%2B34600000001&operation=teleport",
        "?phone=%2B34600000001&colour=blue",
    ] {
        let body = assert_error(ask(bad).await.unwrap(), 400, "INVALID_ARGUMENT").await;
        no_phone_number(&body);
    }
    let body = assert_error(
        ask("?phone=%2B447700900001").await.unwrap(),
        404,
        "IDENTIFIER_NOT_FOUND",
    )
    .await;
    assert!(!body.to_string().contains("7700900001"));
    // Dialog LK (Ideabiz) has no two-step payments.
    assert_error(
        ask("?phone=%2B94771234567&operation=two_step_payment")
            .await
            .unwrap(),
        422,
        "SERVICE_NOT_APPLICABLE",
    )
    .await;
    let res = gw
        .call(Method::GET, "/admin/route?phone=%2B34600000001", "wrong")
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "UNAUTHENTICATED").await;
    gw.stop().await;
}

/// Every `Endpoint::at("/admin…")` path registered in the gateway's sources.
fn admin_paths_in_sources() -> std::collections::BTreeSet<String> {
    fn walk(dir: &std::path::Path, found: &mut std::collections::BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (at, _) in text.match_indices("Endpoint::at(") {
                    let rest = text[at + "Endpoint::at(".len()..].trim_start();
                    let Some(literal) = rest.strip_prefix('"') else {
                        continue;
                    };
                    let path = &literal[..literal.find('"').unwrap()];
                    if path.starts_with("/admin") {
                        found.insert(path.to_string());
                    }
                }
            }
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/gateway/src");
    let mut found = std::collections::BTreeSet::new();
    walk(&src, &mut found);
    found
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_is_documented_guarded_and_refuses_other_methods() {
    let registered = admin_paths_in_sources();
    let paths = ADMIN.doc()["paths"].as_object().unwrap();
    let documented: std::collections::BTreeSet<String> = paths.keys().cloned().collect();
    assert!(registered.contains("/admin/route"), "{registered:?}");
    assert_eq!(
        registered, documented,
        "admin.yaml documents exactly the registered /admin routes"
    );

    let gw = Env::memory().start().await;
    let res = gw
        .http
        .get(format!("{}/openapi/admin.yaml", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/yaml");
    assert_eq!(
        res.text().await.unwrap(),
        switchboard_gateway::ADMIN_OPENAPI
    );

    for (template, item) in paths {
        let url = template
            .replace("{msisdn}", "+34600000031")
            .replace("{merchant}", "demo-merchant")
            .replace("{id}", "dl-1");
        let methods: Vec<&str> = METHODS
            .into_iter()
            .filter(|m| item.get(*m).is_some())
            .collect();
        assert!(!methods.is_empty(), "{template}");
        for method in &methods {
            let operation = &item[*method];
            assert!(
                operation["responses"].get("401").is_some(),
                "{method} {template} documents its 401"
            );
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let anonymous = gw
                .http
                .request(method.clone(), format!("{}{url}", gw.base))
                .send()
                .await
                .unwrap();
            assert_error(anonymous, 401, "UNAUTHENTICATED").await;
            let wrong = gw
                .call(method, &url, "not-the-admin-token")
                .send()
                .await
                .unwrap();
            assert_error(wrong, 401, "UNAUTHENTICATED").await;
        }
        let other = METHODS
            .into_iter()
            .find(|m| !methods.contains(m))
            .expect("some method is not documented");
        let method = Method::from_bytes(other.to_uppercase().as_bytes()).unwrap();
        let res = gw.call(method, &url, ADMIN_TOKEN).send().await.unwrap();
        let allow = res
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_lowercase())
            .unwrap_or_default();
        let mut allowed: Vec<&str> = allow.split(", ").collect();
        allowed.sort();
        let mut expected = methods.clone();
        expected.sort();
        assert_eq!(
            allowed, expected,
            "{other} {template}: Allow lists the documented methods"
        );
        assert_error(res, 405, "METHOD_NOT_ALLOWED").await;
    }
    gw.stop().await;
}
