//! Notifications both ways: operator callbacks in (`/callbacks/{channel}`), merchant notifications
//! out (CAMARA sinks, top-up webhook endpoints) through the outbox, with retries, 410, dead letters
//! and replay, and the SSRF guard. Receivers are real HTTPS servers with their own test CA.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_adapter::{CallbackRef, CallbackSettings};
use switchboard_gateway::config::Config;
use switchboard_tests::{
    body_of, eventually, with_sink, Env, Receiver, Recorded, Respond, TestGateway, Timing,
};

/// The demo merchant's webhook signing secret (config/switchboard.toml).
const SECRET: &str = "whsec_ZGVtby1tZXJjaGFudC13ZWJob29rLXNlY3JldA==";
const ADMIN: &str = "demo-admin-token";
const CALLBACK_SECRET: &str = "test-callback-secret";
/// The async sandbox operator's channel.
const TELEKOM: &str = "telekom_de_sandbox";
const WAIT: Duration = Duration::from_secs(15);

/// Forbidden addresses spelled as the WHATWG URL parser (the HTTP client's) reads them: metadata,
/// private and loopback other than 127.0.0.1 (the only loopback the test configuration allows).
pub const OTHER_ADDRESS_SPELLINGS: &[&str] = &[
    "https://2852039166/",
    "https://0xa9fea9fe/",
    "https://0251.0376.0251.0376/",
    "https://169.254.43518/",
    "https://10.1/",
    "https://0x0a.0.0.1/",
    "https://0177.0.0.2/",
    "HTTPS://0XA9FEA9FE/",
    "https://0x7f000002/",
    "https://[::ffff:169.254.169.254]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[fd00::1]/",
];

/// Fast delivery to `rx`, and a callback secret of our own (the tests sign callbacks with it).
fn fast_delivery(c: &mut Config, rx: &Receiver) {
    rx.deliver_quickly(c);
    c.callbacks.secret = switchboard_core::Secret::new(CALLBACK_SECRET.to_string());
}

/// Reconciliation out of the way: only operator callbacks can settle anything.
fn callbacks_only(c: &mut Config) {
    c.reconcile.min_delay_ms = 600_000;
    c.reconcile.max_delay_ms = 600_000;
}

/// A gateway delivering quickly to `rx`, where only operator callbacks settle payments, and a
/// demo-merchant token. `extra` adjusts the configuration further.
async fn sink_gateway(
    env: &Env,
    rx: &Receiver,
    extra: impl FnOnce(&mut Config),
) -> (TestGateway, String) {
    let gw = env
        .start_with(Timing::default(), |c| {
            fast_delivery(c, rx);
            callbacks_only(c);
            extra(c);
        })
        .await;
    let token = gw.demo_token().await;
    (gw, token)
}

async fn create(gw: &TestGateway, token: &str, body: &Value, correlator: &str) -> String {
    let res = gw
        .cb(Method::POST, "/payments", token)
        .header("x-correlator", correlator)
        .json(body)
        .send()
        .await
        .expect("create");
    assert_eq!(res.status().as_u16(), 201);
    let body = body_of(res).await;
    body["paymentId"].as_str().expect("paymentId").to_string()
}

async fn prepare(gw: &TestGateway, token: &str, body: &Value) -> String {
    let res = gw.prepare(token, body).await;
    assert_eq!(res.status().as_u16(), 201);
    body_of(res).await["paymentId"]
        .as_str()
        .expect("paymentId")
        .to_string()
}

