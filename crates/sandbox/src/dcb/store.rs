//! Charges and refunds of every aggregator, with the charge-once guarantee on `merchant_tx_id`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::error::DcbError;
use crate::config::{OperatorMode, Timings};
use crate::outcome::{self, Outcome};
use crate::store::ChargeReport;

/// `SUCCESS`, `FAILED`, `PENDING`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Success,
    Failed,
    Pending,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
            Status::Pending => "PENDING",
        }
    }
}

/// A validated charge request.
#[derive(Clone, Debug)]
pub struct ChargeRequest {
    pub merchant_tx_id: String,
    pub msisdn: String,
    pub amount: u64,
    pub currency: String,
    pub description: String,
    pub notify_url: Option<String>,
}

#[derive(Debug)]
struct Charge {
    id: String,
    request: ChargeRequest,
    status: Status,
    /// `(when, final status)` of a `PENDING` charge.
    later: Option<(Instant, Status)>,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    /// A settlement not yet announced to `notify_url`.
    unannounced: bool,
    refunded: u64,
}

impl Charge {
    fn settle(&mut self, now: Instant) {
        if let Some((at, status)) = self.later {
            if now >= at {
                self.status = status;
                self.later = None;
                self.updated = Utc::now();
                self.unannounced = self.request.notify_url.is_some();
            }
        }
    }

    fn body(&self) -> Value {
        let mut body = json!({
            "charge_id": self.id,
            "merchant_tx_id": self.request.merchant_tx_id,
            "msisdn": self.request.msisdn,
            "amount": self.request.amount,
            "currency": self.request.currency,
            "description": self.request.description,
            "status": self.status.word(),
            "created_at": self.created.to_rfc3339(),
            "updated_at": self.updated.to_rfc3339(),
        });
        if self.status == Status::Failed {
            body["error"] =
                json!({"code": "E_CHARGE_DENIED", "message": "Charge denied by the carrier"});
        }
        body
    }
}

#[derive(Debug)]
struct Refund {
    id: String,
    merchant_refund_id: String,
    charge_id: String,
    amount: u64,
    created: DateTime<Utc>,
}

impl Refund {
    fn body(&self, currency: &str) -> Value {
        json!({
            "refund_id": self.id,
            "merchant_refund_id": self.merchant_refund_id,
            "charge_id": self.charge_id,
            "amount": self.amount,
            "currency": currency,
            "status": "SUCCESS",
            "created_at": self.created.to_rfc3339(),
        })
    }
}

#[derive(Default)]
struct State {
    /// `(aggregator, charge_id)` → charge.
    charges: HashMap<(String, String), Charge>,
    /// `(aggregator, merchant_tx_id)` → charge_id.
    by_tx: HashMap<(String, String), String>,
    refunds: HashMap<(String, String), Refund>,
    /// `merchant_tx_id`s whose first request already failed with 503 (digits 84).
    failed_once: HashSet<(String, String)>,
}

/// What creating a charge answered.
pub struct Created {
    pub body: Value,
    /// Delay the answer (digits 85).
    pub slow: bool,
    /// When to look for a settlement to announce.
    pub watch: Option<Instant>,
}

