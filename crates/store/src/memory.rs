//! The embedded default: everything in one process's memory. One mutex makes every call atomic.
//! A write that carries outbox events takes the outbox's mutex while it still holds the record's,
//! so the record and its events change together (locks are always taken in that order).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::{Msisdn, PaymentRecord, PaymentStatus, Phase, TopUpRecord};

use crate::journal::{ChangeSink, Journaled, Row, RowLog};
use crate::memory_esim::EsimTables;
use crate::memory_outbox::OutboxTables;
use crate::memory_refunds::RefundTables;
use crate::memory_retention::{Claimed, Held, MemorySettings, Retention};
use crate::query::{PaymentPage, PaymentQuery, SortOrder};
use crate::{
    DeadLetter, Delivery, DeliveryResult, IdempotencyKey, InsertOutcome, OutboxEvent, ReviewList,
    Store, StoreError, TopUpInsert, UpdateOutcome, WebhookEndpoint,
};

/// (creation time, payment id), oldest first.
type ByCreation = BTreeSet<(DateTime<Utc>, String)>;

struct Inner {
    payments: HashMap<String, PaymentRecord>,
    /// (merchant, key) → payment id.
    keys: HashMap<(String, IdempotencyKey), String>,
    /// merchant → (creation time, id): the list index.
    by_merchant: HashMap<String, ByCreation>,
    /// (merchant, status) → (creation time, id) of its visible payments: status-filtered lists
    /// read these, not the merchant's whole history.
    by_status: HashMap<(String, PaymentStatus), ByCreation>,
    /// (merchant, top-up id) → top-up: kept per merchant, as Redis does, so another merchant's
    /// id is simply not there.
    topups: HashMap<(String, String), TopUpRecord>,
    /// (merchant, external_tx_id) → top-up id.
    topup_claims: HashMap<(String, String), String>,
    /// Single-use markers and when they expire.
    once: HashMap<String, std::time::Instant>,
    /// Claim expiry, finished records, the cap (see `memory_retention.rs`).
    retention: Retention,
    /// This step's changed rows, for a durable copy (see `journal.rs`).
    log: RowLog,
}

/// Whether a payment may be dropped: nothing more to learn from the operator, no review pending.
fn payment_finished(p: &PaymentRecord) -> bool {
    !p.is_unsettled() && !p.needs_review
}

fn topup_finished(t: &TopUpRecord) -> bool {
    !t.is_unsettled() && !t.needs_review
}

impl Inner {
    fn new(settings: MemorySettings) -> Self {
        Inner {
            payments: HashMap::new(),
            keys: HashMap::new(),
            by_merchant: HashMap::new(),
            by_status: HashMap::new(),
            topups: HashMap::new(),
            topup_claims: HashMap::new(),
            once: HashMap::new(),
            retention: Retention::new(settings),
            log: RowLog::default(),
        }
    }

    fn index_status(&mut self, p: &PaymentRecord) {
        if p.is_visible() {
            self.by_status
                .entry((p.merchant_id.clone(), p.status))
                .or_default()
                .insert((p.created_at, p.id.clone()));
        }
    }

    fn unindex_status(&mut self, p: &PaymentRecord) {
        let slot = (p.merchant_id.clone(), p.status);
        if let Some(index) = self.by_status.get_mut(&slot) {
            index.remove(&(p.created_at, p.id.clone()));
            if index.is_empty() {
                self.by_status.remove(&slot);
            }
        }
    }

    fn records(&self) -> usize {
        self.payments.len() + self.topups.len()
    }

    /// Frees the claims whose TTL ran out and drops the records finished longer than the TTL ago.
    /// Looks only at what expired (both queues are in time order).
    fn sweep(&mut self, refunds: &Mutex<RefundTables>, now: Instant) -> Result<(), StoreError> {
        while let Some(claim) = self.retention.expired_claim(now) {
            self.release_claim(&claim);
        }
        let live = self.keys.len() + self.topup_claims.len();
        let (keys, topup_claims) = (&self.keys, &self.topup_claims);
        self.retention.compact_claims(live, |c| match c {
            Claimed::Payment { merchant, key, id } => {
                keys.get(&(merchant.clone(), key.clone())) == Some(id)
            }
            Claimed::TopUp {
                merchant,
                external_tx_id,
                id,
            } => topup_claims.get(&(merchant.clone(), external_tx_id.clone())) == Some(id),
        });
        while let Some(held) = self.retention.expired_record(now) {
            self.drop_record(held, refunds, now)?;
        }
        Ok(())
    }

