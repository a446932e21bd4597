//! Where Switchboard keeps its state: payments, top-ups, their idempotency keys and indexes, and
//! the MNP operator overrides. The [`Store`] trait is backend-neutral: every operation that must
//! be atomic is one call, so a networked backend can do it in one round trip (a script).

pub mod conformance;
mod controls;
mod embedded;
mod journal;
mod limits;
mod memory;
mod memory_esim;
mod memory_mnp;
mod memory_outbox;
mod memory_refunds;
mod memory_retention;
mod mnp;
mod outbox;
mod outbox_rules;
mod query;
mod redis;
mod refunds;
mod stats;
#[cfg(feature = "test-support")]
pub mod testing;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::{Amount, EsimOrderRecord, Msisdn, PaymentRecord, RefundRecord, TopUpRecord};

pub use self::redis::{RedisSettings, RedisStore};
pub use controls::{AuditEntry, RoutingControls, AUDIT_LEN};
pub use embedded::EmbeddedStore;
pub use limits::{
    month_of, Milli, RateDecision, RateQuota, SpendOutcome, SpendPeriod, SPEND_RETENTION,
};
pub use memory::MemoryStore;
pub use memory_retention::MemorySettings;
pub use mnp::{valid_cursor, OverrideChange, OverrideChanges, OverridePage, MNP_LOG_LEN};
pub use outbox::{
    DeadLetter, Delivery, DeliveryResult, Endpoint, EventTarget, OutboxEvent, ReviewList,
    WebhookEndpoint, EXPIRED_REASON, STOPPED_REASON,
};
pub use query::{PaymentPage, PaymentQuery, SortOrder};
pub use refunds::{RefundInsert, RefundPage, RefundQuery};
pub use stats::{StatsBucket, STATS_PERIOD_SECS, STATS_RETENTION_SECS};

/// A store that cannot answer. Callers answer 503 and change nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// A bounded store is at its size cap and holds nothing it may drop (503; nothing written).
    #[error("store full: {0}")]
    Full(String),
}

/// A per-merchant idempotency key: the merchant's `clientCorrelator`, or its `referenceCode`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdempotencyKey {
    ClientCorrelator(String),
    ReferenceCode(String),
}

/// The result of [`Store::insert_payment`].
#[derive(Debug, Clone, PartialEq)]
pub enum InsertOutcome {
    /// The keys were free; the payment is stored.
    Inserted,
    /// `key` already belongs to `existing`; nothing was written.
    Existing {
        key: IdempotencyKey,
        existing: Box<PaymentRecord>,
    },
    /// [`Store::insert_payment_rated`] only: the merchant is over its quota; nothing was written.
    RateLimited { retry_after: std::time::Duration },
}

/// The result of storing a record under one merchant key ([`Store::insert_topup`],
/// [`Store::insert_esim_order`]).
#[derive(Debug, Clone, PartialEq)]
pub enum KeyedInsert<T> {
    /// The merchant's key was free; the record is stored.
    Inserted,
    /// The merchant's key already belongs to this record; nothing was written.
    Existing(Box<T>),
}

/// [`Store::insert_topup`]: the key is the merchant's `external_tx_id`.
pub type TopUpInsert = KeyedInsert<TopUpRecord>;
/// [`Store::insert_esim_order`]: the key is [`EsimOrderRecord::claim_key`].
pub type EsimInsert = KeyedInsert<EsimOrderRecord>;

