//! The Redis side of the routing controls: the hash `{P:routing}` (`v`, `doc`) and the audit list
//! `{P:routing}:audit` (JSON entries, newest first). One tag, so one slot; a change and its audit
//! entry are one script.

use std::sync::LazyLock;

use redis::Script;

use super::RedisStore;
use crate::controls::{AuditEntry, RoutingControls, AUDIT_LEN};
use crate::StoreError;

static SET: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/controls_set.lua")));

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("routing controls: {what}"))
}

impl RedisStore {
    pub(super) async fn routing_controls_impl(&self) -> Result<RoutingControls, StoreError> {
        let mut conn = self.conn.clone();
        let (version, document): (Option<String>, Option<String>) = self
            .call(
                "routing_controls",
                redis::cmd("HMGET")
                    .arg(self.keys.routing_controls())
                    .arg("v")
                    .arg("doc")
                    .query_async(&mut conn),
            )
            .await?;
        let version = match version {
            Some(v) => v.parse().map_err(|_| corrupt("version is not a number"))?,
            None => 0,
        };
        Ok(RoutingControls {
            version,
            document: document.unwrap_or_default(),
        })
    }

    pub(super) async fn set_routing_controls_impl(
        &self,
        expected_version: u64,
        document: &str,
        audit: &AuditEntry,
    ) -> Result<Option<u64>, StoreError> {
        let entry = serde_json::to_string(audit).map_err(|_| corrupt("audit entry"))?;
        let mut call = SET.key(self.keys.routing_controls());
        call.key(self.keys.audit_log())
            .arg(expected_version)
            .arg(document)
            .arg(entry)
            .arg(AUDIT_LEN);
        let mut conn = self.conn.clone();
        let version: i64 = self
            .call("set_routing_controls", call.invoke_async(&mut conn))
            .await?;
        Ok(u64::try_from(version).ok())
    }

    pub(super) async fn audit_log_impl(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let entries: Vec<String> = self
            .call(
                "audit_log",
                redis::cmd("LRANGE")
                    .arg(self.keys.audit_log())
                    .arg(0)
                    .arg(limit - 1)
                    .query_async(&mut conn),
            )
            .await?;
        entries
            .iter()
            .map(|e| serde_json::from_str(e).map_err(|_| corrupt("audit entry")))
            .collect()
    }
}