async fn dead_letters(gw: &TestGateway) -> Vec<Value> {
    let res = gw
        .call(Method::GET, "/admin/webhooks/dead-letters", ADMIN)
        .send()
        .await
        .expect("dead letters");
    assert_eq!(res.status().as_u16(), 200);
    body_of(res).await["dead_letters"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn wait_dead_letters(gw: &TestGateway, n: usize) -> Vec<Value> {
    eventually(WAIT, || async {
        let letters = dead_letters(gw).await;
        (letters.len() >= n).then_some(letters)
    })
    .await
    .unwrap_or_else(|| panic!("expected {n} dead letter(s)"))
}

/// Successful deliveries (2xx answers) in arrival order.
fn delivered(rx: &Receiver) -> Vec<Recorded> {
    rx.requests()
        .into_iter()
        .filter(|r| r.answered.is_some_and(|s| (200..300).contains(&s)))
        .collect()
}

async fn wait_delivered(rx: &Receiver, n: usize) -> Vec<Recorded> {
    eventually(WAIT, || async {
        let got = delivered(rx);
        (got.len() >= n).then_some(got)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "expected {n} delivered notification(s), got {}",
            delivered(rx).len()
        )
    })
}

pub async fn async_outcome_reaches_the_sink_signed_through_the_operator_callback(env: Env) {
    let rx = Receiver::start(Respond::status(204)).await;
    let (gw, token) = sink_gateway(&env, &rx, |_| {}).await;
    let body = with_sink(
        TestGateway::body("+4915100000001", 2.5),
        &rx.url("/camara/events"),
        "merchant-sink-token",
    );
    let id = create(&gw, &token, &body, "corr-webhook-1").await;
    // Reconciliation is parked for 10 minutes: only the operator's callback can settle it.
    assert!(gw.wait_for_status(&token, &id, "succeeded").await);
    let got = wait_delivered(&rx, 1).await;
    let req = &got[0];
    assert_eq!(req.path, "/camara/events");
    assert_eq!(
        req.header("content-type"),
        Some("application/cloudevents+json")
    );
    assert_eq!(
        req.header("authorization"),
        Some("Bearer merchant-sink-token")
    );
    assert_eq!(req.header("x-correlator"), Some("corr-webhook-1"));
    req.verify_signature(SECRET)
        .expect("signed with the merchant secret");
    let event = req.json();
    assert_eq!(
        event["type"],
        "org.camaraproject.carrier-billing.v0.payment-completed"
    );
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["data"]["paymentId"], id.as_str());
    assert_eq!(event["data"]["status"], "succeeded");
    assert_eq!(req.header("webhook-id"), event["id"].as_str());
    assert_eq!(gw.charges_for_payment(&id), 1);
    gw.stop().await;
}

pub async fn a_sink_that_is_down_gets_every_event_in_order_once_it_is_up(env: Env) {
    let rx = Receiver::start(Respond::status(503)).await;
    let (gw, token) = sink_gateway(&env, &rx, |_| {}).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let phone = format!("+491510000001{n}");
        let body = with_sink(
            TestGateway::body(&phone, 1.0),
            &rx.url(&format!("/p{n}")),
            "t",
        );
        ids.push((prepare(&gw, &token, &body).await, phone));
    }
    for (id, phone) in &ids {
        assert!(gw.wait_for_status(&token, id, "reserved").await);
        let res = gw
            .action(&token, id, "confirm", &json!({"phoneNumber": phone}))
            .await;
        assert_eq!(res.status().as_u16(), 202);
    }
    let ids: Vec<String> = ids.into_iter().map(|(id, _)| id).collect();
    for id in &ids {
        assert!(gw.wait_for_status(&token, id, "succeeded").await);
    }
    // The sink has refused a few attempts by now; it comes back.
    assert!(rx.wait_for(3, WAIT).await.len() >= 3);
    rx.set_status(204);
    let got = wait_delivered(&rx, 4).await;
    for (n, id) in ids.iter().enumerate() {
        let path = format!("/p{n}");
        let types: Vec<String> = got
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.json()["type"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            types,
            [
                "org.camaraproject.carrier-billing.v0.payment-reserved",
                "org.camaraproject.carrier-billing.v0.payment-completed"
            ],
            "payment {id}: every event, in order"
        );
        // Nothing about the completion was even tried before the reservation got through.
        let first_reserved_ok = rx
            .requests()
            .iter()
            .position(|r| r.path == path && r.answered == Some(204))
            .expect("reserved delivered");
        let first_completed_try = rx
            .requests()
            .iter()
            .position(|r| {
                r.path == path
                    && r.json()["type"]
                        .as_str()
                        .unwrap_or_default()
                        .ends_with("payment-completed")
            })
            .expect("completed tried");
        assert!(first_reserved_ok < first_completed_try);
        for r in got.iter().filter(|r| r.path == path) {
            r.verify_signature(SECRET).expect("signed");
        }
    }
    gw.stop().await;
}