    /// Below the cap, dropping the oldest finished records if needed; `Full` when only records
    /// that may not be dropped are left.
    fn make_room(&mut self, refunds: &Mutex<RefundTables>, now: Instant) -> Result<(), StoreError> {
        let cap = self.retention.settings.max_records;
        // Each finished record is looked at once at most (one kept back goes to the end).
        let mut tries = self.records();
        while self.records() >= cap {
            match self.retention.oldest_finished() {
                Some(held) if tries > 0 => {
                    tries -= 1;
                    self.drop_record(held, refunds, now)?;
                }
                _ => {
                    return Err(StoreError::Full(format!(
                        "memory store holds {cap} records that are not finished"
                    )))
                }
            }
        }
        Ok(())
    }

    fn release_claim(&mut self, claim: &Claimed) {
        match claim {
            Claimed::Payment { merchant, key, id } => {
                let slot = (merchant.clone(), key.clone());
                if self.keys.get(&slot) == Some(id) {
                    self.keys.remove(&slot);
                    self.log.note(|| Row::PaymentKeyFreed {
                        merchant: merchant.clone(),
                        key: key.clone(),
                        id: id.clone(),
                    });
                }
            }
            Claimed::TopUp {
                merchant,
                external_tx_id,
                id,
            } => {
                let slot = (merchant.clone(), external_tx_id.clone());
                if self.topup_claims.get(&slot) == Some(id) {
                    self.topup_claims.remove(&slot);
                    self.log.note(|| Row::TopUpClaimFreed {
                        merchant: merchant.clone(),
                        external_tx_id: external_tx_id.clone(),
                        id: id.clone(),
                    });
                }
            }
        }
    }

    /// Drops a finished record with its keys and index entries (a payment with its refunds). A
    /// payment whose refund is still unsettled stays, and counts as finished from now.
    fn drop_record(
        &mut self,
        held: Held,
        refunds: &Mutex<RefundTables>,
        now: Instant,
    ) -> Result<(), StoreError> {
        match &held {
            Held::Payment(id) => {
                let Some(p) = self.payments.get(id) else {
                    return Ok(());
                };
                let merchant = p.merchant_id.clone();
                let refunds_gone = {
                    let mut refunds = refunds.lock().map_err(|_| poisoned())?;
                    let gone = refunds.drop_payment(&merchant, id);
                    self.log.absorb(&mut refunds.log);
                    gone
                };
                if !refunds_gone {
                    self.retention.note(held, true, now);
                    return Ok(());
                }
                let Some(p) = self.payments.remove(id) else {
                    return Ok(());
                };
                self.log.note(|| Row::PaymentGone(p.id.clone()));
                self.unindex_status(&p);
                if let Some(index) = self.by_merchant.get_mut(&merchant) {
                    index.remove(&(p.created_at, p.id.clone()));
                    if index.is_empty() {
                        self.by_merchant.remove(&merchant);
                    }
                }
                let keys = p
                    .client_correlator
                    .iter()
                    .map(|c| IdempotencyKey::ClientCorrelator(c.clone()))
                    .chain([IdempotencyKey::ReferenceCode(p.reference_code.clone())]);
                for key in keys {
                    self.release_claim(&Claimed::Payment {
                        merchant: merchant.clone(),
                        key,
                        id: p.id.clone(),
                    });
                }
            }
            Held::TopUp(merchant, id) => {
                if let Some(t) = self.topups.remove(&(merchant.clone(), id.clone())) {
                    self.log.note(|| Row::TopUpGone {
                        merchant: t.merchant_id.clone(),
                        id: t.id.clone(),
                    });
                    self.release_claim(&Claimed::TopUp {
                        merchant: t.merchant_id,
                        external_tx_id: t.external_tx_id,
                        id: t.id,
                    });
                }
            }
        }
        Ok(())
    }
}

