//! The top-up adapter against the real sandbox provider (an in-process HTTP server), not mocks.
//!
//! Timings are short; every wait is a bounded poll, and nothing asserts on durations.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use switchboard_adapter::{
    Adapter, AdapterError, CallbackError, CallbackNotice, CallbackRequest, CallbackSettings,
    ChannelSettings, UpstreamHttp, UpstreamTopUp,
};
use switchboard_adapter_topup::{factory, TopUpAdapter, KIND};
use switchboard_core::topup::parse_lpa;
use switchboard_core::{ErrorCode, LineType, Msisdn, ProductType, TopUpRecord, TopUpStatus};
use switchboard_sandbox::testing::start_for_tests;
use switchboard_sandbox::{
    Captured, Inbox, SandboxHandle, DEFAULT_TOPUP_API_KEY, DEFAULT_TOPUP_PROVIDER,
};

const BUNDLE: &str = "mts-ru-bundle-10gb-30d";
const BUNDLE_PRICE: &str = "500";

/// The test timings' slow answer (1.5 s) is longer than the channel's request deadline below, so
/// 85 times out.
async fn sandbox() -> SandboxHandle {
    start_for_tests().await
}

fn settings_for(base_url: &str, key: &str, options: serde_json::Value) -> ChannelSettings {
    serde_json::from_value(json!({
        "id": "globaltopup-test", "adapter": KIND, "base_url": base_url,
        "credentials": {"client_secret": key},
        "operators": ["mts-ru", "orange-fr"], "capabilities": ["topup", "lookup"],
        "timeouts": {"connect_ms": 500, "request_ms": 500},
        "options": options
    }))
    .expect("valid channel settings")
}

fn adapter_at(base_url: &str, key: &str) -> Arc<dyn Adapter> {
    factory(
        &settings_for(base_url, key, json!({})),
        &UpstreamHttp::new(),
    )
    .expect("adapter builds")
}

fn adapter(sb: &SandboxHandle) -> Arc<dyn Adapter> {
    adapter_at(&sb.base_url(DEFAULT_TOPUP_PROVIDER), DEFAULT_TOPUP_API_KEY)
}

fn mts(digits: &str) -> Msisdn {
    Msisdn::parse(&format!("+791612345{digits}")).expect("valid number")
}

/// A stored top-up for the MTS number ending in `digits` (the sandbox's script), with its own id.
fn record(digits: &str, product: &str, amount: &str, id: &str) -> TopUpRecord {
    serde_json::from_value(json!({
        "id": id, "merchant_id": "m", "external_tx_id": format!("merchant-{id}"),
        "msisdn": format!("+791612345{digits}"), "product_id": product, "operator_id": "mts-ru",
        "channel_id": "globaltopup-test", "amount": amount.parse::<f64>().expect("amount"),
        "currency": "RUB", "status": "pending",
        "upstream_reference": TopUpRecord::upstream_reference_for(id),
        "upstream_tx_id": null, "operator_tx_id": null, "credited": null, "failure_reason": null,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "completed_at": null, "fingerprint": "f", "version": 1
    }))
    .expect("valid record")
}

fn bundle(digits: &str, id: &str) -> TopUpRecord {
    record(digits, BUNDLE, BUNDLE_PRICE, id)
}

/// What the gateway would store after an answer.
fn learned(mut record: TopUpRecord, answer: &UpstreamTopUp) -> TopUpRecord {
    record.upstream_tx_id = answer.upstream_tx_id.clone();
    record.status = answer.status;
    record
}

