//! What keeps the memory backend bounded: idempotency claims expire after the idempotency TTL (as
//! Redis' `PX` does), finished records are dropped the TTL after they finished, and the number of
//! payment and top-up records is capped. The bookkeeping is amortised on the writes: queues in time
//! order, so each call looks only at what has just expired (no scan of the tables).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::IdempotencyKey;

/// How the memory store bounds itself. `MemorySettings::default()` is what `MemoryStore::new()`
/// uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemorySettings {
    /// How long a `clientCorrelator` / `referenceCode` / `external_tx_id` claim is kept, and how
    /// long a finished record stays readable after it finished (30 days, as on Redis).
    pub idempotency_ttl: Duration,
    /// At most this many payment and top-up records (a payment's refunds go with it). At the cap
    /// the oldest finished record is dropped first; records still in flight, unsettled or marked
    /// for review are never dropped, and with only those left an insert is refused
    /// ([`crate::StoreError::Full`], 503).
    pub max_records: usize,
}

impl Default for MemorySettings {
    fn default() -> Self {
        MemorySettings {
            idempotency_ttl: Duration::from_secs(30 * 24 * 3600),
            max_records: 100_000,
        }
    }
}

/// A record the retention tracks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Held {
    /// By payment id (payment ids are global in the memory store).
    Payment(String),
    /// By (merchant, top-up id).
    TopUp(String, String),
}

/// A claim that expires: which key of which merchant, and the record that claimed it.
#[derive(Debug, Clone)]
pub(crate) enum Claimed {
    Payment {
        merchant: String,
        key: IdempotencyKey,
        id: String,
    },
    TopUp {
        merchant: String,
        external_tx_id: String,
        id: String,
    },
}

pub(crate) struct Retention {
    pub(crate) settings: MemorySettings,
    next: u64,
    /// Finished records in the order they finished: sequence → (when, record).
    finished: BTreeMap<u64, (Instant, Held)>,
    /// Each finished record's sequence number (to move it when it changes again).
    finished_at: HashMap<Held, u64>,
    /// Claims in claim order, each with its expiry (the TTL is one value, so the order holds).
    claims: VecDeque<(Instant, Claimed)>,
}

impl Retention {
    pub(crate) fn new(settings: MemorySettings) -> Self {
        Retention {
            settings,
            next: 0,
            finished: BTreeMap::new(),
            finished_at: HashMap::new(),
            claims: VecDeque::new(),
        }
    }

    /// A record was written: `finished` says whether it may be dropped later.
    pub(crate) fn note(&mut self, held: Held, finished: bool, now: Instant) {
        match (finished, self.finished_at.contains_key(&held)) {
            (true, false) => {
                let seq = self.next;
                self.next += 1;
                self.finished.insert(seq, (now, held.clone()));
                self.finished_at.insert(held, seq);
            }
            (false, true) => {
                if let Some(seq) = self.finished_at.remove(&held) {
                    self.finished.remove(&seq);
                }
            }
            _ => {}
        }
    }

    /// A claim was made now.
    pub(crate) fn claimed(&mut self, claim: Claimed, now: Instant) {
        self.claims
            .push_back((now + self.settings.idempotency_ttl, claim));
    }

    /// The next claim whose TTL ran out, if any (taken off the queue).
    pub(crate) fn expired_claim(&mut self, now: Instant) -> Option<Claimed> {
        match self.claims.front() {
            Some((expiry, _)) if *expiry <= now => self.claims.pop_front().map(|(_, c)| c),
            _ => None,
        }
    }

    /// Drops queued claims for which `live` is false (their record went first). Runs only when the
    /// queue holds more than twice what can be live, so it costs O(1) per claim amortised.
    pub(crate) fn compact_claims(&mut self, live_keys: usize, live: impl Fn(&Claimed) -> bool) {
        if self.claims.len() > 2 * live_keys + 1024 {
            self.claims.retain(|(_, c)| live(c));
        }
    }

    /// The oldest finished record whose TTL ran out since it finished, if any (taken off).
    pub(crate) fn expired_record(&mut self, now: Instant) -> Option<Held> {
        let ttl = self.settings.idempotency_ttl;
        let (&seq, (at, _)) = self.finished.first_key_value()?;
        if now.duration_since(*at) < ttl {
            return None;
        }
        self.take(seq)
    }

    /// The oldest finished record, whatever its age (taken off): the first to go at the cap.
    pub(crate) fn oldest_finished(&mut self) -> Option<Held> {
        let seq = *self.finished.first_key_value()?.0;
        self.take(seq)
    }

    fn take(&mut self, seq: u64) -> Option<Held> {
        let (_, held) = self.finished.remove(&seq)?;
        self.finished_at.remove(&held);
        Some(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ttl_ms: u64) -> MemorySettings {
        MemorySettings {
            idempotency_ttl: Duration::from_millis(ttl_ms),
            max_records: 10,
        }
    }

    #[test]
    fn finished_records_leave_in_the_order_they_finished() {
        let mut r = Retention::new(settings(100));
        let t0 = Instant::now();
        r.note(Held::Payment("a".into()), true, t0);
        r.note(Held::Payment("b".into()), false, t0);
        r.note(
            Held::Payment("c".into()),
            true,
            t0 + Duration::from_millis(50),
        );
        assert_eq!(r.expired_record(t0 + Duration::from_millis(99)), None);
        assert_eq!(
            r.expired_record(t0 + Duration::from_millis(100)),
            Some(Held::Payment("a".into()))
        );
        assert_eq!(r.expired_record(t0 + Duration::from_millis(120)), None);
        // b finishes late: it waits its own TTL, behind c.
        r.note(
            Held::Payment("b".into()),
            true,
            t0 + Duration::from_millis(60),
        );
        assert_eq!(r.oldest_finished(), Some(Held::Payment("c".into())));
        // A record that is unsettled again is not finished any more.
        r.note(
            Held::Payment("b".into()),
            false,
            t0 + Duration::from_millis(70),
        );
        assert_eq!(r.oldest_finished(), None);
    }

    #[test]
    fn claims_expire_in_claim_order() {
        let mut r = Retention::new(settings(100));
        let t0 = Instant::now();
        let claim = |id: &str| Claimed::TopUp {
            merchant: "m".into(),
            external_tx_id: id.into(),
            id: id.into(),
        };
        r.claimed(claim("x"), t0);
        r.claimed(claim("y"), t0 + Duration::from_millis(10));
        assert!(r.expired_claim(t0 + Duration::from_millis(99)).is_none());
        assert!(matches!(
            r.expired_claim(t0 + Duration::from_millis(105)),
            Some(Claimed::TopUp { id, .. }) if id == "x"
        ));
        assert!(r.expired_claim(t0 + Duration::from_millis(105)).is_none());
    }
}
