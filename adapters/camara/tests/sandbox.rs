//! The CAMARA adapter against the real sandbox (an in-process HTTP server), not mocks.
//!
//! Timings are short; every wait is a bounded poll, and nothing asserts on durations.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use switchboard_adapter::testing::{learned, settle};
use switchboard_adapter::{
    Adapter, AdapterError, CallbackError, CallbackNotice, CallbackRef, CallbackRequest,
    CallbackSettings, ChannelSettings, UpstreamHttp, UpstreamPayment,
};
use switchboard_adapter_camara::{factory, KIND};
use switchboard_core::{
    ErrorCode, PaymentRecord, PaymentStatus, RefundRecord, RefundStatus, ValidationInfo,
};
use switchboard_sandbox::testing::TEST_TIMINGS;
use switchboard_sandbox::{start, Captured, Inbox, SandboxConfig, SandboxHandle};

const SYNC_OP: &str = "movistar-es";
const ASYNC_OP: &str = "telekom-de";
const VALID_OTP: &str = "123456";

fn config(listen: SocketAddr) -> SandboxConfig {
    let mut config = SandboxConfig::with_default_operators(listen);
    config.timings = TEST_TIMINGS;
    config
}

async fn sandbox() -> SandboxHandle {
    start(config(SocketAddr::from(([127, 0, 0, 1], 0))))
        .await
        .expect("sandbox starts")
}

fn settings_for(base_url: &str, secret: &str) -> ChannelSettings {
    serde_json::from_value(serde_json::json!({
        "id": "camara-test", "adapter": KIND, "base_url": base_url,
        "credentials": {"client_id": "sandbox-client", "client_secret": secret},
        "operators": ["op"], "capabilities": ["payment", "two_step_payment", "payment_status"],
        "timeouts": {"connect_ms": 500, "request_ms": 500}
    }))
    .expect("valid channel settings")
}

fn adapter_for(base_url: &str) -> Arc<dyn Adapter> {
    factory(
        &settings_for(base_url, "sandbox-secret"),
        &UpstreamHttp::new(),
    )
    .expect("adapter builds")
}

fn adapter(sandbox: &SandboxHandle, operator: &str) -> Arc<dyn Adapter> {
    adapter_for(&sandbox.base_url(operator))
}

/// A stored payment for the phone number ending in `digits` (the sandbox's script), with its own id.
fn record(flow: &str, digits: &str, id: &str) -> PaymentRecord {
    serde_json::from_value(serde_json::json!({
        "id": id, "merchant_id": "m", "flow": flow, "phase": {"phase": "submitting"},
        "status": "processing", "version": 1, "msisdn": format!("+346001234{digits}"), "operator_id": "op",
        "channel_id": "camara-test", "client_correlator": "merchant-cc", "reference_code": format!("ref-{id}"),
        "payment_amount": {"chargingInformation": {"amount": 19.99, "currency": "EUR", "description": "Game"}},
        "upstream_correlator": PaymentRecord::upstream_correlator_for(id), "upstream_id": null,
        "server_reference_code": null, "validation_info": null, "validation_attempts": 0,
        "pending_action": null, "sink": null, "sink_credential": null,
        // Now: the sink token the adapter announces expires 30 days after creation.
        "created_at": chrono::Utc::now(), "updated_at": chrono::Utc::now(),
        "payment_date": null, "denial_reason": null, "fingerprint": "f", "needs_review": false
    }))
    .expect("valid record")
}

