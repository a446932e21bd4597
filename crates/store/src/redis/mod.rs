//! The Redis backend, single node or Cluster. Layout and scripts: see the crate README.
//!
//! Every operation is one round trip (`due_for_reconciliation`, `due_topups`, `due_refunds` and
//! `review_list`: one per merchant, concurrently): the writes are Lua scripts, so they are atomic, and every key a script touches
//! carries the merchant's hash tag, so they work unchanged on Redis Cluster. The MNP overrides are
//! one hash, a version and a change log under a tag of their own (see `mnp.rs`).

mod codec;
mod connection;
mod controls;
mod esim;
mod keys;
mod limits;
mod mnp;
mod outbox;
mod outbox_codec;
mod refunds;
mod review;
mod scripts;
mod settings;
mod stats;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use redis::{RedisResult, Value};
use switchboard_core::{Amount, EsimOrderRecord, Msisdn, PaymentRecord, RefundRecord, TopUpRecord};

use self::codec::{RecordArgs, Stored, TopUpArgs};
use self::connection::Connection;
use self::keys::Keys;
use self::scripts::Scripts;
pub use self::settings::RedisSettings;
use crate::query::{PaymentPage, PaymentQuery, SortOrder};
use crate::{
    DeadLetter, Delivery, DeliveryResult, IdempotencyKey, InsertOutcome, OutboxEvent, RateQuota,
    RefundInsert, RefundPage, RefundQuery, ReviewList, Store, StoreError, TopUpInsert,
    UpdateOutcome, WebhookEndpoint,
};

/// Merchants whose due payments are fetched at the same time.
const DUE_CONCURRENCY: usize = 8;
/// List offsets above this cannot match anything real and would not survive Lua's number format.
const MAX_OFFSET: usize = 1_000_000_000_000;

pub struct RedisStore {
    conn: Connection,
    keys: Keys,
    scripts: Scripts,
    idempotency_ttl_ms: u64,
    deadline: Duration,
    cluster: bool,
    /// Changes the MNP log keeps.
    mnp_log_len: usize,
    /// Replicas that must hold a claim before it is acknowledged (see [`RedisSettings`]).
    claim_replicas: u32,
    /// How long a claim waits for them.
    replica_timeout: Duration,
}

impl RedisStore {
    /// Builds the store without waiting for Redis (the first call connects; a Redis that is down
    /// makes calls fail with `Unavailable` until it is back). Must run inside a Tokio runtime.
    /// Fails on settings that cannot work: a bad URL, prefix or timeout.
    pub fn connect(settings: &RedisSettings) -> Result<RedisStore, StoreError> {
        settings.validate()?;
        Ok(RedisStore {
            conn: Connection::open(settings)?,
            keys: Keys::new(&settings.prefix, settings.subscriber_secret()),
            scripts: Scripts::new(),
            idempotency_ttl_ms: settings.idempotency_ttl_ms(),
            deadline: settings.call_deadline(),
            cluster: settings.cluster,
            mnp_log_len: crate::MNP_LOG_LEN,
            claim_replicas: settings.claim_replicas,
            // Half the answer timeout, so WAIT answers (with what it got) before the command times out.
            replica_timeout: settings.response_timeout() / 2,
        })
    }

    /// The same store, its MNP change log keeping only the newest `len` changes.
    pub fn with_mnp_log_len(mut self, len: usize) -> RedisStore {
        self.mnp_log_len = len.max(1);
        self
    }

