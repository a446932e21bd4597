//! The declarative adapter, configured by the shipped `config/channels/dcb_aggregator_it.toml`,
//! against the sandbox's DCB aggregator (a real in-process HTTP server), not mocks.
//!
//! Timings are short; every wait is a bounded poll, and nothing asserts on durations.

use std::sync::Arc;
use std::time::Duration;

use switchboard_adapter::testing::{channel_file, learned, payment_record, refund_record, settle};
use switchboard_adapter::{
    Adapter, AdapterError, CallbackError, CallbackNotice, CallbackRequest, CallbackSettings,
    Capability, ChannelSettings, UpstreamHttp,
};
use switchboard_adapter_declarative::{check_file, factory};
use switchboard_core::{ErrorCode, PaymentRecord, PaymentStatus, RefundRecord, RefundStatus};
use switchboard_sandbox::testing::start_for_tests as sandbox;
use switchboard_sandbox::{Inbox, SandboxHandle};

const AGGREGATOR: &str = "dcb-it";
const CHANNEL_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../config/channels/dcb_aggregator_it.toml"
);
const NOTIFICATION_WAIT: Duration = Duration::from_secs(10);

/// The shipped channel file, pointed at this sandbox.
fn settings(sb: &SandboxHandle) -> ChannelSettings {
    let mut settings = channel_file(CHANNEL_FILE, "dcb_aggregator_it", sb.base_url(AGGREGATOR));
    settings.timeouts.request_ms = 600;
    settings
}

fn adapter(sb: &SandboxHandle) -> Arc<dyn Adapter> {
    factory(&settings(sb), &UpstreamHttp::new()).expect("adapter builds")
}

/// A stored 1-step payment of EUR 2.50 for the Italian number ending in `digits`.
fn record(digits: &str, id: &str) -> PaymentRecord {
    payment_record(id, &format!("+3934012345{digits}"), "2.5", "EUR")
}

fn refund(payment_id: &str, id: &str, amount: &str) -> RefundRecord {
    refund_record(payment_id, id, amount, "EUR")
}

#[tokio::test]
async fn capabilities_follow_from_the_declared_operations() {
    let sb = sandbox().await;
    let caps = adapter(&sb).capabilities();
    assert!(caps.contains(Capability::Payment) && caps.contains(Capability::PaymentStatus));
    assert!(caps.contains(Capability::Refund));
    assert!(!caps.contains(Capability::TwoStepPayment) && !caps.contains(Capability::Topup));
    sb.stop().await;
}

#[tokio::test]
async fn a_sync_charge_succeeds_once_and_status_agrees() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = record("00", "ok-1");
    let p = a.create_payment(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert!(
        p.upstream_id
            .as_deref()
            .is_some_and(|id| id.starts_with("chg_")),
        "{p:?}"
    );
    assert!(p.payment_date.is_some());
    // A replay with the same key is the same charge.
    assert_eq!(
        a.create_payment(&rec).await.unwrap().upstream_id,
        p.upstream_id
    );
    assert_eq!(
        a.payment_status(&learned(rec, &p))
            .await
            .unwrap()
            .upstream_id,
        p.upstream_id
    );
    assert_eq!(sb.charges_for("sb-ok-1"), 1);
    sb.stop().await;
}

#[tokio::test]
async fn each_scripted_refusal_maps_to_its_camara_code_and_charges_nothing() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    for (digits, code) in [
        ("80", ErrorCode::PaymentDenied),
        ("81", ErrorCode::UnauthorizedAmount),
        ("82", ErrorCode::IdentifierNotFound),
        ("83", ErrorCode::ServiceNotApplicable),
    ] {
        let id = format!("no-{digits}");
        match a.create_payment(&record(digits, &id)).await {
            Err(AdapterError::Refused(e)) => {
                assert_eq!(e.code, code, "{digits}");
                assert!(
                    !e.message.contains("393401234"),
                    "no number in {}",
                    e.message
                );
            }
            other => panic!("{digits}: expected a refusal, got {other:?}"),
        }
        assert_eq!(sb.charges_for(&format!("sb-{id}")), 0);
    }
    sb.stop().await;
}

#[tokio::test]
async fn a_503_is_unknown_and_the_status_query_completes_the_charge_once() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = record("84", "t-84");
    assert!(matches!(
        a.create_payment(&rec).await,
        Err(AdapterError::Unknown(_))
    ));
    assert_eq!(sb.charges_for("sb-t-84"), 0);
    // No record upstream: the status query replays the charge with the same key.
    let p = a.payment_status(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    let again = a.payment_status(&learned(rec, &p)).await.unwrap();
    assert_eq!(again.upstream_id, p.upstream_id);
    assert_eq!(sb.charges_for("sb-t-84"), 1);
    sb.stop().await;
}

#[tokio::test]
async fn a_slow_answer_is_unknown_and_reconciliation_finds_the_one_charge() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = record("85", "slow-85");
    assert!(matches!(
        a.create_payment(&rec).await,
        Err(AdapterError::Unknown(_))
    ));
    let p = a.payment_status(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(sb.charges_for("sb-slow-85"), 1);
    sb.stop().await;
}