fn refused(result: Result<UpstreamPayment, AdapterError>) -> ErrorCode {
    match result {
        Err(AdapterError::Refused(e)) => e.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn token_is_cached_and_refreshed_after_the_operator_forgets_it() {
    let sb = sandbox().await;
    let addr = sb.addr();
    let a = adapter(&sb, SYNC_OP);
    for (i, digits) in ["00", "01", "02"].into_iter().enumerate() {
        let p = a
            .create_payment(&record("one_step", digits, &format!("tok-{i}")))
            .await
            .unwrap();
        assert_eq!(p.status, PaymentStatus::Succeeded);
    }
    let stored = learned(
        record("one_step", "00", "tok-0"),
        &a.create_payment(&record("one_step", "00", "tok-0"))
            .await
            .unwrap(),
    );
    a.payment_status(&stored).await.unwrap();
    assert_eq!(sb.token_requests(SYNC_OP), 1, "one token for all calls");

    // The operator restarts and forgets every token. The next call carries the cached token, gets a
    // 401, and the adapter fetches a new token and sends the call once more. (A keep-alive connection
    // to the old server may fail first: that is a transport error, so ask with a harmless GET.)
    sb.stop().await;
    let sb = start(config(addr))
        .await
        .expect("sandbox restarts on the same address");
    let mut answer = a.payment_status(&stored).await;
    for _ in 0..3 {
        if !matches!(answer, Err(AdapterError::Unknown(_))) {
            break;
        }
        answer = a.payment_status(&stored).await;
    }
    // The new server does not know the payment: a 404 after the retry, not our 401.
    assert_eq!(answer, Err(AdapterError::NotFound));
    assert_eq!(sb.token_requests(SYNC_OP), 1, "one new token after the 401");
    let p = a
        .create_payment(&record("one_step", "03", "tok-after"))
        .await
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(sb.charges_for("sb-tok-after"), 1);
    a.create_payment(&record("one_step", "04", "tok-again"))
        .await
        .unwrap();
    assert_eq!(sb.token_requests(SYNC_OP), 1, "the new token is cached");
    sb.stop().await;
}

#[tokio::test]
async fn one_step_success_on_a_sync_operator() {
    let sb = sandbox().await;
    let a = adapter(&sb, SYNC_OP);
    let rec = record("one_step", "00", "ok-1");
    let p = a.create_payment(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert!(
        p.upstream_id.is_some() && p.server_reference_code.is_some() && p.payment_date.is_some(),
        "{p:?}"
    );
    assert_eq!(sb.charges_for("sb-ok-1"), 1);

    // A retry of the same payment (same clientCorrelator) finds the same upstream payment.
    let again = a.create_payment(&rec).await.unwrap();
    assert_eq!(again.upstream_id, p.upstream_id);
    let status = a.payment_status(&learned(rec, &p)).await.unwrap();
    assert_eq!(status, p);
    assert_eq!(sb.charges_for("sb-ok-1"), 1);
    assert_eq!(sb.total_charges(), 1);
    sb.stop().await;
}

#[tokio::test]
async fn scripted_refusals_map_to_their_camara_codes() {
    let sb = sandbox().await;
    let a = adapter(&sb, SYNC_OP);
    let cases = [
        ("80", ErrorCode::PaymentDenied),
        ("81", ErrorCode::UnauthorizedAmount),
        ("82", ErrorCode::IdentifierNotFound),
        ("83", ErrorCode::ServiceNotApplicable),
    ];
    for (digits, code) in cases {
        let one = record("one_step", digits, &format!("no-1-{digits}"));
        let err = a.create_payment(&one).await.unwrap_err();
        let AdapterError::Refused(api) = &err else {
            panic!("{digits}: {err:?}")
        };
        assert_eq!(api.code, code, "{digits}");
        assert!(
            !api.message.contains("600123"),
            "phone number in message: {}",
            api.message
        );
        assert_eq!(
            refused(
                a.prepare_payment(&record("two_step", digits, &format!("no-2-{digits}")))
                    .await
            ),
            code
        );
        // No upstream id and a definite refusal on replay: still refused.
        assert_eq!(refused(a.payment_status(&one).await), code, "{digits}");
    }
    assert_eq!(sb.total_charges(), 0);
    sb.stop().await;
}

#[tokio::test]
async fn a_failed_create_is_settled_by_replay_and_charged_once() {
    let sb = sandbox().await;
    let a = adapter(&sb, SYNC_OP);
    let rec = record("one_step", "84", "flaky-1");
    let err = a.create_payment(&rec).await.unwrap_err();
    assert!(matches!(err, AdapterError::Unknown(_)), "{err:?}");
    assert_eq!(sb.charges_for("sb-flaky-1"), 0);

    // The gateway knows no upstream id: the status query replays the create with the same correlator.
    let p = a.payment_status(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(sb.charges_for("sb-flaky-1"), 1);
    let again = a.payment_status(&learned(rec.clone(), &p)).await.unwrap();
    assert_eq!(again.upstream_id, p.upstream_id);
    a.payment_status(&rec).await.unwrap();
    assert_eq!(sb.charges_for("sb-flaky-1"), 1, "never charged twice");
    sb.stop().await;
}

#[tokio::test]
async fn a_timed_out_create_is_settled_by_replay_without_a_second_charge() {
    let sb = sandbox().await;
    let a = adapter(&sb, SYNC_OP);
    let rec = record("one_step", "85", "slow-1");
    let err = a.create_payment(&rec).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::Unknown(m) if m.contains("deadline")),
        "{err:?}"
    );

    let p = a.payment_status(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert!(p.upstream_id.is_some());
    assert_eq!(sb.charges_for("sb-slow-1"), 1);
    sb.stop().await;
}

#[tokio::test]
async fn processing_payments_settle_by_status_query() {
    let sb = sandbox().await;
    // 86: processing then succeeded, even on the sync operator.
    let a = adapter(&sb, SYNC_OP);
    let rec = record("one_step", "86", "async-86");
    let p = a.create_payment(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Processing);
    let done = settle(&a, &learned(rec, &p), PaymentStatus::Succeeded).await;
    assert!(done.payment_date.is_some());
    assert_eq!(sb.charges_for("sb-async-86"), 1);

    // The async operator: every success starts as processing; 88 ends denied.
    let b = adapter(&sb, ASYNC_OP);
    let ok = record("one_step", "00", "async-00");
    let p = b.create_payment(&ok).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Processing);
    settle(&b, &learned(ok, &p), PaymentStatus::Succeeded).await;
    let denied = record("one_step", "88", "async-88");
    let p = b.create_payment(&denied).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Processing);
    settle(&b, &learned(denied, &p), PaymentStatus::Denied).await;
    assert_eq!(sb.charges_for("sb-async-88"), 0);
    sb.stop().await;
}

#[tokio::test]
async fn two_step_prepare_confirm_and_cancel() {
    let sb = sandbox().await;
    let a = adapter(&sb, SYNC_OP);

    let rec = record("two_step", "00", "two-confirm");
    let p = a.prepare_payment(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Reserved);
    let rec = learned(rec, &p);
    assert_eq!(sb.charges_for("sb-two-confirm"), 0);
    assert_eq!(
        a.confirm_payment(&rec).await.unwrap().status,
        PaymentStatus::Succeeded
    );
    // A repeated confirm (its answer was lost) reads the payment instead of failing.
    assert_eq!(
        a.confirm_payment(&rec).await.unwrap().status,
        PaymentStatus::Succeeded
    );
    assert_eq!(
        refused(a.cancel_payment(&rec).await),
        ErrorCode::PaymentConfirmed
    );
    assert_eq!(sb.charges_for("sb-two-confirm"), 1);

    let rec = record("two_step", "01", "two-cancel");
    let rec = learned(rec.clone(), &a.prepare_payment(&rec).await.unwrap());
    assert_eq!(
        a.cancel_payment(&rec).await.unwrap().status,
        PaymentStatus::Cancelled
    );
    assert_eq!(
        a.cancel_payment(&rec).await.unwrap().status,
        PaymentStatus::Cancelled
    );
    assert_eq!(
        refused(a.confirm_payment(&rec).await),
        ErrorCode::PaymentCancelled
    );
    assert_eq!(sb.charges_for("sb-two-cancel"), 0);

    // 89: the reservation expires on its own.
    let rec = record("two_step", "89", "two-expire");
    let rec = learned(rec.clone(), &a.prepare_payment(&rec).await.unwrap());
    assert_eq!(rec.status, PaymentStatus::Reserved);
    settle(&a, &rec, PaymentStatus::Cancelled).await;
    assert_eq!(
        refused(a.confirm_payment(&rec).await),
        ErrorCode::PaymentCancelled
    );

    // The async operator reserves later and charges later.
    let b = adapter(&sb, ASYNC_OP);
    let rec = record("two_step", "00", "two-async");
    let p = b.prepare_payment(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Processing);
    let rec = learned(rec, &p);
    settle(&b, &rec, PaymentStatus::Reserved).await;
    let confirmed = b.confirm_payment(&rec).await.unwrap();
    assert!(
        matches!(
            confirmed.status,
            PaymentStatus::Processing | PaymentStatus::Succeeded
        ),
        "{confirmed:?}"
    );
    settle(&b, &rec, PaymentStatus::Succeeded).await;
    assert_eq!(sb.charges_for("sb-two-async"), 1);
    assert_eq!(sb.total_charges(), 2);
    sb.stop().await;
}

#[tokio::test]
async fn otp_validation_wrong_then_right_code() {
    let sb = sandbox().await;
    let a = adapter(&sb, SYNC_OP);

    let rec = record("two_step", "87", "otp-ok");
    let p = a.prepare_payment(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::PendingValidation);
    let Some(ValidationInfo::Validate { authorization_id }) = p.validation_info.clone() else {
        panic!("no validationInfo: {p:?}")
    };
    let rec = learned(rec, &p);
    assert_eq!(
        refused(a.validate_payment(&rec, &authorization_id, "000000").await),
        ErrorCode::InvalidCode
    );
    assert_eq!(
        refused(a.validate_payment(&rec, "not-the-id", VALID_OTP).await),
        ErrorCode::InvalidAuthorizationId
    );
    let v = a
        .validate_payment(&rec, &authorization_id, VALID_OTP)
        .await
        .unwrap();
    assert_eq!(v.status, PaymentStatus::Reserved);
    // Validated twice (a lost answer): the operator's 409 reads as "already done".
    assert_eq!(
        a.validate_payment(&rec, &authorization_id, VALID_OTP)
            .await
            .unwrap()
            .status,
        PaymentStatus::Reserved
    );
    assert_eq!(
        a.confirm_payment(&rec).await.unwrap().status,
        PaymentStatus::Succeeded
    );
    assert_eq!(sb.charges_for("sb-otp-ok"), 1);

    // Three wrong codes deny the payment.
    let rec = record("two_step", "87", "otp-fail");
    let p = a.prepare_payment(&rec).await.unwrap();
    let Some(ValidationInfo::Validate { authorization_id }) = p.validation_info.clone() else {
        panic!("no validationInfo: {p:?}")
    };
    let rec = learned(rec, &p);
    assert_eq!(
        refused(a.validate_payment(&rec, &authorization_id, "1").await),
        ErrorCode::InvalidCode
    );
    assert_eq!(
        refused(a.validate_payment(&rec, &authorization_id, "2").await),
        ErrorCode::InvalidCode
    );
    assert_eq!(
        refused(a.validate_payment(&rec, &authorization_id, "3").await),
        ErrorCode::ValidationFailed
    );
    assert_eq!(
        a.payment_status(&rec).await.unwrap().status,
        PaymentStatus::Denied
    );
    assert_eq!(sb.charges_for("sb-otp-fail"), 0);
    sb.stop().await;
}

#[tokio::test]
async fn unknown_upstream_ids_are_not_found() {
    let sb = sandbox().await;
    let a = adapter(&sb, SYNC_OP);
    let mut rec = record("one_step", "00", "ghost");
    rec.upstream_id = Some("no-such/payment".into());
    assert_eq!(a.payment_status(&rec).await, Err(AdapterError::NotFound));
    // A confirm of a payment the operator does not know is refused, not a crash.
    assert_eq!(refused(a.confirm_payment(&rec).await), ErrorCode::NotFound);
    sb.stop().await;
}

#[tokio::test]
async fn channel_problems_are_not_sent() {
    let sb = sandbox().await;
    let rec = record("one_step", "00", "unsent");

    // Wrong secret: the token endpoint refuses; the merchant must not see a 401.
    let wrong = factory(
        &settings_for(&sb.base_url(SYNC_OP), "wrong-secret"),
        &UpstreamHttp::new(),
    )
    .unwrap();
    let err = wrong.create_payment(&rec).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::NotSent(m) if !m.contains("wrong-secret")),
        "{err:?}"
    );

    // An operator the sandbox does not simulate (a wrong base_url).
    let err = adapter(&sb, "no-such-operator")
        .create_payment(&rec)
        .await
        .unwrap_err();
    assert!(matches!(err, AdapterError::NotSent(_)), "{err:?}");
    assert_eq!(sb.total_charges(), 0);

    // Nothing listening at all.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let err = adapter_for(&format!("http://{closed}/op"))
        .create_payment(&rec)
        .await
        .unwrap_err();
    assert!(matches!(err, AdapterError::NotSent(_)), "{err:?}");
    sb.stop().await;
}