/// The result of a compare-and-set: [`Store::update_payment`] (`T` = [`PaymentRecord`], the
/// default) or [`Store::update_topup`] (`T` = [`TopUpRecord`]).
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome<T = PaymentRecord> {
    Updated,
    /// Someone else wrote first; here is what is stored now.
    Conflict(Box<T>),
    Missing,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Claims every key for `record.merchant_id` and stores the record, all or nothing. Keys are
    /// checked in order; the first one already taken is reported with the record that holds it.
    async fn insert_payment(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
    ) -> Result<InsertOutcome, StoreError>;

    /// `insert_payment` with one request of `merchant_id` against `quota` (GCRA, the same cell as
    /// `rate_limit`), in the same atomic step. The keys are checked first: a replay (a key already
    /// taken) is answered `Existing` even when the quota is used up, and does not count against
    /// it. A fresh claim over the quota writes nothing and answers
    /// `InsertOutcome::RateLimited { retry_after }`.
    async fn insert_payment_rated(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
        quota: RateQuota,
    ) -> Result<InsertOutcome, StoreError>;

    /// Writes `record` if the stored version is `expected_version` (compare-and-set). The stored
    /// version becomes `record.version`, which the caller must have bumped. `release` keys are
    /// freed in the same step (a refused payment gives its `referenceCode` back). `events` join the
    /// outbox in the same atomic step, and only if the record is written.
    async fn update_payment(
        &self,
        record: &PaymentRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome, StoreError>;

    /// A merchant's payment by id; another merchant's id is `None`.
    async fn get_payment(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Option<PaymentRecord>, StoreError>;

    /// A merchant's visible payments, filtered, sorted on creation date and paginated.
    async fn list_payments(
        &self,
        merchant_id: &str,
        query: &PaymentQuery,
    ) -> Result<PaymentPage, StoreError>;

    /// Payments of these merchants waiting on the operator whose next check is due at `now`, earliest
    /// first. (Per merchant, so a clustered backend keeps each merchant's index in one slot.)
    async fn due_for_reconciliation(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError>;

    /// Claims `(record.merchant_id, record.external_tx_id)` and stores the top-up, all or nothing,
    /// in one atomic step. If the merchant's `external_tx_id` is already claimed, returns the
    /// top-up that holds it (`Existing`) and writes nothing. The same `external_tx_id` is free
    /// for another merchant.
    async fn insert_topup(&self, record: &TopUpRecord) -> Result<TopUpInsert, StoreError>;

    /// Writes `record` if the stored version is `expected_version` (compare-and-set), in one
    /// atomic step. The stored version becomes `record.version`, which the caller must have
    /// bumped. A top-up of another merchant is never written (`Conflict` or `Missing`). `events`
    /// join the outbox in the same atomic step, and only if the record is written.
    async fn update_topup(
        &self,
        record: &TopUpRecord,
        expected_version: u64,
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<TopUpRecord>, StoreError>;

    /// A merchant's top-up by Switchboard transaction id; another merchant's id is `None`.
    async fn get_topup(
        &self,
        merchant_id: &str,
        tx_id: &str,
    ) -> Result<Option<TopUpRecord>, StoreError>;

    /// Unsettled (`is_unsettled()`) top-ups of these merchants whose `next_check_at` is at or
    /// before `now`, earliest first, at most `limit`.
    async fn due_topups(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TopUpRecord>, StoreError>;

    /// Claims `(record.merchant_id, record.claim_key())` and stores the eSIM order, all or nothing,
    /// in one atomic step; if the key is taken, returns the order that holds it and writes nothing.
    /// Keys are per merchant and apart from the top-ups'. Orders and their keys are kept (an order
    /// is a bought profile the merchant may fetch again; they are few).
    async fn insert_esim_order(&self, record: &EsimOrderRecord) -> Result<EsimInsert, StoreError>;

    /// Compare-and-set of an eSIM order, as [`Store::update_topup`] (no events).
    async fn update_esim_order(
        &self,
        record: &EsimOrderRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome<EsimOrderRecord>, StoreError>;

    /// A merchant's eSIM order by Switchboard order id; another merchant's id is `None`.
    async fn get_esim_order(
        &self,
        merchant_id: &str,
        order_id: &str,
    ) -> Result<Option<EsimOrderRecord>, StoreError>;

    /// Claims every refund idempotency key of `record.merchant_id` (a namespace apart from the
    /// payments') and stores the refund, all or nothing, in one atomic step that also applies the
    /// remaining-amount guard against the refunds already held on `record.payment_id`: a partial
    /// refund must fit `paid − reserved`, a total one must equal it (and something must be left).
    /// Keys are checked first, so an identical retry finds its refund even when nothing is left.
    async fn insert_refund(
        &self,
        record: &RefundRecord,
        keys: &[IdempotencyKey],
        paid: Amount,
    ) -> Result<RefundInsert, StoreError>;

    /// Compare-and-set of a refund, as [`Store::update_payment`]; the amount it holds against its
    /// payment follows the record (nothing once denied or refused). `release` keys are freed.
    /// `events` join the outbox in the same atomic step, and only if the record is written.
    async fn update_refund(
        &self,
        record: &RefundRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<RefundRecord>, StoreError>;

    /// A merchant's refund of `payment_id`; another merchant's or payment's is `None`.
    async fn get_refund(
        &self,
        merchant_id: &str,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<Option<RefundRecord>, StoreError>;

    /// Visible refunds of one payment, filtered, sorted on creation date and paginated.
    async fn list_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
        query: &RefundQuery,
    ) -> Result<RefundPage, StoreError>;

    /// Every refund record of one payment in any phase (for the remaining amount), oldest first.
    async fn payment_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Vec<RefundRecord>, StoreError>;

    /// Unsettled refunds of these merchants whose `next_check_at` is at or before `now`, earliest
    /// first, at most `limit`.
    async fn due_refunds(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RefundRecord>, StoreError>;

    /// MNP: records the operator a ported number is served by now (replaces any earlier one). A
    /// change is logged with the next version (see `mnp.rs`); setting the same operator again logs
    /// nothing.
    async fn set_operator_override(
        &self,
        msisdn: &Msisdn,
        operator_id: &str,
    ) -> Result<(), StoreError>;

    /// MNP: forgets a number's override; `true` if there was one (and the removal is logged).
    async fn remove_operator_override(&self, msisdn: &Msisdn) -> Result<bool, StoreError>;

    /// MNP: one page of the override table, from `cursor` (`None`: the start; else a page's
    /// `next`). About `limit` entries (Redis may return a small table whole). Every override that
    /// stays in place for the whole walk is listed at least once; the order is the backend's.
    async fn operator_override_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<OverridePage, StoreError>;

    /// MNP: the version of the newest change (0 before any).
    async fn operator_override_version(&self) -> Result<u64, StoreError>;

    /// MNP: at most `limit` changes after version `since`, oldest first, or `Trimmed` when the log
    /// no longer holds them. The gateway keeps a copy of the table and syncs it with this, so the
    /// payment hot path stays at two round trips.
    async fn operator_override_changes(
        &self,
        since: u64,
        limit: usize,
    ) -> Result<OverrideChanges, StoreError>;

    /// Marks `key` used for `ttl_secs`, atomically: `true` the first time, `false` while it stays
    /// marked (single-use tokens such as a redeemed CIBA `auth_req_id`).
    async fn use_once(&self, key: &str, ttl_secs: u64) -> Result<bool, StoreError>;

    /// Spending limits: reserves `amount` for `payment_id` in the subscriber's `period` unless the
    /// period's reservations would then exceed `limit`, in one atomic step (so concurrent payments
    /// of one subscriber can never overshoot together). Reserving again for the same payment
    /// changes nothing and answers `Reserved`.
    async fn reserve_spend(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
        amount: Milli,
        limit: Milli,
    ) -> Result<SpendOutcome, StoreError>;

    /// Gives a payment's reservation back; `true` if there was one. Idempotent: a repeat is `false`.
    async fn release_spend(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
    ) -> Result<bool, StoreError>;

    /// The sum of the period's reservations.
    async fn spent(&self, period: &SpendPeriod) -> Result<Milli, StoreError>;

    /// Rate limits: one request of `merchant_id` against `quota` (GCRA), shared by every gateway
    /// that uses this store. One atomic step.
    async fn rate_limit(
        &self,
        merchant_id: &str,
        quota: RateQuota,
    ) -> Result<RateDecision, StoreError>;

    /// Outbox: hands this worker up to `limit` deliveries of one merchant that are due at `now`, head
    /// of their subject and not leased to another live worker; leases them (and renews the lease of
    /// every delivery the worker already holds) until `now + lease_ms`. Deliveries of stopped
    /// endpoints and deliveries whose bearer token expired before `now` go to the dead letters
    /// instead (reasons [`STOPPED_REASON`] / [`EXPIRED_REASON`]), whether due or not. Workers call
    /// this on every tick, which is their heartbeat. A claim takes at most `limit` new deliveries
    /// (whose lease ran out first, then fresh ones), so `limit` should be the worker's free
    /// delivery slots and a backlog spreads over the workers; the worker keeps what it took until it
    /// finishes it or stops claiming for `lease_ms`.
    async fn claim_deliveries(
        &self,
        merchant_id: &str,
        worker: &str,
        now: DateTime<Utc>,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Outbox: records the result of an attempt at `delivery_id` (see [`DeliveryResult`]). Unknown
    /// ids (already finished by a worker that took over) are ignored: `Ok(false)`.
    async fn finish_delivery(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// How many deliveries of a merchant wait in the outbox (queued or leased to a worker; not the
    /// dead letters).
    async fn outbox_pending(&self, merchant_id: &str) -> Result<u64, StoreError>;

    /// A merchant's dead letters, oldest first.
    async fn dead_letters(&self, merchant_id: &str) -> Result<Vec<DeadLetter>, StoreError>;

    /// Puts a dead letter back in the outbox as a fresh delivery (attempts 0, due now, the same
    /// `event_id`) at the tail of its subject, and re-enables its endpoint if a 410 stopped it.
    /// `false` if there is no such dead letter.
    async fn replay_dead_letter(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Registers (or replaces, by id) a merchant's webhook endpoint.
    async fn put_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint: &WebhookEndpoint,
    ) -> Result<(), StoreError>;

    /// A merchant's webhook endpoints, oldest first, with `stopped` set for those a 410 stopped.
    async fn webhook_endpoints(
        &self,
        merchant_id: &str,
    ) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// Removes a webhook endpoint; `true` if there was one. Deliveries already queued for it stay.
    async fn remove_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint_id: &str,
    ) -> Result<bool, StoreError>;

    /// Payments, refunds and top-ups of these merchants marked `needs_review`, oldest first, at most
    /// `limit` of each kind.
    async fn review_list(
        &self,
        merchant_ids: &[String],
        limit: usize,
    ) -> Result<ReviewList, StoreError>;

    /// Rolling stats of the fleet: adds each bucket's counts into the shared bucket of its
    /// `(series, period)`, kept for [`STATS_RETENTION_SECS`]. Replicas call it off the request path.
    async fn add_stats(&self, buckets: &[StatsBucket]) -> Result<(), StoreError>;

    /// The shared, non-empty buckets of these series for the periods `from..=to`, by series then
    /// period.
    async fn stats(
        &self,
        series: &[String],
        from: u64,
        to: u64,
    ) -> Result<Vec<StatsBucket>, StoreError>;

    /// The runtime routing controls document and its version (see `controls.rs`).
    async fn routing_controls(&self) -> Result<RoutingControls, StoreError>;

    /// Replaces the controls document if its version is still `expected_version`, and appends
    /// `audit` to the audit log, in one atomic step. The new version, or `None` (nothing written)
    /// when someone changed the controls first.
    async fn set_routing_controls(
        &self,
        expected_version: u64,
        document: &str,
        audit: &AuditEntry,
    ) -> Result<Option<u64>, StoreError>;

    /// The newest audit entries first, at most `limit` (the log keeps [`AUDIT_LEN`]).
    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;

    /// Cheap liveness check for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
}
