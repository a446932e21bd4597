//! All mutable sandbox state, behind one mutex: tokens, payments, charges.
//!
//! Every operation takes the lock once, so idempotency checks and creation
//! are atomic, and the lock is never held across an `.await`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::{SandboxOperator, Timings};
use crate::error::ApiError;
use crate::notify::Taken;
use crate::outcome::{self, Flow, Outcome};
use crate::payment::PaymentRecord;
use crate::request::PaymentRequest;

/// Key of per-operator maps: `(operator id, id within that operator)`.
type Key = (String, String);

#[derive(Default)]
struct State {
    /// access token → (operator id, expiry)
    tokens: HashMap<String, (String, Instant)>,
    tokens_issued: HashMap<String, u32>,
    payments: HashMap<Key, PaymentRecord>,
    /// (operator, clientCorrelator) → paymentId
    by_correlator: HashMap<Key, String>,
    /// (operator, clientCorrelator) that already had their transient failure (84).
    transient_seen: HashSet<Key>,
    /// Create/prepare requests received per operator, answered or not: tests tell "reached once"
    /// from "charged once" (a clientCorrelator replay charges nothing but is still a request).
    create_requests: HashMap<String, u32>,
}

impl State {
    fn settle_all(&mut self, now: Instant) {
        self.payments.values_mut().for_each(|p| p.settle(now));
    }
}

/// Result of a create/prepare call.
#[derive(Debug)]
pub struct Created {
    /// The 201 body.
    pub body: Value,
    /// Delay the answer by `slow_ms` (first answer of a "slow" payment).
    pub slow: bool,
    /// `false` when an earlier payment with the same clientCorrelator was returned.
    pub fresh: bool,
    /// The payment has a sink and moves on its own at this instant: watch it.
    pub watch: Option<Instant>,
}

/// Charges applied so far.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ChargeReport {
    pub total: u32,
    pub by_client_correlator: BTreeMap<String, u32>,
}

/// The shared sandbox state.
#[derive(Default)]
pub struct Store {
    state: Mutex<State>,
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Issues a random bearer token for `operator`, valid for `ttl`.
    pub fn issue_token(&self, operator: &str, ttl: Duration, now: Instant) -> String {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut state = self.lock();
        state.tokens.retain(|_, (_, expiry)| *expiry > now);
        state
            .tokens
            .insert(token.clone(), (operator.to_owned(), now + ttl));
        *state.tokens_issued.entry(operator.to_owned()).or_default() += 1;
        token
    }

    /// Whether `token` was issued by `operator` and has not expired.
    pub fn token_valid(&self, operator: &str, token: &str, now: Instant) -> bool {
        self.lock()
            .tokens
            .get(token)
            .is_some_and(|(op, expiry)| op == operator && *expiry > now)
    }

    /// Forgets every token issued by `operator`.
    pub fn revoke_tokens(&self, operator: &str) {
        self.lock().tokens.retain(|_, (op, _)| op != operator);
    }

    /// Tokens issued by `operator` since start (or the last reset).
    pub fn tokens_issued(&self, operator: &str) -> u32 {
        self.lock()
            .tokens_issued
            .get(operator)
            .copied()
            .unwrap_or(0)
    }

    /// Create/prepare requests `operator` received since start (or the last reset).
    pub fn create_requests(&self, operator: &str) -> u32 {
        self.lock()
            .create_requests
            .get(operator)
            .copied()
            .unwrap_or(0)
    }

    /// Creates a payment, or returns the one created earlier with the same
    /// clientCorrelator, or the scripted error.
    pub fn create(
        &self,
        operator: &SandboxOperator,
        flow: Flow,
        request: PaymentRequest,
        timings: &Timings,
        now: Instant,
    ) -> Result<Created, ApiError> {
        let mut state = self.lock();
        *state
            .create_requests
            .entry(operator.id.clone())
            .or_default() += 1;
        let cc_key = request
            .client_correlator
            .as_ref()
            .map(|cc| (operator.id.clone(), cc.clone()));

        if let Some(key) = &cc_key {
            if let Some(id) = state.by_correlator.get(key).cloned() {
                let existing = state
                    .payments
                    .get_mut(&(operator.id.clone(), id))
                    .ok_or_else(|| ApiError::new(500, "INTERNAL", "Dangling clientCorrelator"))?;
                existing.settle(now);
                if existing.flow != flow || existing.request.phone_number != request.phone_number {
                    return Err(ApiError::invalid_argument(
                        "clientCorrelator already exists on server for a different request",
                    ));
                }
                return Ok(Created {
                    body: existing.to_json(flow == Flow::TwoStep),
                    slow: false,
                    fresh: false,
                    watch: None,
                });
            }
        }

        let outcome = outcome::for_phone(&request.phone_number);
        if outcome == Outcome::TransientFailure {
            let first = cc_key
                .clone()
                .is_none_or(|key| state.transient_seen.insert(key));
            if first {
                return Err(ApiError::new(
                    500,
                    "INTERNAL",
                    "Transient upstream failure, retry with the same clientCorrelator",
                ));
            }
        }
        let plan = outcome::plan(outcome, flow, operator.mode)?;
        let record = PaymentRecord::create(request, flow, operator.mode, plan, timings, now);
        let body = record.to_json(flow == Flow::TwoStep);
        let watch = record.watch_due();
        if let Some(key) = cc_key {
            state.by_correlator.insert(key, record.id.clone());
        }
        state
            .payments
            .insert((operator.id.clone(), record.id.clone()), record);
        Ok(Created {
            body,
            slow: plan.slow,
            fresh: true,
            watch,
        })
    }

    /// Settles a payment and takes its unsent notices; `None` when it is gone or has no sink.
    pub fn take_notices(&self, operator: &str, payment_id: &str, now: Instant) -> Option<Taken> {
        let mut state = self.lock();
        let record = state
            .payments
            .get_mut(&(operator.to_owned(), payment_id.to_owned()))?;
        record.settle(now);
        Some(Taken {
            subscription: record.request.subscription.clone()?,
            notices: record.take_notices(),
            next: record.next_due(),
        })
    }

    /// Runs `f` on a settled payment of `operator`; 404 if there is none.
    pub fn with_payment<T>(
        &self,
        operator: &str,
        payment_id: &str,
        now: Instant,
        f: impl FnOnce(&mut PaymentRecord) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut state = self.lock();
        let record = state
            .payments
            .get_mut(&(operator.to_owned(), payment_id.to_owned()))
            .ok_or_else(|| ApiError::not_found("The specified payment does not exist"))?;
        record.settle(now);
        f(record)
    }

    /// Charges applied so far (settling due transitions first).
    pub fn charges(&self, now: Instant) -> ChargeReport {
        let mut state = self.lock();
        state.settle_all(now);
        let mut report = ChargeReport::default();
        for payment in state.payments.values() {
            let charges = payment.charges();
            report.total += charges;
            if let Some(cc) = &payment.request.client_correlator {
                *report.by_client_correlator.entry(cc.clone()).or_default() += charges;
            }
        }
        report
    }

    /// Forgets payments, charges, transient-failure markers and token
    /// counters. Issued tokens stay valid so client token caches keep working.
    pub fn reset(&self) {
        let mut state = self.lock();
        let tokens = std::mem::take(&mut state.tokens);
        *state = State {
            tokens,
            ..State::default()
        };
    }
}