// ---------------------------------------------------------------- operator notifications

const CHANNEL: &str = "camara-test";
/// Long enough for any scripted delay plus a delivery; only reached when something is broken.
const NOTIFICATION_WAIT: Duration = Duration::from_secs(10);

/// A gateway callback endpoint (the inbox) and the channel's callback settings pointing at it.
async fn callbacks() -> (Inbox, CallbackSettings) {
    let inbox = Inbox::start().await.expect("inbox starts");
    let settings = CallbackSettings {
        url: inbox.url(&format!("/callbacks/{CHANNEL}")),
        key: b"test-callback-key".to_vec(),
    };
    (inbox, settings)
}

fn adapter_with_callbacks(
    sandbox: &SandboxHandle,
    operator: &str,
    callback: &CallbackSettings,
) -> Arc<dyn Adapter> {
    let mut settings = settings_for(&sandbox.base_url(operator), "sandbox-secret");
    settings.callback = Some(callback.clone());
    factory(&settings, &UpstreamHttp::new()).expect("adapter builds")
}

/// What the gateway hands the adapter for a request its `/callbacks/{channel}` received.
fn callback_request(captured: &Captured) -> CallbackRequest {
    CallbackRequest {
        headers: captured.headers.clone(),
        query: captured.query.clone(),
        body: captured.body.clone(),
    }
}