impl Inner {
    /// Puts back a payment, top-up or single-use row read from a durable copy, through the same
    /// indexes and retention a write goes through (TTLs count from now).
    fn restore(&mut self, row: Row, now: Instant) {
        match row {
            Row::Payment(record) => {
                let finished = payment_finished(&record);
                self.retention
                    .note(Held::Payment(record.id.clone()), finished, now);
                self.by_merchant
                    .entry(record.merchant_id.clone())
                    .or_default()
                    .insert((record.created_at, record.id.clone()));
                self.index_status(&record);
                self.payments.insert(record.id.clone(), record);
            }
            Row::PaymentKey { merchant, key, id } => {
                let claim = Claimed::Payment {
                    merchant: merchant.clone(),
                    key: key.clone(),
                    id: id.clone(),
                };
                self.retention.claimed(claim, now);
                self.keys.insert((merchant, key), id);
            }
            Row::TopUp(record) => {
                let held = Held::TopUp(record.merchant_id.clone(), record.id.clone());
                self.retention.note(held, topup_finished(&record), now);
                self.topups
                    .insert((record.merchant_id.clone(), record.id.clone()), record);
            }
            Row::TopUpClaim {
                merchant,
                external_tx_id,
                id,
            } => {
                let claim = Claimed::TopUp {
                    merchant: merchant.clone(),
                    external_tx_id: external_tx_id.clone(),
                    id: id.clone(),
                };
                self.retention.claimed(claim, now);
                self.topup_claims.insert((merchant, external_tx_id), id);
            }
            Row::Once {
                key,
                until: Some(until),
            } => {
                if let Ok(left) = (until - Utc::now()).to_std() {
                    // A marker kept "forever" stays for a century.
                    let century = std::time::Duration::from_secs(100 * 365 * 24 * 3600);
                    let expiry = now.checked_add(left.min(century)).unwrap_or(now + century);
                    self.once.insert(key, expiry);
                }
            }
            _ => {}
        }
    }
}

fn poisoned() -> StoreError {
    StoreError::Unavailable("memory store poisoned".into())
}

pub struct MemoryStore {
    inner: Mutex<Inner>,
    refunds: Mutex<RefundTables>,
    /// eSIM orders and their keys (see `memory_esim.rs`).
    esim: Mutex<EsimTables>,
    /// Deliveries, dead letters and webhook endpoints (see `memory_outbox.rs`).
    outbox: Mutex<OutboxTables>,
    /// Spending reservations and rate-limit cells (see `limits.rs`).
    limits: crate::limits::MemoryLimits,
    /// MNP overrides and their change log (see `memory_mnp.rs`).
    mnp: Mutex<crate::memory_mnp::MnpTables>,
    /// The rolling stats buckets (see `stats.rs`).
    stats: crate::stats::MemoryStats,
    /// Runtime routing controls and the audit log (see `controls.rs`).
    controls: crate::controls::MemoryControls,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_settings(MemorySettings::default())
    }
}

impl MemoryStore {
    /// A store with the default bounds ([`MemorySettings::default`]).
    pub fn new() -> Self {
        MemoryStore::default()
    }

    pub fn with_settings(settings: MemorySettings) -> Self {
        MemoryStore {
            inner: Mutex::new(Inner::new(settings)),
            refunds: Mutex::default(),
            esim: Mutex::default(),
            outbox: Mutex::default(),
            limits: crate::limits::MemoryLimits::default(),
            mnp: Mutex::default(),
            stats: Default::default(),
            controls: Default::default(),
        }
    }

    /// A store whose MNP change log keeps only the newest `len` changes (default [`crate::MNP_LOG_LEN`]).
    pub fn with_mnp_log_len(len: usize) -> Self {
        MemoryStore {
            mnp: Mutex::new(crate::memory_mnp::MnpTables::with_log_len(len)),
            ..MemoryStore::default()
        }
    }