#[tokio::test]
async fn pending_charges_settle_by_status_poll() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let ok = record("86", "async-86");
    let p = a.create_payment(&ok).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Processing);
    settle(&a, &learned(ok, &p), PaymentStatus::Succeeded).await;
    assert_eq!(sb.charges_for("sb-async-86"), 1);
    let denied = record("88", "async-88");
    let p = a.create_payment(&denied).await.unwrap();
    let done = settle(&a, &learned(denied, &p), PaymentStatus::Denied).await;
    assert!(done.denial_reason.is_some());
    assert_eq!(sb.charges_for("sb-async-88"), 0);
    sb.stop().await;
}

#[tokio::test]
async fn a_pending_charge_is_settled_by_a_signed_callback() {
    let sb = sandbox().await;
    let mut inbox = Inbox::start().await.expect("inbox starts");
    let mut s = settings(&sb);
    s.callback = Some(CallbackSettings {
        url: inbox.url("/callbacks/dcb_aggregator_it"),
        key: b"test-callback-key".to_vec(),
    });
    let a = factory(&s, &UpstreamHttp::new()).unwrap();
    let created = a.create_payment(&record("86", "cb-86")).await.unwrap();
    assert_eq!(created.status, PaymentStatus::Processing);
    let got = inbox.next(NOTIFICATION_WAIT).await.expect("a notification");
    assert_eq!(got.path, "/callbacks/dcb_aggregator_it");
    let request = CallbackRequest {
        headers: got.headers.clone(),
        query: got.query.clone(),
        body: got.body.clone(),
    };
    match a.parse_callback(&request).unwrap() {
        CallbackNotice::Payment {
            merchant_id,
            payment_id,
            update,
        } => {
            assert_eq!((merchant_id.as_str(), payment_id.as_str()), ("m", "cb-86"));
            assert_eq!(update.status, PaymentStatus::Succeeded);
            assert_eq!(update.upstream_id, created.upstream_id);
        }
        other => panic!("not a payment notice: {other:?}"),
    }
    // A changed body or a missing signature is not believed.
    let mut tampered = request.clone();
    tampered.body = got
        .body
        .iter()
        .copied()
        .map(|b| if b == b'S' { b'F' } else { b })
        .collect();
    assert_eq!(
        a.parse_callback(&tampered),
        Err(CallbackError::Unauthenticated)
    );
    let mut unsigned = request.clone();
    unsigned
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("x-dcb-signature"));
    assert_eq!(
        a.parse_callback(&unsigned),
        Err(CallbackError::Unauthenticated)
    );
    sb.stop().await;
}

#[tokio::test]
async fn a_bad_signature_is_refused_upstream_and_means_not_sent() {
    let sb = sandbox().await;
    let mut s = settings(&sb);
    s.credentials.client_secret = switchboard_core::Secret::new("wrong-secret");
    let a = factory(&s, &UpstreamHttp::new()).unwrap();
    assert!(matches!(
        a.create_payment(&record("00", "sig-1")).await,
        Err(AdapterError::NotSent(_))
    ));
    assert_eq!(sb.charges_for("sb-sig-1"), 0);
    sb.stop().await;
}

#[tokio::test]
async fn refunds_go_through_once_and_are_bounded() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = record("00", "rf-1");
    let p = a.create_payment(&rec).await.unwrap();
    let paid = learned(rec, &p);
    let r = refund("rf-1", "r1", "1.5");
    let done = a.create_refund(&paid, &r).await.unwrap();
    assert_eq!(done.status, RefundStatus::Succeeded);
    assert!(done.upstream_id.is_some());
    let status = a.refund_status(&paid, &r).await.unwrap();
    assert_eq!(status.upstream_id, done.upstream_id);
    // Replayed: the same refund, nothing more refunded; then the remainder is exceeded.
    assert_eq!(
        a.create_refund(&paid, &r).await.unwrap().upstream_id,
        done.upstream_id
    );
    match a.create_refund(&paid, &refund("rf-1", "r2", "1.5")).await {
        Err(AdapterError::Refused(e)) => assert_eq!(e.code, ErrorCode::RefundUnauthorizedAmount),
        other => panic!("expected a refusal, got {other:?}"),
    }
    sb.stop().await;
}

#[test]
fn the_shipped_channel_file_loads_and_a_wrong_field_names_file_and_field() {
    let spec = check_file(std::path::Path::new(CHANNEL_FILE)).expect("the shipped file is valid");
    assert!(spec.capabilities().contains(Capability::Refund));
    let dir = std::env::temp_dir().join(format!("sb-declarative-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(CHANNEL_FILE).unwrap();
    let cases = [
        (
            "amount_unit = \"minor\"",
            "amount_units = \"minor\"",
            "options.operations.create.response.amount_unit",
        ),
        (
            "{phone.digitz}",
            "{phone.digits}",
            "options.operations.create.body.msisdn",
        ),
        ("status = \"5yy\"", "status = \"5xx\"", "options.errors"),
        ("[options.statusez]", "[options.statuses]", "statusez"),
    ];
    for (i, (wrong, right, field)) in cases.iter().enumerate() {
        let broken = text.replacen(right, wrong, 1);
        assert!(broken != text, "case {i} changes the file");
        let path = dir.join(format!("broken_{i}.toml"));
        std::fs::write(&path, broken).unwrap();
        let err = check_file(&path).expect_err("a broken file is refused");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains(field), "case {i}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
