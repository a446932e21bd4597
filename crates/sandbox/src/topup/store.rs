//! All top-up state behind one mutex: transactions, eSIM orders, credits.
//!
//! Every operation takes the lock once (idempotency check and creation are atomic) and never
//! holds it across an `.await`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::catalogue;
use super::error::TopUpError;
use super::esim::EsimOrder;
use super::outcome::{self, Outcome};
use super::request::{EsimRequest, TopUpRequest};
use super::rules;
use super::transaction::Transaction;
use super::webhooks::Webhook;
use crate::notify::Notice;

/// `(provider id, id within that provider)`.
type Key = (String, String);

#[derive(Default)]
struct Inner {
    /// (provider, tx_id) → transaction
    transactions: HashMap<Key, Transaction>,
    /// (provider, external_tx_id) → tx_id
    by_external: HashMap<Key, String>,
    /// (provider, external_tx_id) that already had their transient failure (84).
    transient_seen: HashSet<Key>,
    /// (provider, external_order_id) → order
    orders: HashMap<Key, EsimOrder>,
    /// provider → its webhooks, one per URL.
    webhooks: HashMap<String, Vec<Webhook>>,
    sequence: u64,
}

impl Inner {
    fn next(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }
}

/// Result of `POST /telecom/topup`.
#[derive(Debug)]
pub struct Submitted {
    pub body: Value,
    /// `false` when an earlier transaction with the same `external_tx_id` was returned.
    pub fresh: bool,
    /// Delay the answer by `slow_ms` (first answer of an `85` top-up).
    pub slow: bool,
    /// The provider has webhooks and the transaction has events (now or later): watch it.
    pub watch: bool,
}

/// What a watcher takes from a transaction: events, the webhooks to send them to, and when to
/// look again.
#[derive(Debug)]
pub struct TakenEvents {
    pub notices: Vec<Notice>,
    pub webhooks: Vec<Webhook>,
    pub next: Option<Instant>,
}

/// Credits applied so far.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CreditReport {
    pub total: u32,
    pub by_external_tx_id: BTreeMap<String, u32>,
}

#[derive(Default)]
pub struct TopUpStore {
    inner: Mutex<Inner>,
}

