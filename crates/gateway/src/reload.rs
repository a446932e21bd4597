//! Configuration reload without a restart: `POST /admin/reload` and SIGHUP read the configuration
//! layers again (files, then the environment), check them exactly as a start does, and swap the
//! reloadable part — number plan, operators, channels, merchants, rate limits, admin tokens — in one
//! step. An invalid configuration is refused with the loader's messages and the running one kept.
//!
//! Nothing in flight is dropped: a request holds the channels it was routed to (the old router's
//! `Arc`s) until it ends. A channel whose settings did not change is carried over as it is (its
//! adapter with its tokens, its health, ops' controls); a changed or new one starts fresh and gets
//! ops' stored controls before it takes traffic. Sections that only a start can apply (server,
//! store, auth keys, callbacks secret, webhooks, sandbox, telemetry, workers) are reported back as
//! needing a restart, and keep their running values.

use std::sync::Arc;

use actix_web::web;
use serde_json::{json, Value};
use switchboard_core::{ApiError, ErrorCode};
use tokio::task::JoinHandle;

use crate::auth::admin::AdminTokens;
use crate::auth::Merchants;
use crate::config::{Config, SANDBOX_SCHEME};
use crate::limits::RateLimits;
use crate::routing::Overrides;
use crate::state::{AppState, Live};

/// Reads the configuration again (the same layers the process started from).
pub type Loader = Arc<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// Sections read only at start: a reload that changes them says so and keeps the running values.
const RESTART_ONLY: &[&str] = &[
    "server",
    "store",
    "auth",
    "callbacks",
    "webhooks",
    "sandbox",
    "telemetry",
    "workers",
    "metrics",
];

pub struct Reloader {
    loader: Option<Loader>,
    /// The in-process sandbox's address: `sandbox://<upstream>` channels point at it.
    sandbox: Option<std::net::SocketAddr>,
    /// Where operators notify this deployment (for the callbacks of new channels).
    callback: Option<String>,
    /// One reload at a time.
    running: tokio::sync::Mutex<()>,
}

impl Reloader {
    pub fn new(
        loader: Option<Loader>,
        sandbox: Option<std::net::SocketAddr>,
        callback: Option<String>,
    ) -> Reloader {
        Reloader {
            loader,
            sandbox,
            callback,
            running: tokio::sync::Mutex::new(()),
        }
    }
}

/// What a reload changed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reloaded {
    /// Ids added, removed or changed, per kind (`operators`, `channels`, `merchants`).
    pub changed: Value,
    /// Sections whose new values wait for a restart.
    pub restart_required: Vec<&'static str>,
}