/// Polls the status until it is `want` (bounded: a few seconds at most).
async fn settle(
    adapter: &Arc<dyn Adapter>,
    record: &TopUpRecord,
    want: TopUpStatus,
) -> UpstreamTopUp {
    let mut last = None;
    for _ in 0..100 {
        let answer = adapter
            .topup_status(record)
            .await
            .expect("status query works");
        if answer.status == want {
            return answer;
        }
        last = Some(answer.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "top-up {} never reached {want}; last seen {last:?}",
        record.id
    );
}

fn refused<T: std::fmt::Debug>(result: Result<T, AdapterError>) -> ErrorCode {
    match result {
        Err(AdapterError::Refused(e)) => e.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn lookup_reports_operator_line_type_and_supports() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let prepaid = a.lookup(&mts("67")).await.unwrap();
    assert_eq!(
        (
            prepaid.operator_id.as_str(),
            prepaid.operator_name.as_str(),
            prepaid.country.as_str()
        ),
        ("mts-ru", "MTS Russia", "RU")
    );
    assert_eq!(prepaid.line_type, LineType::Prepaid);
    assert_eq!(
        prepaid.supports,
        vec![
            ProductType::Prepaid,
            ProductType::Bundle,
            ProductType::PlanChange
        ]
    );
    let postpaid = a.lookup(&mts("55")).await.unwrap();
    assert_eq!(postpaid.line_type, LineType::Postpaid);
    assert_eq!(
        postpaid.supports,
        vec![ProductType::Bundle, ProductType::PlanChange]
    );
    let orange = a
        .lookup(&Msisdn::parse("+33612345601").unwrap())
        .await
        .unwrap();
    assert_eq!(
        (orange.operator_id.as_str(), orange.line_type),
        ("orange-fr", LineType::Postpaid)
    );
    let movistar = a
        .lookup(&Msisdn::parse("+34600000001").unwrap())
        .await
        .unwrap();
    assert_eq!(movistar.operator_id, "movistar-es");

    assert_eq!(
        refused(a.lookup(&mts("82")).await),
        ErrorCode::IdentifierNotFound
    );
    let nowhere = Msisdn::parse("+15550000001").unwrap();
    assert_eq!(
        refused(a.lookup(&nowhere).await),
        ErrorCode::IdentifierNotFound
    );
    sb.stop().await;
}

#[tokio::test]
async fn products_are_mapped_and_filtered_upstream() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let all = a.products().await.unwrap();
    assert_eq!(all.len(), 21);
    let find = |id: &str| {
        all.iter()
            .find(|p| p.id == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    };

    let b = find(BUNDLE);
    assert_eq!(
        (b.product_type, b.currency.as_str()),
        (ProductType::Bundle, "RUB")
    );
    assert_eq!(b.price.map(|p| p.to_string()).as_deref(), Some("500"));
    let contents = b.contents.clone().expect("contents");
    assert_eq!(
        (contents.data_mb, contents.minutes, contents.sms),
        (Some(10_240), Some(300), Some(100))
    );
    assert_eq!(b.validity_days, Some(30));
    assert_eq!(b.line_types, vec![LineType::Prepaid, LineType::Postpaid]);

    let t = find("mts-ru-topup");
    assert_eq!(t.product_type, ProductType::Prepaid);
    assert_eq!(t.price, None);
    assert_eq!(
        t.price_for(Some("100.5".parse().unwrap()))
            .map(|a| a.to_string()),
        Ok("100.5".into())
    );
    assert_eq!(
        t.price_for(Some("49".parse().unwrap())).map_err(|e| e.code),
        Err(ErrorCode::OutOfRange)
    );
    assert!(!t.allows(LineType::Postpaid));

    let half = find("movistar-es-bundle-500mb-1d");
    assert_eq!(half.contents.as_ref().and_then(|c| c.data_mb), Some(512));
    assert_eq!(half.price.map(|p| p.to_string()).as_deref(), Some("1.5"));
    assert_eq!(find("orange-fr-plan-80gb-month").validity_days, Some(30));
    assert_eq!(find("orange-fr-plan-200gb-year").validity_days, Some(365));
    assert_eq!(
        find("orange-fr-plan-200gb-year").line_types,
        vec![LineType::Postpaid]
    );

    // Filters are applied by the provider.
    let concrete = TopUpAdapter::new(
        &settings_for(
            &sb.base_url(DEFAULT_TOPUP_PROVIDER),
            DEFAULT_TOPUP_API_KEY,
            json!({}),
        ),
        &UpstreamHttp::new(),
    )
    .unwrap();
    let bundles = concrete
        .products_filtered(Some("mts-ru"), Some(ProductType::Bundle))
        .await
        .unwrap();
    let ids: Vec<_> = bundles.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["mts-ru-bundle-1gb-1d", BUNDLE]);
    let none = concrete
        .products_filtered(Some("orange-fr"), Some(ProductType::Prepaid))
        .await
        .unwrap();
    assert!(none.is_empty());
    let plans = concrete
        .products_filtered(None, Some(ProductType::PlanChange))
        .await
        .unwrap();
    assert!(
        plans.len() == 7
            && plans
                .iter()
                .all(|p| p.product_type == ProductType::PlanChange)
    );

    // Operator ids translated both ways when the provider names operators differently.
    let mapped = TopUpAdapter::new(
        &settings_for(
            &sb.base_url(DEFAULT_TOPUP_PROVIDER),
            DEFAULT_TOPUP_API_KEY,
            json!({"operator_ids": {"mts-ru": "mts-russia"}}),
        ),
        &UpstreamHttp::new(),
    )
    .unwrap();
    let mts_products = mapped
        .products_filtered(Some("mts-russia"), None)
        .await
        .unwrap();
    assert_eq!(mts_products.len(), 4);
    assert!(mts_products.iter().all(|p| p.operator_id == "mts-russia"));
    assert_eq!(
        mapped.lookup(&mts("00")).await.unwrap().operator_id,
        "mts-russia"
    );
    sb.stop().await;
}

#[tokio::test]
async fn a_completed_top_up_is_idempotent_and_credited_once() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = bundle("00", "ok-1");
    let t = a.topup(&rec).await.unwrap();
    assert_eq!(t.status, TopUpStatus::Completed);
    assert!(
        t.upstream_tx_id.is_some() && t.operator_tx_id.is_some() && t.completed_at.is_some(),
        "{t:?}"
    );
    assert_eq!(
        t.credited,
        Some(json!({"data_gb": 10, "minutes": 300, "sms": 100, "validity_days": 30}))
    );
    assert_eq!(t.failure_reason, None);
    assert_eq!(sb.credits_for("sb-ok-1"), 1);

    // A repeat (same upstream reference) finds the same transaction.
    let again = a.topup(&rec).await.unwrap();
    assert_eq!(again, t);
    assert_eq!(
        a.topup_status(&rec).await.unwrap(),
        t,
        "status by repeating the top-up"
    );
    assert_eq!(
        a.topup_status(&learned(rec, &t)).await.unwrap(),
        t,
        "status by tx_id"
    );
    assert_eq!(sb.credits_for("sb-ok-1"), 1);
    assert_eq!(sb.total_credits(), 1);

    // Any-amount balance top-up.
    let money = a
        .topup(&record("01", "mts-ru-topup", "100.5", "ok-2"))
        .await
        .unwrap();
    assert_eq!(money.status, TopUpStatus::Completed);
    assert_eq!(
        money.credited,
        Some(json!({"amount": 100.5, "currency": "RUB"}))
    );
    assert_eq!(sb.credits_for("sb-ok-2"), 1);
    sb.stop().await;
}

