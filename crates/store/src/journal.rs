//! The rows a memory store step changed, for a backend that keeps a durable copy of it (the
//! embedded store). Each table of the memory store notes its changes in a [`RowLog`] while it
//! holds its own lock, and hands them to the [`ChangeSink`] as one unit before it lets go: so the
//! sink sees every step whole, and steps that touch the same row in the order the memory store
//! applied them. A memory store without a sink notes nothing (no cost for tests and development).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use switchboard_core::{EsimOrderRecord, Msisdn, PaymentRecord, RefundRecord, TopUpRecord};

use crate::{
    AuditEntry, DeadLetter, Delivery, IdempotencyKey, Milli, RoutingControls, SpendPeriod,
    WebhookEndpoint,
};

/// One changed row. `…Freed` rows free a key only while it still names `id` (as the memory store
/// does), so they never undo a later claim of the same key.
#[derive(Debug, Clone)]
pub(crate) enum Row {
    Payment(PaymentRecord),
    PaymentGone(String),
    PaymentKey {
        merchant: String,
        key: IdempotencyKey,
        id: String,
    },
    PaymentKeyFreed {
        merchant: String,
        key: IdempotencyKey,
        id: String,
    },
    TopUp(TopUpRecord),
    TopUpGone {
        merchant: String,
        id: String,
    },
    TopUpClaim {
        merchant: String,
        external_tx_id: String,
        id: String,
    },
    TopUpClaimFreed {
        merchant: String,
        external_tx_id: String,
        id: String,
    },
    EsimOrder(EsimOrderRecord),
    /// The merchant's eSIM order key (kept as long as the order).
    EsimKey {
        merchant: String,
        key: String,
        id: String,
    },
    Refund(RefundRecord),
    RefundGone {
        merchant: String,
        id: String,
    },
    RefundKey {
        merchant: String,
        key: IdempotencyKey,
        id: String,
    },
    RefundKeyFreed {
        merchant: String,
        key: IdempotencyKey,
        id: String,
    },
    /// A queued delivery (leases are not kept: after a restart every delivery is free).
    Delivery {
        merchant: String,
        seq: u64,
        delivery: Delivery,
    },
    DeliveryGone {
        merchant: String,
        seq: u64,
    },
    DeadLetter {
        merchant: String,
        letter: DeadLetter,
    },
    DeadLetterGone {
        merchant: String,
        id: String,
    },
    /// The last delivery sequence number handed out for a merchant.
    OutboxSeq {
        merchant: String,
        seq: u64,
    },
    /// An endpoint a 410 stopped (`true`) or that was re-enabled (`false`).
    Stopped {
        merchant: String,
        endpoint: String,
        stopped: bool,
    },
    Endpoint {
        merchant: String,
        endpoint: WebhookEndpoint,
    },
    EndpointGone {
        merchant: String,
        id: String,
    },
    /// An MNP override set (`Some`) or removed (`None`).
    Override {
        msisdn: Msisdn,
        operator_id: Option<String>,
    },
    MnpVersion(u64),
    /// A spending reservation made (`Some`) or given back (`None`).
    Spend {
        period: SpendPeriod,
        payment_id: String,
        amount: Option<Milli>,
    },
    /// The routing controls document after a change.
    Controls(RoutingControls),
    /// The audit entry of the change that made `version` (`None`: trimmed).
    Audit {
        version: u64,
        entry: Option<AuditEntry>,
    },
    /// A single-use marker, kept until `until` (`None`: forgotten).
    Once {
        key: String,
        until: Option<DateTime<Utc>>,
    },
}

/// Where a journaling memory store hands each step's rows.
pub(crate) trait ChangeSink: Send + Sync {
    fn push(&self, rows: Vec<Row>);
}

/// One table's notes of the current step.
#[derive(Default)]
pub(crate) struct RowLog {
    sink: Option<Arc<dyn ChangeSink>>,
    rows: Vec<Row>,
}

impl RowLog {
    pub(crate) fn attach(&mut self, sink: Arc<dyn ChangeSink>) {
        self.sink = Some(sink);
    }

    /// Notes a row (built only when someone listens).
    pub(crate) fn note(&mut self, row: impl FnOnce() -> Row) {
        if self.sink.is_some() {
            self.rows.push(row());
        }
    }

    /// Takes over another table's notes, so both go out as one step.
    pub(crate) fn absorb(&mut self, other: &mut RowLog) {
        self.rows.append(&mut other.rows);
    }

    /// Hands the step's rows to the sink; call it while the table's lock is still held.
    pub(crate) fn publish(&mut self) {
        if let Some(sink) = &self.sink {
            if !self.rows.is_empty() {
                sink.push(std::mem::take(&mut self.rows));
            }
        }
    }
}

/// A memory table that notes its changes.
pub(crate) trait Journaled {
    fn log(&mut self) -> &mut RowLog;
}