/// Every aggregator's records.
#[derive(Default)]
pub struct Store {
    state: Mutex<State>,
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates the charge, or answers the one already created with this `merchant_tx_id`.
    pub fn create(
        &self,
        aggregator: &str,
        mode: OperatorMode,
        request: ChargeRequest,
        timings: &Timings,
        now: Instant,
    ) -> Result<Created, DcbError> {
        let mut state = self.lock();
        let tx_key = (aggregator.to_owned(), request.merchant_tx_id.clone());
        if let Some(id) = state.by_tx.get(&tx_key).cloned() {
            let charge = state
                .charges
                .get_mut(&(aggregator.to_owned(), id))
                .ok_or_else(|| DcbError::new(500, "E_INTERNAL", "index out of step"))?;
            charge.settle(now);
            return Ok(Created {
                body: charge.body(),
                slow: false,
                watch: None,
            });
        }
        let outcome = outcome::for_phone(&request.msisdn);
        let delay = Duration::from_millis(timings.async_delay_ms);
        let (status, later, slow) = match outcome {
            Outcome::Reject { code, .. } => return Err(DcbError::refusal(code)),
            Outcome::TransientFailure if state.failed_once.insert(tx_key.clone()) => {
                return Err(DcbError::new(
                    503,
                    "E_UNAVAILABLE",
                    "Carrier temporarily unavailable",
                ))
            }
            Outcome::SlowAnswer => (Status::Success, None, true),
            Outcome::AsyncSuccess => (Status::Pending, Some((now + delay, Status::Success)), false),
            Outcome::AsyncDenied => (Status::Pending, Some((now + delay, Status::Failed)), false),
            _ if mode == OperatorMode::Async => {
                (Status::Pending, Some((now + delay, Status::Success)), false)
            }
            _ => (Status::Success, None, false),
        };
        let id = format!("chg_{}", uuid::Uuid::new_v4().simple());
        let created = Utc::now();
        let watch = later
            .filter(|_| request.notify_url.is_some())
            .map(|(at, _)| at);
        let charge = Charge {
            id: id.clone(),
            request,
            status,
            later,
            created,
            updated: created,
            unannounced: false,
            refunded: 0,
        };
        let body = charge.body();
        state.by_tx.insert(tx_key, id.clone());
        state.charges.insert((aggregator.to_owned(), id), charge);
        Ok(Created { body, slow, watch })
    }

    pub fn charge(
        &self,
        aggregator: &str,
        charge_id: &str,
        now: Instant,
    ) -> Result<Value, DcbError> {
        let mut state = self.lock();
        let charge = state
            .charges
            .get_mut(&(aggregator.to_owned(), charge_id.to_owned()))
            .ok_or_else(|| DcbError::not_found("No such charge"))?;
        charge.settle(now);
        Ok(charge.body())
    }

    pub fn charge_by_tx(
        &self,
        aggregator: &str,
        tx: &str,
        now: Instant,
    ) -> Result<Value, DcbError> {
        let id = self
            .lock()
            .by_tx
            .get(&(aggregator.to_owned(), tx.to_owned()))
            .cloned()
            .ok_or_else(|| DcbError::not_found("No charge with this merchant_tx_id"))?;
        self.charge(aggregator, &id, now)
    }

    /// A settled, not yet announced charge: its `notify_url` and body (once).
    pub fn take_notification(
        &self,
        aggregator: &str,
        charge_id: &str,
        now: Instant,
    ) -> (Option<(String, Value)>, Option<Instant>) {
        let mut state = self.lock();
        let Some(charge) = state
            .charges
            .get_mut(&(aggregator.to_owned(), charge_id.to_owned()))
        else {
            return (None, None);
        };
        charge.settle(now);
        if let Some((at, _)) = charge.later {
            return (None, Some(at));
        }
        if !std::mem::take(&mut charge.unannounced) {
            return (None, None);
        }
        let url = charge.request.notify_url.clone();
        (url.map(|u| (u, charge.body())), None)
    }

    /// Refunds `amount` of a `SUCCESS` charge, or answers the refund already made with this
    /// `merchant_refund_id`.
    pub fn refund(
        &self,
        aggregator: &str,
        charge_id: &str,
        merchant_refund_id: &str,
        amount: u64,
        now: Instant,
    ) -> Result<Value, DcbError> {
        let mut state = self.lock();
        let key = (aggregator.to_owned(), merchant_refund_id.to_owned());
        let charge_key = (aggregator.to_owned(), charge_id.to_owned());
        let charge = state
            .charges
            .get_mut(&charge_key)
            .ok_or_else(|| DcbError::not_found("No such charge"))?;
        charge.settle(now);
        let currency = charge.request.currency.clone();
        if let Some(existing) = state.refunds.get(&key) {
            return Ok(existing.body(&currency));
        }
        let charge = state
            .charges
            .get_mut(&charge_key)
            .ok_or_else(|| DcbError::not_found("No such charge"))?;
        if charge.status != Status::Success {
            return Err(DcbError::new(
                409,
                "E_NOT_REFUNDABLE",
                "Charge is not settled",
            ));
        }
        if amount == 0 || charge.refunded + amount > charge.request.amount {
            return Err(DcbError::new(
                422,
                "E_REFUND_EXCEEDS",
                "Refund exceeds the charged amount",
            ));
        }
        charge.refunded += amount;
        let refund = Refund {
            id: format!("rfd_{}", uuid::Uuid::new_v4().simple()),
            merchant_refund_id: merchant_refund_id.to_owned(),
            charge_id: charge_id.to_owned(),
            amount,
            created: Utc::now(),
        };
        let body = refund.body(&currency);
        state.refunds.insert(key, refund);
        Ok(body)
    }

