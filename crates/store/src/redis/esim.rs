//! The Redis backend's eSIM orders: a hash per order and a claim string per merchant key, under the
//! merchant's hash tag, so one script claims and writes on a single node or a Cluster.

use std::sync::LazyLock;

use redis::{Script, Value};
use switchboard_core::EsimOrderRecord;

use super::codec::{self, Stored};
use super::keys;
use super::RedisStore;
use crate::{EsimInsert, StoreError, UpdateOutcome};

impl Stored for EsimOrderRecord {
    const NAME: &'static str = "eSIM order";
    fn id(&self) -> &str {
        &self.id
    }
}

struct EsimScripts {
    insert: Script,
    update: Script,
}

static SCRIPTS: LazyLock<EsimScripts> = LazyLock::new(|| EsimScripts {
    insert: Script::new(include_str!("scripts/esim_insert.lua")),
    update: Script::new(include_str!("scripts/esim_update.lua")),
});

fn json(record: &EsimOrderRecord) -> Result<String, StoreError> {
    serde_json::to_string(record)
        .map_err(|e| StoreError::Corrupt(format!("eSIM order does not serialise: {e}")))
}

impl RedisStore {
    pub(super) async fn esim_insert(
        &self,
        record: &EsimOrderRecord,
    ) -> Result<EsimInsert, StoreError> {
        let mk = self.keys.merchant(&record.merchant_id);
        let order_key = mk.esim_order(&record.id);
        let mut call = SCRIPTS.insert.key(&order_key);
        call.key(mk.esim_claim(record.claim_key()))
            .arg(keys::member(&record.id))
            .arg(json(record)?)
            .arg(record.version.to_string())
            .arg(mk.esim_order_base());
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("insert_esim_order", call.invoke_async(&mut conn))
            .await?;
        let outcome = codec::keyed_insert_outcome(reply, "external_order_id", &record.id)?;
        if outcome == EsimInsert::Inserted {
            self.replicated("insert_esim_order", &order_key).await?;
        }
        Ok(outcome)
    }

    pub(super) async fn esim_update(
        &self,
        record: &EsimOrderRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome<EsimOrderRecord>, StoreError> {
        let mk = self.keys.merchant(&record.merchant_id);
        let mut call = SCRIPTS.update.key(mk.esim_order(&record.id));
        call.arg(json(record)?)
            .arg(record.version.to_string())
            .arg(expected_version.to_string());
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("update_esim_order", call.invoke_async(&mut conn))
            .await?;
        codec::update_outcome(reply)
    }

    pub(super) async fn esim_get(
        &self,
        merchant_id: &str,
        order_id: &str,
    ) -> Result<Option<EsimOrderRecord>, StoreError> {
        let key = self.keys.merchant(merchant_id).esim_order(order_id);
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HGET");
        cmd.arg(key).arg("json");
        let reply: Value = self
            .call("get_esim_order", cmd.query_async(&mut conn))
            .await?;
        match codec::optional_record::<EsimOrderRecord>(reply)? {
            Some(e) if e.merchant_id != merchant_id || e.id != order_id => Err(
                StoreError::Corrupt("eSIM order stored under another merchant or id".into()),
            ),
            other => Ok(other),
        }
    }
}
