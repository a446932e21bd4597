//! Rate limits: per merchant on every merchant API request (429 + `Retry-After`), and per channel
//! before anything is sent upstream (503 + `Retry-After`).
//!
//! Each replica enforces the quotas in process with `governor` (keyed GCRA; idle keys are pruned
//! periodically, so memory does not grow with the number of keys). With the Redis store the
//! merchant quota is also checked in Redis ([`switchboard_store::Store::rate_limit`], one script
//! call), so it is shared by every replica.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use switchboard_store::{RateDecision, RateQuota, Store};

use super::config::RateLimit;
use crate::config::Config;

type Keyed = RateLimiter<String, HashMapStateStore<String>, DefaultClock>;

/// How often idle keys are dropped from the keyed limiters.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

fn governor_quota(limit: &RateLimit) -> Quota {
    let q = limit.quota();
    let burst = NonZeroU32::new(q.requests).unwrap_or(NonZeroU32::MIN);
    let interval = (q.per / q.requests).max(Duration::from_nanos(1));
    Quota::with_period(interval)
        .expect("non-zero period")
        .allow_burst(burst)
}

/// One keyed limiter per distinct quota; the key is the merchant (or channel) id.
pub struct KeyedLimits {
    /// id → its quota (from configuration).
    quotas: HashMap<String, RateLimit>,
    default: Option<RateLimit>,
    limiters: HashMap<RateLimit, Keyed>,
    clock: DefaultClock,
    last_prune: Mutex<Instant>,
}

impl KeyedLimits {
    pub fn new(quotas: HashMap<String, RateLimit>, default: Option<RateLimit>) -> Self {
        let mut limiters = HashMap::new();
        for limit in quotas.values().chain(default.iter()) {
            limiters
                .entry(*limit)
                .or_insert_with(|| RateLimiter::hashmap(governor_quota(limit)));
        }
        KeyedLimits {
            quotas,
            default,
            limiters,
            clock: DefaultClock::default(),
            last_prune: Mutex::new(Instant::now()),
        }
    }

    /// Whether both give every id the same quota.
    fn same_quotas(&self, other: &KeyedLimits) -> bool {
        self.quotas == other.quotas && self.default == other.default
    }

    /// The quota of `id`, if it has one.
    pub fn quota_of(&self, id: &str) -> Option<RateLimit> {
        self.quotas.get(id).copied().or(self.default)
    }

    /// `Err(wait)` when `id` is over its quota on this replica.
    pub fn check(&self, id: &str) -> Result<(), Duration> {
        let Some(limit) = self.quota_of(id) else {
            return Ok(());
        };
        self.prune_if_due();
        let Some(limiter) = self.limiters.get(&limit) else {
            return Ok(());
        };
        limiter
            .check_key(&id.to_string())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    fn prune_if_due(&self) {
        let Ok(mut last) = self.last_prune.try_lock() else {
            return;
        };
        if last.elapsed() < PRUNE_EVERY {
            return;
        }
        *last = Instant::now();
        for limiter in self.limiters.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Every rate limit of one gateway.
pub struct RateLimits {
    pub merchants: KeyedLimits,
    pub channels: KeyedLimits,
    /// Whether the merchant quota is shared through the store (Redis).
    shared: bool,
}

impl RateLimits {
    pub fn from_config(config: &Config) -> Self {
        let merchants = config
            .merchants
            .iter()
            .filter_map(|(id, m)| m.rate_limit.map(|r| (id.clone(), r)))
            .collect();
        let channels = config
            .channels
            .iter()
            .filter_map(|(id, c)| c.rate_limit.map(|r| (id.clone(), to_limit(r))))
            .collect();
        RateLimits {
            merchants: KeyedLimits::new(merchants, config.limits.rate_limit),
            channels: KeyedLimits::new(channels, None),
            shared: config.store.backend == crate::config::StoreBackend::Redis,
        }
    }

    /// Whether `other` enforces the same quotas (a reload keeps the running windows then).
    pub fn same_quotas(&self, other: &RateLimits) -> bool {
        self.merchants.same_quotas(&other.merchants)
            && self.channels.same_quotas(&other.channels)
            && self.shared == other.shared
    }

    /// The merchant's quota when it is shared through the store (Redis): the step a payment claim
    /// takes in its own round trip.
    pub fn shared_quota(&self, merchant_id: &str) -> Option<RateQuota> {
        self.shared
            .then(|| self.merchants.quota_of(merchant_id))
            .flatten()
            .map(|limit| limit.quota())
    }

    /// `Err(wait)` when the merchant is over its quota across every replica (Redis). A store that
    /// cannot answer does not block requests (each replica's own quota holds).
    pub async fn check_shared(&self, store: &dyn Store, merchant_id: &str) -> Result<(), Duration> {
        let Some(quota) = self.shared_quota(merchant_id) else {
            return Ok(());
        };
        match store.rate_limit(merchant_id, quota).await {
            Ok(RateDecision::Allowed) => Ok(()),
            Ok(RateDecision::Limited { retry_after }) => Err(retry_after),
            Err(e) => {
                tracing::warn!(error = %e, "shared rate limit unavailable; local quota only");
                Ok(())
            }
        }
    }
}

fn to_limit(r: switchboard_adapter::ChannelRateLimit) -> RateLimit {
    RateLimit {
        requests: r.requests,
        per_secs: r.per_secs,
    }
}

/// Whole seconds for `Retry-After`, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis())
        .unwrap_or(u64::MAX)
        .div_ceil(1000)
        .max(1)
}
