//! The Ideabiz adapter against the real sandbox platform (an in-process HTTP server), not mocks.
//!
//! Timings are short; every wait is a bounded poll or a sleep past a token's lifetime, and nothing
//! asserts on durations.

use std::sync::Arc;
use std::time::Duration;

use switchboard_adapter::testing::{learned, payment_record, refused, settle};
use switchboard_adapter::{
    Adapter, AdapterError, CallbackError, CallbackNotice, CallbackRef, CallbackRequest,
    CallbackSettings, ChannelSettings, UpstreamHttp, UpstreamPayment,
};
use switchboard_adapter_ideabiz::{factory, KIND};
use switchboard_core::{ErrorCode, PaymentRecord, PaymentStatus};
use switchboard_sandbox::testing::test_config;
use switchboard_sandbox::{start, Captured, IdeabizPlatform, Inbox, SandboxConfig, SandboxHandle};

const PLATFORM: &str = "dialog-lk";

fn config(platform: IdeabizPlatform) -> SandboxConfig {
    let mut config = test_config();
    config.ideabiz = vec![platform];
    config
}

async fn sandbox_with(platform: IdeabizPlatform) -> SandboxHandle {
    start(config(platform)).await.expect("sandbox starts")
}

async fn sandbox() -> SandboxHandle {
    sandbox_with(IdeabizPlatform::with_defaults(PLATFORM)).await
}

fn settings_for(base_url: &str, consumer_secret: &str, password: &str) -> ChannelSettings {
    serde_json::from_value(serde_json::json!({
        "id": "ideabiz-test", "adapter": KIND, "base_url": base_url,
        "credentials": {"client_id": "sandbox-key", "client_secret": consumer_secret},
        "operators": ["dialog-lk"], "capabilities": ["payment", "payment_status"],
        "timeouts": {"connect_ms": 500, "request_ms": 500},
        "options": {"username": "sandbox-user", "password": password, "scope": "PRODUCTION",
            "service_id": "switchboard-test"}
    }))
    .expect("valid channel settings")
}

fn adapter_for(base_url: &str) -> Arc<dyn Adapter> {
    factory(
        &settings_for(base_url, "sandbox-secret", "sandbox-pass"),
        &UpstreamHttp::new(),
    )
    .expect("adapter builds")
}

fn adapter(sandbox: &SandboxHandle) -> Arc<dyn Adapter> {
    adapter_for(&sandbox.base_url(PLATFORM))
}

/// A stored 1-step payment of LKR 100 for the Sri Lankan number ending in `digits` (the
/// sandbox's script).
fn record(digits: &str, id: &str) -> PaymentRecord {
    payment_record(id, &format!("+947771234{digits}"), "100", "LKR")
}

/// Password grants so far (token pairs issued minus the refreshes).
fn logins(sb: &SandboxHandle) -> u32 {
    sb.token_requests(PLATFORM) - sb.refresh_grants(PLATFORM)
}

#[tokio::test]
async fn a_charge_succeeds_and_status_queries_agree() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = record("00", "ok-1");
    let p = a.create_payment(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert!(p.upstream_id.is_some() && p.payment_date.is_some(), "{p:?}");
    assert_eq!(p.server_reference_code.as_deref(), Some("ref-ok-1-serv"));
    assert_eq!(sb.charges_for("sb-ok-1"), 1);

    // By id, and by clientCorrelator when the id is not known.
    assert_eq!(
        a.payment_status(&learned(rec.clone(), &p)).await.unwrap(),
        p
    );
    assert_eq!(a.payment_status(&rec).await.unwrap(), p);
    assert_eq!(sb.charges_for("sb-ok-1"), 1);
    assert_eq!(sb.total_charges(), 1);

    // Ideabiz is 1-step only.
    assert!(matches!(
        a.prepare_payment(&rec).await,
        Err(AdapterError::Unsupported(_))
    ));
    assert_eq!(sb.token_requests(PLATFORM), 1);
    sb.stop().await;
}

#[tokio::test]
async fn scripted_refusals_map_to_camara_codes() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let cases = [
        ("80", ErrorCode::PaymentDenied, 403, "barred"),
        (
            "81",
            ErrorCode::UnauthorizedAmount,
            422,
            "insufficient credit",
        ),
        (
            "82",
            ErrorCode::IdentifierNotFound,
            404,
            "Invalid account details",
        ),
        ("83", ErrorCode::PaymentDenied, 403, "Not authorized"),
    ];
    for (digits, code, status, wording) in cases {
        let rec = record(digits, &format!("no-{digits}"));
        let (got, message) = refused(a.create_payment(&rec).await);
        assert_eq!((got, got.status()), (code, status), "{digits}");
        assert!(message.contains(wording), "{digits}: {message}");
        assert!(!message.contains("777123"), "phone number in {message}");
        // No upstream id: the status query finds nothing, sends the charge again and is refused again.
        assert_eq!(refused(a.payment_status(&rec).await).0, code, "{digits}");
    }
    assert_eq!(sb.total_charges(), 0);
    sb.stop().await;
}