async fn notification(inbox: &mut Inbox) -> Captured {
    inbox
        .next(NOTIFICATION_WAIT)
        .await
        .expect("the operator sent a notification")
}

fn payment_update(notice: CallbackNotice, id: &str) -> UpstreamPayment {
    match notice {
        CallbackNotice::Payment {
            merchant_id,
            payment_id,
            update,
        } => {
            assert_eq!((merchant_id.as_str(), payment_id.as_str()), ("m", id));
            update
        }
        other => panic!("not a payment notice: {other:?}"),
    }
}

fn with_header(captured: &Captured, name: &str, value: Option<&str>) -> CallbackRequest {
    let mut request = callback_request(captured);
    request.headers.retain(|(n, _)| n != name);
    if let Some(value) = value {
        request.headers.push((name.to_owned(), value.to_owned()));
    }
    request
}

#[tokio::test]
async fn payment_notifications_reach_the_callback_and_are_verified() {
    let sb = sandbox().await;
    let (mut inbox, callback) = callbacks().await;
    let a = adapter_with_callbacks(&sb, SYNC_OP, &callback);

    // 86: processing, then succeeded on its own; the operator notifies the sink.
    let rec = record("one_step", "86", "cb-86");
    let created = a.create_payment(&rec).await.unwrap();
    assert_eq!(created.status, PaymentStatus::Processing);
    let got = notification(&mut inbox).await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, format!("/callbacks/{CHANNEL}"));
    assert_eq!(
        got.header("content-type"),
        Some("application/cloudevents+json")
    );
    assert!(got.header("x-correlator").is_some_and(|c| !c.is_empty()));
    let reference = CallbackRef::Payment {
        merchant_id: "m".into(),
        payment_id: "cb-86".into(),
    };
    assert_eq!(got.query, format!("ref={}", reference.encode()));
    let event: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        event["type"],
        "org.camaraproject.carrier-billing.v0.payment-completed"
    );
    assert_eq!(event["specversion"], "1.0");

    let update = payment_update(a.parse_callback(&callback_request(&got)).unwrap(), "cb-86");
    assert_eq!(update.status, PaymentStatus::Succeeded);
    assert_eq!(update.upstream_id, created.upstream_id);
    let status = a.payment_status(&learned(rec, &created)).await.unwrap();
    assert_eq!(update.payment_date, status.payment_date);
    assert!(update.payment_date.is_some());

    // Missing, wrong or non-bearer credentials: unauthenticated.
    for auth in [
        None,
        Some("Bearer not-the-token"),
        Some("Basic Zm9vOmJhcg=="),
    ] {
        assert_eq!(
            a.parse_callback(&with_header(&got, "authorization", auth)),
            Err(CallbackError::Unauthenticated),
            "{auth:?}"
        );
    }

    // 88: denied on its own, with a reason.
    let rec_b = record("one_step", "88", "cb-88");
    a.create_payment(&rec_b).await.unwrap();
    let got_b = notification(&mut inbox).await;
    let update_b = payment_update(
        a.parse_callback(&callback_request(&got_b)).unwrap(),
        "cb-88",
    );
    assert_eq!(update_b.status, PaymentStatus::Denied);
    assert!(update_b.denial_reason.is_some());

    // Payment A's token presented for payment B's reference (and the other way round).
    let a_token = got.header("authorization").map(str::to_owned);
    let mut crossed = with_header(&got_b, "authorization", a_token.as_deref());
    assert_eq!(
        a.parse_callback(&crossed),
        Err(CallbackError::Unauthenticated)
    );
    crossed.body = got.body.clone();
    assert_eq!(
        a.parse_callback(&crossed),
        Err(CallbackError::Unauthenticated)
    );

    // The same channel without callbacks asks for none and reads none.
    let plain = adapter(&sb, SYNC_OP);
    assert_eq!(
        plain.parse_callback(&callback_request(&got)),
        Err(CallbackError::Unsupported)
    );
    let quiet = record("one_step", "86", "cb-quiet");
    let p = plain.create_payment(&quiet).await.unwrap();
    settle(&plain, &learned(quiet, &p), PaymentStatus::Succeeded).await;
    assert!(inbox.next(Duration::from_millis(300)).await.is_none());
    sb.stop().await;
}

