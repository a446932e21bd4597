//! One simulated top-up: its state, delayed transition and JSON form.
//!
//! Delayed transitions are lazy, as for payments: [`Transaction::settle`] applies one when it is
//! due. A credit is counted by the single transition into `completed`.
//!
//! A *watched* transaction (its provider had webhooks when it was created) leaves a [`Notice`]
//! (the event type and the transaction as it stands) in its outbox when it is created pending and
//! when it settles, for the watcher to send (see [`super::webhooks`]).

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::catalogue::{json_number, Kind, Operator, Product, Validity};
use super::outcome::{Outcome, BARRED_REASON, DECLINED_REASON};
use super::request::TopUpRequest;
use super::webhooks::event_type;
use crate::notify::Notice;

/// `status` values, exactly as the provider writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Completed,
    Failed(&'static str),
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Completed => "completed",
            Status::Failed(_) => "failed",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Transaction {
    pub tx_id: String,
    pub request: TopUpRequest,
    /// The amount charged (the fixed price, or the requested amount).
    pub amount: Decimal,
    currency: &'static str,
    operator_id: &'static str,
    operator_tx_id: String,
    credited: Value,
    created_at: Instant,
    created_utc: DateTime<Utc>,
    status: Status,
    scheduled: Option<(Instant, Status)>,
    completed_at: Option<Instant>,
    credits: u32,
    watched: bool,
    /// Events not yet sent to the webhooks.
    outbox: Vec<Notice>,
}

/// What a new transaction starts as, and what it becomes later.
fn plan(outcome: Outcome) -> (Status, Option<Status>) {
    match outcome {
        Outcome::Barred => (Status::Failed(BARRED_REASON), None),
        Outcome::PendingThenCompleted => (Status::Pending, Some(Status::Completed)),
        Outcome::PendingThenFailed => (Status::Pending, Some(Status::Failed(DECLINED_REASON))),
        // Unknown numbers never get here; a transient failure's retry is a plain success.
        Outcome::Completed
        | Outcome::SlowAnswer
        | Outcome::TransientFailure
        | Outcome::UnknownNumber => (Status::Completed, None),
    }
}

/// What the line receives, as the answer's `credited` describes it.
fn credited(product: &Product, amount: Decimal) -> Value {
    match product.kind {
        Kind::Prepaid => json!({"amount": json_number(amount), "currency": product.currency()}),
        Kind::Bundle | Kind::PlanChange => {
            let mut map = product.contents.map(|c| c.to_json()).unwrap_or_default();
            match product.validity {
                Validity::Days(days) => {
                    map.insert("validity_days".into(), json!(days));
                }
                Validity::Period(period) => {
                    map.insert("plan".into(), json!(product.name));
                    map.insert("period".into(), json!(period));
                }
                Validity::None => {}
            }
            Value::Object(map)
        }
    }
}

impl Transaction {
    /// A new transaction following `outcome`, created at `now`; `sequence` numbers the
    /// operator's transaction id.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        request: TopUpRequest,
        operator: &Operator,
        product: &Product,
        amount: Decimal,
        outcome: Outcome,
        async_delay: Duration,
        sequence: u64,
        now: Instant,
    ) -> Self {
        let created_utc = Utc::now();
        let (initial, later) = plan(outcome);
        let mut tx = Self {
            tx_id: format!("tel_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
            request,
            amount,
            currency: product.currency(),
            operator_id: operator.id,
            operator_tx_id: format!(
                "{}-{}-{:05}",
                operator.tx_prefix,
                created_utc.format("%Y%m%d"),
                sequence % 100_000
            ),
            credited: credited(product, amount),
            created_at: now,
            created_utc,
            status: Status::Pending,
            scheduled: later.map(|status| (now + async_delay, status)),
            completed_at: None,
            credits: 0,
            watched: false,
            outbox: Vec::new(),
        };
        tx.enter(initial, now);
        tx
    }

    fn enter(&mut self, status: Status, at: Instant) {
        self.status = status;
        if status == Status::Completed {
            self.credits += 1;
            self.completed_at = Some(at);
        }
    }

    /// Applies the delayed transition if it is due at `now`.
    pub fn settle(&mut self, now: Instant) {
        if let Some((at, next)) = self.scheduled {
            if at <= now {
                self.scheduled = None;
                self.enter(next, at);
                if self.watched {
                    self.announce();
                }
            }
        }
    }

    /// From now on, status changes are announced; a pending transaction announces that at once.
    /// Whether there is anything to watch (an event now or a transition later).
    pub fn watch(&mut self) -> bool {
        self.watched = true;
        if self.status == Status::Pending {
            self.announce();
        }
        !self.outbox.is_empty() || self.scheduled.is_some()
    }

    fn announce(&mut self) {
        self.outbox.push(Notice {
            event_type: event_type(self.status),
            data: self.to_json(),
        });
    }

    /// Takes the events not sent yet.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.outbox)
    }

    /// When the transaction moves on its own, if it will.
    pub fn next_due(&self) -> Option<Instant> {
        self.scheduled.map(|(at, _)| at)
    }

    /// Credits applied (0 or 1).
    pub fn credits(&self) -> u32 {
        self.credits
    }

    /// Whether `request` (with its resolved `amount`) is the one that created this transaction.
    pub fn same_request(&self, request: &TopUpRequest, amount: Option<Decimal>) -> bool {
        self.request.phone == request.phone
            && self.request.product_id == request.product_id
            && amount == Some(self.amount)
    }

    /// The transaction as `POST /telecom/topup` and `GET /telecom/topup/{tx_id}` answer it.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("tx_id".into(), json!(self.tx_id));
        body.insert("external_tx_id".into(), json!(self.request.external_tx_id));
        body.insert("status".into(), json!(self.status.as_str()));
        body.insert("phone".into(), json!(self.request.phone));
        body.insert("operator_id".into(), json!(self.operator_id));
        body.insert("product_id".into(), json!(self.request.product_id));
        body.insert("amount".into(), json_number(self.amount));
        body.insert("currency".into(), json!(self.currency));
        body.insert("created_at".into(), json!(rfc3339(self.created_utc)));
        match self.status {
            Status::Completed => {
                body.insert("operator_tx_id".into(), json!(self.operator_tx_id));
                body.insert("credited".into(), self.credited.clone());
                if let Some(at) = self.completed_at {
                    body.insert("completed_at".into(), json!(self.utc(at)));
                }
            }
            Status::Failed(reason) => {
                body.insert("failure_reason".into(), json!(reason));
            }
            Status::Pending => {}
        }
        Value::Object(body)
    }

    fn utc(&self, at: Instant) -> String {
        let elapsed =
            TimeDelta::from_std(at.saturating_duration_since(self.created_at)).unwrap_or_default();
        rfc3339(self.created_utc + elapsed)
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topup::catalogue;

    fn tx(
        outcome: Outcome,
        product_id: &str,
        amount: Decimal,
        now: Instant,
    ) -> Option<Transaction> {
        let product = catalogue::product(product_id)?;
        let operator = catalogue::operator(product.operator_id)?;
        let request = TopUpRequest {
            phone: "79161234567".into(),
            product_id: product_id.into(),
            external_tx_id: "x".into(),
            amount: None,
        };
        Some(Transaction::create(
            request,
            operator,
            product,
            amount,
            outcome,
            Duration::from_secs(2),
            7,
            now,
        ))
    }

    #[test]
    fn completed_bundle_carries_what_was_credited() {
        let now = Instant::now();
        let t = tx(
            Outcome::Completed,
            "mts-ru-bundle-10gb-30d",
            Decimal::new(500, 0),
            now,
        );
        let body = t.map(|t| t.to_json()).unwrap_or_default();
        assert_eq!(body["status"], "completed");
        assert_eq!(
            body["credited"],
            json!({"data_gb": 10, "minutes": 300, "sms": 100, "validity_days": 30})
        );
        assert!(body["operator_tx_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("MTS-") && id.ends_with("-00007")));
        assert!(body["completed_at"].is_string());
        let topup = tx(
            Outcome::Completed,
            "mts-ru-topup",
            Decimal::new(1005, 1),
            now,
        );
        let body = topup.map(|t| t.to_json()).unwrap_or_default();
        assert_eq!(
            body["credited"],
            json!({"amount": 100.5, "currency": "RUB"})
        );
        let plan = tx(
            Outcome::Completed,
            "orange-fr-plan-80gb-month",
            Decimal::new(1999, 2),
            now,
        );
        let body = plan.map(|t| t.to_json()).unwrap_or_default();
        assert_eq!(body["credited"]["period"], "month");
    }

    #[test]
    fn pending_settles_once_and_failures_credit_nothing() {
        let now = Instant::now();
        let Some(mut t) = tx(
            Outcome::PendingThenCompleted,
            "mts-ru-topup",
            Decimal::ONE,
            now,
        ) else {
            panic!("no product")
        };
        assert_eq!(
            (t.to_json()["status"].clone(), t.credits()),
            (json!("pending"), 0)
        );
        t.settle(now + Duration::from_secs(1));
        assert_eq!(t.credits(), 0);
        t.settle(now + Duration::from_secs(3));
        t.settle(now + Duration::from_secs(4));
        assert_eq!(
            (t.to_json()["status"].clone(), t.credits()),
            (json!("completed"), 1)
        );
        let Some(mut f) = tx(
            Outcome::PendingThenFailed,
            "mts-ru-topup",
            Decimal::ONE,
            now,
        ) else {
            panic!("no product")
        };
        f.settle(now + Duration::from_secs(3));
        let body = f.to_json();
        assert_eq!(
            (body["status"].clone(), body["failure_reason"].clone()),
            (json!("failed"), json!(DECLINED_REASON))
        );
        assert!(body.get("credited").is_none());
        assert_eq!(f.credits(), 0);
        let b = tx(Outcome::Barred, "mts-ru-topup", Decimal::ONE, now)
            .map(|t| t.to_json())
            .unwrap_or_default();
        assert_eq!(b["failure_reason"], BARRED_REASON);
    }

    #[test]
    fn a_watched_pending_top_up_announces_pending_then_its_outcome() {
        let now = Instant::now();
        let Some(mut t) = tx(
            Outcome::PendingThenFailed,
            "mts-ru-topup",
            Decimal::new(100, 0),
            now,
        ) else {
            panic!("catalogue product missing")
        };
        assert!(t.watch());
        let later = now + Duration::from_secs(3);
        t.settle(later);
        let events: Vec<_> = t
            .take_notices()
            .into_iter()
            .map(|n| (n.event_type, n.data["status"].clone()))
            .collect();
        assert_eq!(
            events,
            [
                ("topup.pending", json!("pending")),
                ("topup.failed", json!("failed"))
            ]
        );
        assert_eq!(t.next_due(), None);
        // Completed at once: nothing to announce, nothing to watch.
        let done = tx(
            Outcome::Completed,
            "mts-ru-topup",
            Decimal::new(100, 0),
            now,
        );
        assert_eq!(done.map(|mut d| d.watch()), Some(false));
        // Not watched: transitions leave nothing.
        let quiet = tx(
            Outcome::PendingThenCompleted,
            "mts-ru-topup",
            Decimal::new(100, 0),
            now,
        );
        let left = quiet.map(|mut q| {
            q.settle(later);
            q.take_notices().len()
        });
        assert_eq!(left, Some(0));
    }
}