#[tokio::test]
async fn a_502_is_unknown_and_the_status_query_completes_the_charge_once() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = record("84", "flaky-1");
    let err = a.create_payment(&rec).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::Unknown(m) if m.contains("SERVER_ERROR")),
        "{err:?}"
    );
    assert_eq!(sb.charges_for("sb-flaky-1"), 0);

    let p = a.payment_status(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(sb.charges_for("sb-flaky-1"), 1);
    // Asked again, with or without the id: the same payment, no second charge.
    assert_eq!(
        a.payment_status(&rec).await.unwrap().upstream_id,
        p.upstream_id
    );
    assert_eq!(
        a.payment_status(&learned(rec.clone(), &p))
            .await
            .unwrap()
            .upstream_id,
        p.upstream_id
    );
    assert_eq!(
        a.create_payment(&rec).await.unwrap().upstream_id,
        p.upstream_id
    );
    assert_eq!(sb.charges_for("sb-flaky-1"), 1, "never charged twice");
    sb.stop().await;
}

#[tokio::test]
async fn a_timed_out_charge_is_found_by_status_without_a_second_charge() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = record("85", "slow-1");
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
async fn processing_charges_settle_by_status_query() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = record("86", "async-86");
    let p = a.create_payment(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Processing);
    assert_eq!(p.payment_date, None);
    let done = settle(&a, &learned(rec, &p), PaymentStatus::Succeeded).await;
    assert!(done.payment_date.is_some());
    assert_eq!(sb.charges_for("sb-async-86"), 1);

    let rec = record("88", "async-88");
    let p = a.create_payment(&rec).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Processing);
    settle(&a, &learned(rec, &p), PaymentStatus::Denied).await;
    assert_eq!(sb.charges_for("sb-async-88"), 0);
    sb.stop().await;
}

#[tokio::test]
async fn a_repeated_client_correlator_never_double_charges() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let rec = record("00", "dup-1");
    let first = a.create_payment(&rec).await.unwrap();
    // The platform answers 409; the adapter reads the existing payment instead.
    let second = a.create_payment(&rec).await.unwrap();
    assert_eq!(second.upstream_id, first.upstream_id);
    assert_eq!(second.status, PaymentStatus::Succeeded);

    // Concurrent submissions of one payment: one charge, every caller sees it.
    let rec = record("01", "dup-race");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (a, rec) = (a.clone(), rec.clone());
        tasks.push(tokio::spawn(async move { a.create_payment(&rec).await }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let p = t.await.unwrap().expect("created or read back");
        assert_eq!(p.status, PaymentStatus::Succeeded);
        ids.push(p.upstream_id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(sb.charges_for("sb-dup-1"), 1);
    assert_eq!(sb.charges_for("sb-dup-race"), 1);
    assert_eq!(sb.total_charges(), 2);
    sb.stop().await;
}

#[tokio::test]
async fn fetch_token_logs_in_once_and_refuses_wrong_credentials() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    a.fetch_token().await.expect("the password grant succeeds");
    a.fetch_token().await.expect("the cached pair is reused");
    assert_eq!(logins(&sb), 1, "one login for both");
    let wrong = factory(
        &settings_for(&sb.base_url(PLATFORM), "sandbox-secret", "not-the-password"),
        &UpstreamHttp::new(),
    )
    .expect("adapter builds");
    let refused = wrong.fetch_token().await.expect_err("a wrong password");
    assert!(
        matches!(refused, AdapterError::NotSent(_)),
        "our credentials' problem, not the merchant's: {refused:?}"
    );
    sb.stop().await;
}

#[tokio::test]
async fn twenty_concurrent_first_calls_share_one_login() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            a.create_payment(&record(&format!("{:02}", i), &format!("sf-{i}")))
                .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().status, PaymentStatus::Succeeded);
    }
    assert_eq!(sb.token_requests(PLATFORM), 1);
    assert_eq!(sb.total_charges(), 20);
    sb.stop().await;
}

#[tokio::test]
async fn concurrent_callers_after_a_revocation_share_one_refresh() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    a.create_payment(&record("00", "rv-0")).await.unwrap();
    sb.revoke_access_tokens(PLATFORM);
    let mut tasks = Vec::new();
    for i in 1..=20 {
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            a.create_payment(&record(&format!("{i:02}"), &format!("rv-{i}")))
                .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().status, PaymentStatus::Succeeded);
    }
    // Twenty callers met the revoked token; one refresh rotated the pair for all of them.
    assert_eq!((logins(&sb), sb.refresh_grants(PLATFORM)), (1, 1));
    assert_eq!(sb.total_charges(), 21);
    sb.stop().await;
}

