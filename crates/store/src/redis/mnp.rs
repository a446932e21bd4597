//! The Redis side of the MNP overrides: the hash `{P:mnp}` (number → operator id), its version
//! counter `{P:mnp}:version` and change log, the stream `{P:mnp}:log` whose entry `<v>-0` holds the
//! change of version `v`. One tag, so one slot; each write is one script (one round trip).

use std::sync::LazyLock;

use redis::{Script, Value};
use switchboard_core::Msisdn;

use super::codec;
use super::RedisStore;
use crate::mnp::{OverrideChange, OverrideChanges, OverridePage};
use crate::StoreError;

static WRITE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/mnp_write.lua")));
static CHANGES: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/mnp_changes.lua")));

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("MNP {what}"))
}

fn text(value: &Value) -> Result<String, StoreError> {
    String::from_utf8(codec::bytes(value)?).map_err(|_| corrupt("entry is not text"))
}

fn number(value: &Value) -> Result<u64, StoreError> {
    match value {
        Value::Int(n) => u64::try_from(*n).map_err(|_| corrupt("version is negative")),
        other => text(other)?
            .parse()
            .map_err(|_| corrupt("version is not a number")),
    }
}

/// One stream entry `[id, [field, value, …]]` → the change it logs.
fn change(entry: &Value) -> Result<OverrideChange, StoreError> {
    let Value::Array(parts) = entry else {
        return Err(corrupt("log entry is not an entry"));
    };
    let [id, fields] = parts.as_slice() else {
        return Err(corrupt("log entry is not an entry"));
    };
    let id = text(id)?;
    let version = id
        .strip_suffix("-0")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt("log entry id is not a version"))?;
    let Value::Array(fields) = fields else {
        return Err(corrupt("log entry has no fields"));
    };
    let (mut msisdn, mut operator_id) = (None, None);
    for pair in fields.chunks(2) {
        match (text(&pair[0])?.as_str(), pair.get(1)) {
            ("n", Some(v)) => msisdn = Msisdn::parse(&text(v)?),
            ("o", Some(v)) => operator_id = Some(text(v)?),
            _ => {}
        }
    }
    Ok(OverrideChange {
        version,
        msisdn: msisdn.ok_or_else(|| corrupt("log entry without an E.164 number"))?,
        operator_id,
    })
}

impl RedisStore {
    async fn mnp_write(
        &self,
        msisdn: &Msisdn,
        operator_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut call = WRITE.key(self.keys.mnp());
        call.key(self.keys.mnp_version())
            .key(self.keys.mnp_log())
            .arg(msisdn.as_str())
            .arg(if operator_id.is_some() { "set" } else { "del" })
            .arg(operator_id.unwrap_or_default())
            .arg(self.mnp_log_len);
        let mut conn = self.conn.clone();
        let changed: i64 = self.call("mnp_write", call.invoke_async(&mut conn)).await?;
        Ok(changed == 1)
    }

    pub(super) async fn set_override_impl(
        &self,
        msisdn: &Msisdn,
        operator_id: &str,
    ) -> Result<(), StoreError> {
        self.mnp_write(msisdn, Some(operator_id)).await.map(|_| ())
    }

    pub(super) async fn remove_override_impl(&self, msisdn: &Msisdn) -> Result<bool, StoreError> {
        self.mnp_write(msisdn, None).await
    }

    pub(super) async fn override_page_impl(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<OverridePage, StoreError> {
        let mut cmd = redis::cmd("HSCAN");
        cmd.arg(self.keys.mnp())
            .arg(cursor.unwrap_or("0"))
            .arg("COUNT")
            .arg(limit.max(1));
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("operator_override_page", cmd.query_async(&mut conn))
            .await?;
        let mut parts = codec::array(reply)?.into_iter();
        let (Some(next), Some(items)) = (parts.next(), parts.next()) else {
            return Err(corrupt("page is not a scan reply"));
        };
        let next = text(&next)?;
        Ok(OverridePage {
            entries: codec::overrides(items)?,
            next: (next != "0").then_some(next),
        })
    }

    pub(super) async fn override_version_impl(&self) -> Result<u64, StoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.keys.mnp_version());
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("operator_override_version", cmd.query_async(&mut conn))
            .await?;
        match reply {
            Value::Nil => Ok(0),
            v => number(&v),
        }
    }

    pub(super) async fn override_changes_impl(
        &self,
        since: u64,
        limit: usize,
    ) -> Result<OverrideChanges, StoreError> {
        let mut call = CHANGES.key(self.keys.mnp_version());
        call.key(self.keys.mnp_log())
            .arg(since)
            .arg(format!("{}-0", since.saturating_add(1)))
            .arg(limit.max(1));
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("operator_override_changes", call.invoke_async(&mut conn))
            .await?;
        let mut parts = codec::array(reply)?.into_iter();
        let (Some(head), Some(entries)) = (parts.next(), parts.next()) else {
            return Err(corrupt("changes reply is not [head, entries]"));
        };
        let head = number(&head)?;
        match entries {
            Value::Array(entries) => Ok(OverrideChanges::Changes {
                head,
                changes: entries.iter().map(change).collect::<Result<_, _>>()?,
            }),
            _ => Ok(OverrideChanges::Trimmed { head }),
        }
    }
}
