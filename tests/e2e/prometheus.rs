//! A real Prometheus (Debian package `prometheus`) scrapes a running gateway; a payment's counter
//! is read back through Prometheus's HTTP API. Skips (loudly) only when the binary is missing.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use switchboard_tests::{eventually, free_port, Env, TestGateway};

fn prometheus_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PROMETHEUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus"));
    path.exists().then_some(path)
}

/// Kills the Prometheus it started (by its own pid) when dropped.
struct Prometheus {
    child: Child,
    dir: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_prometheus(binary: &PathBuf, target: &str, port: u16) -> Prometheus {
    let dir = std::env::temp_dir().join(format!("sb-prom-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: switchboard\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['{target}']\n"
    );
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts");
    Prometheus { child, dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_the_payment_counter() {
    let Some(binary) = prometheus_binary() else {
        eprintln!(
            "\n\n!!! SKIPPED a_real_prometheus_scrapes_the_payment_counter: no /usr/bin/prometheus \
             (apt-get install -y prometheus; .ci/run installs it) !!!\n\n"
        );
        return;
    };
    let gw = Env::memory().start().await;
    let token = gw.demo_token().await;
    let res = gw
        .create(&token, &TestGateway::body("+34600000001", 3.0))
        .await;
    assert_eq!(res.status(), 201);
    let port = free_port();
    let _prometheus = start_prometheus(&binary, &gw.running.addr.to_string(), port);
    let query = "switchboard_operations_total{kind=\"payment\",operator=\"movistar-es\",outcome=\"succeeded\"}";
    let http = reqwest::Client::new();
    let value = eventually(Duration::from_secs(60), || async {
        let res = http
            .get(format!("http://127.0.0.1:{port}/api/v1/query"))
            .query(&[("query", query)])
            .send()
            .await
            .ok()?;
        let body: Value = res.json().await.ok()?;
        let result = body["data"]["result"].as_array()?.first()?.clone();
        Some(result)
    })
    .await
    .expect("Prometheus scraped the gateway and answers the query");
    assert_eq!(value["metric"]["channel"], "movistar_es_sandbox");
    assert_eq!(value["metric"]["job"], "switchboard");
    assert_eq!(value["value"][1], "1");
    gw.stop().await;
}