/// Reads the configuration again and applies it (see the module docs). `actor` names who asked
/// (the admin token's name, or `SIGHUP`) in the audit log.
pub async fn reload(state: &AppState, actor: &str) -> Result<Reloaded, ApiError> {
    let reloader = &state.reload;
    let Some(loader) = reloader.loader.clone() else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "This process was started from a configuration in code; there is nothing to reload.",
        ));
    };
    let _one_at_a_time = reloader.running.lock().await;
    let mut config = tokio::task::spawn_blocking(move || loader())
        .await
        .map_err(|_| ApiError::of(ErrorCode::Internal))?
        .map_err(ApiError::invalid_argument)?;
    point_at_sandbox(&mut config, reloader.sandbox)?;
    let old = state.live();
    let restart_required = restart_only_changes(&old.config, &config);
    keep_restart_only_sections(&old.config, &mut config);

    let (router, built) = crate::app::build_router_keeping(
        &config,
        reloader.callback.as_deref(),
        Some((&old.config, &old.router)),
    )
    .map_err(|e| ApiError::invalid_argument(e.to_string()))?;
    // Ops' controls on the new channels before any request can reach them.
    state
        .controls
        .apply_now(state.store.as_ref(), &router)
        .await?;
    let overrides = if same_json(&old.config.operators, &config.operators) {
        old.overrides.clone()
    } else {
        // A new plan: a full copy of the MNP overrides before the swap, so no ported number is
        // routed by its prefix in between.
        let fresh = Overrides::new(router.plan());
        fresh
            .sync(state.store.as_ref(), router.plan())
            .await
            .map_err(crate::payments::store_error)?;
        Arc::new(fresh)
    };
    let limits = {
        let fresh = RateLimits::from_config(&config);
        if fresh.same_quotas(&old.limits) {
            old.limits.clone() // the windows in progress stay
        } else {
            Arc::new(fresh)
        }
    };
    let merchants = {
        let c = config.clone();
        // Hashing a plain development secret is argon2: off the async threads.
        tokio::task::spawn_blocking(move || Merchants::from_config(&c))
            .await
            .map_err(|_| ApiError::of(ErrorCode::Internal))?
    };
    let changed = changes(&old.config, &config);
    state.swap(Live {
        router: Arc::new(router),
        merchants: Arc::new(merchants),
        limits,
        overrides,
        admins: Arc::new(AdminTokens::from_config(&config)),
        config: Arc::new(config),
    });
    // Applied from here on: what follows only logs when it fails (the answer says what changed).
    // A control changed between the first application and the swap reached the old router only;
    // the refresh task applies the next change anyway.
    if let Err(e) = state
        .controls
        .apply_now(state.store.as_ref(), &state.router())
        .await
    {
        tracing::warn!(error = %e.message, "routing controls not re-applied after the reload");
    }
    for channel in built {
        tokio::spawn(async move {
            if let Err(e) = channel.adapter.register_callbacks().await {
                tracing::warn!(channel = %channel.id, error = %e, "callback registration failed");
            }
        });
    }
    if let Err(e) = crate::routing_controls::audit(
        state,
        actor,
        "POST /admin/reload",
        &summary(&old.config),
        &json!({ "changed": changed, "restart_required": restart_required }),
    )
    .await
    {
        tracing::error!(error = %e.message, "the reload was applied but not written to the audit log");
    }
    tracing::info!(actor = %actor, changed = %changed, ?restart_required, "configuration reloaded");
    Ok(Reloaded {
        changed,
        restart_required,
    })
}

/// Reloads on every SIGHUP, logging the outcome (an invalid file keeps the running configuration).
pub fn on_sighup(state: web::Data<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut hangups) = signal(SignalKind::hangup()) else {
                tracing::warn!("cannot listen for SIGHUP; POST /admin/reload still reloads");
                return;
            };
            while hangups.recv().await.is_some() {
                match reload(&state, "SIGHUP").await {
                    Ok(done) => {
                        tracing::info!(changed = %done.changed, "SIGHUP: configuration reloaded")
                    }
                    Err(e) => tracing::error!(
                        error = %e.message,
                        "SIGHUP: configuration refused; the running one is kept"
                    ),
                }
            }
        }
        #[cfg(not(unix))]
        drop(state);
    })
}

/// `sandbox://<upstream>` channels go to the running sandbox; without one they cannot be served.
fn point_at_sandbox(
    config: &mut Config,
    sandbox: Option<std::net::SocketAddr>,
) -> Result<(), ApiError> {
    for (id, channel) in config.channels.iter_mut().filter(|(_, c)| c.enabled) {
        let Some(upstream) = channel.base_url.strip_prefix(SANDBOX_SCHEME) else {
            continue;
        };
        let Some(addr) = sandbox else {
            return Err(ApiError::invalid_argument(format!(
                "channel '{id}': base_url {SANDBOX_SCHEME}{upstream} needs the built-in sandbox, \
                 which this process did not start (restart to add it)"
            )));
        };
        channel.base_url = format!("http://{addr}/{upstream}");
    }
    Ok(())
}

/// Whether two settings say the same (compared as JSON: secrets included, nothing needs `PartialEq`).
pub(crate) fn same_json<T: serde::Serialize>(a: &T, b: &T) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

/// The restart-only sections whose values differ.
fn restart_only_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let (old, new) = (
        serde_json::to_value(old).unwrap_or_default(),
        serde_json::to_value(new).unwrap_or_default(),
    );
    RESTART_ONLY
        .iter()
        .copied()
        .filter(|section| old.get(section) != new.get(section))
        .collect()
}

/// The new configuration with the running values of the restart-only sections (what the process
/// really runs with stays what `/admin` and the workers read).
fn keep_restart_only_sections(old: &Config, new: &mut Config) {
    new.server = old.server.clone();
    new.store = old.store.clone();
    new.auth = old.auth.clone();
    new.callbacks = old.callbacks.clone();
    new.webhooks = old.webhooks.clone();
    new.sandbox = old.sandbox.clone();
    new.telemetry = old.telemetry.clone();
    new.workers = old.workers.clone();
    new.metrics = old.metrics.clone();
}

