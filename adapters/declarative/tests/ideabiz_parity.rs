//! Dialog LK's Ideabiz-style channel two ways: the hand-written `ideabiz` adapter with the shipped
//! `config/channels/dialog_lk_ideabiz.toml`, and the declarative adapter with
//! `adapters/declarative/examples/dialog_lk_ideabiz.toml`. One table of scenarios runs against
//! both on a real sandbox platform; both must give the table's results, and the same results as
//! each other (statuses, error codes and messages, amounts the platform notified, charges counted
//! by the sandbox).

use std::sync::Arc;
use std::time::Duration;

use switchboard_adapter::testing::{channel_file, learned, payment_record};
use switchboard_adapter::{
    Adapter, AdapterError, CallbackNotice, CallbackRequest, CallbackSettings, ChannelSettings,
    UpstreamHttp, UpstreamPayment,
};
use switchboard_core::{ErrorCode, PaymentRecord, PaymentStatus};
use switchboard_sandbox::testing::test_config;
use switchboard_sandbox::{start, IdeabizPlatform, Inbox, SandboxConfig, SandboxHandle};

const PLATFORM: &str = "dialog-lk";
const HAND_WRITTEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../config/channels/dialog_lk_ideabiz.toml"
);
const DECLARATIVE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/dialog_lk_ideabiz.toml"
);
/// The amount every scenario charges (with decimals, so both write them the same way).
const AMOUNT: &str = "12.5";
const NOTIFICATION_WAIT: Duration = Duration::from_secs(10);

/// One channel under test, on its own sandbox (so the platform's counters are its alone).
struct Channel {
    file: &'static str,
    sandbox: SandboxHandle,
    adapter: Arc<dyn Adapter>,
    inbox: Inbox,
}

async fn channel(file: &'static str) -> Channel {
    channel_on(file, test_config(), |_| {}).await
}

/// `file`'s channel on a sandbox started with `config`, its settings changed by `change`.
async fn channel_on(
    file: &'static str,
    config: SandboxConfig,
    change: impl FnOnce(&mut ChannelSettings),
) -> Channel {
    let sandbox = start(config).await.expect("sandbox starts");
    let inbox = Inbox::start().await.expect("inbox starts");
    let mut settings = channel_file(file, "dialog_lk_ideabiz", sandbox.base_url(PLATFORM));
    // Below the sandbox's slow answer (1.5 s), so 85 times out.
    settings.timeouts.request_ms = 600;
    settings.callback = Some(CallbackSettings {
        url: inbox.url("/callbacks/dialog_lk_ideabiz"),
        key: b"parity-callback-key".to_vec(),
    });
    change(&mut settings);
    let adapter = match settings.adapter.as_str() {
        switchboard_adapter_ideabiz::KIND => {
            switchboard_adapter_ideabiz::factory(&settings, &UpstreamHttp::new())
        }
        switchboard_adapter_declarative::KIND => {
            switchboard_adapter_declarative::factory(&settings, &UpstreamHttp::new())
        }
        other => panic!("{file}: unexpected adapter {other}"),
    }
    .expect("adapter builds");
    Channel {
        file,
        sandbox,
        adapter,
        inbox,
    }
}

async fn both() -> [Channel; 2] {
    [channel(HAND_WRITTEN).await, channel(DECLARATIVE).await]
}

/// What a merchant could tell apart in an answer: no upstream ids (each sandbox makes its own).
#[derive(Debug, Clone, PartialEq)]
enum View {
    Payment {
        status: PaymentStatus,
        dated: bool,
        server_reference: Option<String>,
        denial_reason: Option<String>,
    },
    /// A notification, with the amount the platform recorded.
    Notified {
        status: PaymentStatus,
        amount: String,
    },
    Refused {
        code: ErrorCode,
        http: u16,
        message: String,
    },
    Unknown,
    NotSent,
    NotFound,
}