    /// Runs one Redis exchange with the call deadline; every failure is `Unavailable`.
    async fn call<T>(
        &self,
        op: &str,
        exchange: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.deadline, exchange).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(connection::unavailable(op, &e)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "redis {op}: no answer within {} ms",
                self.deadline.as_millis()
            ))),
        }
    }

    /// With `claim_replicas` set: returns once that many replicas hold the claim just written to
    /// `key`, so a master failover cannot lose a claim whose charge is about to be sent. Fewer in
    /// time: `Unavailable`, and the caller sends nothing (the claim left on the master is settled
    /// by reconciliation like any claim whose sender stopped).
    pub(super) async fn replicated(&self, op: &str, key: &str) -> Result<(), StoreError> {
        let wanted = self.claim_replicas;
        if wanted == 0 {
            return Ok(());
        }
        let acked = self
            .call(
                op,
                self.conn
                    .wait_for_replicas(key, wanted, self.replica_timeout),
            )
            .await?;
        if acked < wanted {
            return Err(StoreError::Unavailable(format!(
                "redis {op}: the claim reached {acked} of {wanted} replicas in time"
            )));
        }
        Ok(())
    }

    /// `insert.lua`, or with a quota `insert_rated.lua` (the merchant's rate cell is one more key
    /// in the merchant's slot, before the idempotency keys): one round trip either way.
    async fn claim_payment(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
        quota: Option<RateQuota>,
    ) -> Result<InsertOutcome, StoreError> {
        let args = RecordArgs::of(record)?;
        let mk = self.keys.merchant(&record.merchant_id);
        let script = match quota {
            Some(_) => &self.scripts.insert_rated,
            None => &self.scripts.insert,
        };
        let payment_key = mk.payment(&record.id);
        let mut call = script.key(&payment_key);
        call.key(mk.list()).key(mk.due()).key(mk.review_payments());
        if quota.is_some() {
            call.key(mk.rate());
        }
        for key in keys {
            call.key(mk.idempotency(key));
        }
        call.arg(args.argv())
            .arg(mk.payment_base())
            .arg(self.idempotency_ttl_ms);
        if let Some(quota) = quota {
            call.arg(quota.interval_us()).arg(quota.tolerance_us());
        }
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("insert_payment", call.invoke_async(&mut conn))
            .await?;
        let outcome = codec::insert_outcome(reply, keys, &record.id)?;
        if outcome == InsertOutcome::Inserted {
            self.replicated("insert_payment", &payment_key).await?;
        }
        Ok(outcome)
    }

    /// One merchant's due records: `due.lua` on the index `due_key`, whose members are appended to
    /// `record_base` to name the records.
    async fn due_of_merchant<T: Stored>(
        &self,
        op: &str,
        due_key: String,
        record_base: String,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        let mut conn = self.conn.clone();
        let mut call = self.scripts.due.key(due_key);
        call.arg(record_base).arg(codec::score(now)).arg(limit);
        let reply: Value = self.call(op, call.invoke_async(&mut conn)).await?;
        codec::records(reply)
    }

    /// Runs `per_merchant` for each distinct merchant, a few at a time, and gathers the results.
    async fn for_each_merchant<'a, T, F, Fut>(
        merchant_ids: &'a [String],
        per_merchant: F,
    ) -> Result<Vec<T>, StoreError>
    where
        F: Fn(&'a str) -> Fut,
        Fut: Future<Output = Result<Vec<T>, StoreError>>,
    {
        let mut merchants: Vec<&str> = merchant_ids.iter().map(String::as_str).collect();
        merchants.sort_unstable();
        merchants.dedup();
        let calls: Vec<_> = merchants.into_iter().map(per_merchant).collect();
        let per_merchant: Vec<Vec<T>> = futures::stream::iter(calls)
            .buffer_unordered(DUE_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(per_merchant.into_iter().flatten().collect())
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("keys", &self.keys)
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn insert_payment(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
    ) -> Result<InsertOutcome, StoreError> {
        self.claim_payment(record, keys, None).await
    }

    async fn insert_payment_rated(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
        quota: RateQuota,
    ) -> Result<InsertOutcome, StoreError> {
        self.claim_payment(record, keys, Some(quota)).await
    }

    async fn update_payment(
        &self,
        record: &PaymentRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome, StoreError> {
        let args = RecordArgs::of(record)?;
        let mk = self.keys.merchant(&record.merchant_id);
        let mut call = self.scripts.update.key(mk.payment(&record.id));
        call.key(mk.list())
            .key(mk.due())
            .key(mk.review_payments())
            .key(mk.outbox_append());
        for key in release {
            call.key(mk.idempotency(key));
        }
        call.arg(args.argv())
            .arg(expected_version.to_string())
            .arg(outbox_codec::events_argv(events)?);
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("update_payment", call.invoke_async(&mut conn))
            .await?;
        codec::update_outcome(reply)
    }

    async fn get_payment(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        let key = self.keys.merchant(merchant_id).payment(payment_id);
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HGET");
        cmd.arg(key).arg("json");
        let reply: Value = self.call("get_payment", cmd.query_async(&mut conn)).await?;
        let record = codec::optional_record::<PaymentRecord>(reply)?;
        match record {
            Some(p) if p.merchant_id != merchant_id || p.id != payment_id => Err(
                StoreError::Corrupt("payment stored under another merchant or id".into()),
            ),
            other => Ok(other),
        }
    }

    async fn list_payments(
        &self,
        merchant_id: &str,
        query: &PaymentQuery,
    ) -> Result<PaymentPage, StoreError> {
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
        let flag = |b: bool| if b { "1" } else { "0" };
        let mut call = self.scripts.list.key(mk.list());
        call.arg(mk.payment_base())
            .arg(min)
            .arg(max)
            .arg(order)
            .arg(query.offset().min(MAX_OFFSET))
            .arg(query.per_page)
            .arg(flag(query.msisdn.is_some()))
            .arg(query.msisdn.as_ref().map_or("", |m| m.as_str()))
            .arg(flag(query.merchant_identifier.is_some()))
            .arg(query.merchant_identifier.as_deref().unwrap_or(""))
            .arg("1");
        for status in &query.statuses {
            call.arg(codec::status_name(*status)?);
        }
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("list_payments", call.invoke_async(&mut conn))
            .await?;
        codec::page(reply)
    }

    async fn due_for_reconciliation(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let found: Vec<PaymentRecord> = Self::for_each_merchant(merchant_ids, |m| {
            let mk = self.keys.merchant(m);
            self.due_of_merchant(
                "due_for_reconciliation",
                mk.due(),
                mk.payment_base(),
                now,
                limit,
            )
        })
        .await?;
        // The index is kept exact by the scripts; the check below only guards the µs rounding.
        let mut due: Vec<PaymentRecord> = found
            .into_iter()
            .filter(|p| p.is_unsettled() && p.next_check_at.is_some_and(|t| t <= now))
            .collect();
        due.sort_by_key(|p| p.next_check_at);
        due.truncate(limit);
        Ok(due)
    }

    async fn insert_topup(&self, record: &TopUpRecord) -> Result<TopUpInsert, StoreError> {
        let args = TopUpArgs::of(record)?;
        let mk = self.keys.merchant(&record.merchant_id);
        let topup_key = mk.topup(&record.id);
        let mut call = self.scripts.topup_insert.key(&topup_key);
        call.key(mk.topup_due())
            .key(mk.review_topups())
            .key(mk.topup_claim(&record.external_tx_id));
        call.arg(args.argv())
            .arg(mk.topup_base())
            .arg(self.idempotency_ttl_ms);
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("insert_topup", call.invoke_async(&mut conn))
            .await?;
        let outcome = codec::topup_insert_outcome(reply, &record.id)?;
        if outcome == TopUpInsert::Inserted {
            self.replicated("insert_topup", &topup_key).await?;
        }
        Ok(outcome)
    }

    async fn update_topup(
        &self,
        record: &TopUpRecord,
        expected_version: u64,
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<TopUpRecord>, StoreError> {
        let args = TopUpArgs::of(record)?;
        let mk = self.keys.merchant(&record.merchant_id);
        let mut call = self.scripts.topup_update.key(mk.topup(&record.id));
        call.key(mk.topup_due())
            .key(mk.review_topups())
            .key(mk.outbox_append());
        call.arg(args.argv())
            .arg(expected_version.to_string())
            .arg(outbox_codec::events_argv(events)?);
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("update_topup", call.invoke_async(&mut conn))
            .await?;
        codec::update_outcome(reply)
    }

    async fn get_topup(
        &self,
        merchant_id: &str,
        tx_id: &str,
    ) -> Result<Option<TopUpRecord>, StoreError> {
        let key = self.keys.merchant(merchant_id).topup(tx_id);
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HGET");
        cmd.arg(key).arg("json");
        let reply: Value = self.call("get_topup", cmd.query_async(&mut conn)).await?;
        match codec::optional_record::<TopUpRecord>(reply)? {
            Some(t) if t.merchant_id != merchant_id || t.id != tx_id => Err(StoreError::Corrupt(
                "top-up stored under another merchant or id".into(),
            )),
            other => Ok(other),
        }
    }

    async fn due_topups(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TopUpRecord>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let found: Vec<TopUpRecord> = Self::for_each_merchant(merchant_ids, |m| {
            let mk = self.keys.merchant(m);
            self.due_of_merchant("due_topups", mk.topup_due(), mk.topup_base(), now, limit)
        })
        .await?;
        // The index is kept exact by the scripts; the check below only guards the µs rounding.
        let mut due: Vec<TopUpRecord> = found
            .into_iter()
            .filter(|t| t.is_unsettled() && t.next_check_at.is_some_and(|at| at <= now))
            .collect();
        due.sort_by(|a, b| {
            (a.next_check_at, &a.merchant_id, &a.id).cmp(&(b.next_check_at, &b.merchant_id, &b.id))
        });
        due.truncate(limit);
        Ok(due)
    }

    async fn insert_esim_order(
        &self,
        record: &EsimOrderRecord,
    ) -> Result<crate::EsimInsert, StoreError> {
        self.esim_insert(record).await
    }

    async fn update_esim_order(
        &self,
        record: &EsimOrderRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome<EsimOrderRecord>, StoreError> {
        self.esim_update(record, expected_version).await
    }

    async fn get_esim_order(
        &self,
        merchant_id: &str,
        order_id: &str,
    ) -> Result<Option<EsimOrderRecord>, StoreError> {
        self.esim_get(merchant_id, order_id).await
    }

    async fn insert_refund(
        &self,
        record: &RefundRecord,
        keys: &[IdempotencyKey],
        paid: Amount,
    ) -> Result<RefundInsert, StoreError> {
        self.refund_insert(record, keys, paid).await
    }

    async fn update_refund(
        &self,
        record: &RefundRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<RefundRecord>, StoreError> {
        self.refund_update(record, expected_version, release, events)
            .await
    }

    async fn get_refund(
        &self,
        merchant_id: &str,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<Option<RefundRecord>, StoreError> {
        self.refund_get(merchant_id, payment_id, refund_id).await
    }

    async fn list_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
        query: &RefundQuery,
    ) -> Result<RefundPage, StoreError> {
        self.refund_list(merchant_id, payment_id, query).await
    }

    async fn payment_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        self.refund_all(merchant_id, payment_id).await
    }

    async fn due_refunds(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        self.refund_due(merchant_ids, now, limit).await
    }

    async fn use_once(&self, key: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.keys.once(key))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl_secs.max(1));
        let mut conn = self.conn.clone();
        let set: Value = self.call("use_once", cmd.query_async(&mut conn)).await?;
        Ok(!matches!(set, Value::Nil))
    }

    async fn set_operator_override(
        &self,
        msisdn: &Msisdn,
        operator_id: &str,
    ) -> Result<(), StoreError> {
        self.set_override_impl(msisdn, operator_id).await
    }

    async fn remove_operator_override(&self, msisdn: &Msisdn) -> Result<bool, StoreError> {
        self.remove_override_impl(msisdn).await
    }

    async fn operator_override_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<crate::OverridePage, StoreError> {
        self.override_page_impl(cursor, limit).await
    }

    async fn operator_override_version(&self) -> Result<u64, StoreError> {
        self.override_version_impl().await
    }

    async fn operator_override_changes(
        &self,
        since: u64,
        limit: usize,
    ) -> Result<crate::OverrideChanges, StoreError> {
        self.override_changes_impl(since, limit).await
    }

    async fn reserve_spend(
        &self,
        period: &crate::SpendPeriod,
        payment_id: &str,
        amount: crate::Milli,
        limit: crate::Milli,
    ) -> Result<crate::SpendOutcome, StoreError> {
        self.reserve_spend_impl(period, payment_id, amount, limit)
            .await
    }

    async fn release_spend(
        &self,
        period: &crate::SpendPeriod,
        payment_id: &str,
    ) -> Result<bool, StoreError> {
        self.release_spend_impl(period, payment_id).await
    }

    async fn spent(&self, period: &crate::SpendPeriod) -> Result<crate::Milli, StoreError> {
        self.spent_impl(period).await
    }

    async fn rate_limit(
        &self,
        merchant_id: &str,
        quota: crate::RateQuota,
    ) -> Result<crate::RateDecision, StoreError> {
        self.rate_limit_impl(merchant_id, quota).await
    }

    async fn claim_deliveries(
        &self,
        merchant_id: &str,
        worker: &str,
        now: DateTime<Utc>,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.outbox_claim(merchant_id, worker, now, lease_ms, limit)
            .await
    }

    async fn finish_delivery(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.outbox_finish(merchant_id, delivery_id, result, now)
            .await
    }

    async fn dead_letters(&self, merchant_id: &str) -> Result<Vec<DeadLetter>, StoreError> {
        self.outbox_dead_letters(merchant_id).await
    }

    async fn outbox_pending(&self, merchant_id: &str) -> Result<u64, StoreError> {
        self.outbox_pending_impl(merchant_id).await
    }

    async fn replay_dead_letter(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.outbox_replay(merchant_id, delivery_id, now).await
    }

    async fn put_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint: &WebhookEndpoint,
    ) -> Result<(), StoreError> {
        self.webhook_put(merchant_id, endpoint).await
    }

    async fn webhook_endpoints(
        &self,
        merchant_id: &str,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.webhook_list(merchant_id).await
    }

    async fn remove_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint_id: &str,
    ) -> Result<bool, StoreError> {
        self.webhook_remove(merchant_id, endpoint_id).await
    }

    async fn review_list(
        &self,
        merchant_ids: &[String],
        limit: usize,
    ) -> Result<ReviewList, StoreError> {
        self.review_list_impl(merchant_ids, limit).await
    }

    async fn add_stats(&self, buckets: &[crate::StatsBucket]) -> Result<(), StoreError> {
        self.add_stats_impl(buckets).await
    }

    async fn stats(
        &self,
        series: &[String],
        from: u64,
        to: u64,
    ) -> Result<Vec<crate::StatsBucket>, StoreError> {
        self.stats_impl(series, from, to).await
    }

    async fn routing_controls(&self) -> Result<crate::RoutingControls, StoreError> {
        self.routing_controls_impl().await
    }

    async fn set_routing_controls(
        &self,
        expected_version: u64,
        document: &str,
        audit: &crate::AuditEntry,
    ) -> Result<Option<u64>, StoreError> {
        self.set_routing_controls_impl(expected_version, document, audit)
            .await
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<crate::AuditEntry>, StoreError> {
        self.audit_log_impl(limit).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: Value = self
            .call("ping", redis::cmd("PING").query_async(&mut conn))
            .await?;
        Ok(())
    }
}
