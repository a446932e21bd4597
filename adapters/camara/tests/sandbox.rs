//! The CAMARA adapter against the real sandbox (an in-process HTTP server), not mocks.
//!
//! Timings are short; every wait is a bounded poll, and nothing asserts on durations.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use switchboard_adapter::{Adapter, AdapterError, ChannelSettings, UpstreamHttp, UpstreamPayment};
use switchboard_adapter_camara::{factory, KIND};
use switchboard_core::{ErrorCode, PaymentRecord, PaymentStatus, ValidationInfo};
use switchboard_sandbox::{start, SandboxConfig, SandboxHandle, Timings};

const SYNC_OP: &str = "movistar-es";
const ASYNC_OP: &str = "telekom-de";
const VALID_OTP: &str = "123456";

fn config(listen: SocketAddr) -> SandboxConfig {
    let mut config = SandboxConfig::with_default_operators(listen);
    config.timings = Timings {
        async_delay_ms: 200,
        reservation_ttl_ms: 300,
        slow_ms: 1500,
        token_ttl_secs: 3600,
    };
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
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "payment_date": null, "denial_reason": null, "fingerprint": "f", "needs_review": false
    }))
    .expect("valid record")
}

/// What the gateway would store after an answer.
fn learned(mut record: PaymentRecord, answer: &UpstreamPayment) -> PaymentRecord {
    record.upstream_id = answer.upstream_id.clone();
    record.status = answer.status;
    record
}

/// Polls the status until it is `want` (bounded: a few seconds at most).
async fn settle(
    adapter: &Arc<dyn Adapter>,
    record: &PaymentRecord,
    want: PaymentStatus,
) -> UpstreamPayment {
    let mut last = None;
    for _ in 0..100 {
        let answer = adapter
            .payment_status(record)
            .await
            .expect("status query works");
        if answer.status == want {
            return answer;
        }
        last = Some(answer.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "payment {} never reached {want}; last seen {last:?}",
        record.id
    );
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
