//! The embedded durable store (the default for one node): the memory store is the working copy,
//! and every row a step changes is on disk in `<data_dir>/switchboard.redb` before the call
//! returns. A restart reads the file back into a fresh memory store.
//!
//! - Writes: each mutating call runs on the memory store, which hands the rows it changed to the
//!   journal while it still holds its lock; the call then waits until the writer thread has
//!   committed them (one redb transaction per batch of concurrent calls, fsynced: group commit).
//!   A call that changed nothing but read state another call wrote (a replay) waits for that
//!   state too, so nothing is answered that is not on disk.
//! - A failed commit fails its callers (503) and fences the store: writes and `ping` answer
//!   `Unavailable` until a restart reloads the file, which holds a consistent prefix.
//! - What restarts at zero: leases of outbox deliveries (every pending delivery is free again, so
//!   a delivery in flight at the crash is sent again: at least once), rate-limit windows, the
//!   rolling stats, the MNP change log (replicas reload the table once), and the clocks of the
//!   idempotency TTL and of finished-record retention (they count from the restart).

mod codec;
#[cfg(test)]
mod failing;
mod writer;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::{Amount, EsimOrderRecord, Msisdn, PaymentRecord, RefundRecord, TopUpRecord};
use tokio::sync::watch;

use self::writer::{Durable, Journal};
use crate::{
    AuditEntry, DeadLetter, Delivery, DeliveryResult, IdempotencyKey, InsertOutcome,
    MemorySettings, MemoryStore, Milli, OutboxEvent, OverrideChanges, OverridePage, PaymentPage,
    PaymentQuery, RateDecision, RateQuota, RefundInsert, RefundPage, RefundQuery, ReviewList,
    RoutingControls, SpendOutcome, SpendPeriod, StatsBucket, Store, StoreError, TopUpInsert,
    UpdateOutcome, WebhookEndpoint,
};

/// The data file inside the data directory.
pub const DATA_FILE: &str = "switchboard.redb";

pub struct EmbeddedStore {
    memory: MemoryStore,
    journal: Arc<Journal>,
    durable: watch::Receiver<Durable>,
    writer: Option<JoinHandle<()>>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {e}"))
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `data_dir` (created if missing) with the default bounds.
    pub fn open(data_dir: &Path) -> Result<EmbeddedStore, StoreError> {
        EmbeddedStore::open_with(data_dir, MemorySettings::default())
    }

    /// Opens the store; `settings` bound its working copy as they bound a memory store. Fails if
    /// another process has the data file open.
    pub fn open_with(
        data_dir: &Path,
        settings: MemorySettings,
    ) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(unavailable)?;
        let db = redb::Database::create(data_dir.join(DATA_FILE)).map_err(unavailable)?;
        EmbeddedStore::on(db, settings)
    }

    /// The store on an open database (a file, or a test's failing backend).
    fn on(db: redb::Database, settings: MemorySettings) -> Result<EmbeddedStore, StoreError> {
        let memory = MemoryStore::with_settings(settings);
        memory.restore(writer::read_all(&db)?)?;
        let journal = Journal::new();
        memory.journal_to(journal.clone())?;
        let durable = journal.subscribe();
        let writer = {
            let journal = journal.clone();
            std::thread::Builder::new()
                .name("store-writer".into())
                .spawn(move || journal.run(db))
                .map_err(unavailable)?
        };
        Ok(EmbeddedStore {
            memory,
            journal,
            durable,
            writer: Some(writer),
        })
    }

    fn fenced(&self) -> Result<(), StoreError> {
        match &self.durable.borrow().failed {
            Some(e) => Err(unavailable(format!(
                "a write failed ({e}); restart to reload"
            ))),
            None => Ok(()),
        }
    }

    /// Runs one mutating step on the working copy and answers once what it changed or read is on
    /// disk.
    async fn write<T>(
        &self,
        step: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.fenced()?;
        let out = step.await?;
        let target = self.journal.pushed();
        let mut durable = self.durable.clone();
        let reached = durable
            .wait_for(|d| d.seq >= target || d.failed.is_some())
            .await
            .map_err(|_| unavailable("the writer stopped"))?;
        if reached.seq >= target {
            return Ok(out);
        }
        drop(reached);
        self.fenced().map(|_| out)
    }
}

