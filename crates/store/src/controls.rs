//! Runtime routing controls and the admin audit log. Ops change routing at run time (a channel
//! disabled, drained, re-weighted); the changes live in the store as one versioned document, so
//! every replica sees the same controls (it polls the version) and they survive restarts. Each
//! change is written together with its audit entry, in one atomic step. The store knows nothing
//! of what the document says: it is the gateway's JSON.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::journal::{ChangeSink, Row, RowLog};
use crate::StoreError;

/// Audit entries kept (the oldest go first).
pub const AUDIT_LEN: usize = 10_000;

/// The controls document and its version (0 and an empty document before any change).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutingControls {
    pub version: u64,
    /// The gateway's JSON; empty before the first change.
    pub document: String,
}

/// One admin change: who made it, what it was, and the state before and after.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// The admin token's name.
    pub actor: String,
    /// What was changed, e.g. `PATCH /admin/channels/movistar_es_sandbox`.
    pub action: String,
    /// JSON of the changed state before and after.
    pub before: String,
    pub after: String,
}

/// The memory backend's controls and log (and the rows a change wrote, see `journal.rs`).
#[derive(Default)]
pub(crate) struct MemoryControls {
    inner: Mutex<(RoutingControls, VecDeque<AuditEntry>, RowLog)>,
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Unavailable("memory store poisoned".into())
}

impl MemoryControls {
    pub(crate) fn get(&self) -> Result<RoutingControls, StoreError> {
        Ok(self.inner.lock().map_err(poisoned)?.0.clone())
    }

    pub(crate) fn set(
        &self,
        expected_version: u64,
        document: &str,
        audit: &AuditEntry,
    ) -> Result<Option<u64>, StoreError> {
        let mut inner = self.inner.lock().map_err(poisoned)?;
        let (controls, log, rows) = &mut *inner;
        if controls.version != expected_version {
            return Ok(None);
        }
        controls.version += 1;
        controls.document = document.to_string();
        log.push_front(audit.clone());
        log.truncate(AUDIT_LEN);
        // Each change adds one entry: the entry is keyed by the version it made.
        let version = controls.version;
        rows.note(|| Row::Controls(controls.clone()));
        rows.note(|| Row::Audit {
            version,
            entry: Some(audit.clone()),
        });
        if let Some(old) = version.checked_sub(AUDIT_LEN as u64) {
            rows.note(|| Row::Audit {
                version: old,
                entry: None,
            });
        }
        rows.publish();
        Ok(Some(version))
    }

    /// Puts back the controls and the audit entries (by the version each made) read from a
    /// durable copy.
    pub(crate) fn restore(
        &self,
        controls: Option<RoutingControls>,
        mut audit: Vec<(u64, AuditEntry)>,
    ) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().map_err(poisoned)?;
        if let Some(controls) = controls {
            inner.0 = controls;
        }
        audit.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
        inner.1 = audit.into_iter().map(|(_, e)| e).take(AUDIT_LEN).collect();
        Ok(())
    }

    pub(crate) fn journal_to(
        &self,
        sink: std::sync::Arc<dyn ChangeSink>,
    ) -> Result<(), StoreError> {
        self.inner.lock().map_err(poisoned)?.2.attach(sink);
        Ok(())
    }

    pub(crate) fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let inner = self.inner.lock().map_err(poisoned)?;
        Ok(inner.1.iter().take(limit).cloned().collect())
    }
}
