//! The store decorator: every call to the [`Store`] is timed into
//! `switchboard_store_operation_duration_seconds{backend,operation}`, and the webhook worker's
//! recorded attempt results feed `switchboard_webhook_deliveries_total{outcome}` (the worker writes
//! each result through the store, so this is the one place that sees them all).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::{Amount, Msisdn, PaymentRecord, RefundRecord, TopUpRecord};
use switchboard_store::*;

use super::Observer;

/// The store operations, in the order of [`STORE_OPS`] (their `operation` label).
#[derive(Debug, Clone, Copy)]
pub enum StoreOp {
    InsertPayment,
    InsertPaymentRated,
    UpdatePayment,
    GetPayment,
    ListPayments,
    DueForReconciliation,
    InsertTopup,
    UpdateTopup,
    GetTopup,
    DueTopups,
    InsertRefund,
    UpdateRefund,
    GetRefund,
    ListRefunds,
    PaymentRefunds,
    DueRefunds,
    SetOperatorOverride,
    RemoveOperatorOverride,
    OperatorOverridePage,
    OperatorOverrideVersion,
    OperatorOverrideChanges,
    UseOnce,
    ReserveSpend,
    ReleaseSpend,
    Spent,
    RateLimit,
    ClaimDeliveries,
    FinishDelivery,
    DeadLetters,
    ReplayDeadLetter,
    PutWebhookEndpoint,
    WebhookEndpoints,
    RemoveWebhookEndpoint,
    ReviewList,
    Ping,
}

/// The `operation` label of each [`StoreOp`] (the trait method's name).
pub const STORE_OPS: &[&str] = &[
    "insert_payment",
    "insert_payment_rated",
    "update_payment",
    "get_payment",
    "list_payments",
    "due_for_reconciliation",
    "insert_topup",
    "update_topup",
    "get_topup",
    "due_topups",
    "insert_refund",
    "update_refund",
    "get_refund",
    "list_refunds",
    "payment_refunds",
    "due_refunds",
    "set_operator_override",
    "remove_operator_override",
    "operator_override_page",
    "operator_override_version",
    "operator_override_changes",
    "use_once",
    "reserve_spend",
    "release_spend",
    "spent",
    "rate_limit",
    "claim_deliveries",
    "finish_delivery",
    "dead_letters",
    "replay_dead_letter",
    "put_webhook_endpoint",
    "webhook_endpoints",
    "remove_webhook_endpoint",
    "review_list",
    "ping",
];

/// A [`Store`] that measures every call to the one it wraps.
pub struct Observed {
    inner: Arc<dyn Store>,
    observe: Arc<Observer>,
}

impl Observed {
    pub fn wrap(inner: Arc<dyn Store>, observe: Arc<Observer>) -> Arc<dyn Store> {
        Arc::new(Observed { inner, observe })
    }
}

#[async_trait]
impl Store for Observed {
    async fn insert_payment(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
    ) -> Result<InsertOutcome, StoreError> {
        let started = Instant::now();
        let out = self.inner.insert_payment(record, keys).await;
        self.observe
            .store_call(StoreOp::InsertPayment, started.elapsed());
        out
    }

    async fn insert_payment_rated(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
        quota: RateQuota,
    ) -> Result<InsertOutcome, StoreError> {
        let started = Instant::now();
        let out = self.inner.insert_payment_rated(record, keys, quota).await;
        self.observe
            .store_call(StoreOp::InsertPaymentRated, started.elapsed());
        out
    }

