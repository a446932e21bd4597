//! The Redis backend's refunds. A refund lives under its merchant's hash tag, next to the payment,
//! so one script claims its keys, reads what the payment's other refunds hold (the payment's refund
//! ledger) and writes, atomically, on a single node or a Cluster. Layout: see the crate README.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use redis::{Script, Value};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use switchboard_core::{Amount, RefundRecord, RefundType};

use super::codec::{self, Stored};
use super::{keys, outbox_codec};
use super::{RedisStore, MAX_OFFSET};
use crate::query::SortOrder;
use crate::refunds::{RefundInsert, RefundPage, RefundQuery};
use crate::{IdempotencyKey, OutboxEvent, StoreError, UpdateOutcome};

impl Stored for RefundRecord {
    const NAME: &'static str = "refund";
    fn id(&self) -> &str {
        &self.id
    }
}

struct RefundScripts {
    insert: Script,
    update: Script,
    all: Script,
}

static SCRIPTS: LazyLock<RefundScripts> = LazyLock::new(|| RefundScripts {
    insert: Script::new(concat!(
        include_str!("scripts/refund_record.lua"),
        include_str!("scripts/refund_insert.lua")
    )),
    update: Script::new(concat!(
        include_str!("scripts/refund_record.lua"),
        include_str!("scripts/outbox.lua"),
        include_str!("scripts/refund_update.lua")
    )),
    all: Script::new(include_str!("scripts/refund_all.lua")),
});

/// An amount in thousandths (amounts have at most 3 decimals and stay far below 2^53).
fn thousandths(amount: Decimal) -> Result<i64, StoreError> {
    (amount * Decimal::from(1000))
        .trunc()
        .to_i64()
        .ok_or_else(|| StoreError::Corrupt("amount out of range".into()))
}

/// `ARGV[1..12]` of refund_record.lua, computed from the record.
fn record_argv(record: &RefundRecord) -> Result<Vec<String>, StoreError> {
    let json = serde_json::to_string(record)
        .map_err(|e| StoreError::Corrupt(format!("unencodable refund: {e}")))?;
    let due = record
        .is_unsettled()
        .then_some(record.next_check_at)
        .flatten()
        .map(|t| codec::score(t).to_string())
        .unwrap_or_default();
    Ok(vec![
        keys::member(&record.id),
        json,
        record.version.to_string(),
        if record.is_visible() { "1" } else { "0" }.into(),
        codec::score(record.created_at).to_string(),
        due,
        record.status.as_str().into(),
        String::new(),
        if record.merchant_identifier.is_some() {
            "1"
        } else {
            "0"
        }
        .into(),
        record.merchant_identifier.clone().unwrap_or_default(),
        thousandths(record.reserved().value())?.to_string(),
        if record.needs_review {
            codec::score(record.created_at).to_string()
        } else {
            String::new()
        },
    ])
}

fn items(reply: Value) -> Result<Vec<Value>, StoreError> {
    match reply {
        Value::Array(items) | Value::Set(items) => Ok(items),
        _ => Err(StoreError::Corrupt("unexpected reply from redis".into())),
    }
}

fn int(value: Option<&Value>) -> Result<i64, StoreError> {
    match value {
        Some(Value::Int(i)) => Ok(*i),
        _ => Err(StoreError::Corrupt("unexpected reply from redis".into())),
    }
}

fn required(value: Option<Value>, holder: &str) -> Result<RefundRecord, StoreError> {
    codec::optional_record::<RefundRecord>(value.unwrap_or(Value::Nil))?
        .ok_or_else(|| StoreError::Corrupt(format!("{holder} points at a missing refund")))
}

impl RedisStore {
    pub(super) async fn refund_insert(
        &self,
        record: &RefundRecord,
        keys: &[IdempotencyKey],
        paid: Amount,
    ) -> Result<RefundInsert, StoreError> {
        let mk = self.keys.merchant(&record.merchant_id);
        let refund_key = mk.refund(&record.id);
        let mut call = SCRIPTS.insert.key(&refund_key);
        call.key(mk.refund_ledger(&record.payment_id))
            .key(mk.refund_list(&record.payment_id))
            .key(mk.refund_due())
            .key(mk.review_refunds());
        for key in keys {
            call.key(mk.refund_claim(key));
        }
        call.arg(record_argv(record)?)
            .arg(mk.refund_base())
            .arg(self.idempotency_ttl_ms)
            .arg(thousandths(paid.value())?)
            .arg(if record.refund_type == RefundType::Total {
                "1"
            } else {
                "0"
            })
            .arg(thousandths(record.amount.value())?);
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("insert_refund", call.invoke_async(&mut conn))
            .await?;
        let mut reply = items(reply)?.into_iter();
        let tag = reply.next();
        match int(tag.as_ref())? {
            0 => {
                self.replicated("insert_refund", &refund_key).await?;
                Ok(RefundInsert::Inserted)
            }
            1 => {
                let index = int(reply.next().as_ref())?;
                let key = usize::try_from(index)
                    .ok()
                    .and_then(|i| keys.get(i))
                    .ok_or_else(|| StoreError::Corrupt("unexpected reply from redis".into()))?;
                let existing = required(reply.next(), "idempotency key")?;
                if codec::is_own_earlier_run(&existing, &record.id) {
                    self.replicated("insert_refund", &refund_key).await?;
                    return Ok(RefundInsert::Inserted);
                }
                Ok(RefundInsert::Existing {
                    key: key.clone(),
                    existing: Box::new(existing),
                })
            }
            2 => Err(StoreError::Corrupt("refund id reused".into())),
            3 => {
                let left = int(reply.next().as_ref())?.max(0);
                let remaining = Amount::non_negative(Decimal::new(left, 3))
                    .map_err(|_| StoreError::Corrupt("remaining amount out of range".into()))?;
                Ok(RefundInsert::OverRemaining { remaining })
            }
            _ => Err(StoreError::Corrupt("unexpected reply from redis".into())),
        }
    }