#[tokio::test]
async fn two_step_notifications_reserve_expire_and_complete() {
    let sb = sandbox().await;
    let (mut inbox, callback) = callbacks().await;

    // 89 on the sync operator: reserved at once (no notification), then the reservation expires.
    let a = adapter_with_callbacks(&sb, SYNC_OP, &callback);
    let rec = record("two_step", "89", "cb-expire");
    assert_eq!(
        a.prepare_payment(&rec).await.unwrap().status,
        PaymentStatus::Reserved
    );
    let got = notification(&mut inbox).await;
    let update = payment_update(
        a.parse_callback(&callback_request(&got)).unwrap(),
        "cb-expire",
    );
    assert_eq!(update.status, PaymentStatus::Cancelled);

    // The async operator: processing → reserved; confirm → processing → succeeded.
    let b = adapter_with_callbacks(&sb, ASYNC_OP, &callback);
    let rec = record("two_step", "00", "cb-async");
    let p = b.prepare_payment(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Processing);
    let got = notification(&mut inbox).await;
    let reserved = payment_update(
        b.parse_callback(&callback_request(&got)).unwrap(),
        "cb-async",
    );
    assert_eq!(reserved.status, PaymentStatus::Reserved);
    assert_eq!(reserved.upstream_id, p.upstream_id);
    let mut stored = learned(rec, &p);
    stored.status = PaymentStatus::Reserved;
    b.confirm_payment(&stored).await.unwrap();
    let got = notification(&mut inbox).await;
    let done = payment_update(
        b.parse_callback(&callback_request(&got)).unwrap(),
        "cb-async",
    );
    assert_eq!(done.status, PaymentStatus::Succeeded);
    assert!(done.payment_date.is_some());
    assert_eq!(sb.charges_for("sb-cb-async"), 1);
    sb.stop().await;
}