#[tokio::test]
async fn definite_failures_and_refusals() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    // 80: a transaction that failed, not an error.
    let barred = a.topup(&bundle("80", "no-80")).await.unwrap();
    assert_eq!(barred.status, TopUpStatus::Failed);
    assert_eq!(barred.failure_reason.as_deref(), Some("number barred"));
    assert_eq!((barred.credited.clone(), barred.completed_at), (None, None));

    // 82: unknown number; a repeat during reconciliation is refused the same way.
    let unknown = bundle("82", "no-82");
    assert_eq!(
        refused(a.topup(&unknown).await),
        ErrorCode::IdentifierNotFound
    );
    assert_eq!(
        refused(a.topup_status(&unknown).await),
        ErrorCode::IdentifierNotFound
    );

    assert_eq!(
        refused(a.topup(&record("02", BUNDLE, "499", "no-price")).await),
        ErrorCode::OutOfRange,
        "a price changed upstream is refused, not charged"
    );
    assert_eq!(
        refused(
            a.topup(&record("55", "mts-ru-topup", "100", "no-postpaid"))
                .await
        ),
        ErrorCode::ServiceNotApplicable
    );
    assert_eq!(
        refused(a.topup(&record("03", "nope", "1", "no-product")).await),
        ErrorCode::NotFound
    );

    // The same upstream reference for another product: refused, the first one untouched.
    let first = a.topup(&bundle("04", "reuse")).await.unwrap();
    assert_eq!(first.status, TopUpStatus::Completed);
    assert_eq!(
        refused(
            a.topup(&record("04", "mts-ru-bundle-1gb-1d", "60", "reuse"))
                .await
        ),
        ErrorCode::InvalidArgument
    );
    assert_eq!(sb.credits_for("sb-reuse"), 1);

    // A status query for a transaction the provider does not know.
    let mut ghost = bundle("05", "ghost");
    ghost.upstream_tx_id = Some("tel_no/such".into());
    assert_eq!(a.topup_status(&ghost).await, Err(AdapterError::NotFound));
    assert_eq!(sb.total_credits(), 1);
    sb.stop().await;
}

