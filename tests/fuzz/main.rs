//! Schemathesis (property-based API fuzzing, from PyPI) against the four OpenAPI documents
//! Switchboard serves, on the memory and the Redis store: every generated request — valid and
//! invalid — must get no 5xx, a status the document lists for the operation, and a body that
//! matches the document's schema. Bounded examples and a fixed seed keep the run repeatable.
//!
//! `.ci/run` installs schemathesis into `target/ci-venv` and sets `CI_REQUIRE_TOOLS=1`, so
//! CI fails rather than skips when it is missing; elsewhere a missing tool skips loudly.

use std::path::{Path, PathBuf};
use std::process::Command;

use switchboard_store::testing::RedisServer;
use switchboard_tests::{Env, TestGateway};

/// Whose bearer token a document's requests carry.
#[derive(Clone, Copy)]
enum Caller {
    Merchant,
    Admin,
}

/// The served documents, the base path their operations live under, and who calls them.
const DOCUMENTS: &[(&str, &str, Caller)] = &[
    (
        "carrier-billing.yaml",
        "/carrier-billing/v0.5",
        Caller::Merchant,
    ),
    (
        "carrier-billing-refund.yaml",
        "/carrier-billing-refund/v0.3",
        Caller::Merchant,
    ),
    ("topup.yaml", "", Caller::Merchant),
    ("admin.yaml", "", Caller::Admin),
];

/// The default configuration's `[admin] token`.
const ADMIN_TOKEN: &str = "demo-admin-token";

/// Pinned so that a new release's new checks do not turn CI red on their own.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

fn schemathesis() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SCHEMATHESIS_BIN") {
        return Some(PathBuf::from(path));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/ci-venv/bin/schemathesis");
    if venv.exists() {
        return Some(venv);
    }
    Command::new("schemathesis")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("schemathesis"))
}

fn tool_or_skip() -> Option<PathBuf> {
    let found = schemathesis();
    if found.is_none() {
        assert!(
            std::env::var("CI_REQUIRE_TOOLS").is_err(),
            "schemathesis is required (CI_REQUIRE_TOOLS is set) but was not found"
        );
        eprintln!(
            "SKIPPED: schemathesis not found; install it with \
             `python3 -m venv target/ci-venv && target/ci-venv/bin/pip install schemathesis=={SCHEMATHESIS_VERSION}`"
        );
    }
    found
}

async fn fuzz(tool: &Path, gw: &TestGateway, store: &str) {
    let merchant = gw.demo_token().await;
    for (document, base, caller) in DOCUMENTS {
        let tool = tool.to_path_buf();
        let schema = format!("{}/openapi/{document}", gw.base);
        let url = format!("{}{base}", gw.base);
        let token = match caller {
            Caller::Merchant => merchant.as_str(),
            Caller::Admin => ADMIN_TOKEN,
        };
        let auth = format!("Authorization: Bearer {token}");
        // One worker: schemathesis's own example generation is not thread-safe in this release.
        let output = tokio::task::spawn_blocking(move || {
            Command::new(tool)
                // Its example cache goes to the working directory: keep it out of the source tree.
                .current_dir(env!("CARGO_TARGET_TMPDIR"))
                .args(["run", &schema, "--url", &url, "-H", &auth])
                .args(["--max-examples", "25", "--seed", "1", "-w", "1"])
                .args(["--phases", "examples,coverage,fuzzing,stateful"])
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,response_schema_conformance",
                ])
                .args(["--request-timeout", "10", "--no-color"])
                .output()
                .expect("schemathesis runs")
        })
        .await
        .unwrap();
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "schemathesis found problems in {document} on the {store} store:\n{report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let summary = report.lines().rev().find(|l| l.contains("generated"));
        eprintln!("{store} {document}: {}", summary.unwrap_or("").trim());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_documents_hold_under_fuzzing_on_the_memory_store() {
    let Some(tool) = tool_or_skip() else { return };
    let gw = Env::memory().start().await;
    fuzz(&tool, &gw, "memory").await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_documents_hold_under_fuzzing_on_the_redis_store() {
    let Some(tool) = tool_or_skip() else { return };
    let redis = RedisServer::start();
    let gw = Env::redis(redis.url()).start().await;
    fuzz(&tool, &gw, "redis").await;
    gw.stop().await;
}