#[tokio::test]
async fn expiring_tokens_are_refreshed_and_the_pair_rotates() {
    let sb = sandbox_with(IdeabizPlatform {
        token_ttl_secs: 2,
        ..IdeabizPlatform::with_defaults(PLATFORM)
    })
    .await;
    let a = adapter(&sb);
    a.create_payment(&record("00", "exp-0")).await.unwrap();
    assert_eq!((logins(&sb), sb.refresh_grants(PLATFORM)), (1, 0));
    for round in 1..=2 {
        // Past the token's lifetime: the next call renews with the latest refresh token. Had the
        // adapter kept a rotated-away refresh token, the grant would fail and it would log in.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let p = a
            .create_payment(&record(&format!("{round:02}"), &format!("exp-{round}")))
            .await
            .unwrap();
        assert_eq!(p.status, PaymentStatus::Succeeded);
        assert_eq!(sb.refresh_grants(PLATFORM), round, "round {round}");
        assert_eq!(logins(&sb), 1, "round {round}: no new login");
    }
    assert_eq!(sb.total_charges(), 3);
    sb.stop().await;
}

#[tokio::test]
async fn a_401_renews_the_pair_and_retries_once() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    a.create_payment(&record("00", "r401-0")).await.unwrap();

    // The platform revokes the access token: 401, one refresh grant, the call again.
    sb.revoke_access_tokens(PLATFORM);
    let p = a.create_payment(&record("01", "r401-1")).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!((logins(&sb), sb.refresh_grants(PLATFORM)), (1, 1));
    assert_eq!(sb.charges_for("sb-r401-1"), 1);

    // Refresh token gone too: the refresh grant fails and the adapter logs in again.
    sb.revoke_access_tokens(PLATFORM);
    sb.revoke_refresh_tokens(PLATFORM);
    let p = a.create_payment(&record("02", "r401-2")).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!((logins(&sb), sb.refresh_grants(PLATFORM)), (2, 1));
    assert_eq!(sb.charges_for("sb-r401-2"), 1);
    assert_eq!(sb.total_charges(), 3);
    sb.stop().await;
}

#[tokio::test]
async fn a_second_401_is_not_sent_and_retried_only_once() {
    // Tokens die at once: the call, one renewal, the call again, and then give up.
    let sb = sandbox_with(IdeabizPlatform {
        token_ttl_secs: 0,
        ..IdeabizPlatform::with_defaults(PLATFORM)
    })
    .await;
    let a = adapter(&sb);
    let err = a.create_payment(&record("00", "dead")).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::NotSent(m) if m.contains("access token")),
        "{err:?}"
    );
    assert_eq!(sb.token_requests(PLATFORM), 2, "one login, one renewal");
    assert_eq!(sb.total_charges(), 0);
    sb.stop().await;
}

#[tokio::test]
async fn unknown_payment_ids_are_not_found() {
    let sb = sandbox().await;
    let a = adapter(&sb);
    let mut rec = record("00", "ghost");
    rec.upstream_id = Some("NO/SUCH?PAYMENT".into());
    assert_eq!(a.payment_status(&rec).await, Err(AdapterError::NotFound));
    assert_eq!(sb.total_charges(), 0);
    sb.stop().await;
}

#[tokio::test]
async fn channel_problems_are_not_sent() {
    let sb = sandbox().await;
    let rec = record("00", "unsent");
    let base = sb.base_url(PLATFORM);
    for (secret, password) in [
        ("wrong-secret", "sandbox-pass"),
        ("sandbox-secret", "wrong-pass"),
    ] {
        let a = factory(&settings_for(&base, secret, password), &UpstreamHttp::new()).unwrap();
        let err = a.create_payment(&rec).await.unwrap_err();
        assert!(
            matches!(&err, AdapterError::NotSent(m) if !m.contains("wrong")),
            "{err:?}"
        );
    }

    // A platform the sandbox does not simulate (a wrong base_url), and a CAMARA operator's root.
    for wrong in ["no-such-platform", "movistar-es"] {
        let err = adapter_for(&sb.base_url(wrong))
            .create_payment(&rec)
            .await
            .unwrap_err();
        assert!(matches!(err, AdapterError::NotSent(_)), "{wrong}: {err:?}");
    }
    assert_eq!(sb.total_charges(), 0);

    // Nothing listening at all.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let err = adapter_for(&format!("http://{closed}/{PLATFORM}"))
        .create_payment(&rec)
        .await
        .unwrap_err();
    assert!(matches!(err, AdapterError::NotSent(_)), "{err:?}");
    sb.stop().await;
}

