//! Checks across fields, so a bad configuration stops the start with a message naming what is wrong.

use std::collections::HashSet;

use switchboard_core::Currency;

use super::model::{Config, SANDBOX_SCHEME};
use crate::auth::scopes::KNOWN_SCOPES;

/// Replicas sharing a store must share their keys: generated ones would make each replica reject
/// the tokens and callback tokens of the others.
fn shared_keys(config: &Config, problems: &mut Vec<String>) {
    if config.auth.allow_ephemeral_keys {
        return;
    }
    let hint = "is required with the redis store (every replica needs the same); \
                set auth.allow_ephemeral_keys = true to generate one per process on purpose";
    if config.auth.keys.is_empty() {
        problems.push(format!("auth.keys {hint}"));
    }
    if config.callbacks.secret.expose().is_empty() {
        problems.push(format!("callbacks.secret {hint}"));
    }
}

pub fn validate(config: &Config) -> Result<(), String> {
    let mut problems = Vec::new();
    let public_url = &config.server.public_url;
    let http_url = public_url.starts_with("http://") || public_url.starts_with("https://");
    if !public_url.is_empty() && !http_url {
        problems.push(format!(
            "server.public_url '{public_url}' must start with http:// or https://"
        ));
    }
    let store = &config.store;
    if store.backend == crate::config::StoreBackend::Embedded
        && store.data_dir.as_os_str().is_empty()
    {
        problems.push("store.data_dir must name a directory for the embedded store".into());
    }
    if store.backend == crate::config::StoreBackend::Redis {
        let url = store.url.expose();
        let urls = std::iter::once(url).chain(store.nodes.iter().map(String::as_str));
        if urls
            .clone()
            .any(|u| !(u.starts_with("redis://") || u.starts_with("rediss://")))
        {
            problems.push("store.url and store.nodes must be redis:// or rediss:// URLs".into());
        }
        if store.prefix.is_empty() || store.prefix.contains(['{', '}']) {
            problems.push("store.prefix must be non-empty and must not contain '{' or '}'".into());
        }
        if store.response_timeout_ms == 0
            || store.connect_timeout_ms == 0
            || store.idempotency_ttl_secs == 0
        {
            problems.push("store timeouts and idempotency_ttl_secs must be above 0".into());
        }
        shared_keys(config, &mut problems);
    }
    admin_tokens(config, &mut problems);
    if config.auth.token_ttl_secs == 0 {
        problems.push("auth.token_ttl_secs must be above 0".into());
    }
    if config.auth.ciba_expires_secs == 0 {
        problems.push("auth.ciba_expires_secs must be above 0".into());
    }
    let mut kids = HashSet::new();
    for key in &config.auth.keys {
        if key.kid.trim().is_empty() {
            problems.push("auth.keys: every key needs a kid".into());
        } else if !kids.insert(key.kid.as_str()) {
            problems.push(format!("auth.keys: kid '{}' is used twice", key.kid));
        }
        if let Err(e) = crate::auth::keys::check_key(key) {
            problems.push(format!("auth.keys '{}': {e}", key.kid));
        }
    }
    webhooks(&config.webhooks, &mut problems);
    problems.extend(config.telemetry.problems());
    for problem in config.routing.scoring.problems() {
        problems.push(format!("routing.scoring.{problem}"));
    }
    if config.payments.max_per_page == 0 {
        problems.push("payments.max_per_page must be above 0".into());
    }
    let r = &config.reconcile;
    if r.interval_ms == 0 || r.min_delay_ms == 0 || r.batch == 0 {
        problems.push("reconcile.interval_ms, min_delay_ms and batch must be above 0".into());
    }
    if r.min_delay_ms > r.max_delay_ms {
        problems.push("reconcile.min_delay_ms must not exceed reconcile.max_delay_ms".into());
    }
    for (id, op) in &config.operators {
        if let Some(problem) = op.name.as_deref().and_then(operator_name_problem) {
            problems.push(format!("operators.{id}.name {problem}"));
        }
        if op.country.len() != 2 || !op.country.bytes().all(|b| b.is_ascii_uppercase()) {
            problems.push(format!(
                "operators.{id}.country '{}' must be an ISO 3166 alpha-2 code",
                op.country
            ));
        }
        for c in &op.currencies {
            if Currency::parse(c).is_none() {
                problems.push(format!(
                    "operators.{id}.currencies: '{c}' is not an ISO 4217 code"
                ));
            }
        }
    }
    if let Err(e) = crate::app::number_plan(config) {
        problems.push(format!("operators: {e}"));
    }
    let mut client_ids = HashSet::new();
    for (id, m) in &config.merchants {
        if m.client_secret.is_empty() {
            if m.client_secret_hash.is_empty() {
                problems.push(format!(
                    "merchants.{id}: client_secret_hash (or, for local development, client_secret) must be set"
                ));
            } else if let Err(e) = crate::auth::check_hash(&m.client_secret_hash) {
                problems.push(format!("merchants.{id}.client_secret_hash: {e}"));
            }
        }
        for op in &m.allowed_operators {
            if !config.operators.contains_key(op) {
                problems.push(format!(
                    "merchants.{id}.allowed_operators: '{op}' is not in the number plan"
                ));
            }
        }
        for c in &m.allowed_countries {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                problems.push(format!(
                    "merchants.{id}.allowed_countries: '{c}' must be an ISO 3166 alpha-2 code"
                ));
            }
        }
        let secret = m.webhook_secret.expose();
        let signs = switchboard_webhooks::sign(secret, "check", 0, b"").is_ok();
        if !m.webhook_secret.is_empty() && !signs {
            problems.push(format!(
                "merchants.{id}.webhook_secret must be whsec_<base64 key>"
            ));
        }
        let client_id = if m.client_id.is_empty() {
            id
        } else {
            &m.client_id
        };
        if !client_ids.insert(client_id.clone()) {
            problems.push(format!(
                "merchants.{id}: client_id '{client_id}' is used twice"
            ));
        }
        for s in &m.scopes {
            if !KNOWN_SCOPES.contains(&s.as_str()) {
                problems.push(format!("merchants.{id}.scopes: unknown scope '{s}'"));
            }
        }
    }
    for (id, ch) in config.channels.iter().filter(|(_, c)| c.enabled) {
        for op in &ch.operators {
            if !config.operators.contains_key(op) {
                problems.push(format!(
                    "channels.{id}: operator '{op}' is not in the number plan"
                ));
            }
        }
        if ch.operators.is_empty() {
            problems.push(format!("channels.{id}: serves no operator"));
        }
        let url = &ch.base_url;
        if let Some(op) = url.strip_prefix(SANDBOX_SCHEME) {
            let simulated: Vec<&str> = config.sandbox.upstreams.ids().collect();
            if !simulated.contains(&op) {
                problems.push(format!(
                    "channels.{id}.base_url: the sandbox has no operator '{op}' (it has {}; \
                     add it to sandbox.toml)",
                    simulated.join(", ")
                ));
            }
        } else if !(url.starts_with("http://") || url.starts_with("https://")) {
            problems.push(format!(
                "channels.{id}.base_url '{url}' must be http(s):// or {SANDBOX_SCHEME}<operator>"
            ));
        }
        if ch.timeouts.connect_ms == 0 || ch.timeouts.request_ms == 0 {
            problems.push(format!("channels.{id}.timeouts must be above 0"));
        }
        for problem in ch.circuit.problems() {
            problems.push(format!("channels.{id}.circuit.{problem}"));
        }
        if ch.capabilities.iter().next().is_none() {
            problems.push(format!("channels.{id}.capabilities must not be empty"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Longest operator display name.
const OPERATOR_NAME_MAX: usize = 64;

/// What is wrong with an operator's display name, if anything.
fn operator_name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        Some("must not be blank (leave it out instead)".into())
    } else if name.chars().count() > OPERATOR_NAME_MAX {
        Some(format!("must be at most {OPERATOR_NAME_MAX} characters"))
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters".into())
    } else {
        None
    }
}

fn webhooks(w: &super::model::WebhooksConfig, problems: &mut Vec<String>) {
    if let Err(e) = switchboard_webhooks::AllowList::parse(&w.allow) {
        problems.push(format!("webhooks.allow: {e}"));
    }
    if w.source.trim().is_empty() {
        problems.push("webhooks.source must not be empty".into());
    }
    if w.timeout_ms == 0 || w.poll_ms == 0 || w.batch == 0 || w.concurrency == 0 {
        problems.push("webhooks timeout_ms, poll_ms, batch and concurrency must be above 0".into());
    }
    if w.lease_ms <= w.timeout_ms {
        problems.push(format!(
            "webhooks.lease_ms ({}) must exceed webhooks.timeout_ms ({}), or a slow delivery is \
             taken over and sent twice",
            w.lease_ms, w.timeout_ms
        ));
    }
    if w.retry_schedule_ms.contains(&0) {
        problems.push("webhooks.retry_schedule_ms: every wait must be above 0".into());
    }
    if !w.extra_ca_file.is_empty() && !std::path::Path::new(&w.extra_ca_file).is_file() {
        problems.push(format!(
            "webhooks.extra_ca_file '{}' is not a readable file",
            w.extra_ca_file
        ));
    }
}

/// `[[admin.tokens]]`: a name each (unique, for the audit log) and a valid argon2 hash.
fn admin_tokens(config: &Config, problems: &mut Vec<String>) {
    let mut names = std::collections::BTreeSet::new();
    for (i, t) in config.admin.tokens.iter().enumerate() {
        let name = t.name.trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            problems.push(format!(
                "admin.tokens[{i}].name must be 1 to 64 printable characters"
            ));
        } else if name == "admin" || !names.insert(name.to_string()) {
            problems.push(format!(
                "admin.tokens[{i}].name '{name}' is taken (names are unique; 'admin' is admin.token's)"
            ));
        }
        if let Err(e) = crate::auth::check_hash(&t.token_hash) {
            problems.push(format!("admin.tokens[{i}].token_hash: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Config {
        crate::config::defaults_for_test()
    }

    #[test]
    fn admin_tokens_need_unique_names_and_argon2_hashes() {
        let mut c = defaults();
        let token = |name: &str, hash: &str| crate::config::AdminTokenConfig {
            name: name.into(),
            role: crate::auth::admin::AdminRole::Viewer,
            token_hash: hash.into(),
        };
        let good = crate::auth::hash_secret("s3cret");
        c.admin.tokens = vec![
            token("alice", &good),
            token("alice", &good),
            token("admin", &good),
            token("bob", "plain-text"),
        ];
        let err = validate(&c).unwrap_err();
        assert!(
            err.contains("admin.tokens[1].name 'alice' is taken"),
            "{err}"
        );
        assert!(
            err.contains("admin.tokens[2].name 'admin' is taken"),
            "{err}"
        );
        assert!(err.contains("admin.tokens[3].token_hash"), "{err}");
        assert!(!err.contains("admin.tokens[0]"), "{err}");
    }

    #[test]
    fn names_every_problem() {
        let mut c = defaults();
        c.channels.get_mut("movistar_es_sandbox").unwrap().operators = vec!["atlantis".into()];
        c.merchants
            .get_mut("demo-merchant")
            .unwrap()
            .scopes
            .push("carrier-billing:everything".into());
        c.operators
            .get_mut("movistar-es")
            .unwrap()
            .currencies
            .push("EURO".into());
        let err = validate(&c).unwrap_err();
        assert!(
            err.contains("operator 'atlantis' is not in the number plan"),
            "{err}"
        );
        assert!(
            err.contains("unknown scope 'carrier-billing:everything'"),
            "{err}"
        );
        assert!(err.contains("'EURO' is not an ISO 4217 code"), "{err}");
    }

    #[test]
    fn circuit_and_scoring_settings_are_checked() {
        let mut c = defaults();
        let circuit = &mut c.channels.get_mut("movistar_es_sandbox").unwrap().circuit;
        circuit.failure_rate_percent = 120;
        circuit.half_open_probes = 0;
        c.routing.scoring.exploration_percent = 101;
        let err = validate(&c).unwrap_err();
        assert!(
            err.contains(
                "channels.movistar_es_sandbox.circuit.failure_rate_percent must be 1 to 100"
            ),
            "{err}"
        );
        assert!(
            err.contains("channels.movistar_es_sandbox.circuit.half_open_probes must be above 0"),
            "{err}"
        );
        assert!(
            err.contains("routing.scoring.exploration_percent must be 0 to 100"),
            "{err}"
        );
    }

    #[test]
    fn a_circuit_table_in_a_channel_file_is_read_with_defaults_for_the_rest() {
        let settings: switchboard_adapter::ChannelSettings = toml::from_str(
            r#"
            adapter = "camara"
            base_url = "sandbox://movistar-es"
            operators = ["movistar-es"]
            capabilities = ["payment"]
            [circuit]
            consecutive_failures = 7
            "#,
        )
        .unwrap();
        assert_eq!(settings.circuit.consecutive_failures, 7);
        assert_eq!(
            settings.circuit.cool_down_ms,
            switchboard_adapter::CircuitSettings::COOL_DOWN_MS
        );
        let typo = toml::from_str::<switchboard_adapter::ChannelSettings>(
            "adapter = \"camara\"\nbase_url = \"x\"\noperators = []\ncapabilities = []\n[circuit]\ncool_down = 1\n",
        );
        assert!(typo.is_err(), "unknown keys are refused");
    }

    #[test]
    fn rejects_unknown_sandbox_operators_and_bad_urls() {
        let mut c = defaults();
        c.channels.get_mut("movistar_es_sandbox").unwrap().base_url = "sandbox://nowhere".into();
        c.channels.get_mut("telekom_de_sandbox").unwrap().base_url = "ftp://x".into();
        let err = validate(&c).unwrap_err();
        assert!(
            err.contains("no operator 'nowhere'") && err.contains("ftp://x"),
            "{err}"
        );
    }

    #[test]
    fn redis_settings_are_checked_only_when_used() {
        let mut c = defaults();
        c.store.url = switchboard_core::Secret::new("http://not-redis");
        assert!(
            validate(&c).is_ok(),
            "the embedded backend ignores the redis url"
        );
        c.store.backend = crate::config::StoreBackend::Redis;
        assert!(validate(&c).unwrap_err().contains("redis://"));
    }

    #[test]
    fn the_embedded_store_is_the_default_and_needs_a_data_dir() {
        let mut c = defaults();
        assert_eq!(c.store.backend, crate::config::StoreBackend::Embedded);
        assert_eq!(c.store.data_dir, std::path::Path::new("data"));
        c.store.data_dir = std::path::PathBuf::new();
        assert!(validate(&c).unwrap_err().contains("store.data_dir"));
        c.store.backend = crate::config::StoreBackend::Memory;
        assert!(validate(&c).is_ok(), "the memory store has no data_dir");
    }

    #[test]
    fn replicas_on_a_shared_store_need_shared_keys() {
        let mut c = defaults();
        c.store.backend = crate::config::StoreBackend::Redis;
        c.auth.keys.clear();
        c.callbacks.secret = switchboard_core::Secret::new(String::new());
        let err = validate(&c).unwrap_err();
        assert!(
            err.contains("auth.keys is required") && err.contains("callbacks.secret is required"),
            "{err}"
        );
        c.auth.keys = vec![crate::config::SigningKeyConfig {
            kid: "k1".into(),
            private_key_pem: switchboard_core::Secret::new(crate::auth::ed25519_pem_from_seed(
                &[0x11; 32],
            )),
        }];
        let err = validate(&c).unwrap_err();
        assert!(!err.contains("auth.keys"), "{err}");
        assert!(err.contains("callbacks.secret"), "{err}");
        c.callbacks.secret = switchboard_core::Secret::new("shared".to_string());
        assert!(validate(&c).is_ok());
        c.auth.keys.clear();
        c.callbacks.secret = switchboard_core::Secret::new(String::new());
        c.auth.allow_ephemeral_keys = true;
        assert!(validate(&c).is_ok(), "allowed on purpose");
    }

    #[test]
    fn operator_names_are_optional_but_must_be_readable() {
        let mut c = defaults();
        let op = c.operators.get_mut("movistar-es").unwrap();
        op.name = Some("Movistar ES".into());
        assert!(validate(&c).is_ok());
        for (bad, expected) in [
            ("  ", "must not be blank"),
            ("Movistar\nES", "control characters"),
            (&"x".repeat(65)[..], "at most 64"),
        ] {
            c.operators.get_mut("movistar-es").unwrap().name = Some(bad.to_string());
            let err = validate(&c).unwrap_err();
            assert!(
                err.contains("operators.movistar-es.name") && err.contains(expected),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn duplicate_prefixes_are_refused() {
        let mut c = defaults();
        c.operators.get_mut("telekom-de").unwrap().prefixes = vec!["+346".into()];
        assert!(validate(&c).unwrap_err().contains("+346"));
    }

    #[test]
    fn webhook_settings_are_checked() {
        let mut c = defaults();
        assert!(validate(&c).is_ok(), "the defaults are valid");
        c.webhooks.lease_ms = c.webhooks.timeout_ms;
        c.webhooks.allow.push("not an address/99".into());
        c.webhooks.retry_schedule_ms = vec![100, 0];
        c.webhooks.extra_ca_file = "/nonexistent/ca.pem".into();
        c.merchants.get_mut("demo-merchant").unwrap().webhook_secret =
            switchboard_core::Secret::new("whsec_not base64!".to_string());
        let err = validate(&c).unwrap_err();
        for expected in [
            "webhooks.lease_ms",
            "webhooks.allow",
            "retry_schedule_ms",
            "extra_ca_file",
            "merchants.demo-merchant.webhook_secret",
        ] {
            assert!(err.contains(expected), "{expected} missing from: {err}");
        }
    }
}
