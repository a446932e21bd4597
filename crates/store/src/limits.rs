//! Spending limits and rate limits: the types of the limit calls of [`crate::Store`], and the
//! in-process state the memory backend keeps for them.
//!
//! Amounts are integer thousandths of the currency unit ([`Milli`]): CAMARA amounts have at most
//! three decimals, so every amount and every sum is exact (no floats anywhere).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use switchboard_core::Msisdn;

use crate::journal::{Row, RowLog};
use crate::StoreError;

/// An amount in thousandths of the currency unit (EUR 12.345 = 12_345).
pub type Milli = i64;

/// One subscriber's spending in one currency during one calendar month (UTC): what a spending
/// limit counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpendPeriod {
    pub msisdn: Msisdn,
    /// `YYYY-MM`.
    pub month: String,
    /// ISO 4217 code.
    pub currency: String,
}

/// The result of [`crate::Store::reserve_spend`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendOutcome {
    /// The amount is reserved (or already was, for this payment): `total` is the period's sum now.
    Reserved { total: Milli },
    /// The amount would take the period over its limit; nothing was written. `total` is the
    /// period's sum without it.
    OverLimit { total: Milli },
}

/// The result of [`crate::Store::rate_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Over quota; the next request is allowed after `retry_after`.
    Limited {
        retry_after: Duration,
    },
}

/// A quota: `requests` per `per` (GCRA: a burst of `requests`, then one per `per / requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateQuota {
    pub requests: u32,
    pub per: Duration,
}

impl RateQuota {
    /// The emission interval in microseconds (at least 1).
    pub fn interval_us(&self) -> u64 {
        let per_us = u64::try_from(self.per.as_micros()).unwrap_or(u64::MAX);
        (per_us / u64::from(self.requests.max(1))).max(1)
    }

    /// How far ahead of now the theoretical arrival time may run (the burst), in microseconds.
    pub fn tolerance_us(&self) -> u64 {
        self.interval_us()
            .saturating_mul(u64::from(self.requests.max(1)))
    }
}

/// How long a subscriber's month of reservations is kept after its last change (Redis TTL):
/// longer than any month, so a reservation never expires while its month is current.
pub const SPEND_RETENTION: Duration = Duration::from_secs(62 * 24 * 3600);

/// The memory backend's limit state, each behind its own mutex (every call is one locked step).
#[derive(Default)]
pub(crate) struct MemoryLimits {
    pub(crate) spend: Mutex<SpendTable>,
    rate: Mutex<RateTable>,
}

#[derive(Default)]
pub(crate) struct SpendTable {
    /// period → (payment id → amount).
    pub(crate) periods: HashMap<SpendPeriod, BTreeMap<String, Milli>>,
    /// This step's changed rows (see `journal.rs`).
    pub(crate) log: RowLog,
}

#[derive(Default)]
struct RateTable {
    /// key → theoretical arrival time.
    tat: HashMap<String, Instant>,
    last_prune: Option<Instant>,
}

/// How often idle rate keys are dropped, so memory does not grow with the number of keys.
const PRUNE_EVERY: Duration = Duration::from_secs(30);

fn poisoned() -> StoreError {
    StoreError::Unavailable("memory store poisoned".into())
}

impl MemoryLimits {
    pub(crate) fn reserve(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
        amount: Milli,
        limit: Milli,
    ) -> Result<SpendOutcome, StoreError> {
        let mut spend = self.spend.lock().map_err(|_| poisoned())?;
        let SpendTable { periods, log } = &mut *spend;
        let entries = periods.entry(period.clone()).or_default();
        let total: Milli = entries.values().sum();
        if entries.contains_key(payment_id) {
            return Ok(SpendOutcome::Reserved { total });
        }
        if total.saturating_add(amount) > limit {
            if entries.is_empty() {
                periods.remove(period);
            }
            return Ok(SpendOutcome::OverLimit { total });
        }
        entries.insert(payment_id.to_string(), amount);
        log.note(|| Row::Spend {
            period: period.clone(),
            payment_id: payment_id.to_string(),
            amount: Some(amount),
        });
        log.publish();
        Ok(SpendOutcome::Reserved {
            total: total + amount,
        })
    }

    pub(crate) fn release(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
    ) -> Result<bool, StoreError> {
        let mut spend = self.spend.lock().map_err(|_| poisoned())?;
        let SpendTable { periods, log } = &mut *spend;
        let Some(entries) = periods.get_mut(period) else {
            return Ok(false);
        };
        let removed = entries.remove(payment_id).is_some();
        if entries.is_empty() {
            periods.remove(period);
        }
        if removed {
            log.note(|| Row::Spend {
                period: period.clone(),
                payment_id: payment_id.to_string(),
                amount: None,
            });
            log.publish();
        }
        Ok(removed)
    }

    pub(crate) fn spent(&self, period: &SpendPeriod) -> Result<Milli, StoreError> {
        let spend = self.spend.lock().map_err(|_| poisoned())?;
        Ok(spend.periods.get(period).map_or(0, |e| e.values().sum()))
    }

    pub(crate) fn rate_limit(
        &self,
        key: &str,
        quota: RateQuota,
    ) -> Result<RateDecision, StoreError> {
        let mut table = self.rate.lock().map_err(|_| poisoned())?;
        let now = Instant::now();
        if table
            .last_prune
            .is_none_or(|at| now.duration_since(at) >= PRUNE_EVERY)
        {
            table.tat.retain(|_, tat| *tat > now);
            table.last_prune = Some(now);
        }
        Ok(gcra(
            table.tat.entry(key.to_string()).or_insert(now),
            now,
            quota,
        ))
    }
}

/// The generic cell rate algorithm on one theoretical arrival time.
fn gcra(tat: &mut Instant, now: Instant, quota: RateQuota) -> RateDecision {
    let interval = Duration::from_micros(quota.interval_us());
    let tolerance = Duration::from_micros(quota.tolerance_us());
    let base = (*tat).max(now);
    let next = base + interval;
    let allowed_at = next.checked_sub(tolerance).unwrap_or(now);
    if allowed_at > now {
        return RateDecision::Limited {
            retry_after: allowed_at - now,
        };
    }
    *tat = next;
    RateDecision::Allowed
}

/// The month a timestamp falls in, as [`SpendPeriod::month`] wants it.
pub fn month_of(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m").to_string()
}