pub async fn a_410_stops_deliveries_to_that_sink(env: Env) {
    let rx = Receiver::start(Respond::gone()).await;
    let (gw, token) = sink_gateway(&env, &rx, |_| {}).await;
    let sink = rx.url("/gone");
    let first = create(
        &gw,
        &token,
        &with_sink(TestGateway::body("+4915100000021", 1.0), &sink, "t"),
        "c1",
    )
    .await;
    assert!(gw.wait_for_status(&token, &first, "succeeded").await);
    let letters = wait_dead_letters(&gw, 1).await;
    assert!(letters[0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("410"));
    assert_eq!(rx.count(), 1, "a 410 is not retried");
    let second = create(
        &gw,
        &token,
        &with_sink(TestGateway::body("+4915100000022", 1.0), &sink, "t"),
        "c2",
    )
    .await;
    assert!(gw.wait_for_status(&token, &second, "succeeded").await);
    let letters = wait_dead_letters(&gw, 2).await;
    let stopped = letters
        .iter()
        .find(|l| l["body"]["data"]["paymentId"] == second.as_str())
        .expect("the second payment's event is a dead letter");
    assert_eq!(
        stopped["reason"],
        switchboard_store::STOPPED_REASON,
        "{stopped}"
    );
    assert_eq!(rx.count(), 1, "nothing more was sent to a stopped sink");
    // The merchant fixed the sink: replaying everything re-enables it and sends both, same ids.
    rx.set_status(204);
    let res = gw
        .call(Method::POST, "/admin/webhooks/dead-letters/replay", ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    assert_eq!(body_of(res).await["replayed"], 2);
    let got = wait_delivered(&rx, 2).await;
    let mut replayed: Vec<&str> = got.iter().filter_map(|r| r.header("webhook-id")).collect();
    let mut expected: Vec<&str> = letters
        .iter()
        .filter_map(|l| l["webhook_id"].as_str())
        .collect();
    replayed.sort_unstable();
    expected.sort_unstable();
    assert_eq!(replayed, expected);
    assert!(dead_letters(&gw).await.is_empty());
    gw.stop().await;
}

pub async fn exhausted_deliveries_become_dead_letters_and_replay_with_the_same_id(env: Env) {
    let rx = Receiver::start(Respond::status(500)).await;
    let (gw, token) =
        sink_gateway(&env, &rx, |c| c.webhooks.retry_schedule_ms = vec![50, 50]).await;
    let id = create(
        &gw,
        &token,
        &with_sink(
            TestGateway::body("+4915100000031", 1.0),
            &rx.url("/dl"),
            "t",
        ),
        "c3",
    )
    .await;
    let letters = wait_dead_letters(&gw, 1).await;
    let letter = &letters[0];
    assert_eq!(letter["attempts"], 3, "{letter}");
    assert_eq!(letter["body"]["data"]["paymentId"], id.as_str());
    assert!(letter.get("bearer").is_none() && !letter.to_string().contains("\"t\""));
    let webhook_id = letter["webhook_id"].as_str().unwrap().to_string();
    assert_eq!(rx.count(), 3);
    rx.set_status(204);
    let res = gw
        .call(
            Method::POST,
            &format!(
                "/admin/webhooks/dead-letters/demo-merchant/{}/replay",
                letter["id"].as_str().unwrap()
            ),
            ADMIN,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let got = wait_delivered(&rx, 1).await;
    assert_eq!(got[0].header("webhook-id"), Some(webhook_id.as_str()));
    got[0].verify_signature(SECRET).expect("signed");
    assert!(dead_letters(&gw).await.is_empty());
    // Admin routes need the admin token; a replay of nothing is 404.
    let res = gw
        .call(Method::GET, "/admin/webhooks/dead-letters", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let res = gw
        .call(
            Method::POST,
            "/admin/webhooks/dead-letters/demo-merchant/0-1/replay",
            ADMIN,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    gw.stop().await;
}

fn camara_event(kind: &str, payment_id: &str) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "source": "https://operator.example",
        "type": format!("org.camaraproject.carrier-billing.v0.{kind}"),
        "specversion": "1.0",
        "time": chrono::Utc::now().to_rfc3339(),
        "datacontenttype": "application/json",
        "data": {"paymentId": payment_id, "status": "succeeded", "description": "done",
                 "paymentDate": chrono::Utc::now().to_rfc3339()}
    })
}

pub async fn callbacks_are_verified_and_the_state_machine_decides(env: Env) {
    let gw = env
        .start_with(
            Timing {
                async_delay_ms: 120_000,
                ..Timing::default()
            },
            |c| {
                c.callbacks.secret = switchboard_core::Secret::new(CALLBACK_SECRET.to_string());
                callbacks_only(c);
            },
        )
        .await;
    let token = gw.demo_token().await;
    let id = create(&gw, &token, &TestGateway::body("+4915100000041", 1.0), "c4").await;
    assert_eq!(gw.status_of(&token, &id).await, "processing");
    let settings = CallbackSettings {
        url: format!("{}/callbacks/{TELEKOM}", gw.base),
        key: CALLBACK_SECRET.as_bytes().to_vec(),
    };
    let ours = settings.target(&CallbackRef::Payment {
        merchant_id: "demo-merchant".into(),
        payment_id: id.clone(),
    });
    let post = |url: String, bearer: Option<String>, event: Value| {
        let mut req = gw
            .http
            .post(url)
            .header("content-type", "application/cloudevents+json")
            .json(&event);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        req.send()
    };
    let completed = camara_event("payment-completed", "upstream-id");
    for bearer in [None, Some("forged".to_string())] {
        let res = post(ours.url.clone(), bearer, completed.clone())
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
        assert!(res.headers().contains_key("x-correlator"));
    }
    // Another payment's token does not open this one.
    let other = settings.target(&CallbackRef::Payment {
        merchant_id: "demo-merchant".into(),
        payment_id: "someone-else".into(),
    });
    let res = post(
        ours.url.clone(),
        Some(other.token.clone()),
        completed.clone(),
    )
    .await
    .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(
        gw.status_of(&token, &id).await,
        "processing",
        "nothing changed"
    );
    // A verified notification about a payment we do not have: 404.
    let res = post(
        other.url.clone(),
        Some(other.token.clone()),
        completed.clone(),
    )
    .await
    .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    // Unknown channel: 404.
    let res = post(
        format!("{}/callbacks/nope", gw.base),
        Some(ours.token.clone()),
        completed.clone(),
    )
    .await
    .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    // The real one settles the payment; a duplicate and a stale (out-of-order) one change nothing.
    let res = post(
        ours.url.clone(),
        Some(ours.token.clone()),
        completed.clone(),
    )
    .await
    .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(gw.status_of(&token, &id).await, "succeeded");
    let before = body_of(gw.get(&token, &id).await).await;
    for event in [
        completed.clone(),
        camara_event("payment-reserved", "upstream-id"),
    ] {
        let res = post(ours.url.clone(), Some(ours.token.clone()), event)
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 204);
    }
    assert_eq!(body_of(gw.get(&token, &id).await).await, before);
    // Unreadable but authenticated: 400.
    let res = gw
        .http
        .post(ours.url.clone())
        .bearer_auth(&ours.token)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    gw.stop().await;
}

pub async fn ssrf_destinations_are_refused_when_not_allow_listed(env: Env) {
    let rx = Receiver::start(Respond::status(204)).await;
    let (gw, token) = sink_gateway(&env, &rx, |c| {
        c.webhooks.allow = Vec::new();
        c.webhooks.retry_schedule_ms = vec![50];
        c.webhooks
            .hosts
            .insert("internal.test".into(), vec!["10.0.0.5".parse().unwrap()]);
        c.webhooks.hosts.insert(
            "metadata.test".into(),
            vec!["169.254.169.254".parse().unwrap()],
        );
    })
    .await;
    // Names are judged on what they resolve to, at each delivery (literals are refused at create).
    let sinks = [
        format!("https://localhost:{}/loopback", rx.port()),
        "https://metadata.test/latest/meta-data".to_string(),
        "https://internal.test/hook".to_string(),
    ];
    for (n, sink) in sinks.iter().enumerate() {
        let body = with_sink(
            TestGateway::body(&format!("+491510000005{n}"), 1.0),
            sink,
            "t",
        );
        create(&gw, &token, &body, "c5").await;
    }
    let letters = wait_dead_letters(&gw, 3).await;
    for letter in &letters {
        let error = letter["last_error"].as_str().unwrap_or_default();
        assert!(error.contains("not allowed"), "{letter}");
    }
    assert_eq!(rx.count(), 0, "no request left the gateway");
    gw.stop().await;
}

/// A sink that could never be delivered to is `INVALID_SINK` at create, prepare and refund, and
/// nothing is stored or charged: the same guard as webhook registration and as every delivery.
pub async fn undeliverable_sinks_are_refused_at_create_prepare_and_refund(env: Env) {
    let rx = Receiver::start(Respond::status(204)).await;
    let (gw, token) = sink_gateway(&env, &rx, |c| {
        c.webhooks.allow = vec!["127.0.0.1/32".into()];
    })
    .await;
    let port = rx.port();
    let mut sinks: Vec<String> = OTHER_ADDRESS_SPELLINGS
        .iter()
        .map(|s| s.to_string())
        .collect();
    sinks.extend([
        "https://10.0.0.1/notify".to_string(),
        "https://169.254.169.254/latest/meta-data".to_string(),
        format!("https://[::1]:{port}/loopback-not-allowed"),
        format!("https://127.0.0.2:{port}/loopback-not-allowed"),
        "https://user:pw@merchant.example.com/notify".to_string(),
    ]);
    let refused = |res: reqwest::Response, what: String| async move {
        let body = crate::assert_error(res, 400, "INVALID_SINK").await;
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("sink not valid for the specified protocol"),
            "{what}: {body}"
        );
        assert!(!message.contains("pw"), "{what}: {body}");
    };
    for (n, sink) in sinks.iter().enumerate() {
        let body = with_sink(
            TestGateway::body(&format!("+4915100000{:03}", 800 + n), 1.0),
            sink,
            "t",
        );
        refused(gw.create(&token, &body).await, format!("create {sink}")).await;
        refused(gw.prepare(&token, &body).await, format!("prepare {sink}")).await;
    }
    let listed = body_of(
        gw.cb(Method::GET, "/payments", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed, json!([]), "nothing stored");
    assert_eq!(gw.sandbox().total_charges(), 0, "nothing charged");

    // A succeeded payment: refunds with those sinks are refused and leave it whole.
    let paid = create(&gw, &token, &TestGateway::body("+34600000027", 3.0), "c8").await;
    assert!(gw.wait_for_status(&token, &paid, "succeeded").await);
    let refunds = format!("/carrier-billing-refund/v0.3/payments/{paid}/refunds");
    for sink in &sinks {
        let body = with_sink(
            json!({"type": "total", "amountTransaction": {
                "referenceCode": format!("refund-{}", uuid::Uuid::new_v4()), "refundAmount": {}}}),
            sink,
            "t",
        );
        let res = gw
            .call(Method::POST, &refunds, &token)
            .json(&body)
            .send()
            .await
            .unwrap();
        refused(res, format!("refund {sink}")).await;
    }
    let listed = body_of(gw.call(Method::GET, &refunds, &token).send().await.unwrap()).await;
    assert_eq!(listed, json!([]), "no refund stored");
    assert_eq!(rx.count(), 0, "no refused sink was ever contacted");
    // The allowed loopback is accepted, so the refusals above are the guard's.
    let allowed = with_sink(
        json!({"type": "total", "amountTransaction": {
            "referenceCode": "refund-allowed", "refundAmount": {}}}),
        &rx.url("/notify"),
        "t",
    );
    let res = gw
        .call(Method::POST, &refunds, &token)
        .json(&allowed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    gw.stop().await;
}

pub async fn top_up_endpoints_receive_signed_topup_events(env: Env) {
    let rx = Receiver::start(Respond::status(200)).await;
    let gw = env
        .start_with(Timing::default(), |c| fast_delivery(c, &rx))
        .await;
    let token = gw.demo_token().await;
    gw.wait_for_catalogue(&token).await;
    let register = |url: String| {
        gw.call(Method::POST, "/webhooks", &token)
            .json(&json!({"url": url, "description": "top-ups"}))
            .send()
    };
    for bad in ["http://example.com/x", "ftp://x", "https://10.0.0.1/x"]
        .iter()
        .chain(OTHER_ADDRESS_SPELLINGS)
    {
        let res = register(bad.to_string()).await.unwrap();
        assert_eq!(res.status().as_u16(), 400, "{bad}");
        let body = body_of(res).await;
        assert_eq!(body["code"], "INVALID_ARGUMENT", "{bad}: {body}");
    }
    let res = register(rx.url("/topups")).await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let endpoint = body_of(res).await;
    crate::topup::TOPUP.check("WebhookEndpoint", &endpoint);
    assert_eq!(endpoint["status"], "active");
    let listed = body_of(
        gw.call(Method::GET, "/webhooks", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed[0]["id"], endpoint["id"]);
    let res = gw
        .call(Method::POST, "/telecom/topup", &token)
        .json(&json!({"phone": "+79161234501", "product_id": "mts-ru-bundle-10gb-30d", "external_tx_id": format!("x-{}", uuid::Uuid::new_v4())}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let tx = body_of(res).await;
    assert_eq!(tx["status"], "completed");
    let got = wait_delivered(&rx, 1).await;
    got[0].verify_signature(SECRET).expect("signed");
    let event = got[0].json();
    crate::topup::TOPUP.check("TopUpEvent", &event);
    assert_eq!(event["type"], "topup.completed");
    assert_eq!(event["data"]["tx_id"], tx["tx_id"]);
    // Another merchant cannot see or remove it.
    let other = gw.token("demo-merchant-2", "demo-secret-2").await;
    let path = format!("/webhooks/{}", endpoint["id"].as_str().unwrap());
    let res = gw.call(Method::DELETE, &path, &other).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let res = gw.call(Method::DELETE, &path, &token).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 204);
    let listed = body_of(
        gw.call(Method::GET, "/webhooks", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed, json!([]));
    gw.stop().await;
}

pub async fn reconciliation_gives_up_after_max_age_and_lists_for_review(env: Env) {
    let gw = env
        .start_with(
            Timing {
                async_delay_ms: 120_000,
                ..Timing::default()
            },
            |c| c.reconcile.max_age_secs = 0,
        )
        .await;
    let token = gw.demo_token().await;
    let id = create(&gw, &token, &TestGateway::body("+4915100000061", 1.0), "c6").await;
    let listed = eventually(WAIT, || async {
        let res = gw
            .call(Method::GET, "/admin/reconciliation", ADMIN)
            .send()
            .await
            .ok()?;
        let body = body_of(res).await;
        body["payments"]
            .as_array()?
            .iter()
            .find(|p| p["payment_id"] == id.as_str())
            .cloned()
    })
    .await
    .expect("the payment is listed for review");
    assert_eq!(listed["status"], "processing");
    assert!(!listed["msisdn"].as_str().unwrap().contains("4915100000061"));
    let res = gw
        .call(Method::GET, "/admin/reconciliation", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    gw.stop().await;
}

pub async fn refund_outcomes_reach_the_sink_after_the_payment_events(env: Env) {
    let rx = Receiver::start(Respond::status(204)).await;
    let (gw, token) = sink_gateway(&env, &rx, |_| {}).await;
    let sink = rx.url("/refunds");
    let body = with_sink(TestGateway::body("+4915100000071", 4.0), &sink, "t");
    let payment = create(&gw, &token, &body, "c7").await;
    assert!(gw.wait_for_status(&token, &payment, "succeeded").await);
    let refund = with_sink(
        json!({"type": "total", "amountTransaction": {
            "referenceCode": format!("refund-{}", uuid::Uuid::new_v4()), "refundAmount": {}}}),
        &sink,
        "t",
    );
    let res = gw
        .call(
            Method::POST,
            &format!("/carrier-billing-refund/v0.3/payments/{payment}/refunds"),
            &token,
        )
        .json(&refund)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let created = body_of(res).await;
    assert_eq!(created["refundStatus"], "processing", "an async operator");
    let got = wait_delivered(&rx, 2).await;
    let (first, second) = (got[0].json(), got[1].json());
    assert_eq!(
        first["type"],
        "org.camaraproject.carrier-billing.v0.payment-completed"
    );
    assert_eq!(
        second["type"],
        "org.camaraproject.carrier-billing-refund.v0.refund-completed"
    );
    assert_eq!(second["data"]["refundId"], created["refundId"]);
    assert_eq!(second["data"]["paymentId"], payment.as_str());
    assert!(second["data"]["refundDate"].is_string());
    got[1].verify_signature(SECRET).expect("signed");
    gw.stop().await;
}