    pub fn refund_by_id(
        &self,
        aggregator: &str,
        merchant_refund_id: &str,
    ) -> Result<Value, DcbError> {
        let state = self.lock();
        let refund = state
            .refunds
            .get(&(aggregator.to_owned(), merchant_refund_id.to_owned()))
            .ok_or_else(|| DcbError::not_found("No refund with this merchant_refund_id"))?;
        let currency = state
            .charges
            .get(&(aggregator.to_owned(), refund.charge_id.clone()))
            .map(|c| c.request.currency.clone())
            .unwrap_or_default();
        Ok(refund.body(&currency))
    }

    /// Adds the aggregators' charges (settled `SUCCESS` ones) to `report`, keyed by `merchant_tx_id`.
    pub fn add_charges(&self, report: &mut ChargeReport, now: Instant) {
        let mut state = self.lock();
        let mut by_tx: BTreeMap<String, u32> = BTreeMap::new();
        for charge in state.charges.values_mut() {
            charge.settle(now);
            if charge.status == Status::Success {
                report.total += 1;
                *by_tx
                    .entry(charge.request.merchant_tx_id.clone())
                    .or_default() += 1;
            }
        }
        for (tx, n) in by_tx {
            *report.by_client_correlator.entry(tx).or_default() += n;
        }
    }

    pub fn reset(&self) {
        *self.lock() = State::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(msisdn: &str, tx: &str) -> ChargeRequest {
        ChargeRequest {
            merchant_tx_id: tx.into(),
            msisdn: msisdn.into(),
            amount: 250,
            currency: "EUR".into(),
            description: "d".into(),
            notify_url: None,
        }
    }

    #[test]
    fn charges_once_per_merchant_tx_id_and_fails_transiently_once() {
        let store = Store::default();
        let t = Timings::default();
        let now = Instant::now();
        let a = store
            .create(
                "a",
                OperatorMode::Sync,
                request("393400000001", "tx1"),
                &t,
                now,
            )
            .ok()
            .map(|c| c.body);
        let b = store
            .create(
                "a",
                OperatorMode::Sync,
                request("393400000001", "tx1"),
                &t,
                now,
            )
            .ok()
            .map(|c| c.body);
        assert_eq!(
            a.as_ref().map(|v| &v["charge_id"]),
            b.as_ref().map(|v| &v["charge_id"])
        );
        let first = store.create(
            "a",
            OperatorMode::Sync,
            request("393400000084", "tx2"),
            &t,
            now,
        );
        assert_eq!(first.err().map(|e| e.status), Some(503));
        assert!(store
            .create(
                "a",
                OperatorMode::Sync,
                request("393400000084", "tx2"),
                &t,
                now
            )
            .is_ok());
        let mut report = ChargeReport::default();
        store.add_charges(&mut report, now);
        assert_eq!(
            (report.total, report.by_client_correlator.get("tx1")),
            (2, Some(&1))
        );
    }

    #[test]
    fn pending_charges_settle_later_and_refunds_are_bounded() {
        let store = Store::default();
        let t = Timings::default();
        let now = Instant::now();
        let c = store
            .create(
                "a",
                OperatorMode::Sync,
                request("393400000086", "tx"),
                &t,
                now,
            )
            .ok()
            .map(|c| c.body)
            .unwrap_or_default();
        assert_eq!(c["status"], "PENDING");
        let id = c["charge_id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            store.refund("a", &id, "r1", 100, now).err().map(|e| e.code),
            Some("E_NOT_REFUNDABLE")
        );
        let later = now + Duration::from_millis(t.async_delay_ms);
        assert_eq!(
            store
                .charge("a", &id, later)
                .ok()
                .map(|b| b["status"].clone()),
            Some("SUCCESS".into())
        );
        assert!(store.refund("a", &id, "r1", 200, later).is_ok());
        assert!(
            store.refund("a", &id, "r1", 200, later).is_ok(),
            "replay answers the same refund"
        );
        assert_eq!(
            store
                .refund("a", &id, "r2", 100, later)
                .err()
                .map(|e| e.code),
            Some("E_REFUND_EXCEEDS")
        );
    }
}