/// A refund of `payment_id` (ids the test's own), partial when `amount` (decimal text) is given.
fn refund_record(payment_id: &str, id: &str, amount: Option<&str>) -> RefundRecord {
    let number =
        |text: &str| -> serde_json::Value { serde_json::from_str(text).expect("a JSON number") };
    let (kind, info) = match amount.map(number) {
        Some(a) => (
            "partial",
            serde_json::json!({"amount": a, "currency": "EUR", "description": "refund"}),
        ),
        None => ("total", serde_json::Value::Null),
    };
    serde_json::from_value(serde_json::json!({
        "id": id, "merchant_id": "m", "payment_id": payment_id, "refund_type": kind,
        "amount": number(amount.unwrap_or("19.99")), "currency": "EUR", "charging_information": info,
        "merchant_identifier": null, "refund_details": null, "reason": null, "client_correlator": null,
        "reference_code": format!("ref-{id}"), "phase": {"phase": "submitting"}, "status": "processing",
        "channel_id": CHANNEL, "upstream_correlator": format!("sb-{id}"), "upstream_id": null,
        "sink": null, "sink_credential": null, "created_at": chrono::Utc::now(),
        "updated_at": chrono::Utc::now(), "refund_date": null, "denial_reason": null, "version": 1,
        "next_check_at": null, "reconcile_attempts": 0, "needs_review": false, "fingerprint": "f"
    }))
    .expect("valid refund record")
}