/// Ids added, removed and changed, per table.
fn changes(old: &Config, new: &Config) -> Value {
    fn diff<T: serde::Serialize>(
        old: &std::collections::BTreeMap<String, T>,
        new: &std::collections::BTreeMap<String, T>,
    ) -> Value {
        let added: Vec<&String> = new.keys().filter(|k| !old.contains_key(*k)).collect();
        let removed: Vec<&String> = old.keys().filter(|k| !new.contains_key(*k)).collect();
        let changed: Vec<&String> = new
            .iter()
            .filter(|(k, v)| old.get(*k).is_some_and(|o| !same_json(o, *v)))
            .map(|(k, _)| k)
            .collect();
        json!({ "added": added, "removed": removed, "changed": changed })
    }
    json!({
        "operators": diff(&old.operators, &new.operators),
        "channels": diff(&old.channels, &new.channels),
        "merchants": diff(&old.merchants, &new.merchants),
    })
}

/// What ran before a reload, for the audit log: the ids of each table.
fn summary(config: &Config) -> Value {
    json!({
        "operators": config.operators.keys().collect::<Vec<_>>(),
        "channels": config.channels.keys().collect::<Vec<_>>(),
        "merchants": config.merchants.keys().collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_what_was_added_removed_and_changed() {
        let old = crate::config::defaults_for_test();
        let mut new = old.clone();
        let mut op = new.operators["movistar-es"].clone();
        op.prefixes = vec!["+35191".into()];
        new.operators.insert("nos-pt".into(), op);
        new.merchants.remove("demo-merchant-2");
        new.channels.get_mut("movistar_es_sandbox").unwrap().weight = 7;
        let changed = changes(&old, &new);
        assert_eq!(changed["operators"]["added"], json!(["nos-pt"]));
        assert_eq!(changed["merchants"]["removed"], json!(["demo-merchant-2"]));
        assert_eq!(
            changed["channels"]["changed"],
            json!(["movistar_es_sandbox"])
        );
        assert_eq!(changed["channels"]["added"], json!([]));
    }

    #[test]
    fn restart_only_sections_are_reported_and_keep_their_running_values() {
        let old = crate::config::defaults_for_test();
        let mut new = old.clone();
        new.server.port = 9999;
        new.store.idempotency_ttl_secs += 1;
        assert_eq!(restart_only_changes(&old, &new), ["server", "store"]);
        keep_restart_only_sections(&old, &mut new);
        assert_eq!(new.server.port, old.server.port);
        assert!(restart_only_changes(&old, &new).is_empty());
    }

    #[test]
    fn sandbox_channels_need_the_running_sandbox() {
        let mut config = crate::config::defaults_for_test();
        let err = point_at_sandbox(&mut config.clone(), None).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidArgument);
        assert!(err.message.contains("sandbox://"), "{}", err.message);
        let addr: std::net::SocketAddr = "127.0.0.1:4010".parse().unwrap();
        point_at_sandbox(&mut config, Some(addr)).unwrap();
        assert_eq!(
            config.channels["movistar_es_sandbox"].base_url,
            "http://127.0.0.1:4010/movistar-es"
        );
    }

    #[test]
    fn a_channel_whose_settings_did_not_change_is_carried_over_as_it_is() {
        let addr: std::net::SocketAddr = "127.0.0.1:4010".parse().unwrap();
        let mut old = crate::config::defaults_for_test();
        point_at_sandbox(&mut old, Some(addr)).unwrap();
        let (running, _) = crate::app::build_router_keeping(&old, None, None).unwrap();
        let mut new = old.clone();
        new.channels.get_mut("telekom_de_sandbox").unwrap().weight = 5;
        let (router, built) =
            crate::app::build_router_keeping(&new, None, Some((&old, &running))).unwrap();
        let same =
            |id: &str| Arc::ptr_eq(&router.channel(id).unwrap(), &running.channel(id).unwrap());
        assert!(
            same("movistar_es_sandbox"),
            "unchanged: the running channel"
        );
        assert!(!same("telekom_de_sandbox"), "changed: built anew");
        let built: Vec<&str> = built.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(built, ["telekom_de_sandbox"]);
        assert_eq!(router.channel("telekom_de_sandbox").unwrap().weight, 5);
    }
}