#[tokio::test]
async fn a_failed_top_up_is_settled_by_repeat_and_credited_once() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = bundle("84", "flaky-1");
    let err = a.topup(&rec).await.unwrap_err();
    assert!(matches!(err, AdapterError::Unknown(_)), "{err:?}");
    assert_eq!(sb.credits_for("sb-flaky-1"), 0);

    // No upstream id known: the status query repeats the top-up with the same external_tx_id.
    let t = a.topup_status(&rec).await.unwrap();
    assert_eq!(t.status, TopUpStatus::Completed);
    assert_eq!(sb.credits_for("sb-flaky-1"), 1);
    let again = a.topup_status(&learned(rec.clone(), &t)).await.unwrap();
    assert_eq!(again.upstream_tx_id, t.upstream_tx_id);
    a.topup_status(&rec).await.unwrap();
    assert_eq!(sb.credits_for("sb-flaky-1"), 1, "never credited twice");
    sb.stop().await;
}

#[tokio::test]
async fn a_timed_out_top_up_is_settled_without_a_second_credit() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = bundle("85", "slow-1");
    let err = a.topup(&rec).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::Unknown(m) if m.contains("deadline")),
        "{err:?}"
    );

    let t = a.topup_status(&rec).await.unwrap();
    assert_eq!(t.status, TopUpStatus::Completed);
    assert!(t.upstream_tx_id.is_some());
    assert_eq!(sb.credits_for("sb-slow-1"), 1);
    sb.stop().await;
}

#[tokio::test]
async fn pending_top_ups_settle_by_status_query() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = bundle("86", "async-86");
    let t = a.topup(&rec).await.unwrap();
    assert_eq!(t.status, TopUpStatus::Pending);
    assert_eq!((t.credited.clone(), t.completed_at), (None, None));
    let done = settle(&a, &learned(rec, &t), TopUpStatus::Completed).await;
    assert!(
        done.completed_at.is_some() && done.credited.is_some(),
        "{done:?}"
    );
    assert_eq!(sb.credits_for("sb-async-86"), 1);

    let rec = bundle("88", "async-88");
    let t = a.topup(&rec).await.unwrap();
    assert_eq!(t.status, TopUpStatus::Pending);
    let failed = settle(&a, &learned(rec.clone(), &t), TopUpStatus::Failed).await;
    assert_eq!(
        failed.failure_reason.as_deref(),
        Some("operator declined the top-up")
    );
    // Settling by repeat (no upstream id stored) sees the same outcome.
    assert_eq!(
        a.topup_status(&rec).await.unwrap().status,
        TopUpStatus::Failed
    );
    assert_eq!(sb.credits_for("sb-async-88"), 0);
    sb.stop().await;
}

#[tokio::test]
async fn esim_orders_return_an_lpa_payload() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let order = a
        .esim_order("orange-fr-bundle-5gb-7d", "sb-esim-1")
        .await
        .unwrap();
    assert_eq!(
        (order.status.as_str(), order.product_id.as_str()),
        ("completed", "orange-fr-bundle-5gb-7d")
    );
    let (smdp, matching_id) = parse_lpa(&order.qr_code).expect("an LPA activation code");
    assert_eq!(smdp, "smdp.globaltopup.sandbox.test");
    assert!(!matching_id.is_empty());
    assert_eq!(order.iccid.as_deref().map(str::len), Some(19));
    let again = a
        .esim_order("orange-fr-bundle-5gb-7d", "sb-esim-1")
        .await
        .unwrap();
    assert_eq!(again, order);
    assert_eq!(
        refused(a.esim_order("mts-ru-topup", "sb-esim-2").await),
        ErrorCode::ServiceNotApplicable
    );
    assert_eq!(
        refused(a.esim_order("nope", "sb-esim-3").await),
        ErrorCode::NotFound
    );
    assert_eq!(
        refused(a.esim_order(BUNDLE, "sb-esim-1").await),
        ErrorCode::InvalidArgument
    );
    sb.stop().await;
}