impl TopUpStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates a transaction, or returns the one created earlier with the same `external_tx_id`
    /// (409 when the request differs), or the scripted error.
    pub fn topup(
        &self,
        provider: &str,
        request: TopUpRequest,
        async_delay: Duration,
        now: Instant,
    ) -> Result<Submitted, TopUpError> {
        let mut inner = self.lock();
        let key = (provider.to_owned(), request.external_tx_id.clone());
        if let Some(tx_id) = inner.by_external.get(&key).cloned() {
            let existing = inner
                .transactions
                .get_mut(&(provider.to_owned(), tx_id))
                .ok_or_else(|| TopUpError::new(500, "internal_error", "dangling external_tx_id"))?;
            existing.settle(now);
            if !existing.same_request(&request, rules::effective_amount(&request)) {
                return Err(TopUpError::new(
                    409,
                    "external_tx_id_conflict",
                    "external_tx_id was already used for a different top-up",
                ));
            }
            return Ok(Submitted {
                body: existing.to_json(),
                fresh: false,
                slow: false,
                watch: false,
            });
        }
        let checked = rules::check(&request)?;
        let outcome = outcome::for_phone(&request.phone);
        if outcome == Outcome::TransientFailure && inner.transient_seen.insert(key.clone()) {
            return Err(TopUpError::new(
                500,
                "internal_error",
                "Temporary failure, nothing was credited; retry with the same external_tx_id",
            ));
        }
        let sequence = inner.next();
        let mut tx = Transaction::create(
            request,
            checked.operator,
            checked.product,
            checked.amount,
            outcome,
            async_delay,
            sequence,
            now,
        );
        let body = tx.to_json();
        let has_webhooks = inner.webhooks.get(provider).is_some_and(|w| !w.is_empty());
        let watch = has_webhooks && tx.watch();
        inner.by_external.insert(key, tx.tx_id.clone());
        inner
            .transactions
            .insert((provider.to_owned(), tx.tx_id.clone()), tx);
        Ok(Submitted {
            body,
            fresh: true,
            slow: outcome == Outcome::SlowAnswer,
            watch,
        })
    }

    /// Registers `webhook` for `provider`, replacing the one with the same URL. `true` when the
    /// URL is new.
    pub fn register_webhook(&self, provider: &str, webhook: Webhook) -> bool {
        let mut inner = self.lock();
        let hooks = inner.webhooks.entry(provider.to_owned()).or_default();
        match hooks.iter_mut().find(|w| w.url == webhook.url) {
            Some(existing) => {
                *existing = webhook;
                false
            }
            None => {
                hooks.push(webhook);
                true
            }
        }
    }

    /// The URLs registered for `provider`, in registration order.
    pub fn webhook_urls(&self, provider: &str) -> Vec<String> {
        self.lock()
            .webhooks
            .get(provider)
            .map(|hooks| hooks.iter().map(|w| w.url.clone()).collect())
            .unwrap_or_default()
    }

    /// Settles a transaction and takes its unsent events with the provider's current webhooks;
    /// `None` when the transaction is gone.
    pub fn take_events(&self, provider: &str, tx_id: &str, now: Instant) -> Option<TakenEvents> {
        let mut inner = self.lock();
        let tx = inner
            .transactions
            .get_mut(&(provider.to_owned(), tx_id.to_owned()))?;
        tx.settle(now);
        let notices = tx.take_notices();
        let next = tx.next_due();
        Some(TakenEvents {
            notices,
            webhooks: inner.webhooks.get(provider).cloned().unwrap_or_default(),
            next,
        })
    }

    /// `GET /telecom/topup/{tx_id}`: the settled transaction, or 404 `transaction_not_found`.
    pub fn transaction(
        &self,
        provider: &str,
        tx_id: &str,
        now: Instant,
    ) -> Result<Value, TopUpError> {
        let mut inner = self.lock();
        let tx = inner
            .transactions
            .get_mut(&(provider.to_owned(), tx_id.to_owned()))
            .ok_or_else(|| TopUpError::new(404, "transaction_not_found", "No such transaction"))?;
        tx.settle(now);
        Ok(tx.to_json())
    }

    /// eSIM profiles made so far (an order replayed under its `external_order_id` is not another).
    pub fn esim_orders_made(&self) -> usize {
        self.lock().orders.len()
    }

    /// Creates an eSIM order, or returns the one with the same `external_order_id` (409 when it
    /// was for another product). `(body, fresh)`.
    pub fn esim_order(
        &self,
        provider: &str,
        request: EsimRequest,
    ) -> Result<(Value, bool), TopUpError> {
        let mut inner = self.lock();
        let key = (provider.to_owned(), request.external_order_id.clone());
        if let Some(order) = inner.orders.get(&key) {
            if order.product_id != request.product_id {
                return Err(TopUpError::new(
                    409,
                    "external_order_id_conflict",
                    "external_order_id was already used for another product",
                ));
            }
            return Ok((order.to_json(), false));
        }
        let product = catalogue::product(&request.product_id)
            .ok_or_else(|| TopUpError::product_not_found(&request.product_id))?;
        if !product.esim_capable() {
            return Err(TopUpError::unprocessable(
                "product_not_esim_capable",
                format!(
                    "Product '{}' is not a data bundle; it cannot be sold as an eSIM",
                    product.id
                ),
            ));
        }
        let sequence = inner.next();
        let order = EsimOrder::create(
            provider,
            request.external_order_id,
            request.product_id,
            sequence,
        );
        let body = order.to_json();
        inner.orders.insert(key, order);
        Ok((body, true))
    }

    /// Credits applied so far (settling due transitions first), by `external_tx_id` over every
    /// provider.
    pub fn credits(&self, now: Instant) -> CreditReport {
        let mut inner = self.lock();
        let mut report = CreditReport::default();
        for tx in inner.transactions.values_mut() {
            tx.settle(now);
            report.total += tx.credits();
            *report
                .by_external_tx_id
                .entry(tx.request.external_tx_id.clone())
                .or_default() += tx.credits();
        }
        report
    }

    /// Forgets transactions, orders, credits and transient-failure markers. Webhook
    /// registrations stay (callers register once, at start).
    pub fn reset(&self) {
        let mut inner = self.lock();
        let webhooks = std::mem::take(&mut inner.webhooks);
        *inner = Inner {
            webhooks,
            ..Inner::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn request(digits: &str, ext: &str) -> TopUpRequest {
        TopUpRequest {
            phone: format!("791612345{digits}"),
            product_id: "mts-ru-topup".into(),
            external_tx_id: ext.into(),
            amount: Some(Decimal::new(100, 0)),
        }
    }

    #[test]
    fn idempotent_on_external_tx_id() {
        let store = TopUpStore::default();
        let now = Instant::now();
        let delay = Duration::from_secs(1);
        let first = store
            .topup("p", request("00", "a"), delay, now)
            .map(|s| (s.fresh, s.body["tx_id"].clone()));
        let again = store
            .topup("p", request("00", "a"), delay, now)
            .map(|s| (s.fresh, s.body["tx_id"].clone()));
        assert_eq!(first.as_ref().map(|f| f.0), Ok(true));
        assert_eq!(again.as_ref().map(|a| a.0), Ok(false));
        assert_eq!(first.map(|f| f.1), again.map(|a| a.1));
        let other = store.topup("p", request("01", "a"), delay, now).map(|_| ());
        assert_eq!(other.map_err(|e| e.status), Err(409));
        // Another provider keeps its own ids.
        assert!(store.topup("q", request("01", "a"), delay, now).is_ok());
        assert_eq!(store.credits(now).by_external_tx_id.get("a"), Some(&2));
        assert_eq!(store.credits(now).total, 2);
        store.reset();
        assert_eq!(store.credits(now), CreditReport::default());
    }

    #[test]
    fn transient_failure_once_per_external_tx_id() {
        let store = TopUpStore::default();
        let now = Instant::now();
        let delay = Duration::from_secs(1);
        let first = store.topup("p", request("84", "t"), delay, now).map(|_| ());
        assert_eq!(first.map_err(|e| e.status), Err(500));
        assert_eq!(store.credits(now).total, 0);
        let second = store
            .topup("p", request("84", "t"), delay, now)
            .map(|s| s.body["status"].clone());
        assert_eq!(second, Ok(serde_json::json!("completed")));
        assert_eq!(store.credits(now).total, 1);
    }
}
