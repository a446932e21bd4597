//! `switchboard channel check FILE`: the real binary against a real sandbox on a free port, with
//! the shipped channel files, a deliberately wrong mapping, a wrong secret and an invalid file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use switchboard_sandbox::{SandboxConfig, SandboxHandle};

const CHANNELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/channels");

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard-check-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of a shipped channel file in `dir`, pointed at `sandbox`, with `edits` (from, to) applied.
fn channel_copy(
    dir: &Path,
    shipped: &str,
    name: &str,
    sandbox: &SandboxHandle,
    edits: &[(&str, &str)],
) -> PathBuf {
    let mut text = std::fs::read_to_string(format!("{CHANNELS}/{shipped}.toml")).unwrap();
    let upstream = text
        .lines()
        .find_map(|l| l.strip_prefix("base_url = \"sandbox://"))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("a shipped sandbox channel")
        .to_owned();
    text = text.replace(
        &format!("sandbox://{upstream}"),
        &sandbox.base_url(&upstream),
    );
    for (from, to) in edits {
        assert!(text.contains(from), "{shipped}.toml has no {from:?}");
        text = text.replace(from, to);
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `switchboard [--config …] channel check ARGS` in an empty directory (embedded defaults),
/// off the runtime thread so the sandbox keeps answering.
async fn check(config: Option<&Path>, args: &[&str]) -> (Output, String) {
    let dir = temp_dir("cwd");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.current_dir(&dir);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    cmd.args(["channel", "check"]).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

fn row<'a>(table: &'a str, step: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(step))
        .unwrap_or_else(|| panic!("no {step} row in\n{table}"))
}

async fn sandbox() -> SandboxHandle {
    switchboard_sandbox::start(SandboxConfig::default())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_declarative_camara_and_ideabiz_channels_pass_against_the_sandbox() {
    let sandbox = sandbox().await;
    let dir = temp_dir("shipped");
    let dcb = channel_copy(
        &dir,
        "dcb_aggregator_it",
        "dcb_aggregator_it",
        &sandbox,
        &[],
    );
    let (out, table) = check(
        None,
        &[dcb.to_str().unwrap(), "--refuse-phone", "+393400000080"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert!(row(&table, "payment").contains("pass"), "{table}");
    assert!(row(&table, "payment").contains("succeeded"), "{table}");
    assert!(row(&table, "status").contains("pass"), "{table}");
    assert!(
        row(&table, "refusal").contains("CARRIER_BILLING.PAYMENT_DENIED"),
        "{table}"
    );
    assert!(
        row(&table, "token").contains("skip"),
        "HMAC has no token: {table}"
    );
    assert!(table.contains("3 passed, 0 failed"), "{table}");
    assert!(
        !table.contains("+393400000001"),
        "numbers are masked: {table}"
    );

    let camara = channel_copy(&dir, "telekom_de_sandbox", "telekom", &sandbox, &[]);
    let (out, table) = check(
        None,
        &[
            camara.to_str().unwrap(),
            "--phone",
            "+4915100000001",
            "--refuse-phone",
            "+4915100000081",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert!(row(&table, "token").contains("pass"), "{table}");
    assert!(
        row(&table, "payment").contains("processing"),
        "async operator: {table}"
    );
    assert!(
        row(&table, "refusal").contains("CARRIER_BILLING.UNAUTHORIZED_AMOUNT"),
        "{table}"
    );
    // The checks went to this sandbox, through the real adapters.
    assert_eq!(sandbox.create_requests("telekom-de"), 2);
    assert_eq!(sandbox.token_requests("telekom-de"), 1);

    // The Ideabiz-style platform: its password grant is the token step.
    let dialog = channel_copy(&dir, "dialog_lk_ideabiz", "dialog", &sandbox, &[]);
    let (out, table) = check(
        None,
        &[
            dialog.to_str().unwrap(),
            "--phone",
            "+94777123400",
            "--refuse-phone",
            "+94777123480",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert!(row(&table, "token").contains("pass"), "{table}");
    assert!(row(&table, "payment").contains("succeeded"), "{table}");
    assert!(row(&table, "refusal").contains("pass"), "{table}");
    assert_eq!(
        sandbox.token_requests("dialog-lk"),
        1,
        "one login for every step"
    );
    sandbox.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_status_path_fails_with_the_upstreams_answer() {
    let sandbox = sandbox().await;
    let dir = temp_dir("mapping");
    let wrong = channel_copy(
        &dir,
        "dcb_aggregator_it",
        "dcb_wrong_status",
        &sandbox,
        &[(
            "[options.operations.create.response]\nstatus = \"/status\"",
            "[options.operations.create.response]\nstatus = \"/state\"",
        )],
    );
    let (out, table) = check(None, &[wrong.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{table}");
    let payment = row(&table, "payment");
    assert!(
        payment.contains("FAIL") && payment.contains("no status at /state"),
        "{table}"
    );
    // The raw answer under the row: it has a status, just not where the file looks.
    assert!(
        table.contains("upstream: POST /dcb-it/dcb/v1/charges -> 200 {")
            && table.contains(r#""status":"SUCCESS""#),
        "{table}"
    );
    assert!(row(&table, "status").contains("skip"), "{table}");
    sandbox.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_fails_and_the_secret_is_not_printed() {
    let sandbox = sandbox().await;
    let dir = temp_dir("secret");
    let dcb = channel_copy(
        &dir,
        "dcb_aggregator_it",
        "dcb_wrong_secret",
        &sandbox,
        &[("sandbox-dcb-secret", "not-the-dcb-secret")],
    );
    let (out, table) = check(None, &[dcb.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert!(row(&table, "payment").contains("FAIL"), "{table}");
    assert!(table.contains("E_SIGNATURE"), "{table}");

    let camara = channel_copy(
        &dir,
        "movistar_es_sandbox",
        "movistar_wrong_secret",
        &sandbox,
        &[(
            "client_secret = \"sandbox-secret\"",
            "client_secret = \"not-the-camara-secret\"",
        )],
    );
    let (out, table) = check(None, &[camara.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert!(row(&table, "token").contains("FAIL"), "{table}");
    assert!(
        table.contains("upstream: POST /movistar-es/oauth2/token -> 401")
            && table.contains("invalid_client"),
        "{table}"
    );
    assert!(!table.contains("not-the-camara-secret"), "{table}");
    assert_eq!(sandbox.create_requests("movistar-es"), 0, "nothing charged");
    sandbox.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_file_exits_2_naming_the_field() {
    let sandbox = sandbox().await;
    let dir = temp_dir("invalid");
    let bad = channel_copy(
        &dir,
        "dcb_aggregator_it",
        "dcb_typo",
        &sandbox,
        &[("{phone.digits}", "{phone.digitz}")],
    );
    let (out, _) = check(None, &[bad.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("options.operations.create.body.msisdn") && stderr.contains("phone.digitz"),
        "{stderr}"
    );
    sandbox.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

/// A simulated operator is configuration only: a sandbox.toml entry, a number plan entry and a
/// channel file, and the check passes against the in-process sandbox (`sandbox://`).
#[tokio::test(flavor = "multi_thread")]
async fn a_simulated_operator_added_by_configuration_alone_passes() {
    let dir = temp_dir("new-operator");
    std::fs::create_dir_all(dir.join("channels")).unwrap();
    std::fs::write(
        dir.join("switchboard.toml"),
        "[operators.proximus-be]\ncountry = \"BE\"\nprefixes = [\"+3247\"]\ncurrencies = [\"EUR\"]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sandbox.toml"),
        "[camara.proximus-be]\nmode = \"async\"\n",
    )
    .unwrap();
    let channel = dir.join("channels/proximus_be.toml");
    std::fs::write(
        &channel,
        "adapter = \"camara\"\nbase_url = \"sandbox://proximus-be\"\noperators = [\"proximus-be\"]\n\
         capabilities = [\"payment\", \"payment_status\"]\n\
         [credentials]\nclient_id = \"sandbox-client\"\nclient_secret = \"sandbox-secret\"\n",
    )
    .unwrap();
    let (out, table) = check(
        Some(&dir.join("switchboard.toml")),
        &[channel.to_str().unwrap(), "--refuse-phone", "+32470000080"],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{table}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(row(&table, "payment").contains("processing"), "{table}");
    assert!(table.contains("4 passed, 0 failed"), "{table}");
    std::fs::remove_dir_all(dir).ok();
}

/// An upstream that takes the connection and never answers: the step fails at the channel's
/// deadline instead of hanging the check.
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_upstream_fails_at_the_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let dir = temp_dir("silent");
    let text = std::fs::read_to_string(format!("{CHANNELS}/dcb_aggregator_it.toml"))
        .unwrap()
        .replace("sandbox://dcb-it", &format!("http://{addr}/dcb-it"))
        .replace("request_ms = 3000", "request_ms = 300");
    let file = dir.join("dcb_silent.toml");
    std::fs::write(&file, text).unwrap();
    let (out, table) = check(None, &[file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert!(
        row(&table, "payment").contains("did not answer before the deadline"),
        "{table}"
    );
    holder.abort();
    std::fs::remove_dir_all(dir).ok();
}