#[tokio::test]
async fn channel_problems_are_not_sent() {
    let sb = sandbox().await;
    let rec = bundle("00", "unsent");
    let wrong = adapter_at(&sb.base_url(DEFAULT_TOPUP_PROVIDER), "wrong-key");
    let err = wrong.topup(&rec).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::NotSent(m) if !m.contains("wrong-key")),
        "{err:?}"
    );
    assert!(matches!(
        wrong.lookup(&mts("00")).await,
        Err(AdapterError::NotSent(_))
    ));
    assert!(matches!(
        wrong.products().await,
        Err(AdapterError::NotSent(_))
    ));
    assert!(matches!(
        wrong.topup_status(&rec).await,
        Err(AdapterError::NotSent(_))
    ));
    assert!(matches!(
        wrong.esim_order(BUNDLE, "e").await,
        Err(AdapterError::NotSent(_))
    ));

    // A base_url that is no top-up provider (a CAMARA operator's root).
    let elsewhere = adapter_at(&sb.base_url("movistar-es"), DEFAULT_TOPUP_API_KEY);
    let err = elsewhere.topup(&rec).await.unwrap_err();
    assert!(matches!(err, AdapterError::NotSent(_)), "{err:?}");
    assert_eq!(sb.total_credits(), 0);

    // Nothing listening at all.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let err = adapter_at(&format!("http://{closed}/p"), "k")
        .topup(&rec)
        .await
        .unwrap_err();
    assert!(matches!(err, AdapterError::NotSent(_)), "{err:?}");
    sb.stop().await;
}

// ---------------------------------------------------------------- provider webhooks

/// Long enough for the scripted delay plus a delivery; only reached when something is broken.
const EVENT_WAIT: Duration = Duration::from_secs(10);

fn adapter_with_callbacks(
    sb: &SandboxHandle,
    key: &str,
    callback: &CallbackSettings,
) -> Arc<dyn Adapter> {
    let mut settings = settings_for(&sb.base_url(DEFAULT_TOPUP_PROVIDER), key, json!({}));
    settings.callback = Some(callback.clone());
    factory(&settings, &UpstreamHttp::new()).expect("adapter builds")
}

fn callback_request(captured: &Captured) -> CallbackRequest {
    CallbackRequest {
        headers: captured.headers.clone(),
        query: captured.query.clone(),
        body: captured.body.clone(),
    }
}

fn topup_update(notice: CallbackNotice, id: &str) -> UpstreamTopUp {
    match notice {
        CallbackNotice::TopUp { tx_id, update } => {
            assert_eq!(tx_id, id);
            update
        }
        other => panic!("not a top-up notice: {other:?}"),
    }
}

async fn event(inbox: &mut Inbox) -> Captured {
    inbox
        .next(EVENT_WAIT)
        .await
        .expect("the provider sent an event")
}

