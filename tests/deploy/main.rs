//! deploy/ holds what this machine can check without a container runtime: Prometheus config and rules
//! (promtool), every Kubernetes manifest and the compose file (they parse, with the expected kinds),
//! the Grafana dashboard (every query uses a metric family Switchboard exports), the Dockerfile.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

/// The metric families Switchboard exports (issue 10; README "Operating Switchboard").
const FAMILIES: &[&str] = &[
    "switchboard_http_requests_total",
    "switchboard_http_request_duration_seconds",
    "switchboard_operations_total",
    "switchboard_upstream_request_duration_seconds",
    "switchboard_store_operation_duration_seconds",
    "switchboard_idempotent_replays_total",
    "switchboard_limit_refusals_total",
    "switchboard_reconciliation_pending",
    "switchboard_reconciliation_oldest_age_seconds",
    "switchboard_webhook_deliveries_total",
    "switchboard_webhook_pending",
    "switchboard_webhook_dead_letters",
    "switchboard_channel_health",
    "switchboard_build_info",
];

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(deploy(path)).unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

/// Every document of a multi-document YAML file.
fn documents(path: &str) -> Vec<Value> {
    read(path)
        .split("\n---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml::from_str(d).unwrap_or_else(|e| panic!("deploy/{path}: {e}")))
        .collect()
}

/// The `switchboard_…` metric names a PromQL expression uses, histogram suffixes removed.
fn families_in(expr: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("switchboard_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let family = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| FAMILIES.contains(f)))
            .unwrap_or(name);
        found.push(family.to_string());
        rest = &tail[end..];
    }
    found
}

/// The values of `result` on switchboard_upstream_request_duration_seconds (the gateway's CallResult).
const CALL_RESULTS: &[&str] = &[
    "ok",
    "refused",
    "unknown",
    "not_sent",
    "not_found",
    "unsupported",
];

/// Every `result` value an expression matches on is one the gateway records.
fn assert_known_results(what: &str, expr: &str) {
    for (at, _) in expr.match_indices("result=") {
        let tail = expr[at + "result=".len()..].trim_start_matches('~');
        let value = tail
            .strip_prefix('"')
            .and_then(|t| t.split('"').next())
            .unwrap_or("");
        for v in value.split('|') {
            assert!(
                CALL_RESULTS.contains(&v),
                "{what}: result {v:?} is never recorded in {expr}"
            );
        }
    }
}

fn assert_known_families(what: &str, expr: &str) {
    assert_known_results(what, expr);
    let families = families_in(expr);
    assert!(
        !families.is_empty(),
        "{what}: no switchboard_ metric in {expr}"
    );
    for family in families {
        assert!(
            FAMILIES.contains(&family.as_str()),
            "{what}: unknown metric {family} in {expr}"
        );
    }
}

fn promtool(args: &[&str]) {
    let out = Command::new("promtool")
        .args(args)
        .output()
        .expect("promtool (Debian package `prometheus`; .ci/run installs it)");
    assert!(
        out.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_accepts_the_scrape_config_and_the_alert_rules() {
    let config = deploy("prometheus/prometheus.yml");
    let rules = deploy("prometheus/alerts.yml");
    promtool(&["check", "config", config.to_str().unwrap()]);
    promtool(&["check", "rules", rules.to_str().unwrap()]);
}

#[test]
fn alerts_cover_the_on_call_questions_with_exported_metrics() {
    let rules = yaml("prometheus/alerts.yml");
    let rules = rules["groups"][0]["rules"].as_sequence().unwrap();
    let mut covered = Vec::new();
    for rule in rules {
        let name = rule["alert"].as_str().unwrap();
        let expr = rule["expr"].as_str().unwrap();
        assert_known_families(name, expr);
        covered.extend(families_in(expr));
    }
    for needed in [
        "switchboard_upstream_request_duration_seconds",
        "switchboard_channel_health",
        "switchboard_reconciliation_oldest_age_seconds",
        "switchboard_webhook_dead_letters",
        "switchboard_webhook_pending",
    ] {
        assert!(covered.iter().any(|f| f == needed), "no alert on {needed}");
    }
}

#[test]
fn kubernetes_manifests_parse_with_probes_secrets_and_scaling() {
    let mut kinds = Vec::new();
    let mut deployments = Vec::new();
    for file in std::fs::read_dir(deploy("k8s")).unwrap() {
        let path = file.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let name = format!("k8s/{}", path.file_name().unwrap().to_str().unwrap());
        for doc in documents(&name) {
            let kind = doc["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: a kind"))
                .to_string();
            assert!(doc["apiVersion"].is_string(), "{name}: apiVersion");
            assert!(doc["metadata"]["name"].is_string(), "{name}: metadata.name");
            if kind == "Deployment" {
                deployments.push(doc.clone());
            }
            kinds.push(kind);
        }
    }
    for kind in [
        "Deployment",
        "Service",
        "ConfigMap",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} in deploy/k8s: {kinds:?}"
        );
    }
    let container = |name: &str| -> Value {
        let d = deployments
            .iter()
            .find(|d| d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("Deployment {name}"));
        d["spec"]["template"]["spec"]["containers"][0].clone()
    };
    let gateway = container("switchboard-gateway");
    assert_eq!(gateway["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(gateway["livenessProbe"]["httpGet"]["path"], "/healthz");
    let worker = container("switchboard-worker");
    assert_eq!(worker["args"][0], "worker");
    for c in [&gateway, &worker] {
        let secrets: Vec<&str> = c["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|e| e["valueFrom"]["secretKeyRef"]["key"].as_str())
            .collect();
        for key in ["auth-keys", "callbacks-secret", "store-url"] {
            assert!(secrets.contains(&key), "{secrets:?} lacks {key}");
        }
        // No secret value is written in a manifest.
        for e in c["env"].as_sequence().unwrap() {
            let name = e["name"].as_str().unwrap();
            if name.contains("KEYS") || name.contains("SECRET") || name.contains("TOKEN") {
                assert!(e["value"].is_null(), "{name} has a literal value");
            }
        }
    }
}

#[test]
fn compose_runs_three_gateways_a_worker_redis_with_aof_and_the_observability_stack() {
    let mut compose = yaml("compose.yaml");
    // The services share one anchor (`<<: *switchboard`), as Compose resolves it.
    compose.apply_merge().expect("YAML merge keys");
    let services = &compose["services"];
    for service in [
        "gateway",
        "worker",
        "redis",
        "prometheus",
        "grafana",
        "jaeger",
    ] {
        assert!(services[service].is_mapping(), "no service {service}");
    }
    assert_eq!(services["gateway"]["deploy"]["replicas"], 3);
    assert_eq!(services["worker"]["command"][0], "worker");
    assert_eq!(
        services["gateway"]["environment"]["SWITCHBOARD_TELEMETRY__OTLP_ENDPOINT"],
        "http://jaeger:4318"
    );
    assert_eq!(
        services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"],
        "true"
    );
    let redis_conf = read("redis/redis.conf");
    assert!(redis_conf.lines().any(|l| l.trim() == "appendonly yes"));
    let mounts: Vec<&str> = services["redis"]["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        mounts.iter().any(|m| m.starts_with("./redis/redis.conf:")),
        "{mounts:?}"
    );
    // Grafana's provisioning files parse and point at the dashboard and Prometheus.
    let datasources = yaml("grafana/provisioning/datasources/prometheus.yaml");
    assert_eq!(
        datasources["datasources"][0]["url"],
        "http://prometheus:9090"
    );
    assert!(yaml("grafana/provisioning/dashboards/switchboard.yaml")["providers"].is_sequence());
}

#[test]
fn the_grafana_dashboard_queries_only_exported_metrics() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("grafana/switchboard.json")).expect("dashboard JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut used = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("panel");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            let expr = target["expr"].as_str().expect("expr");
            assert_known_families(title, expr);
            used.extend(families_in(expr));
        }
    }
    for needed in [
        "switchboard_operations_total",
        "switchboard_upstream_request_duration_seconds",
        "switchboard_channel_health",
        "switchboard_webhook_dead_letters",
    ] {
        assert!(
            used.iter().any(|f| f == needed),
            "the dashboard lacks {needed}"
        );
    }
}

#[test]
fn the_dockerfile_builds_in_stages_and_runs_unprivileged_with_a_healthcheck() {
    let dockerfile = read("Dockerfile");
    let instructions: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert!(
        instructions
            .iter()
            .filter(|l| l.starts_with("FROM "))
            .count()
            >= 2
    );
    let user = instructions
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "USER {user}"
    );
    let healthcheck = dockerfile
        .find("\nHEALTHCHECK ")
        .map(|at| &dockerfile[at + 1..])
        .expect("a HEALTHCHECK");
    assert!(healthcheck.lines().take(2).any(|l| l.contains("/healthz")));
    assert!(instructions
        .iter()
        .any(|l| l.starts_with("COPY") && l.contains(" config ")));
}

#[test]
fn metric_names_are_read_from_expressions() {
    assert_eq!(
        families_in(
            "sum(rate(switchboard_upstream_request_duration_seconds_bucket[5m])) / switchboard_x"
        ),
        vec![
            "switchboard_upstream_request_duration_seconds",
            "switchboard_x"
        ]
    );
}