    async fn update_payment(
        &self,
        record: &PaymentRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome, StoreError> {
        let started = Instant::now();
        let out = self
            .inner
            .update_payment(record, expected_version, release, events)
            .await;
        self.observe
            .store_call(StoreOp::UpdatePayment, started.elapsed());
        out
    }

    async fn get_payment(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        let started = Instant::now();
        let out = self.inner.get_payment(merchant_id, payment_id).await;
        self.observe
            .store_call(StoreOp::GetPayment, started.elapsed());
        out
    }

    async fn list_payments(
        &self,
        merchant_id: &str,
        query: &PaymentQuery,
    ) -> Result<PaymentPage, StoreError> {
        let started = Instant::now();
        let out = self.inner.list_payments(merchant_id, query).await;
        self.observe
            .store_call(StoreOp::ListPayments, started.elapsed());
        out
    }

    async fn due_for_reconciliation(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let started = Instant::now();
        let out = self
            .inner
            .due_for_reconciliation(merchant_ids, now, limit)
            .await;
        self.observe
            .store_call(StoreOp::DueForReconciliation, started.elapsed());
        out
    }

    async fn insert_topup(&self, record: &TopUpRecord) -> Result<TopUpInsert, StoreError> {
        let started = Instant::now();
        let out = self.inner.insert_topup(record).await;
        self.observe
            .store_call(StoreOp::InsertTopup, started.elapsed());
        out
    }

    async fn update_topup(
        &self,
        record: &TopUpRecord,
        expected_version: u64,
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<TopUpRecord>, StoreError> {
        let started = Instant::now();
        let out = self
            .inner
            .update_topup(record, expected_version, events)
            .await;
        self.observe
            .store_call(StoreOp::UpdateTopup, started.elapsed());
        out
    }

    async fn get_topup(
        &self,
        merchant_id: &str,
        tx_id: &str,
    ) -> Result<Option<TopUpRecord>, StoreError> {
        let started = Instant::now();
        let out = self.inner.get_topup(merchant_id, tx_id).await;
        self.observe
            .store_call(StoreOp::GetTopup, started.elapsed());
        out
    }

    async fn due_topups(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TopUpRecord>, StoreError> {
        let started = Instant::now();
        let out = self.inner.due_topups(merchant_ids, now, limit).await;
        self.observe
            .store_call(StoreOp::DueTopups, started.elapsed());
        out
    }

    async fn insert_refund(
        &self,
        record: &RefundRecord,
        keys: &[IdempotencyKey],
        paid: Amount,
    ) -> Result<RefundInsert, StoreError> {
        let started = Instant::now();
        let out = self.inner.insert_refund(record, keys, paid).await;
        self.observe
            .store_call(StoreOp::InsertRefund, started.elapsed());
        out
    }

    async fn update_refund(
        &self,
        record: &RefundRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<RefundRecord>, StoreError> {
        let started = Instant::now();
        let out = self
            .inner
            .update_refund(record, expected_version, release, events)
            .await;
        self.observe
            .store_call(StoreOp::UpdateRefund, started.elapsed());
        out
    }

    async fn get_refund(
        &self,
        merchant_id: &str,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<Option<RefundRecord>, StoreError> {
        let started = Instant::now();
        let out = self
            .inner
            .get_refund(merchant_id, payment_id, refund_id)
            .await;
        self.observe
            .store_call(StoreOp::GetRefund, started.elapsed());
        out
    }

    async fn list_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
        query: &RefundQuery,
    ) -> Result<RefundPage, StoreError> {
        let started = Instant::now();
        let out = self
            .inner
            .list_refunds(merchant_id, payment_id, query)
            .await;
        self.observe
            .store_call(StoreOp::ListRefunds, started.elapsed());
        out
    }

    async fn payment_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        let started = Instant::now();
        let out = self.inner.payment_refunds(merchant_id, payment_id).await;
        self.observe
            .store_call(StoreOp::PaymentRefunds, started.elapsed());
        out
    }

    async fn due_refunds(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        let started = Instant::now();
        let out = self.inner.due_refunds(merchant_ids, now, limit).await;
        self.observe
            .store_call(StoreOp::DueRefunds, started.elapsed());
        out
    }

    async fn set_operator_override(
        &self,
        msisdn: &Msisdn,
        operator_id: &str,
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let out = self.inner.set_operator_override(msisdn, operator_id).await;
        self.observe
            .store_call(StoreOp::SetOperatorOverride, started.elapsed());
        out
    }

    async fn remove_operator_override(&self, msisdn: &Msisdn) -> Result<bool, StoreError> {
        let started = Instant::now();
        let out = self.inner.remove_operator_override(msisdn).await;
        self.observe
            .store_call(StoreOp::RemoveOperatorOverride, started.elapsed());
        out
    }

    async fn operator_override_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<OverridePage, StoreError> {
        let started = Instant::now();
        let out = self.inner.operator_override_page(cursor, limit).await;
        self.observe
            .store_call(StoreOp::OperatorOverridePage, started.elapsed());
        out
    }

    async fn operator_override_version(&self) -> Result<u64, StoreError> {
        let started = Instant::now();
        let out = self.inner.operator_override_version().await;
        self.observe
            .store_call(StoreOp::OperatorOverrideVersion, started.elapsed());
        out
    }

    async fn operator_override_changes(
        &self,
        since: u64,
        limit: usize,
    ) -> Result<OverrideChanges, StoreError> {
        let started = Instant::now();
        let out = self.inner.operator_override_changes(since, limit).await;
        self.observe
            .store_call(StoreOp::OperatorOverrideChanges, started.elapsed());
        out
    }

    async fn use_once(&self, key: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        let started = Instant::now();
        let out = self.inner.use_once(key, ttl_secs).await;
        self.observe.store_call(StoreOp::UseOnce, started.elapsed());
        out
    }

    async fn reserve_spend(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
        amount: Milli,
        limit: Milli,
    ) -> Result<SpendOutcome, StoreError> {
        let started = Instant::now();
        let out = self
            .inner
            .reserve_spend(period, payment_id, amount, limit)
            .await;
        self.observe
            .store_call(StoreOp::ReserveSpend, started.elapsed());
        out
    }

    async fn release_spend(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
    ) -> Result<bool, StoreError> {
        let started = Instant::now();
        let out = self.inner.release_spend(period, payment_id).await;
        self.observe
            .store_call(StoreOp::ReleaseSpend, started.elapsed());
        out
    }

    async fn spent(&self, period: &SpendPeriod) -> Result<Milli, StoreError> {
        let started = Instant::now();
        let out = self.inner.spent(period).await;
        self.observe.store_call(StoreOp::Spent, started.elapsed());
        out
    }

    async fn rate_limit(
        &self,
        merchant_id: &str,
        quota: RateQuota,
    ) -> Result<RateDecision, StoreError> {
        let started = Instant::now();
        let out = self.inner.rate_limit(merchant_id, quota).await;
        self.observe
            .store_call(StoreOp::RateLimit, started.elapsed());
        out
    }

    async fn claim_deliveries(
        &self,
        merchant_id: &str,
        worker: &str,
        now: DateTime<Utc>,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let started = Instant::now();
        let out = self
            .inner
            .claim_deliveries(merchant_id, worker, now, lease_ms, limit)
            .await;
        self.observe
            .store_call(StoreOp::ClaimDeliveries, started.elapsed());
        out
    }

    async fn finish_delivery(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let started = Instant::now();
        let out = self
            .inner
            .finish_delivery(merchant_id, delivery_id, result, now)
            .await;
        self.observe
            .store_call(StoreOp::FinishDelivery, started.elapsed());
        if let Ok(true) = out {
            self.observe.webhook_delivery(result);
        }
        out
    }

    async fn dead_letters(&self, merchant_id: &str) -> Result<Vec<DeadLetter>, StoreError> {
        let started = Instant::now();
        let out = self.inner.dead_letters(merchant_id).await;
        self.observe
            .store_call(StoreOp::DeadLetters, started.elapsed());
        out
    }

    async fn replay_dead_letter(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let started = Instant::now();
        let out = self
            .inner
            .replay_dead_letter(merchant_id, delivery_id, now)
            .await;
        self.observe
            .store_call(StoreOp::ReplayDeadLetter, started.elapsed());
        out
    }

    async fn put_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint: &WebhookEndpoint,
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let out = self.inner.put_webhook_endpoint(merchant_id, endpoint).await;
        self.observe
            .store_call(StoreOp::PutWebhookEndpoint, started.elapsed());
        out
    }

    async fn webhook_endpoints(
        &self,
        merchant_id: &str,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let started = Instant::now();
        let out = self.inner.webhook_endpoints(merchant_id).await;
        self.observe
            .store_call(StoreOp::WebhookEndpoints, started.elapsed());
        out
    }

    async fn remove_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint_id: &str,
    ) -> Result<bool, StoreError> {
        let started = Instant::now();
        let out = self
            .inner
            .remove_webhook_endpoint(merchant_id, endpoint_id)
            .await;
        self.observe
            .store_call(StoreOp::RemoveWebhookEndpoint, started.elapsed());
        out
    }

    async fn review_list(
        &self,
        merchant_ids: &[String],
        limit: usize,
    ) -> Result<ReviewList, StoreError> {
        let started = Instant::now();
        let out = self.inner.review_list(merchant_ids, limit).await;
        self.observe
            .store_call(StoreOp::ReviewList, started.elapsed());
        out
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        let out = self.inner.ping().await;
        self.observe.store_call(StoreOp::Ping, started.elapsed());
        out
    }
}