// ---------------------------------------------------------------- platform notifications

/// Long enough for the scripted delay plus a delivery; only reached when something is broken.
const NOTIFICATION_WAIT: Duration = Duration::from_secs(10);

/// A gateway callback endpoint (the inbox) and an adapter whose channel points the platform at it.
async fn adapter_with_callbacks(sb: &SandboxHandle) -> (Inbox, Arc<dyn Adapter>) {
    let inbox = Inbox::start().await.expect("inbox starts");
    let mut settings = settings_for(&sb.base_url(PLATFORM), "sandbox-secret", "sandbox-pass");
    settings.callback = Some(CallbackSettings {
        url: inbox.url("/callbacks/ideabiz-test"),
        key: b"test-callback-key".to_vec(),
    });
    let adapter = factory(&settings, &UpstreamHttp::new()).expect("adapter builds");
    (inbox, adapter)
}

fn callback_request(captured: &Captured) -> CallbackRequest {
    CallbackRequest {
        headers: captured.headers.clone(),
        query: captured.query.clone(),
        body: captured.body.clone(),
    }
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

#[tokio::test]
async fn a_charge_settled_later_is_notified_to_the_callback_and_verified() {
    let sb = sandbox().await;
    let (mut inbox, a) = adapter_with_callbacks(&sb).await;

    // 86: the platform answers `processing` (Switchboard: processing), charges later, and notifies.
    let rec = record("86", "cb-86");
    let created = a.create_payment(&rec).await.unwrap();
    assert_eq!(created.status, PaymentStatus::Processing);
    let got = inbox.next(NOTIFICATION_WAIT).await.expect("a notification");
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/callbacks/ideabiz-test");
    let reference = CallbackRef::Payment {
        merchant_id: "m".into(),
        payment_id: "cb-86".into(),
    };
    assert_eq!(got.query, format!("ref={}", reference.encode()));
    assert_eq!(got.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        body["amountTransaction"]["transactionOperationStatus"],
        "Charged"
    );
    assert!(body.get("webhook").is_none(), "the token is not echoed");

    let update = payment_update(a.parse_callback(&callback_request(&got)).unwrap(), "cb-86");
    assert_eq!(update.status, PaymentStatus::Succeeded);
    assert_eq!(update.upstream_id, created.upstream_id);
    // The notification says what a status query says.
    let status = a.payment_status(&learned(rec, &created)).await.unwrap();
    assert_eq!(update, status);
    assert_eq!(sb.charges_for("sb-cb-86"), 1);

    // Missing or wrong token: unauthenticated.
    let mut missing = callback_request(&got);
    missing.headers.retain(|(n, _)| n != "authorization");
    assert_eq!(
        a.parse_callback(&missing),
        Err(CallbackError::Unauthenticated)
    );
    let mut wrong = missing.clone();
    wrong
        .headers
        .push(("authorization".into(), "Bearer wrong".into()));
    assert_eq!(
        a.parse_callback(&wrong),
        Err(CallbackError::Unauthenticated)
    );

    // 88: denied later, with the platform's reason.
    let rec_b = record("88", "cb-88");
    a.create_payment(&rec_b).await.unwrap();
    let got_b = inbox.next(NOTIFICATION_WAIT).await.expect("a notification");
    let update_b = payment_update(
        a.parse_callback(&callback_request(&got_b)).unwrap(),
        "cb-88",
    );
    assert_eq!(update_b.status, PaymentStatus::Denied);
    assert!(update_b.denial_reason.is_some());
    assert_eq!(sb.charges_for("sb-cb-88"), 0);

    // Payment A's token presented for payment B's reference.
    let mut crossed = callback_request(&got_b);
    crossed.headers = got.headers.clone();
    assert_eq!(
        a.parse_callback(&crossed),
        Err(CallbackError::Unauthenticated)
    );

    // Charged at once: nothing to notify. Without callbacks: no webhook, nothing read.
    let sync = record("00", "cb-00");
    assert_eq!(
        a.create_payment(&sync).await.unwrap().status,
        PaymentStatus::Succeeded
    );
    let plain = adapter(&sb);
    assert_eq!(
        plain.parse_callback(&callback_request(&got)),
        Err(CallbackError::Unsupported)
    );
    let quiet = record("86", "cb-quiet");
    let p = plain.create_payment(&quiet).await.unwrap();
    settle(&plain, &learned(quiet, &p), PaymentStatus::Succeeded).await;
    assert!(inbox.next(Duration::from_millis(300)).await.is_none());
    sb.stop().await;
}
