//! The routing dashboard (`GET /dashboard`) in a real headless Chromium, over WebDriver, against a
//! real gateway and its sandbox with traffic on every configured channel: the page logs in, shows
//! every channel with non-zero figures, a channel made to fail shows its success rate fall, the
//! route test answers, a dead letter is replayed from its button, nothing is logged as an error on
//! the console, the phone layout does not overflow, and a refused token returns to the login form.
//! Screenshots go to `target/test-artifacts/dashboard.png` and `dashboard-phone.png`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); skips loudly when they
//! are missing unless `CI_REQUIRE_TOOLS` is set.

mod chromium;

use std::time::Duration;

use fantoccini::Locator;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::{body_of, eventually, with_sink, Env, Receiver, Respond, TestGateway};

use chromium::{Browser, Tools};

const ADMIN_TOKEN: &str = "demo-admin-token";
const FAILING: &str = "movistar_es_sandbox";
/// Long enough for a few 5 s refreshes of the page on a loaded machine.
const WAIT: Duration = Duration::from_secs(40);

/// One payment per payment channel (and a refusal on Movistar), and two top-ups: the primary
/// provider's quota is one a minute, so the second goes to the secondary.
async fn traffic_on_every_channel(gw: &TestGateway, sink: &str) {
    let token = gw.demo_token().await;
    for (phone, amount, currency, status) in [
        ("+34600000001", 2.5, "EUR", 201),
        ("+34600000002", 2.5, "EUR", 201),
        ("+34600000080", 2.5, "EUR", 403),
        ("+393400000001", 1.0, "EUR", 201),
        ("+94771234501", 100.0, "LKR", 201),
    ] {
        let mut body = TestGateway::body(phone, amount);
        body["amountTransaction"]["paymentAmount"]["chargingInformation"]["currency"] =
            json!(currency);
        let res = gw.create(&token, &body).await;
        assert_eq!(res.status().as_u16(), status, "{phone}");
    }
    // Telekom DE answers `processing`; its notification goes to a sink that refuses (500), so it
    // ends as a dead letter.
    let body = with_sink(TestGateway::body("+4915100000031", 1.0), sink, "t");
    assert_eq!(gw.create(&token, &body).await.status(), 201);

    gw.wait_for_catalogue(&token).await;
    for (phone, external) in [("+79161234501", "dash-1"), ("+79161234502", "dash-2")] {
        let res = gw
            .call(Method::POST, "/telecom/topup", &token)
            .json(&json!({"phone": phone, "product_id": "mts-ru-bundle-1gb-1d", "external_tx_id": external}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", body_of(res).await);
    }
}

/// The channel cards as the page shows them.
async fn cards(browser: &Browser) -> Vec<Value> {
    let cards = browser
        .js(
            "return [...document.querySelectorAll('#channels [data-channel]')].map((c) => {
               const f = (n) => c.querySelector(`[data-field=\"${n}\"]`).textContent;
               return {id: c.dataset.channel, attempts: f('attempts'), success: f('success-rate'),
                       share: f('traffic-share'), p95: f('p95'), circuit: f('circuit')};
             });",
            vec![],
        )
        .await;
    cards.as_array().cloned().unwrap_or_default()
}

fn card<'a>(cards: &'a [Value], id: &str) -> Option<&'a Value> {
    cards.iter().find(|c| c["id"] == id)
}

/// "57.1 %" → 57.1.
fn percent(text: &Value) -> Option<f64> {
    text.as_str()?.strip_suffix(" %")?.parse().ok()
}