impl View {
    fn of(result: &Result<UpstreamPayment, AdapterError>) -> View {
        match result {
            Ok(p) => View::Payment {
                status: p.status,
                dated: p.payment_date.is_some(),
                server_reference: p.server_reference_code.clone(),
                denial_reason: p.denial_reason.clone(),
            },
            Err(AdapterError::Refused(e)) => View::Refused {
                code: e.code,
                http: e.code.status(),
                message: e.message.clone(),
            },
            Err(AdapterError::Unknown(_)) => View::Unknown,
            Err(AdapterError::NotSent(_)) => View::NotSent,
            Err(AdapterError::NotFound) => View::NotFound,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    /// The table's short form.
    fn want(&self) -> Want {
        match self {
            View::Payment { status, .. } | View::Notified { status, .. } => Want::Is(*status),
            View::Refused { code, .. } => Want::Refused(*code),
            View::Unknown => Want::Unknown,
            View::NotSent | View::NotFound => Want::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Is(PaymentStatus),
    Refused(ErrorCode),
    Unknown,
    Other,
}

#[derive(Debug, Clone, Copy)]
enum Step {
    /// `create_payment` (again, when it is not the first step: a merchant's or gateway's retry).
    Create,
    /// One `payment_status` query.
    Status,
    /// Status queries until the status is the one wanted (bounded).
    Settle,
    /// The platform's notification, read by `parse_callback`.
    Notified,
}

struct Case {
    name: &'static str,
    /// The last two digits of the subscriber (the sandbox's script).
    digits: &'static str,
    steps: &'static [(Step, Want)],
    /// Charges the sandbox counted for the payment at the end.
    charges: u32,
}

use PaymentStatus::{Denied, Processing, Succeeded};
use Step::{Create, Notified, Settle, Status};
use Want::{Is, Refused, Unknown};

const CASES: &[Case] = &[
    Case {
        name: "sync success, then status and a retried create",
        digits: "00",
        steps: &[
            (Create, Is(Succeeded)),
            (Status, Is(Succeeded)),
            (Create, Is(Succeeded)),
        ],
        charges: 1,
    },
    Case {
        name: "80: barred",
        digits: "80",
        steps: &[
            (Create, Refused(ErrorCode::PaymentDenied)),
            (Status, Refused(ErrorCode::PaymentDenied)),
        ],
        charges: 0,
    },
    Case {
        name: "81: insufficient credit",
        digits: "81",
        steps: &[
            (Create, Refused(ErrorCode::UnauthorizedAmount)),
            (Status, Refused(ErrorCode::UnauthorizedAmount)),
        ],
        charges: 0,
    },
    Case {
        name: "82: invalid account",
        digits: "82",
        steps: &[
            (Create, Refused(ErrorCode::IdentifierNotFound)),
            (Status, Refused(ErrorCode::IdentifierNotFound)),
        ],
        charges: 0,
    },
    Case {
        name: "83: not authorized",
        digits: "83",
        steps: &[
            (Create, Refused(ErrorCode::PaymentDenied)),
            (Status, Refused(ErrorCode::PaymentDenied)),
        ],
        charges: 0,
    },
    Case {
        name: "84: 502, the status query completes the charge once",
        digits: "84",
        steps: &[
            (Create, Unknown),
            (Status, Is(Succeeded)),
            (Status, Is(Succeeded)),
            (Create, Is(Succeeded)),
        ],
        charges: 1,
    },
    Case {
        name: "85: slow answer, found by status without a second charge",
        digits: "85",
        steps: &[
            (Create, Unknown),
            (Status, Is(Succeeded)),
            (Create, Is(Succeeded)),
        ],
        charges: 1,
    },
    Case {
        name: "86: processing, then charged (notified and polled)",
        digits: "86",
        steps: &[
            (Create, Is(Processing)),
            (Notified, Is(Succeeded)),
            (Settle, Is(Succeeded)),
        ],
        charges: 1,
    },
    Case {
        name: "88: processing, then denied (notified and polled)",
        digits: "88",
        steps: &[
            (Create, Is(Processing)),
            (Notified, Is(Denied)),
            (Settle, Is(Denied)),
        ],
        charges: 0,
    },
];

fn record(case: &Case) -> PaymentRecord {
    let id = format!("parity-{}", case.digits);
    payment_record(&id, &format!("+947771234{}", case.digits), AMOUNT, "LKR")
}

async fn notified(ch: &mut Channel, id: &str) -> View {
    let got = ch
        .inbox
        .next(NOTIFICATION_WAIT)
        .await
        .unwrap_or_else(|| panic!("{}: no notification", ch.file));
    let request = CallbackRequest {
        headers: got.headers.clone(),
        query: got.query.clone(),
        body: got.body.clone(),
    };
    let body: serde_json::Value = serde_json::from_slice(&got.body).expect("JSON notification");
    let amount =
        body["amountTransaction"]["paymentAmount"]["chargingInformation"]["amount"].to_string();
    match ch.adapter.parse_callback(&request) {
        Ok(CallbackNotice::Payment {
            payment_id, update, ..
        }) => {
            assert_eq!(payment_id, id, "{}", ch.file);
            View::Notified {
                status: update.status,
                amount,
            }
        }
        other => panic!("{}: {other:?}", ch.file),
    }
}

async fn settle(a: &Arc<dyn Adapter>, rec: &PaymentRecord, want: Want) -> View {
    let mut view = View::Unknown;
    for _ in 0..100 {
        view = View::of(&a.payment_status(rec).await);
        if view.want() == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    view
}

/// Runs `case` on `ch`: the view of every step, and the charges counted.
async fn run(ch: &mut Channel, case: &Case) -> (Vec<View>, u32) {
    let mut rec = record(case);
    let mut views = Vec::new();
    let mut upstream_id = None;
    for (step, want) in case.steps {
        let (view, answer) = match step {
            Create => {
                let r = ch.adapter.create_payment(&rec).await;
                (View::of(&r), r.ok())
            }
            Status => {
                let r = ch.adapter.payment_status(&rec).await;
                (View::of(&r), r.ok())
            }
            Settle => (settle(&ch.adapter, &rec, *want).await, None),
            Notified => (notified(ch, &rec.id).await, None),
        };
        if let Some(answer) = answer {
            // The same upstream payment throughout: a retry or a query never makes another.
            match &upstream_id {
                None => upstream_id = answer.upstream_id.clone(),
                Some(id) => assert_eq!(answer.upstream_id.as_ref(), Some(id), "{}", ch.file),
            }
            rec = learned(rec, &answer);
        }
        assert_eq!(
            view.want(),
            *want,
            "{}: {}: {step:?} gave {view:?}",
            ch.file,
            case.name
        );
        views.push(view);
    }
    (views, ch.sandbox.charges_for(&rec.upstream_correlator))
}

#[tokio::test]
async fn the_ideabiz_scenarios_give_the_same_results_by_hand_and_by_data() {
    let mut channels = both().await;
    assert_eq!(
        channels[0].adapter.capabilities(),
        channels[1].adapter.capabilities()
    );
    for case in CASES {
        let mut seen = Vec::new();
        for ch in channels.iter_mut() {
            let (views, charges) = run(ch, case).await;
            assert_eq!(charges, case.charges, "{}: {}", ch.file, case.name);
            seen.push(views);
        }
        assert_eq!(
            seen[0], seen[1],
            "{}: hand-written vs declarative",
            case.name
        );
        // The platform recorded the amount as sent, to the decimal.
        for view in &seen[0] {
            if let View::Notified { amount, .. } = view {
                assert_eq!(amount, AMOUNT, "{}", case.name);
            }
        }
    }
    for ch in channels {
        let expected: u32 = CASES.iter().map(|c| c.charges).sum();
        assert_eq!(ch.sandbox.total_charges(), expected, "{}", ch.file);
        ch.sandbox.stop().await;
    }
}

/// Password grants so far, and refresh grants.
fn grants(sb: &SandboxHandle) -> (u32, u32) {
    let refreshes = sb.refresh_grants(PLATFORM);
    (sb.token_requests(PLATFORM) - refreshes, refreshes)
}

#[tokio::test]
async fn tokens_are_refreshed_and_rotated_the_same_way() {
    for ch in both().await {
        let pay = |n: u32| {
            let id = format!("tok-{n}");
            payment_record(&id, &format!("+9477712345{n:02}"), AMOUNT, "LKR")
        };
        let first = ch.adapter.create_payment(&pay(1)).await.unwrap();
        assert_eq!(first.status, Succeeded);
        assert_eq!(grants(&ch.sandbox), (1, 0), "{}: one login", ch.file);
        // Revoked access token: a 401, one refresh grant (the pair rotates), the call once more.
        for round in 1..=2 {
            ch.sandbox.revoke_access_tokens(PLATFORM);
            let p = ch.adapter.create_payment(&pay(1 + round)).await.unwrap();
            assert_eq!(p.status, Succeeded);
            // Round 2 refreshes with the token round 1 received: had the old one been kept, the
            // grant would fail and the adapter would log in again.
            assert_eq!(
                grants(&ch.sandbox),
                (1, round),
                "{}: round {round}",
                ch.file
            );
        }
        // Both revoked: the refresh grant fails, and the adapter logs in with the password.
        ch.sandbox.revoke_access_tokens(PLATFORM);
        ch.sandbox.revoke_refresh_tokens(PLATFORM);
        assert_eq!(
            ch.adapter.create_payment(&pay(4)).await.unwrap().status,
            Succeeded
        );
        assert_eq!(grants(&ch.sandbox), (2, 2), "{}", ch.file);
        assert_eq!(
            ch.sandbox.total_charges(),
            4,
            "{}: each charged once",
            ch.file
        );
        ch.sandbox.stop().await;
    }
}

#[tokio::test]
async fn channel_problems_are_not_sent_the_same_way() {
    for file in [HAND_WRITTEN, DECLARATIVE] {
        // A wrong consumer secret: the token endpoint refuses, nothing is charged.
        let wrong = channel_on(file, test_config(), |s| {
            s.credentials.client_secret = switchboard_core::Secret::new("wrong-secret");
        })
        .await;
        let rec = payment_record("bad-secret", "+94777123400", AMOUNT, "LKR");
        let view = View::of(&wrong.adapter.create_payment(&rec).await);
        assert_eq!(view, View::NotSent, "{file}");
        assert_eq!(wrong.sandbox.total_charges(), 0, "{file}");
        wrong.sandbox.stop().await;

        // Tokens that die at once: the call, one renewal, the call again, then give up.
        let mut config = test_config();
        config.ideabiz = vec![IdeabizPlatform {
            token_ttl_secs: 0,
            ..IdeabizPlatform::with_defaults(PLATFORM)
        }];
        let dead = channel_on(file, config, |_| {}).await;
        let rec = payment_record("dead-token", "+94777123400", AMOUNT, "LKR");
        let view = View::of(&dead.adapter.create_payment(&rec).await);
        assert_eq!(view, View::NotSent, "{file}");
        assert_eq!(
            grants(&dead.sandbox),
            (1, 1),
            "{file}: one login, one renewal"
        );
        assert_eq!(dead.sandbox.total_charges(), 0, "{file}");
        dead.sandbox.stop().await;
    }
}

#[test]
fn the_declarative_file_loads_on_its_own_and_the_default_keeps_one_dialog_channel() {
    let spec = switchboard_adapter_declarative::check_file(std::path::Path::new(DECLARATIVE))
        .expect("the example is valid");
    let hand_written = channel_file(HAND_WRITTEN, "h", "x".into());
    assert_eq!(spec.capabilities(), hand_written.capabilities);
    // Every config/channels/*.toml is a default channel: Dialog LK has exactly one there.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/channels");
    let dialog: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let table: toml::Table = toml::from_str(&text).unwrap();
            table["operators"]
                .as_array()
                .is_some_and(|ops| ops.iter().any(|o| o.as_str() == Some(PLATFORM)))
        })
        .collect();
    assert_eq!(dialog.len(), 1, "{dialog:?}");
    assert!(dialog[0].ends_with("dialog_lk_ideabiz.toml"));
}

#[tokio::test]
async fn concurrent_calls_share_one_login_and_a_payment_is_charged_once() {
    for ch in both().await {
        // Twenty first calls at once: one password grant for all of them.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let a = ch.adapter.clone();
            let rec = payment_record(
                &format!("sf-{i}"),
                &format!("+947771234{i:02}"),
                AMOUNT,
                "LKR",
            );
            tasks.push(tokio::spawn(async move { a.create_payment(&rec).await }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().status, Succeeded, "{}", ch.file);
        }
        assert_eq!(grants(&ch.sandbox), (1, 0), "{}", ch.file);

        // One payment submitted ten times at once: one charge; the platform refuses the other
        // nine as duplicates and each is read back as the same payment.
        let rec = payment_record("race", "+94777123401", AMOUNT, "LKR");
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (a, rec) = (ch.adapter.clone(), rec.clone());
            tasks.push(tokio::spawn(async move { a.create_payment(&rec).await }));
        }
        let mut ids = Vec::new();
        for t in tasks {
            let p = t.await.unwrap().expect("created or read back");
            assert_eq!(p.status, Succeeded, "{}", ch.file);
            ids.push(p.upstream_id);
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{}: {ids:?}", ch.file);
        assert_eq!(ch.sandbox.charges_for("sb-race"), 1, "{}", ch.file);
        assert_eq!(ch.sandbox.total_charges(), 21, "{}", ch.file);
        ch.sandbox.stop().await;
    }
}

#[tokio::test]
async fn a_duplicate_whose_read_back_fails_is_unknown_never_not_sent() {
    // The declarative file with a status path the platform does not have (its 404s are "no
    // record"): the retried charge meets the duplicate refusal and cannot read the payment back.
    let ch = channel_on(DECLARATIVE, test_config(), |s| {
        s.options
            .get_mut("operations")
            .and_then(|o| o.get_mut("status"))
            .and_then(|o| o.as_object_mut())
            .expect("a status operation")
            .insert(
                "path".into(),
                "/carrier-billing/v1/nowhere/{idempotency_key}".into(),
            );
    })
    .await;
    let rec = payment_record("dup-lost", "+94777123400", AMOUNT, "LKR");
    assert_eq!(
        ch.adapter.create_payment(&rec).await.unwrap().status,
        Succeeded
    );
    let again = ch.adapter.create_payment(&rec).await;
    assert!(matches!(again, Err(AdapterError::Unknown(_))), "{again:?}");
    assert_eq!(ch.sandbox.charges_for("sb-dup-lost"), 1);
    ch.sandbox.stop().await;
}
