//! Ops' runtime routing controls (`PATCH /admin/channels/{id}`): one versioned document in the
//! store, `{"channels": {"<id>": {"state", "circuit", "priority", "weight"}}}`, so every replica
//! routes by the same controls and they survive restarts. Each replica polls the version every
//! `routing.controls_refresh_ms` (one small read; the document only when it changed) and sets the
//! router's atomics; the replica that takes a change applies it at once. A change is a
//! compare-and-set on the version together with its audit entry.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::web;
use serde::{Deserialize, Serialize};
use switchboard_core::{ApiError, ErrorCode};
use switchboard_router::{Controls, Router};
use switchboard_store::{AuditEntry, RoutingControls, Store};
use tokio::task::JoinHandle;

use crate::payments::store_error;
use crate::state::AppState;

/// Tries of a change that keeps losing the compare-and-set to other admins.
const CHANGE_ATTEMPTS: usize = 5;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlsDocument {
    #[serde(default)]
    pub channels: BTreeMap<String, Controls>,
}

impl ControlsDocument {
    fn parse(stored: &RoutingControls) -> Result<ControlsDocument, ApiError> {
        if stored.document.is_empty() {
            return Ok(ControlsDocument::default());
        }
        serde_json::from_str(&stored.document).map_err(|e| {
            tracing::error!(error = %e, "routing controls in the store are unreadable");
            ApiError::new(ErrorCode::Internal, "The routing controls are unreadable.")
        })
    }

    /// Sets every channel of the router to its controls (absent: as configured).
    fn apply(&self, router: &Router) {
        for channel in router.channels() {
            let controls = self.channels.get(&channel.id).copied().unwrap_or_default();
            channel.control.apply(&controls);
        }
    }
}

/// The version of the controls this replica applied.
#[derive(Debug, Default)]
pub struct AppliedControls {
    version: AtomicU64,
}

impl AppliedControls {
    /// Applies the store's controls if they changed since the version held.
    pub async fn refresh(&self, store: &dyn Store, router: &Router) -> Result<(), ApiError> {
        let stored = store.routing_controls().await.map_err(store_error)?;
        if stored.version == self.version.load(Ordering::Acquire) {
            return Ok(());
        }
        ControlsDocument::parse(&stored)?.apply(router);
        self.version.store(stored.version, Ordering::Release);
        Ok(())
    }

    /// Applies the store's controls whatever version this replica holds (a router just built by
    /// a reload has none of them yet).
    pub async fn apply_now(&self, store: &dyn Store, router: &Router) -> Result<(), ApiError> {
        let stored = store.routing_controls().await.map_err(store_error)?;
        ControlsDocument::parse(&stored)?.apply(router);
        self.version.store(stored.version, Ordering::Release);
        Ok(())
    }
}

/// Writes an audit entry for a change that is not a routing control (a configuration reload):
/// the controls document is written back unchanged with it, in the same compare-and-set, so the
/// log stays one atomic, shared list (the version moves on and every replica re-applies the same
/// controls, which is harmless).
pub async fn audit(
    state: &AppState,
    actor: &str,
    action: &str,
    before: &serde_json::Value,
    after: &serde_json::Value,
) -> Result<(), ApiError> {
    for _ in 0..CHANGE_ATTEMPTS {
        let stored = state.store.routing_controls().await.map_err(store_error)?;
        let entry = AuditEntry {
            at: chrono::Utc::now(),
            actor: actor.to_string(),
            action: action.to_string(),
            before: before.to_string(),
            after: after.to_string(),
        };
        if state
            .store
            .set_routing_controls(stored.version, &stored.document, &entry)
            .await
            .map_err(store_error)?
            .is_some()
        {
            return Ok(());
        }
    }
    Err(ApiError::new(
        ErrorCode::Conflict,
        "The routing controls kept changing under this request. Try again.",
    ))
}

/// What a change did: the channel's controls before and after.
pub struct Changed {
    pub before: Controls,
    pub after: Controls,
}

/// Merges `change` into the controls of `channel_id`, writes them with an audit entry naming
/// `actor`, and applies them on this replica.
/// `adjust` runs on the merged controls before they are written (e.g. to clear an override).
pub async fn change(
    state: &AppState,
    channel_id: &str,
    change: Controls,
    actor: &str,
    adjust: impl Fn(&mut Controls),
) -> Result<Changed, ApiError> {
    for _ in 0..CHANGE_ATTEMPTS {
        let stored = state.store.routing_controls().await.map_err(store_error)?;
        let mut doc = ControlsDocument::parse(&stored)?;
        let before = doc.channels.get(channel_id).copied().unwrap_or_default();
        let mut after = before.merged(change);
        adjust(&mut after);
        if after == Controls::default() {
            doc.channels.remove(channel_id);
        } else {
            doc.channels.insert(channel_id.to_string(), after);
        }
        let document =
            serde_json::to_string(&doc).map_err(|_| ApiError::of(ErrorCode::Internal))?;
        let audit = AuditEntry {
            at: chrono::Utc::now(),
            actor: actor.to_string(),
            action: format!("PATCH /admin/channels/{channel_id}"),
            before: serde_json::to_string(&before).unwrap_or_default(),
            after: serde_json::to_string(&after).unwrap_or_default(),
        };
        if let Some(version) = state
            .store
            .set_routing_controls(stored.version, &document, &audit)
            .await
            .map_err(store_error)?
        {
            doc.apply(&state.router());
            state.controls.version.store(version, Ordering::Release);
            tracing::info!(channel = %channel_id, actor = %actor, "routing controls changed");
            return Ok(Changed { before, after });
        }
    }
    Err(ApiError::new(
        ErrorCode::Conflict,
        "The routing controls kept changing under this request. Try again.",
    ))
}

/// Applies the store's controls now, then every `interval`.
pub fn spawn_refresh(state: web::Data<AppState>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = state
                .controls
                .refresh(state.store.as_ref(), &state.router())
                .await
            {
                tracing::warn!(error = %e.message, "routing controls not refreshed");
            }
        }
    })
}