async fn visible(browser: &Browser, id: &str) -> bool {
    browser
        .js(
            "const e = document.getElementById(arguments[0]); return !!e && !e.hidden;",
            vec![json!(id)],
        )
        .await
        == json!(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_live_routing_in_a_real_browser() {
    let Some(tools) = Tools::find_or_skip("the_dashboard_shows_live_routing_in_a_real_browser")
    else {
        return;
    };
    let sink = Receiver::start(Respond::status(500)).await;
    let gw = Env::memory()
        .start_with(Default::default(), |c| {
            sink.deliver_quickly(c);
            c.webhooks.retry_schedule_ms = vec![50, 50];
            c.channels.get_mut("topup_primary").unwrap().rate_limit =
                Some(switchboard_adapter::ChannelRateLimit {
                    requests: 1,
                    per_secs: 60,
                });
        })
        .await;
    let mut channels: Vec<String> = gw
        .running
        .state
        .config()
        .channels
        .iter()
        .filter(|(_, c)| c.enabled)
        .map(|(id, _)| id.clone())
        .collect();
    channels.sort();
    traffic_on_every_channel(&gw, &sink.url("/events")).await;

    let browser = Browser::start(&tools).await;
    let client = &browser.client;
    client
        .goto(&format!("{}/dashboard", gw.base))
        .await
        .unwrap();

    // Log in through the form.
    client
        .wait()
        .for_element(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(ADMIN_TOKEN)
        .await
        .unwrap();
    client
        .find(Locator::Css("#login-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("#channels [data-channel]"))
        .await
        .expect("the channels are shown after login");
    assert!(!visible(&browser, "login").await);
    let url = client.current_url().await.unwrap();
    assert!(
        !url.as_str().contains(ADMIN_TOKEN),
        "token in the URL: {url}"
    );
    let stored = browser
        .js(
            "return sessionStorage.getItem('switchboard.admin_token');",
            vec![],
        )
        .await;
    assert_eq!(stored, json!(ADMIN_TOKEN));
    client
        .find(Locator::Css("[data-window=\"15m\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Every configured channel, each with traffic.
    let shown = eventually(WAIT, || async {
        let cards = cards(&browser).await;
        let ids: Vec<String> = cards
            .iter()
            .map(|c| c["id"].as_str().unwrap_or_default().to_string())
            .collect();
        let busy = cards.iter().all(|c| {
            c["attempts"].as_str().and_then(|a| a.parse::<u64>().ok()) > Some(0)
                && percent(&c["share"]) > Some(0.0)
                && c["p95"] != "—"
        });
        let mut sorted = ids.clone();
        sorted.sort();
        (sorted == channels && busy).then_some(cards)
    })
    .await;
    let cards_now = cards(&browser).await;
    let shown = shown.unwrap_or_else(|| panic!("every channel with traffic: {cards_now:#?}"));
    let before = card(&shown, FAILING).unwrap();
    assert_eq!(before["success"], "100.0 %", "{before}");
    assert_eq!(before["circuit"], "closed");
    let operators = browser
        .js(
            "return [...document.querySelectorAll('#operators [data-operator]')].map((o) => o.dataset.operator);",
            vec![],
        )
        .await;
    assert!(
        operators
            .as_array()
            .unwrap()
            .contains(&json!("movistar-es")),
        "{operators}"
    );

    // The channel fails (the sandbox operator answers 500 to numbers ending 84): its rate falls.
    let token = gw.demo_token().await;
    for _ in 0..3 {
        let res = gw
            .create(&token, &TestGateway::body("+34600000084", 1.0))
            .await;
        assert_eq!(res.status(), 201);
    }
    let fallen = eventually(WAIT, || async {
        let cards = cards(&browser).await;
        let rate = percent(&card(&cards, FAILING)?["success"])?;
        (rate < 100.0).then_some(rate)
    })
    .await
    .expect("the failing channel's success rate falls on the page");
    assert!(fallen <= 75.0, "{fallen}");

    // The route test, through its form.
    client
        .find(Locator::Css("#route-phone"))
        .await
        .unwrap()
        .send_keys("+34600000001")
        .await
        .unwrap();
    client
        .find(Locator::Css("#route-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let route = client
        .wait()
        .for_element(Locator::Css(
            "#route-result [data-channel=\"movistar_es_sandbox\"]",
        ))
        .await
        .expect("the route test answers");
    assert!(route.text().await.unwrap().contains("priority"));
    let answer = client
        .find(Locator::Css(
            "#route-result [data-field=\"route-operator\"]",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(answer.contains("Movistar ES"), "{answer}");
    assert!(
        !answer.contains("600000001"),
        "the number is masked: {answer}"
    );

    // The dead letter is listed; the screenshots show it before it is replayed.
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#dead-letters [data-dead-letter]"))
        .await
        .expect("the dead letter is listed");
    let wide = browser.screenshot(1280, "dashboard.png").await;
    let phone = browser.screenshot(390, "dashboard-phone.png").await;
    let overflow = browser
        .js(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await;
    assert!(
        overflow.as_i64() <= Some(0),
        "wider than a phone: {overflow}"
    );
    client.set_window_size(1280, 1000).await.unwrap();
    eprintln!("screenshots: {} {}", wide.display(), phone.display());

    sink.set_status(204);
    // The list is redrawn on every refresh: a button that went stale was not clicked; try again.
    let clicked = eventually(WAIT, || async {
        let button = client
            .find(Locator::Css(
                "#dead-letters [data-dead-letter] button.replay",
            ))
            .await
            .ok()?;
        button.click().await.ok()
    })
    .await;
    assert!(clicked.is_some(), "the replay button was clicked");
    let delivered = sink.wait_for(4, WAIT).await;
    assert_eq!(
        delivered.len(),
        4,
        "three refused attempts, then the replay"
    );
    let emptied = eventually(WAIT, || async {
        visible(&browser, "dead-letters-empty").await.then_some(())
    })
    .await;
    assert!(emptied.is_some(), "the replayed letter leaves the list");

    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");

    // A token the gateway refuses (rotated, say) sends the page back to the login form.
    browser
        .js(
            "sessionStorage.setItem('switchboard.admin_token', 'not-the-token');",
            vec![],
        )
        .await;
    let back = eventually(WAIT, || async {
        visible(&browser, "login").await.then_some(())
    })
    .await;
    assert!(back.is_some(), "a 401 returns to the login form");
    assert!(!visible(&browser, "app").await);
    let message = client
        .find(Locator::Css("#login-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(message.contains("401"), "{message}");
    // The console log is really read: the refused request is in it.
    let errors = browser.console_errors().await;
    assert!(
        errors.iter().any(|e| e.contains("401")),
        "the refused request is logged: {errors:#?}"
    );

    browser.close().await;
    gw.stop().await;
}
