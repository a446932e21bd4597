//! A headless Chromium driven over WebDriver: `chromedriver` (Debian `chromium-driver`) started on a
//! free port by the test and ended (by its own pid) when dropped, one fresh profile per session, and
//! the browser's console log read back through chromedriver.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

/// The binaries, from `CHROMIUM` / `CHROMEDRIVER` or Debian's paths.
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl Tools {
    fn find() -> Option<Tools> {
        let path = |var: &str, default: &str| {
            let p = std::env::var_os(var)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(default));
            p.exists().then_some(p)
        };
        Some(Tools {
            chromium: path("CHROMIUM", "/usr/bin/chromium")?,
            chromedriver: path("CHROMEDRIVER", "/usr/bin/chromedriver")?,
        })
    }

    /// The tools, or `None` after a loud skip message; with `CI_REQUIRE_TOOLS` set a missing tool
    /// fails the test instead (`.ci/run` installs both).
    pub fn find_or_skip(test: &str) -> Option<Tools> {
        let found = Tools::find();
        if found.is_none() {
            assert!(
                std::env::var("CI_REQUIRE_TOOLS").is_err(),
                "chromium and chromedriver are required (CI_REQUIRE_TOOLS is set) but were not found"
            );
            eprintln!(
                "\n\n!!! SKIPPED {test}: no /usr/bin/chromium or /usr/bin/chromedriver \
                 (apt-get install -y chromium chromium-driver; .ci/run installs them) !!!\n\n"
            );
        }
        found
    }
}

/// The chromedriver process and the browser profile, ended and removed when dropped (also when a
/// test fails half way).
struct Driver {
    child: Child,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A running chromedriver and one browser session on it.
pub struct Browser {
    pub client: Client,
    driver_url: String,
    http: reqwest::Client,
    _driver: Driver,
}

/// Chromium's flags: headless, and nothing that reaches out to the network on its own (on a closed
/// network those background connections make the browser refuse to start sessions).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
];

impl Browser {
    pub async fn start(tools: &Tools) -> Browser {
        let port = switchboard_tests::free_port();
        let child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            profile: std::env::temp_dir()
                .join(format!("sb-chromium-{}", uuid::Uuid::new_v4().simple())),
        };
        let driver_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let ready = switchboard_tests::eventually(Duration::from_secs(20), || async {
            let status: Value = http
                .get(format!("{driver_url}/status"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (status["value"]["ready"] == true).then_some(())
        })
        .await;
        assert!(ready.is_some(), "chromedriver never became ready");

        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", driver.profile.display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": tools.chromium, "args": args},
            // Console messages (and failed loads, CSP violations) kept for `console_errors`.
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .expect("a Chromium session");
        Browser {
            client,
            driver_url,
            http,
            _driver: driver,
        }
    }

    /// Console entries at level SEVERE since the last call (chromedriver's browser log: console
    /// errors, uncaught exceptions, failed resource loads, CSP violations).
    pub async fn console_errors(&self) -> Vec<String> {
        let session = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let log: Value = self
            .http
            .post(format!("{}/session/{session}/se/log", self.driver_url))
            .json(&json!({"type": "browser"}))
            .send()
            .await
            .expect("browser log")
            .json()
            .await
            .expect("browser log JSON");
        log["value"]
            .as_array()
            .expect("log entries")
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// A screenshot of the whole page at `width` CSS pixels, written to `target/test-artifacts/`.
    pub async fn screenshot(&self, width: u32, name: &str) -> PathBuf {
        self.client.set_window_size(width, 900).await.unwrap();
        // The window is the viewport plus whatever frame the browser has, even headless.
        let height = self
            .js(
                "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;",
                vec![],
            )
            .await
            .as_u64()
            .unwrap_or(900) as u32;
        self.client
            .set_window_size(width, height.clamp(600, 8000))
            .await
            .unwrap();
        self.js("window.scrollTo(0, 0);", vec![]).await;
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        path
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