    fn mnp(&self) -> Result<std::sync::MutexGuard<'_, crate::memory_mnp::MnpTables>, StoreError> {
        self.mnp
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store poisoned".into()))
    }

    fn refund_tables(&self) -> Result<std::sync::MutexGuard<'_, RefundTables>, StoreError> {
        self.refunds
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store poisoned".into()))
    }

    fn esim(&self) -> Result<std::sync::MutexGuard<'_, EsimTables>, StoreError> {
        self.esim
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store poisoned".into()))
    }

    fn outbox(&self) -> Result<std::sync::MutexGuard<'_, OutboxTables>, StoreError> {
        self.outbox
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store poisoned".into()))
    }

    /// Queues the events of a write that succeeded and publishes the step's rows with the
    /// outbox's, as one step; the caller still holds the record's lock.
    fn commit(
        &self,
        log: &mut RowLog,
        merchant_id: &str,
        events: &[OutboxEvent],
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            log.publish();
            return Ok(());
        }
        let mut outbox = self.outbox()?;
        outbox.append(merchant_id, events);
        log.absorb(&mut outbox.log);
        log.publish();
        Ok(())
    }

    /// One locked step on a table whose changes are published before the lock is let go.
    fn step<Table: Journaled, T>(
        lock: Result<std::sync::MutexGuard<'_, Table>, StoreError>,
        f: impl FnOnce(&mut Table) -> T,
    ) -> Result<T, StoreError> {
        let mut table = lock?;
        let out = f(&mut table);
        table.log().publish();
        Ok(out)
    }

    /// The claim of a payment's keys, with the merchant's rate limit after the keys (a replay does
    /// not count) and before the write: one locked step (records, then the rate table).
    fn claim_payment(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
        quota: Option<crate::RateQuota>,
    ) -> Result<InsertOutcome, StoreError> {
        let mut inner = self.lock()?;
        let outcome = self.claim_payment_in(&mut inner, record, keys, quota);
        inner.log.publish();
        outcome
    }

    fn claim_payment_in(
        &self,
        inner: &mut Inner,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
        quota: Option<crate::RateQuota>,
    ) -> Result<InsertOutcome, StoreError> {
        let now = Instant::now();
        inner.sweep(&self.refunds, now)?;
        for key in keys {
            let slot = (record.merchant_id.clone(), key.clone());
            if let Some(id) = inner.keys.get(&slot) {
                let existing = inner.payments.get(id).ok_or_else(|| {
                    StoreError::Corrupt(format!("key points at missing payment {id}"))
                })?;
                return Ok(InsertOutcome::Existing {
                    key: key.clone(),
                    existing: Box::new(existing.clone()),
                });
            }
        }
        if inner.payments.contains_key(&record.id) {
            return Err(StoreError::Corrupt(format!(
                "payment id {} reused",
                record.id
            )));
        }
        inner.make_room(&self.refunds, now)?;
        if let Some(quota) = quota {
            if let crate::RateDecision::Limited { retry_after } =
                self.limits.rate_limit(&record.merchant_id, quota)?
            {
                return Ok(InsertOutcome::RateLimited { retry_after });
            }
        }
        for key in keys {
            inner
                .keys
                .insert((record.merchant_id.clone(), key.clone()), record.id.clone());
            inner.log.note(|| Row::PaymentKey {
                merchant: record.merchant_id.clone(),
                key: key.clone(),
                id: record.id.clone(),
            });
            inner.retention.claimed(
                Claimed::Payment {
                    merchant: record.merchant_id.clone(),
                    key: key.clone(),
                    id: record.id.clone(),
                },
                now,
            );
        }
        let finished = payment_finished(record);
        inner
            .retention
            .note(Held::Payment(record.id.clone()), finished, now);
        inner
            .by_merchant
            .entry(record.merchant_id.clone())
            .or_default()
            .insert((record.created_at, record.id.clone()));
        inner.index_status(record);
        inner.payments.insert(record.id.clone(), record.clone());
        inner.log.note(|| Row::Payment(record.clone()));
        Ok(InsertOutcome::Inserted)
    }

    fn insert_topup_in(
        &self,
        inner: &mut Inner,
        record: &TopUpRecord,
    ) -> Result<TopUpInsert, StoreError> {
        let now = Instant::now();
        inner.sweep(&self.refunds, now)?;
        let claim = (record.merchant_id.clone(), record.external_tx_id.clone());
        if let Some(id) = inner.topup_claims.get(&claim) {
            let existing = inner
                .topups
                .get(&(record.merchant_id.clone(), id.clone()))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("external_tx_id points at missing top-up {id}"))
                })?;
            return Ok(TopUpInsert::Existing(Box::new(existing.clone())));
        }
        let slot = (record.merchant_id.clone(), record.id.clone());
        if inner.topups.contains_key(&slot) {
            return Err(StoreError::Corrupt(format!(
                "top-up id {} reused",
                record.id
            )));
        }
        inner.make_room(&self.refunds, now)?;
        inner.topup_claims.insert(claim, record.id.clone());
        inner.log.note(|| Row::TopUpClaim {
            merchant: record.merchant_id.clone(),
            external_tx_id: record.external_tx_id.clone(),
            id: record.id.clone(),
        });
        inner.retention.claimed(
            Claimed::TopUp {
                merchant: record.merchant_id.clone(),
                external_tx_id: record.external_tx_id.clone(),
                id: record.id.clone(),
            },
            now,
        );
        let held = Held::TopUp(record.merchant_id.clone(), record.id.clone());
        inner.retention.note(held, topup_finished(record), now);
        inner.topups.insert(slot, record.clone());
        inner.log.note(|| Row::TopUp(record.clone()));
        Ok(TopUpInsert::Inserted)
    }

    /// Loads rows read from a durable copy (see `embedded/`) into an empty store.
    pub(crate) fn restore(&self, rows: impl IntoIterator<Item = Row>) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.lock()?;
        let mut refunds = self.refund_tables()?;
        let mut esim = self.esim()?;
        let mut outbox = self.outbox()?;
        let mut mnp = self.mnp()?;
        let mut spend = self.limits.spend.lock().map_err(|_| poisoned())?;
        let (mut controls, mut audit) = (None, Vec::new());
        for row in rows {
            match row {
                Row::Controls(c) => controls = Some(c),
                Row::Audit {
                    version,
                    entry: Some(entry),
                } => audit.push((version, entry)),
                Row::Refund(_) | Row::RefundKey { .. } => refunds.restore(row),
                Row::EsimOrder(_) | Row::EsimKey { .. } => esim.restore(row),
                Row::Delivery { .. }
                | Row::DeadLetter { .. }
                | Row::OutboxSeq { .. }
                | Row::Stopped { .. }
                | Row::Endpoint { .. } => outbox.restore(row),
                Row::Override { .. } | Row::MnpVersion(_) => mnp.restore(row),
                Row::Spend {
                    period,
                    payment_id,
                    amount: Some(amount),
                } => {
                    spend
                        .periods
                        .entry(period)
                        .or_default()
                        .insert(payment_id, amount);
                }
                row => inner.restore(row, now),
            }
        }
        outbox.restored();
        self.controls.restore(controls, audit)
    }

    /// From now on every step hands the rows it changed to `sink` before it returns.
    pub(crate) fn journal_to(&self, sink: Arc<dyn ChangeSink>) -> Result<(), StoreError> {
        self.lock()?.log.attach(sink.clone());
        self.refund_tables()?.log.attach(sink.clone());
        self.esim()?.log.attach(sink.clone());
        self.outbox()?.log.attach(sink.clone());
        self.mnp()?.rows.attach(sink.clone());
        self.limits
            .spend
            .lock()
            .map_err(|_| poisoned())?
            .log
            .attach(sink.clone());
        self.controls.journal_to(sink)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        // A poisoned lock means a panic mid-write; refuse rather than serve half-written state.
        self.inner
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store poisoned".into()))
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert_payment(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
    ) -> Result<InsertOutcome, StoreError> {
        self.claim_payment(record, keys, None)
    }

    async fn insert_payment_rated(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
        quota: crate::RateQuota,
    ) -> Result<InsertOutcome, StoreError> {
        self.claim_payment(record, keys, Some(quota))
    }

    async fn update_payment(
        &self,
        record: &PaymentRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome, StoreError> {
        let mut inner = self.lock()?;
        let Some(stored) = inner.payments.get_mut(&record.id) else {
            return Ok(UpdateOutcome::Missing);
        };
        if stored.version != expected_version || stored.merchant_id != record.merchant_id {
            return Ok(UpdateOutcome::Conflict(Box::new(stored.clone())));
        }
        let before = std::mem::replace(stored, record.clone());
        inner.unindex_status(&before);
        inner.index_status(record);
        inner.log.note(|| Row::Payment(record.clone()));
        for key in release {
            let slot = (record.merchant_id.clone(), key.clone());
            if inner.keys.get(&slot) == Some(&record.id) {
                inner.keys.remove(&slot);
                inner.log.note(|| Row::PaymentKeyFreed {
                    merchant: record.merchant_id.clone(),
                    key: key.clone(),
                    id: record.id.clone(),
                });
            }
        }
        let finished = payment_finished(record);
        inner
            .retention
            .note(Held::Payment(record.id.clone()), finished, Instant::now());
        self.commit(&mut inner.log, &record.merchant_id, events)?;
        Ok(UpdateOutcome::Updated)
    }

    async fn get_payment(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .payments
            .get(payment_id)
            .filter(|p| p.merchant_id == merchant_id)
            .cloned())
    }

    async fn list_payments(
        &self,
        merchant_id: &str,
        query: &PaymentQuery,
    ) -> Result<PaymentPage, StoreError> {
        let inner = self.lock()?;
        // With statuses, only their indexes (the matches); else the merchant's whole index.
        let candidates: Vec<&(DateTime<Utc>, String)> = if query.statuses.is_empty() {
            inner
                .by_merchant
                .get(merchant_id)
                .into_iter()
                .flatten()
                .collect()
        } else {
            let mut statuses = query.statuses.clone();
            statuses.dedup();
            let mut found: Vec<&(DateTime<Utc>, String)> = statuses
                .iter()
                .filter_map(|st| inner.by_status.get(&(merchant_id.to_string(), *st)))
                .flatten()
                .collect();
            found.sort_unstable();
            found.dedup();
            found
        };
        let matching = |(_, id): &&(DateTime<Utc>, String)| {
            inner.payments.get(id).filter(|p| query.matches(p)).cloned()
        };
        let all: Vec<PaymentRecord> = match query.order {
            SortOrder::Asc => candidates.iter().filter_map(matching).collect(),
            SortOrder::Desc => candidates.iter().rev().filter_map(matching).collect(),
        };
        let total = all.len();
        let items = all
            .into_iter()
            .skip(query.offset())
            .take(query.per_page as usize)
            .collect();
        Ok(PaymentPage { items, total })
    }

    async fn due_for_reconciliation(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let inner = self.lock()?;
        let mut due: Vec<PaymentRecord> = inner
            .payments
            .values()
            .filter(|p| merchant_ids.contains(&p.merchant_id))
            .filter(|p| p.is_unsettled() && p.next_check_at.is_some_and(|t| t <= now))
            .filter(|p| !matches!(p.phase, Phase::Rejected(_)))
            .cloned()
            .collect();
        due.sort_by_key(|p| p.next_check_at);
        due.truncate(limit);
        Ok(due)
    }

    async fn insert_topup(&self, record: &TopUpRecord) -> Result<TopUpInsert, StoreError> {
        let mut inner = self.lock()?;
        let outcome = self.insert_topup_in(&mut inner, record);
        inner.log.publish();
        outcome
    }

    async fn update_topup(
        &self,
        record: &TopUpRecord,
        expected_version: u64,
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<TopUpRecord>, StoreError> {
        let mut inner = self.lock()?;
        let slot = (record.merchant_id.clone(), record.id.clone());
        let Some(stored) = inner.topups.get_mut(&slot) else {
            return Ok(UpdateOutcome::Missing);
        };
        if stored.version != expected_version {
            return Ok(UpdateOutcome::Conflict(Box::new(stored.clone())));
        }
        *stored = record.clone();
        inner.log.note(|| Row::TopUp(record.clone()));
        let held = Held::TopUp(record.merchant_id.clone(), record.id.clone());
        inner
            .retention
            .note(held, topup_finished(record), Instant::now());
        self.commit(&mut inner.log, &record.merchant_id, events)?;
        Ok(UpdateOutcome::Updated)
    }

    async fn get_topup(
        &self,
        merchant_id: &str,
        tx_id: &str,
    ) -> Result<Option<TopUpRecord>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .topups
            .get(&(merchant_id.to_string(), tx_id.to_string()))
            .cloned())
    }

    async fn due_topups(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TopUpRecord>, StoreError> {
        let inner = self.lock()?;
        let mut due: Vec<TopUpRecord> = inner
            .topups
            .values()
            .filter(|t| merchant_ids.contains(&t.merchant_id))
            .filter(|t| t.is_unsettled() && t.next_check_at.is_some_and(|at| at <= now))
            .cloned()
            .collect();
        due.sort_by(|a, b| {
            (a.next_check_at, &a.merchant_id, &a.id).cmp(&(b.next_check_at, &b.merchant_id, &b.id))
        });
        due.truncate(limit);
        Ok(due)
    }

    async fn insert_refund(
        &self,
        record: &switchboard_core::RefundRecord,
        keys: &[IdempotencyKey],
        paid: switchboard_core::Amount,
    ) -> Result<crate::RefundInsert, StoreError> {
        Self::step(self.refund_tables(), |r| r.insert(record, keys, paid))?
    }

    async fn update_refund(
        &self,
        record: &switchboard_core::RefundRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<switchboard_core::RefundRecord>, StoreError> {
        let mut refunds = self.refund_tables()?;
        let outcome = refunds.update(record, expected_version, release);
        if outcome == UpdateOutcome::Updated {
            self.commit(&mut refunds.log, &record.merchant_id, events)?;
        }
        Ok(outcome)
    }

    async fn get_refund(
        &self,
        merchant_id: &str,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<Option<switchboard_core::RefundRecord>, StoreError> {
        Ok(self
            .refund_tables()?
            .get(merchant_id, payment_id, refund_id))
    }

    async fn list_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
        query: &crate::RefundQuery,
    ) -> Result<crate::RefundPage, StoreError> {
        Ok(self.refund_tables()?.list(merchant_id, payment_id, query))
    }

    async fn payment_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Vec<switchboard_core::RefundRecord>, StoreError> {
        Ok(self
            .refund_tables()?
            .all_of_payment(merchant_id, payment_id))
    }

    async fn due_refunds(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<switchboard_core::RefundRecord>, StoreError> {
        Ok(self.refund_tables()?.due(merchant_ids, now, limit))
    }

    async fn insert_esim_order(
        &self,
        record: &switchboard_core::EsimOrderRecord,
    ) -> Result<crate::EsimInsert, StoreError> {
        Self::step(self.esim(), |t| t.insert(record))?
    }

    async fn update_esim_order(
        &self,
        record: &switchboard_core::EsimOrderRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome<switchboard_core::EsimOrderRecord>, StoreError> {
        Self::step(self.esim(), |t| t.update(record, expected_version))
    }

    async fn get_esim_order(
        &self,
        merchant_id: &str,
        order_id: &str,
    ) -> Result<Option<switchboard_core::EsimOrderRecord>, StoreError> {
        Ok(self.esim()?.get(merchant_id, order_id))
    }

    async fn use_once(&self, key: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        let now = std::time::Instant::now();
        let mut inner = self.lock()?;
        let Inner { once, log, .. } = &mut *inner;
        // Forget expired markers so the map does not grow without bound.
        once.retain(|key, until| {
            let live = *until > now;
            if !live {
                log.note(|| Row::Once {
                    key: key.clone(),
                    until: None,
                });
            }
            live
        });
        let fresh = !once.contains_key(key);
        if fresh {
            let ttl = std::time::Duration::from_secs(ttl_secs.max(1));
            once.insert(key.to_string(), now + ttl);
            let until = chrono::Duration::from_std(ttl)
                .ok()
                .and_then(|ttl| Utc::now().checked_add_signed(ttl))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            log.note(|| Row::Once {
                key: key.to_string(),
                until: Some(until),
            });
        }
        log.publish();
        Ok(fresh)
    }

    async fn set_operator_override(
        &self,
        msisdn: &Msisdn,
        operator_id: &str,
    ) -> Result<(), StoreError> {
        Self::step(self.mnp(), |m| m.set(msisdn, operator_id))
    }

    async fn remove_operator_override(&self, msisdn: &Msisdn) -> Result<bool, StoreError> {
        Self::step(self.mnp(), |m| m.remove(msisdn))
    }

    async fn operator_override_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<crate::OverridePage, StoreError> {
        Ok(self.mnp()?.page(cursor, limit))
    }

    async fn operator_override_version(&self) -> Result<u64, StoreError> {
        Ok(self.mnp()?.version())
    }

    async fn operator_override_changes(
        &self,
        since: u64,
        limit: usize,
    ) -> Result<crate::OverrideChanges, StoreError> {
        Ok(self.mnp()?.changes(since, limit))
    }

    async fn reserve_spend(
        &self,
        period: &crate::SpendPeriod,
        payment_id: &str,
        amount: crate::Milli,
        limit: crate::Milli,
    ) -> Result<crate::SpendOutcome, StoreError> {
        self.limits.reserve(period, payment_id, amount, limit)
    }

    async fn release_spend(
        &self,
        period: &crate::SpendPeriod,
        payment_id: &str,
    ) -> Result<bool, StoreError> {
        self.limits.release(period, payment_id)
    }

    async fn spent(&self, period: &crate::SpendPeriod) -> Result<crate::Milli, StoreError> {
        self.limits.spent(period)
    }

    async fn rate_limit(
        &self,
        merchant_id: &str,
        quota: crate::RateQuota,
    ) -> Result<crate::RateDecision, StoreError> {
        self.limits.rate_limit(merchant_id, quota)
    }

    async fn claim_deliveries(
        &self,
        merchant_id: &str,
        worker: &str,
        now: DateTime<Utc>,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        Self::step(self.outbox(), |o| {
            o.claim(merchant_id, worker, now, lease_ms, limit)
        })
    }

    async fn finish_delivery(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Self::step(self.outbox(), |o| {
            o.finish(merchant_id, delivery_id, result, now)
        })
    }

    async fn dead_letters(&self, merchant_id: &str) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(self.outbox()?.dead_letters(merchant_id))
    }

    async fn outbox_pending(&self, merchant_id: &str) -> Result<u64, StoreError> {
        Ok(self.outbox()?.pending(merchant_id))
    }

    async fn replay_dead_letter(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Self::step(self.outbox(), |o| o.replay(merchant_id, delivery_id, now))
    }

    async fn put_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint: &WebhookEndpoint,
    ) -> Result<(), StoreError> {
        Self::step(self.outbox(), |o| o.put_endpoint(merchant_id, endpoint))
    }

    async fn webhook_endpoints(
        &self,
        merchant_id: &str,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        Ok(self.outbox()?.endpoints(merchant_id))
    }

    async fn remove_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint_id: &str,
    ) -> Result<bool, StoreError> {
        Self::step(self.outbox(), |o| {
            o.remove_endpoint(merchant_id, endpoint_id)
        })
    }

    async fn review_list(
        &self,
        merchant_ids: &[String],
        limit: usize,
    ) -> Result<ReviewList, StoreError> {
        let mut list = ReviewList::default();
        {
            let inner = self.lock()?;
            let wanted = |merchant: &String| merchant_ids.contains(merchant);
            list.payments = inner
                .payments
                .values()
                .filter(|p| p.needs_review && wanted(&p.merchant_id))
                .cloned()
                .collect();
            list.topups = inner
                .topups
                .values()
                .filter(|t| t.needs_review && wanted(&t.merchant_id))
                .cloned()
                .collect();
        }
        list.refunds = self.refund_tables()?.needing_review(merchant_ids);
        crate::outbox_rules::order_review(&mut list, limit);
        Ok(list)
    }

    async fn add_stats(&self, buckets: &[crate::StatsBucket]) -> Result<(), StoreError> {
        self.stats.add(buckets)
    }

    async fn stats(
        &self,
        series: &[String],
        from: u64,
        to: u64,
    ) -> Result<Vec<crate::StatsBucket>, StoreError> {
        self.stats.read(series, from, to)
    }

    async fn routing_controls(&self) -> Result<crate::RoutingControls, StoreError> {
        self.controls.get()
    }

    async fn set_routing_controls(
        &self,
        expected_version: u64,
        document: &str,
        audit: &crate::AuditEntry,
    ) -> Result<Option<u64>, StoreError> {
        self.controls.set(expected_version, document, audit)
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<crate::AuditEntry>, StoreError> {
        self.controls.audit(limit)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;
    use crate::conformance;

    #[tokio::test]
    async fn memory_store_passes_the_store_conformance_suite() {
        conformance::run_all(|| async { MemoryStore::new() }).await;
    }

    #[tokio::test]
    async fn a_memory_replica_catches_up_after_the_log_is_trimmed() {
        let store = MemoryStore::with_mnp_log_len(conformance::mnp::SHORT_LOG);
        conformance::mnp::a_replica_catches_up_after_trim(&store).await;
    }
}
