//! Observability end to end: payments through the real gateway and sandbox, then `/metrics` (the
//! counters of the right operator / channel / outcome, no phone number anywhere) and
//! `/admin/stats` (attempts, success rate, errors by code).

use reqwest::Method;
use serde_json::Value;
use switchboard_tests::{body_of, Env, TestGateway};

pub const ADMIN_TOKEN: &str = "demo-admin-token";
const CHANNEL: &str = "movistar_es_sandbox";

/// The value of the sample `name{labels}` in a text exposition (labels in exposition order).
pub fn sample(body: &str, name_and_labels: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
}

pub async fn metrics_text(gw: &TestGateway) -> String {
    let res = gw
        .http
        .get(format!("{}/metrics", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.contains("openmetrics-text"), "{ct}");
    res.text().await.unwrap()
}

pub async fn stats(gw: &TestGateway) -> Value {
    let res = gw
        .call(Method::GET, "/admin/stats", ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    body_of(res).await
}

/// Two successes and one operator refusal on Movistar ES.
pub async fn pay_two_and_one_denied(gw: &TestGateway) {
    let token = gw.demo_token().await;
    for phone in ["+34600000001", "+34600000002"] {
        let res = gw.create(&token, &TestGateway::body(phone, 2.5)).await;
        assert_eq!(res.status(), 201);
    }
    let res = gw
        .create(&token, &TestGateway::body("+34600000080", 2.5))
        .await;
    assert_eq!(res.status(), 403);
}

pub fn entry<'a>(doc: &'a Value, window: &str, list: &str, key: &str, id: &str) -> &'a Value {
    doc["windows"][window][list]
        .as_array()
        .unwrap_or_else(|| panic!("{window}.{list} in {doc}"))
        .iter()
        .find(|e| e[key] == id)
        .unwrap_or_else(|| panic!("{id} in {window}.{list}: {doc}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_payments_by_operator_channel_and_outcome() {
    let gw = Env::memory().start().await;
    pay_two_and_one_denied(&gw).await;
    let body = metrics_text(&gw).await;
    let ops = |outcome: &str| {
        sample(
            &body,
            &format!(
                "switchboard_operations_total{{kind=\"payment\",operator=\"movistar-es\",channel=\"{CHANNEL}\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(ops("succeeded"), Some(2.0), "{body}");
    assert_eq!(ops("denied"), Some(1.0), "{body}");
    assert_eq!(ops("unknown"), None, "never-seen series are not exposed");
    // Upstream calls: three answered (two ok, one refused), each timed.
    assert_eq!(
        sample(
            &body,
            &format!("switchboard_upstream_request_duration_seconds_count{{channel=\"{CHANNEL}\",operation=\"payment\",result=\"ok\"}}")
        ),
        Some(2.0)
    );
    // HTTP by matched pattern, never the raw path.
    assert_eq!(
        sample(
            &body,
            "switchboard_http_requests_total{route=\"/carrier-billing/v0.5/payments\",method=\"POST\",status=\"201\"}"
        ),
        Some(2.0),
        "{body}"
    );
    // The store is measured through the decorator.
    assert!(body.contains(
        "switchboard_store_operation_duration_seconds_count{backend=\"memory\",operation=\"insert_payment"
    ));
    assert!(body.contains("switchboard_channel_health{channel=\"movistar_es_sandbox\"} 0"));
    assert!(body.contains("switchboard_build_info{version="));
    assert!(body.contains("switchboard_reconciliation_pending{kind=\"payment\"}"));
    // No phone number, in any form, anywhere.
    for digits in ["600000001", "600000002", "600000080"] {
        assert!(!body.contains(digits), "phone digits {digits} leaked");
    }

    // An unknown path counts as `unmatched`.
    let res = gw
        .http
        .get(format!("{}/no/such/+34600000001", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body = metrics_text(&gw).await;
    assert!(body.contains("route=\"unmatched\",method=\"GET\",status=\"404\""));
    assert!(!body.contains("600000001"));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_token_closes_the_endpoint() {
    let gw = Env::memory()
        .start_with(Default::default(), |c| {
            c.metrics.token = switchboard_core::Secret::new("scrape-me".to_string());
        })
        .await;
    let url = format!("{}/metrics", gw.base);
    let res = gw.http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = gw.http.get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = gw
        .http
        .get(&url)
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_stats_show_attempts_success_rate_and_errors() {
    let gw = Env::memory().start().await;
    let res = gw
        .call(Method::GET, "/admin/stats", "not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    pay_two_and_one_denied(&gw).await;
    let doc = stats(&gw).await;
    assert_eq!(doc["scope"], "replica");
    assert!(doc["generated_at"].is_string());
    for window in ["1m", "15m", "1h"] {
        let ch = entry(&doc, window, "channels", "channel", CHANNEL);
        assert_eq!(ch["attempts"], 3, "{window}: {ch}");
        assert_eq!(ch["succeeded"], 2);
        assert_eq!(ch["refused"], 1);
        assert_eq!(ch["technical_failures"], 0);
        // Technical success: the refusal is an answer.
        assert_eq!(ch["success_rate"], 1.0);
        assert_eq!(ch["traffic_share"], 1.0);
        assert_eq!(ch["operators"], serde_json::json!(["movistar-es"]));
        assert_eq!(ch["errors"]["CARRIER_BILLING.PAYMENT_DENIED"], 1);
        assert!(ch["latency_ms"]["p95"].as_f64().unwrap() > 0.0);
        let op = entry(&doc, window, "operators", "operator", "movistar-es");
        assert_eq!(op["attempts"], 3);
        // Every configured channel and operator appears, with zeros.
        let idle = entry(&doc, window, "channels", "channel", "telekom_de_sandbox");
        assert_eq!(idle["attempts"], 0);
        assert_eq!(idle["success_rate"], Value::Null);
        assert_eq!(idle["latency_ms"], Value::Null);
        assert_eq!(idle["traffic_share"], 0.0);
        entry(&doc, window, "operators", "operator", "dialog-lk");
    }
    let series = doc["series"].as_array().unwrap();
    let movistar = series.iter().find(|s| s["channel"] == CHANNEL).unwrap();
    let attempts: u64 = movistar["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["attempts"].as_u64().unwrap())
        .sum();
    assert_eq!(attempts, 3);
    assert_eq!(doc["backlog"]["reconciliation_pending"]["payment"], 0);
    assert!(!doc.to_string().contains("600000001"));
    gw.stop().await;
}
