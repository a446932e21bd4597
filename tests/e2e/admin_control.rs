//! Live channel control end to end: `PATCH /admin/channels/{id}` takes a channel out of routing and
//! puts it back, named admin tokens with roles, the audit log, and — on Redis — a change made on
//! one replica reaching every replica and surviving a restart.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::{body_of, eventually, Env, TestGateway, Timing, ADMIN};

use crate::assert_error;
use crate::observe::{metrics_text, ADMIN_TOKEN};

const CHANNEL: &str = "movistar_es_sandbox";
const VIEWER_TOKEN: &str = "viewer-secret-token";

async fn patch(gw: &TestGateway, token: &str, channel: &str, body: Value) -> reqwest::Response {
    gw.call(Method::PATCH, &format!("/admin/channels/{channel}"), token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn admin_json(gw: &TestGateway, path: &str) -> Value {
    let res = gw
        .call(Method::GET, path, ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let (status, url) = (res.status().as_u16(), res.url().path().to_string());
    let body = body_of(res).await;
    assert_eq!(status, 200, "{path}: {body}");
    ADMIN.check_response(&url, status, &body);
    body
}

/// The `control` of `channel` as `/admin/channels` shows it.
async fn control_of(gw: &TestGateway, channel: &str) -> Value {
    let doc = admin_json(gw, "/admin/channels").await;
    doc["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == channel)
        .map(|c| c["control"].clone())
        .unwrap_or_else(|| panic!("{channel} in {doc}"))
}

fn with_viewer(c: &mut switchboard_gateway::config::Config) {
    c.admin.tokens = vec![switchboard_gateway::config::AdminTokenConfig {
        name: "night-shift".into(),
        role: switchboard_gateway::auth::admin::AdminRole::Viewer,
        token_hash: switchboard_gateway::auth::hash_secret(VIEWER_TOKEN),
    }];
}

pub async fn ops_pause_a_channel_and_the_audit_log_says_who(env: Env) {
    let gw = env.start_with(Timing::default(), with_viewer).await;
    let token = gw.demo_token().await;

    // Who may change what, and bad requests change nothing.
    let res = patch(&gw, "wrong", CHANNEL, json!({"state": "disabled"})).await;
    assert_error(res, 401, "UNAUTHENTICATED").await;
    let res = patch(&gw, VIEWER_TOKEN, CHANNEL, json!({"state": "disabled"})).await;
    assert_error(res, 403, "PERMISSION_DENIED").await;
    for bad in [
        json!({}),
        json!({"weight": 0}),
        json!({"state": "paused"}),
        json!({"state": "disabled", "colour": "red"}),
    ] {
        let res = patch(&gw, ADMIN_TOKEN, CHANNEL, bad.clone()).await;
        assert_error(res, 400, "INVALID_ARGUMENT").await;
    }
    let res = patch(&gw, ADMIN_TOKEN, "no_such_channel", json!({"weight": 2})).await;
    assert_error(res, 404, "NOT_FOUND").await;
    // The viewer reads (the dashboard's token).
    let res = gw
        .call(Method::GET, "/admin/channels", VIEWER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(control_of(&gw, CHANNEL).await["state"], "enabled");

    // Disabled: a new payment for its operator is refused with 503 and nothing is sent.
    let res = patch(&gw, ADMIN_TOKEN, CHANNEL, json!({"state": "disabled"})).await;
    assert_eq!(res.status(), 200);
    let body = body_of(res).await;
    ADMIN.check_response(&format!("/admin/channels/{CHANNEL}"), 200, &body);
    assert_eq!(body["control"]["state"], "disabled");
    assert_eq!(body["after"], json!({"state": "disabled"}));
    let charged = gw.sandbox().total_charges();
    let res = gw
        .create(&token, &TestGateway::body("+34600000001", 1.0))
        .await;
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, 503, "UNAVAILABLE").await;
    gw.closing_barrier().await;
    assert_eq!(gw.sandbox().total_charges(), charged, "nothing was sent");
    let gauge = format!("switchboard_channel_health{{channel=\"{CHANNEL}\"}} 3");
    assert!(metrics_text(&gw).await.contains(&gauge), "{gauge}");

    // Re-weighted and enabled again: payments flow; the override shows, the state is cleared.
    let res = patch(
        &gw,
        ADMIN_TOKEN,
        CHANNEL,
        json!({"state": "enabled", "weight": 7}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let control = control_of(&gw, CHANNEL).await;
    assert_eq!(
        (
            &control["state"],
            &control["weight"],
            &control["weight_set"]
        ),
        (&json!("enabled"), &json!(7), &json!(true))
    );
    let res = gw
        .create(&token, &TestGateway::body("+34600000001", 1.0))
        .await;
    assert_eq!(res.status(), 201);
    let gauge = format!("switchboard_channel_health{{channel=\"{CHANNEL}\"}} 0");
    assert!(metrics_text(&gw).await.contains(&gauge), "{gauge}");

    // The audit log, newest first, names the token.
    let audit = admin_json(&gw, "/admin/audit?limit=10").await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "refused changes are not logged: {audit}");
    assert_eq!(entries[0]["actor"], "admin");
    assert_eq!(
        entries[0]["action"],
        format!("PATCH /admin/channels/{CHANNEL}")
    );
    assert_eq!(entries[0]["before"], json!({"state": "disabled"}));
    assert_eq!(entries[0]["after"], json!({"weight": 7}));
    assert_eq!(entries[1]["before"], json!({}));
    let res = gw
        .call(Method::GET, "/admin/audit?limit=0", ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "INVALID_ARGUMENT").await;
    gw.stop().await;
}

/// Three replicas on one Redis: a channel disabled through one gets no new request through any,
/// within the refresh period; a replica started later starts with it disabled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_disabled_on_one_replica_is_disabled_on_every_replica() {
    let redis = switchboard_store::testing::RedisServer::start();
    let prefix = format!("controls-{}", uuid::Uuid::new_v4().simple());
    let env = Env::redis(redis.url());
    let shared = |c: &mut switchboard_gateway::config::Config| c.store.prefix.clone_from(&prefix);
    let a = env.start_with(Default::default(), shared).await;
    let b = env.start_with(Default::default(), shared).await;
    let c = env.start_with(Default::default(), shared).await;
    let res = patch(&a, ADMIN_TOKEN, CHANNEL, json!({"state": "disabled"})).await;
    assert_eq!(res.status(), 200);
    for replica in [&b, &c] {
        let token = replica.demo_token().await;
        let refused = eventually(Duration::from_secs(5), || async {
            let res = replica
                .create(&token, &TestGateway::body("+34600000001", 1.0))
                .await;
            (res.status() == 503).then_some(())
        })
        .await;
        assert!(refused.is_some(), "the replica follows the change");
        assert_eq!(control_of(replica, CHANNEL).await["state"], "disabled");
    }
    // Kept in the store: a new replica routes by it from its first request.
    let d = env.start_with(Default::default(), shared).await;
    let token = d.demo_token().await;
    let res = d
        .create(&token, &TestGateway::body("+34600000001", 1.0))
        .await;
    assert_error(res, 503, "UNAVAILABLE").await;
    d.closing_barrier().await;
    assert_eq!(d.sandbox().total_charges(), 0);
    for gw in [a, b, c, d] {
        gw.stop().await;
    }
}

/// The `1m` attempts of `channel` as `/admin/channels` shows them.
async fn attempts(gw: &TestGateway, channel: &str) -> u64 {
    let doc = admin_json(gw, "/admin/channels").await;
    doc["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == channel)
        .and_then(|c| c["stats"]["1m"]["attempts"].as_u64())
        .unwrap_or_else(|| panic!("{channel} attempts in {doc}"))
}

/// Two channels for one operator, payments running, one drained in the middle: every payment in
/// flight finishes (each charged once), and afterwards nothing new goes to the drained channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_finishes_what_is_in_flight_and_sends_nothing_new() {
    const TWIN: &str = "movistar_es_twin";
    let gw = Env::memory()
        .start_with(Timing::default(), |c| {
            let twin = c.channels[CHANNEL].clone();
            c.channels.insert(TWIN.into(), twin);
        })
        .await;
    let token = gw.demo_token().await;
    let phone = |i: usize| format!("+34601{i:04}01");
    let load = futures::future::join_all((0..40).map(|i| {
        let (gw, token) = (&gw, &token);
        async move {
            let res = gw.create(token, &TestGateway::body(&phone(i), 1.0)).await;
            (res.status().as_u16(), body_of(res).await)
        }
    }));
    let drain = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        patch(&gw, ADMIN_TOKEN, CHANNEL, json!({"state": "draining"})).await
    };
    let (answers, drained) = tokio::join!(load, drain);
    assert_eq!(drained.status(), 200);
    for (status, body) in &answers {
        assert_eq!(*status, 201, "{body}");
        assert_eq!(body["paymentStatus"], "succeeded", "{body}");
        let id = body["paymentId"].as_str().unwrap();
        assert_eq!(gw.charges_for_payment(id), 1, "{id}");
    }
    assert_eq!(control_of(&gw, CHANNEL).await["in_flight"], 0);

    let (drained_before, twin_before) = (attempts(&gw, CHANNEL).await, attempts(&gw, TWIN).await);
    for i in 40..50 {
        let res = gw.create(&token, &TestGateway::body(&phone(i), 1.0)).await;
        assert_eq!(res.status(), 201);
    }
    assert_eq!(
        attempts(&gw, CHANNEL).await,
        drained_before,
        "nothing new while draining"
    );
    assert_eq!(attempts(&gw, TWIN).await, twin_before + 10);
    gw.closing_barrier().await;
    assert_eq!(gw.sandbox().total_charges(), 50);
    gw.stop().await;
}