#[tokio::test]
async fn refund_notifications_reach_the_callback_and_are_verified() {
    let sb = sandbox().await;
    let (mut inbox, callback) = callbacks().await;
    let a = adapter_with_callbacks(&sb, ASYNC_OP, &callback);

    let rec = record("one_step", "00", "cb-paid");
    let p = a.create_payment(&rec).await.unwrap();
    let paid_notice = notification(&mut inbox).await;
    let paid = payment_update(
        a.parse_callback(&callback_request(&paid_notice)).unwrap(),
        "cb-paid",
    );
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    let mut payment = learned(rec, &p);
    payment.status = PaymentStatus::Succeeded;

    // A partial refund of x.13 is denied (later, on the async operator); then a total refund.
    let denied = refund_record("cb-paid", "cb-r-denied", Some("5.13"));
    let r = a.create_refund(&payment, &denied).await.unwrap();
    assert_eq!(r.status, RefundStatus::Processing);
    let got = notification(&mut inbox).await;
    let expected_ref = CallbackRef::Refund {
        merchant_id: "m".into(),
        payment_id: "cb-paid".into(),
        refund_id: "cb-r-denied".into(),
    };
    assert_eq!(got.query, format!("ref={}", expected_ref.encode()));
    match a.parse_callback(&callback_request(&got)).unwrap() {
        CallbackNotice::Refund {
            merchant_id,
            payment_id,
            refund_id,
            update,
        } => {
            assert_eq!(
                (
                    merchant_id.as_str(),
                    payment_id.as_str(),
                    refund_id.as_str()
                ),
                ("m", "cb-paid", "cb-r-denied")
            );
            assert_eq!(update.status, RefundStatus::Denied);
            assert_eq!(update.upstream_id, r.upstream_id);
            assert!(update.denial_reason.is_some());
        }
        other => panic!("not a refund notice: {other:?}"),
    }

    let total = refund_record("cb-paid", "cb-r-total", None);
    let r = a.create_refund(&payment, &total).await.unwrap();
    let got = notification(&mut inbox).await;
    let CallbackNotice::Refund { update, .. } = a.parse_callback(&callback_request(&got)).unwrap()
    else {
        panic!("not a refund notice")
    };
    assert_eq!(update.status, RefundStatus::Succeeded);
    assert_eq!(update.upstream_id, r.upstream_id);
    assert!(update.refund_date.is_some());

    // A refund event presented with the payment's (valid) reference and token: malformed.
    let mut mixed = callback_request(&paid_notice);
    mixed.body = got.body.clone();
    assert!(matches!(
        a.parse_callback(&mixed),
        Err(CallbackError::Malformed(_))
    ));
    // The payment's token on the refund's reference: unauthenticated.
    let token = paid_notice.header("authorization");
    assert_eq!(
        a.parse_callback(&with_header(&got, "authorization", token)),
        Err(CallbackError::Unauthenticated)
    );
    sb.stop().await;
}