    pub(super) async fn refund_update(
        &self,
        record: &RefundRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<RefundRecord>, StoreError> {
        let mk = self.keys.merchant(&record.merchant_id);
        let mut call = SCRIPTS.update.key(mk.refund(&record.id));
        call.key(mk.refund_ledger(&record.payment_id))
            .key(mk.refund_list(&record.payment_id))
            .key(mk.refund_due())
            .key(mk.review_refunds())
            .key(mk.outbox_append());
        for key in release {
            call.key(mk.refund_claim(key));
        }
        call.arg(record_argv(record)?)
            .arg(expected_version.to_string())
            .arg(outbox_codec::events_argv(events)?);
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("update_refund", call.invoke_async(&mut conn))
            .await?;
        let outcome: UpdateOutcome<RefundRecord> = codec::update_outcome(reply)?;
        match outcome {
            // Another payment's refund under the same id is not this one.
            UpdateOutcome::Conflict(stored) if stored.payment_id != record.payment_id => {
                Ok(UpdateOutcome::Conflict(stored))
            }
            other => Ok(other),
        }
    }

    pub(super) async fn refund_get(
        &self,
        merchant_id: &str,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<Option<RefundRecord>, StoreError> {
        let key = self.keys.merchant(merchant_id).refund(refund_id);
        let mut cmd = redis::cmd("HGET");
        cmd.arg(key).arg("json");
        let mut conn = self.conn.clone();
        let reply: Value = self.call("get_refund", cmd.query_async(&mut conn)).await?;
        match codec::optional_record::<RefundRecord>(reply)? {
            Some(r) if r.merchant_id != merchant_id || r.id != refund_id => Err(
                StoreError::Corrupt("refund stored under another merchant or id".into()),
            ),
            Some(r) if r.payment_id != payment_id => Ok(None),
            other => Ok(other),
        }
    }

    pub(super) async fn refund_list(
        &self,
        merchant_id: &str,
        payment_id: &str,
        query: &RefundQuery,
    ) -> Result<RefundPage, StoreError> {
        let mk = self.keys.merchant(merchant_id);
        let min = query
            .created_gte
            .map_or("-inf".to_string(), |d| codec::score_ceil(d).to_string());
        let max = query
            .created_lte
            .map_or("+inf".to_string(), |d| codec::score(d).to_string());
        let order = match query.order {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        };
        // list.lua serves refunds unchanged: their hashes carry `st` and `mi` like payments.
        let mut call = self.scripts.list.key(mk.refund_list(payment_id));
        call.arg(mk.refund_base())
            .arg(min)
            .arg(max)
            .arg(order)
            .arg(query.offset().min(MAX_OFFSET))
            .arg(query.per_page)
            .arg("0")
            .arg("")
            .arg(if query.merchant_identifier.is_some() {
                "1"
            } else {
                "0"
            })
            .arg(query.merchant_identifier.as_deref().unwrap_or(""))
            .arg("0");
        for status in &query.statuses {
            call.arg(status.as_str());
        }
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("list_refunds", call.invoke_async(&mut conn))
            .await?;
        let mut reply = items(reply)?.into_iter();
        let total = int(reply.next().as_ref())?;
        let total = usize::try_from(total)
            .map_err(|_| StoreError::Corrupt("list index names a missing refund".into()))?;
        let items = reply
            .map(|v| required(Some(v), "refund list index"))
            .collect::<Result<_, _>>()?;
        Ok(RefundPage { items, total })
    }

    pub(super) async fn refund_all(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        let mk = self.keys.merchant(merchant_id);
        let mut call = SCRIPTS.all.key(mk.refund_ledger(payment_id));
        call.arg(mk.refund_base());
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("payment_refunds", call.invoke_async(&mut conn))
            .await?;
        let mut all: Vec<RefundRecord> = codec::records(reply)?;
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    pub(super) async fn refund_due(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let found: Vec<RefundRecord> = Self::for_each_merchant(merchant_ids, |m| {
            let mk = self.keys.merchant(m);
            self.due_of_merchant("due_refunds", mk.refund_due(), mk.refund_base(), now, limit)
        })
        .await?;
        let mut due: Vec<RefundRecord> = found
            .into_iter()
            .filter(|r| r.is_unsettled() && r.next_check_at.is_some_and(|t| t <= now))
            .collect();
        due.sort_by(|a, b| {
            (a.next_check_at, &a.merchant_id, &a.id).cmp(&(b.next_check_at, &b.merchant_id, &b.id))
        });
        due.truncate(limit);
        Ok(due)
    }
}
