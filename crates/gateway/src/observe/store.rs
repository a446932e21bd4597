//! The store decorator: every call to the [`Store`] is timed into
//! `switchboard_store_operation_duration_seconds{backend,operation}`, and the webhook worker's
//! recorded attempt results feed `switchboard_webhook_deliveries_total{outcome}` (the worker writes
//! each result through the store, so this is the one place that sees them all).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use switchboard_core::{Amount, EsimOrderRecord, Msisdn, PaymentRecord, RefundRecord, TopUpRecord};
use switchboard_store::*;
use tracing::Instrument;

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
    InsertEsimOrder,
    UpdateEsimOrder,
    GetEsimOrder,
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
    AddStats,
    Stats,
    OutboxPending,
    RoutingControls,
    SetRoutingControls,
    AuditLog,
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
    "insert_esim_order",
    "update_esim_order",
    "get_esim_order",
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
    "add_stats",
    "stats",
    "outbox_pending",
    "routing_controls",
    "set_routing_controls",
    "audit_log",
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

    /// Runs one store call inside its span (`store.<operation>`, when tracing is on) and times it
    /// into the store histogram.
    async fn timed<T>(
        &self,
        op: StoreOp,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let name = STORE_OPS[op as usize];
        let span = crate::telemetry::span(|| {
            tracing::info_span!(
                "store.call",
                otel.name = %format_args!("store.{name}"),
                db.system = self.observe.backend,
                db.operation = name,
                error = tracing::field::Empty,
            )
        });
        let started = Instant::now();
        let out = call.instrument(span.clone()).await;
        self.observe.store_call(op, started.elapsed());
        if out.is_err() {
            span.record("error", true);
        }
        out
    }
}

#[async_trait]
impl Store for Observed {
    async fn insert_payment(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
    ) -> Result<InsertOutcome, StoreError> {
        self.timed(
            StoreOp::InsertPayment,
            self.inner.insert_payment(record, keys),
        )
        .await
    }

    async fn insert_payment_rated(
        &self,
        record: &PaymentRecord,
        keys: &[IdempotencyKey],
        quota: RateQuota,
    ) -> Result<InsertOutcome, StoreError> {
        self.timed(
            StoreOp::InsertPaymentRated,
            self.inner.insert_payment_rated(record, keys, quota),
        )
        .await
    }