#[tokio::test]
async fn provider_events_reach_the_registered_webhook_and_are_verified() {
    let sb = sandbox().await;
    let mut inbox = Inbox::start().await.expect("inbox starts");
    let callback = CallbackSettings {
        url: inbox.url("/callbacks/globaltopup-test"),
        key: b"test-callback-key".to_vec(),
    };
    let a = adapter_with_callbacks(&sb, DEFAULT_TOPUP_API_KEY, &callback);

    // Registered at start; again (another replica, a restart): still one registration.
    a.register_callbacks().await.unwrap();
    a.register_callbacks().await.unwrap();
    assert_eq!(
        sb.topup_webhooks(DEFAULT_TOPUP_PROVIDER),
        [callback.url.as_str()]
    );

    // 86: pending (announced at once), then completed on its own (announced again).
    let rec = bundle("86", "wh-86");
    let created = a.topup(&rec).await.unwrap();
    assert_eq!(created.status, TopUpStatus::Pending);
    let pending = event(&mut inbox).await;
    assert_eq!(pending.method, "POST");
    assert_eq!(pending.path, "/callbacks/globaltopup-test");
    assert!(pending
        .header("webhook-signature")
        .is_some_and(|s| s.starts_with("v1,")));
    let body: serde_json::Value = serde_json::from_slice(&pending.body).unwrap();
    assert_eq!(body["type"], "topup.pending");
    assert_eq!(body["data"]["external_tx_id"], "sb-wh-86");
    let update = topup_update(
        a.parse_callback(&callback_request(&pending)).unwrap(),
        "wh-86",
    );
    assert_eq!(update.status, TopUpStatus::Pending);
    assert_eq!(update.upstream_tx_id, created.upstream_tx_id);

    let completed = event(&mut inbox).await;
    let update = topup_update(
        a.parse_callback(&callback_request(&completed)).unwrap(),
        "wh-86",
    );
    assert_eq!(update.status, TopUpStatus::Completed);
    // The event carries what a status query says.
    let status = a.topup_status(&learned(rec, &created)).await.unwrap();
    assert_eq!(update, status);
    assert_eq!(sb.credits_for("sb-wh-86"), 1);

    // A tampered body, a missing signature, a secret of another channel: unauthenticated.
    let mut tampered = callback_request(&completed);
    tampered.body = String::from_utf8(tampered.body)
        .unwrap()
        .replace("\"completed\"", "\"failed\"")
        .into_bytes();
    assert_ne!(tampered.body, completed.body);
    assert_eq!(
        a.parse_callback(&tampered),
        Err(CallbackError::Unauthenticated)
    );
    let mut unsigned = callback_request(&completed);
    unsigned.headers.retain(|(n, _)| n != "webhook-signature");
    assert_eq!(
        a.parse_callback(&unsigned),
        Err(CallbackError::Unauthenticated)
    );
    let other = CallbackSettings {
        url: inbox.url("/callbacks/another-channel"),
        key: callback.key.clone(),
    };
    let b = adapter_with_callbacks(&sb, DEFAULT_TOPUP_API_KEY, &other);
    assert_eq!(
        b.parse_callback(&callback_request(&completed)),
        Err(CallbackError::Unauthenticated)
    );

    // 88: pending, then failed with the provider's reason.
    let rec = bundle("88", "wh-88");
    a.topup(&rec).await.unwrap();
    let first = topup_update(
        a.parse_callback(&callback_request(&event(&mut inbox).await))
            .unwrap(),
        "wh-88",
    );
    assert_eq!(first.status, TopUpStatus::Pending);
    let failed = topup_update(
        a.parse_callback(&callback_request(&event(&mut inbox).await))
            .unwrap(),
        "wh-88",
    );
    assert_eq!(failed.status, TopUpStatus::Failed);
    assert!(failed.failure_reason.is_some());
    assert_eq!(sb.credits_for("sb-wh-88"), 0);

    // Completed at once: no event. A channel without callbacks registers nothing and reads nothing.
    let done = a.topup(&bundle("00", "wh-00")).await.unwrap();
    assert_eq!(done.status, TopUpStatus::Completed);
    let plain = adapter(&sb);
    plain.register_callbacks().await.unwrap();
    assert_eq!(sb.topup_webhooks(DEFAULT_TOPUP_PROVIDER).len(), 1);
    assert_eq!(
        plain.parse_callback(&callback_request(&completed)),
        Err(CallbackError::Unsupported)
    );
    assert!(inbox.next(Duration::from_millis(300)).await.is_none());
    sb.stop().await;
}

#[tokio::test]
async fn a_refused_webhook_registration_is_not_sent() {
    let sb = sandbox().await;
    let inbox = Inbox::start().await.expect("inbox starts");
    let callback = CallbackSettings {
        url: inbox.url("/callbacks/globaltopup-test"),
        key: b"k".to_vec(),
    };
    let wrong_key = adapter_with_callbacks(&sb, "not-the-key", &callback);
    let err = wrong_key.register_callbacks().await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::NotSent(m) if m.contains("401")),
        "{err:?}"
    );
    assert!(sb.topup_webhooks(DEFAULT_TOPUP_PROVIDER).is_empty());
    sb.stop().await;
}