impl Drop for EmbeddedStore {
    /// Writes what is pending and closes the file (so the directory can be opened again).
    fn drop(&mut self) {
        self.journal.stop();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn insert_payment(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
    ) -> Result<InsertOutcome, StoreError> {
        self.write(self.memory.insert_payment(record, keys)).await
    }

    async fn insert_payment_rated(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
        quota: RateQuota,
    ) -> Result<InsertOutcome, StoreError> {
        self.write(self.memory.insert_payment_rated(record, keys, quota))
            .await
    }

    async fn update_payment(
        &self,
        record: &PaymentRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome, StoreError> {
        self.write(
            self.memory
                .update_payment(record, expected_version, release, events),
        )
        .await
    }

    async fn get_payment(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        self.memory.get_payment(merchant_id, payment_id).await
    }

    async fn list_payments(
        &self,
        merchant_id: &str,
        query: &PaymentQuery,
    ) -> Result<PaymentPage, StoreError> {
        self.memory.list_payments(merchant_id, query).await
    }

    async fn due_for_reconciliation(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        self.memory
            .due_for_reconciliation(merchant_ids, now, limit)
            .await
    }

    async fn insert_topup(&self, record: &TopUpRecord) -> Result<TopUpInsert, StoreError> {
        self.write(self.memory.insert_topup(record)).await
    }

    async fn update_topup(
        &self,
        record: &TopUpRecord,
        expected_version: u64,
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<TopUpRecord>, StoreError> {
        self.write(self.memory.update_topup(record, expected_version, events))
            .await
    }

    async fn get_topup(
        &self,
        merchant_id: &str,
        tx_id: &str,
    ) -> Result<Option<TopUpRecord>, StoreError> {
        self.memory.get_topup(merchant_id, tx_id).await
    }

    async fn due_topups(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TopUpRecord>, StoreError> {
        self.memory.due_topups(merchant_ids, now, limit).await
    }

    async fn insert_esim_order(
        &self,
        record: &EsimOrderRecord,
    ) -> Result<crate::EsimInsert, StoreError> {
        self.write(self.memory.insert_esim_order(record)).await
    }

    async fn update_esim_order(
        &self,
        record: &EsimOrderRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome<EsimOrderRecord>, StoreError> {
        self.write(self.memory.update_esim_order(record, expected_version))
            .await
    }

    async fn get_esim_order(
        &self,
        merchant_id: &str,
        order_id: &str,
    ) -> Result<Option<EsimOrderRecord>, StoreError> {
        self.memory.get_esim_order(merchant_id, order_id).await
    }

    async fn insert_refund(
        &self,
        record: &RefundRecord,
        keys: &[IdempotencyKey],
        paid: Amount,
    ) -> Result<RefundInsert, StoreError> {
        self.write(self.memory.insert_refund(record, keys, paid))
            .await
    }

    async fn update_refund(
        &self,
        record: &RefundRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<RefundRecord>, StoreError> {
        self.write(
            self.memory
                .update_refund(record, expected_version, release, events),
        )
        .await
    }

    async fn get_refund(
        &self,
        merchant_id: &str,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<Option<RefundRecord>, StoreError> {
        self.memory
            .get_refund(merchant_id, payment_id, refund_id)
            .await
    }

    async fn list_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
        query: &RefundQuery,
    ) -> Result<RefundPage, StoreError> {
        self.memory
            .list_refunds(merchant_id, payment_id, query)
            .await
    }

    async fn payment_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        self.memory.payment_refunds(merchant_id, payment_id).await
    }

    async fn due_refunds(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        self.memory.due_refunds(merchant_ids, now, limit).await
    }

    async fn set_operator_override(
        &self,
        msisdn: &Msisdn,
        operator_id: &str,
    ) -> Result<(), StoreError> {
        self.write(self.memory.set_operator_override(msisdn, operator_id))
            .await
    }

    async fn remove_operator_override(&self, msisdn: &Msisdn) -> Result<bool, StoreError> {
        self.write(self.memory.remove_operator_override(msisdn))
            .await
    }

    async fn operator_override_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<OverridePage, StoreError> {
        self.memory.operator_override_page(cursor, limit).await
    }

    async fn operator_override_version(&self) -> Result<u64, StoreError> {
        self.memory.operator_override_version().await
    }

    async fn operator_override_changes(
        &self,
        since: u64,
        limit: usize,
    ) -> Result<OverrideChanges, StoreError> {
        self.memory.operator_override_changes(since, limit).await
    }

    async fn use_once(&self, key: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        self.write(self.memory.use_once(key, ttl_secs)).await
    }

    async fn reserve_spend(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
        amount: Milli,
        limit: Milli,
    ) -> Result<SpendOutcome, StoreError> {
        self.write(self.memory.reserve_spend(period, payment_id, amount, limit))
            .await
    }

    async fn release_spend(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
    ) -> Result<bool, StoreError> {
        self.write(self.memory.release_spend(period, payment_id))
            .await
    }

    async fn spent(&self, period: &SpendPeriod) -> Result<Milli, StoreError> {
        self.memory.spent(period).await
    }

    /// Rate windows live in memory only: they restart at zero after a restart.
    async fn rate_limit(
        &self,
        merchant_id: &str,
        quota: RateQuota,
    ) -> Result<RateDecision, StoreError> {
        self.memory.rate_limit(merchant_id, quota).await
    }

    async fn claim_deliveries(
        &self,
        merchant_id: &str,
        worker: &str,
        now: DateTime<Utc>,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.write(
            self.memory
                .claim_deliveries(merchant_id, worker, now, lease_ms, limit),
        )
        .await
    }

    async fn finish_delivery(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(
            self.memory
                .finish_delivery(merchant_id, delivery_id, result, now),
        )
        .await
    }

    async fn outbox_pending(&self, merchant_id: &str) -> Result<u64, StoreError> {
        self.memory.outbox_pending(merchant_id).await
    }

    async fn dead_letters(&self, merchant_id: &str) -> Result<Vec<DeadLetter>, StoreError> {
        self.memory.dead_letters(merchant_id).await
    }

    async fn replay_dead_letter(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(
            self.memory
                .replay_dead_letter(merchant_id, delivery_id, now),
        )
        .await
    }

    async fn put_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint: &WebhookEndpoint,
    ) -> Result<(), StoreError> {
        self.write(self.memory.put_webhook_endpoint(merchant_id, endpoint))
            .await
    }

    async fn webhook_endpoints(
        &self,
        merchant_id: &str,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.memory.webhook_endpoints(merchant_id).await
    }

    async fn remove_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint_id: &str,
    ) -> Result<bool, StoreError> {
        self.write(
            self.memory
                .remove_webhook_endpoint(merchant_id, endpoint_id),
        )
        .await
    }

    async fn review_list(
        &self,
        merchant_ids: &[String],
        limit: usize,
    ) -> Result<ReviewList, StoreError> {
        self.memory.review_list(merchant_ids, limit).await
    }

    /// Rolling stats live in memory only (they restart at zero).
    async fn add_stats(&self, buckets: &[StatsBucket]) -> Result<(), StoreError> {
        self.memory.add_stats(buckets).await
    }

    async fn stats(
        &self,
        series: &[String],
        from: u64,
        to: u64,
    ) -> Result<Vec<StatsBucket>, StoreError> {
        self.memory.stats(series, from, to).await
    }

    async fn routing_controls(&self) -> Result<RoutingControls, StoreError> {
        self.memory.routing_controls().await
    }

    async fn set_routing_controls(
        &self,
        expected_version: u64,
        document: &str,
        audit: &AuditEntry,
    ) -> Result<Option<u64>, StoreError> {
        self.write(
            self.memory
                .set_routing_controls(expected_version, document, audit),
        )
        .await
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.memory.audit_log(limit).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.fenced()?;
        self.memory.ping().await
    }
}