    async fn update_payment(
        &self,
        record: &PaymentRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome, StoreError> {
        self.timed(
            StoreOp::UpdatePayment,
            self.inner
                .update_payment(record, expected_version, release, events),
        )
        .await
    }

    async fn get_payment(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        self.timed(
            StoreOp::GetPayment,
            self.inner.get_payment(merchant_id, payment_id),
        )
        .await
    }

    async fn list_payments(
        &self,
        merchant_id: &str,
        query: &PaymentQuery,
    ) -> Result<PaymentPage, StoreError> {
        self.timed(
            StoreOp::ListPayments,
            self.inner.list_payments(merchant_id, query),
        )
        .await
    }

    async fn due_for_reconciliation(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        self.timed(
            StoreOp::DueForReconciliation,
            self.inner.due_for_reconciliation(merchant_ids, now, limit),
        )
        .await
    }

    async fn insert_topup(&self, record: &TopUpRecord) -> Result<TopUpInsert, StoreError> {
        self.timed(StoreOp::InsertTopup, self.inner.insert_topup(record))
            .await
    }

    async fn update_topup(
        &self,
        record: &TopUpRecord,
        expected_version: u64,
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<TopUpRecord>, StoreError> {
        self.timed(
            StoreOp::UpdateTopup,
            self.inner.update_topup(record, expected_version, events),
        )
        .await
    }

    async fn get_topup(
        &self,
        merchant_id: &str,
        tx_id: &str,
    ) -> Result<Option<TopUpRecord>, StoreError> {
        self.timed(StoreOp::GetTopup, self.inner.get_topup(merchant_id, tx_id))
            .await
    }

    async fn insert_esim_order(&self, record: &EsimOrderRecord) -> Result<EsimInsert, StoreError> {
        self.timed(
            StoreOp::InsertEsimOrder,
            self.inner.insert_esim_order(record),
        )
        .await
    }

    async fn update_esim_order(
        &self,
        record: &EsimOrderRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome<EsimOrderRecord>, StoreError> {
        self.timed(
            StoreOp::UpdateEsimOrder,
            self.inner.update_esim_order(record, expected_version),
        )
        .await
    }

    async fn get_esim_order(
        &self,
        merchant_id: &str,
        order_id: &str,
    ) -> Result<Option<EsimOrderRecord>, StoreError> {
        self.timed(
            StoreOp::GetEsimOrder,
            self.inner.get_esim_order(merchant_id, order_id),
        )
        .await
    }

    async fn due_topups(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TopUpRecord>, StoreError> {
        self.timed(
            StoreOp::DueTopups,
            self.inner.due_topups(merchant_ids, now, limit),
        )
        .await
    }

    async fn insert_refund(
        &self,
        record: &RefundRecord,
        keys: &[IdempotencyKey],
        paid: Amount,
    ) -> Result<RefundInsert, StoreError> {
        self.timed(
            StoreOp::InsertRefund,
            self.inner.insert_refund(record, keys, paid),
        )
        .await
    }

    async fn update_refund(
        &self,
        record: &RefundRecord,
        expected_version: u64,
        release: &[IdempotencyKey],
        events: &[OutboxEvent],
    ) -> Result<UpdateOutcome<RefundRecord>, StoreError> {
        self.timed(
            StoreOp::UpdateRefund,
            self.inner
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
        self.timed(
            StoreOp::GetRefund,
            self.inner.get_refund(merchant_id, payment_id, refund_id),
        )
        .await
    }

    async fn list_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
        query: &RefundQuery,
    ) -> Result<RefundPage, StoreError> {
        self.timed(
            StoreOp::ListRefunds,
            self.inner.list_refunds(merchant_id, payment_id, query),
        )
        .await
    }

    async fn payment_refunds(
        &self,
        merchant_id: &str,
        payment_id: &str,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        self.timed(
            StoreOp::PaymentRefunds,
            self.inner.payment_refunds(merchant_id, payment_id),
        )
        .await
    }

    async fn due_refunds(
        &self,
        merchant_ids: &[String],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        self.timed(
            StoreOp::DueRefunds,
            self.inner.due_refunds(merchant_ids, now, limit),
        )
        .await
    }

    async fn set_operator_override(
        &self,
        msisdn: &Msisdn,
        operator_id: &str,
    ) -> Result<(), StoreError> {
        self.timed(
            StoreOp::SetOperatorOverride,
            self.inner.set_operator_override(msisdn, operator_id),
        )
        .await
    }

    async fn remove_operator_override(&self, msisdn: &Msisdn) -> Result<bool, StoreError> {
        self.timed(
            StoreOp::RemoveOperatorOverride,
            self.inner.remove_operator_override(msisdn),
        )
        .await
    }

    async fn operator_override_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<OverridePage, StoreError> {
        self.timed(
            StoreOp::OperatorOverridePage,
            self.inner.operator_override_page(cursor, limit),
        )
        .await
    }

    async fn operator_override_version(&self) -> Result<u64, StoreError> {
        self.timed(
            StoreOp::OperatorOverrideVersion,
            self.inner.operator_override_version(),
        )
        .await
    }

    async fn operator_override_changes(
        &self,
        since: u64,
        limit: usize,
    ) -> Result<OverrideChanges, StoreError> {
        self.timed(
            StoreOp::OperatorOverrideChanges,
            self.inner.operator_override_changes(since, limit),
        )
        .await
    }

    async fn use_once(&self, key: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        self.timed(StoreOp::UseOnce, self.inner.use_once(key, ttl_secs))
            .await
    }

    async fn reserve_spend(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
        amount: Milli,
        limit: Milli,
    ) -> Result<SpendOutcome, StoreError> {
        self.timed(
            StoreOp::ReserveSpend,
            self.inner.reserve_spend(period, payment_id, amount, limit),
        )
        .await
    }

    async fn release_spend(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
    ) -> Result<bool, StoreError> {
        self.timed(
            StoreOp::ReleaseSpend,
            self.inner.release_spend(period, payment_id),
        )
        .await
    }

    async fn spent(&self, period: &SpendPeriod) -> Result<Milli, StoreError> {
        self.timed(StoreOp::Spent, self.inner.spent(period)).await
    }

    async fn rate_limit(
        &self,
        merchant_id: &str,
        quota: RateQuota,
    ) -> Result<RateDecision, StoreError> {
        self.timed(
            StoreOp::RateLimit,
            self.inner.rate_limit(merchant_id, quota),
        )
        .await
    }

    async fn claim_deliveries(
        &self,
        merchant_id: &str,
        worker: &str,
        now: DateTime<Utc>,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.timed(
            StoreOp::ClaimDeliveries,
            self.inner
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
        let out = self
            .timed(
                StoreOp::FinishDelivery,
                self.inner
                    .finish_delivery(merchant_id, delivery_id, result, now),
            )
            .await;
        if let Ok(true) = out {
            self.observe.webhook_delivery(result);
        }
        out
    }

    async fn dead_letters(&self, merchant_id: &str) -> Result<Vec<DeadLetter>, StoreError> {
        self.timed(StoreOp::DeadLetters, self.inner.dead_letters(merchant_id))
            .await
    }

    async fn replay_dead_letter(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.timed(
            StoreOp::ReplayDeadLetter,
            self.inner.replay_dead_letter(merchant_id, delivery_id, now),
        )
        .await
    }

    async fn put_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint: &WebhookEndpoint,
    ) -> Result<(), StoreError> {
        self.timed(
            StoreOp::PutWebhookEndpoint,
            self.inner.put_webhook_endpoint(merchant_id, endpoint),
        )
        .await
    }

    async fn webhook_endpoints(
        &self,
        merchant_id: &str,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.timed(
            StoreOp::WebhookEndpoints,
            self.inner.webhook_endpoints(merchant_id),
        )
        .await
    }

    async fn remove_webhook_endpoint(
        &self,
        merchant_id: &str,
        endpoint_id: &str,
    ) -> Result<bool, StoreError> {
        self.timed(
            StoreOp::RemoveWebhookEndpoint,
            self.inner.remove_webhook_endpoint(merchant_id, endpoint_id),
        )
        .await
    }

    async fn review_list(
        &self,
        merchant_ids: &[String],
        limit: usize,
    ) -> Result<ReviewList, StoreError> {
        self.timed(
            StoreOp::ReviewList,
            self.inner.review_list(merchant_ids, limit),
        )
        .await
    }

    async fn routing_controls(&self) -> Result<RoutingControls, StoreError> {
        self.timed(StoreOp::RoutingControls, self.inner.routing_controls())
            .await
    }

    async fn set_routing_controls(
        &self,
        expected_version: u64,
        document: &str,
        audit: &AuditEntry,
    ) -> Result<Option<u64>, StoreError> {
        self.timed(
            StoreOp::SetRoutingControls,
            self.inner
                .set_routing_controls(expected_version, document, audit),
        )
        .await
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.timed(StoreOp::AuditLog, self.inner.audit_log(limit))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed(StoreOp::Ping, self.inner.ping()).await
    }

    async fn add_stats(&self, buckets: &[StatsBucket]) -> Result<(), StoreError> {
        self.timed(StoreOp::AddStats, self.inner.add_stats(buckets))
            .await
    }

    async fn stats(
        &self,
        series: &[String],
        from: u64,
        to: u64,
    ) -> Result<Vec<StatsBucket>, StoreError> {
        self.timed(StoreOp::Stats, self.inner.stats(series, from, to))
            .await
    }

    async fn outbox_pending(&self, merchant_id: &str) -> Result<u64, StoreError> {
        self.timed(
            StoreOp::OutboxPending,
            self.inner.outbox_pending(merchant_id),
        )
        .await
    }
}
