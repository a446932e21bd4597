//! Access tokens already verified, by a hash of the token, until they expire.
//!
//! An Ed25519 verification costs tens of microseconds; a merchant sends the same token with thousands
//! of requests. The cache keeps the verified claims under SHA-256(token): a lookup hashes the token
//! (about a microsecond) and finds the entry in a sharded map. What it holds cannot be used to forge
//! anything: a key is a hash of a token the caller already has, and an entry is only found by the
//! exact token. Each entry remembers the `kid` that verified it, and a hit counts only while that key is
//! still configured, so retiring a key revokes its tokens at once, cached or not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::jwt::Claims;

const SHARDS: usize = 16;

/// Entries kept at most (all shards together); beyond it a full shard drops its expired entries, and
/// when none are expired, all of them (they are re-verified on their next use).
pub const DEFAULT_CAPACITY: usize = 65_536;

struct Entry {
    claims: Arc<Claims>,
    kid: Arc<str>,
}

type Shard = HashMap<[u8; 32], Entry>;

pub struct VerifiedTokens {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
}

impl VerifiedTokens {
    pub fn new(capacity: usize) -> Self {
        VerifiedTokens {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    fn shard(&self, key: &[u8; 32]) -> &Mutex<Shard> {
        &self.shards[usize::from(key[0]) % SHARDS]
    }

    /// The claims of `token` if it was verified before, has not expired at `now` (seconds), and the key
    /// that verified it passes `key_known`.
    pub fn get(
        &self,
        token: &str,
        now: i64,
        key_known: impl Fn(&str) -> bool,
    ) -> Option<Arc<Claims>> {
        let key = Self::key(token);
        let mut shard = self.shard(&key).lock().ok()?;
        let entry = shard.get(&key)?;
        // Same rule as the verifier (leeway 0): valid up to and including `exp`.
        if entry.claims.exp >= now && key_known(&entry.kid) {
            return Some(Arc::clone(&entry.claims));
        }
        shard.remove(&key);
        None
    }

    /// Remembers a token that has just been verified with the key `kid`.
    pub fn put(&self, token: &str, kid: &str, claims: Arc<Claims>, now: i64) {
        let key = Self::key(token);
        let Ok(mut shard) = self.shard(&key).lock() else {
            return;
        };
        if shard.len() >= self.per_shard {
            shard.retain(|_, e| e.claims.exp >= now);
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        shard.insert(
            key,
            Entry {
                claims,
                kid: kid.into(),
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.len()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Arc<Claims> {
        Arc::new(Claims {
            iss: "i".into(),
            aud: "a".into(),
            sub: "m1".into(),
            scope: String::new(),
            iat: 0,
            exp,
            jti: "j".into(),
            msisdn: None,
        })
    }

    #[test]
    fn a_hit_needs_the_exact_token_an_unexpired_entry_and_a_known_key() {
        let cache = VerifiedTokens::new(100);
        cache.put("tok", "k1", claims(100), 50);
        assert_eq!(cache.get("tok", 100, |_| true).unwrap().sub, "m1");
        assert!(cache.get("tok2", 50, |_| true).is_none());
        assert!(cache.get("to", 50, |_| true).is_none());
        assert!(
            cache.get("tok", 50, |kid| kid != "k1").is_none(),
            "retired key"
        );
        assert!(cache.get("tok", 50, |_| true).is_none(), "a miss evicts");
        cache.put("tok", "k1", claims(100), 50);
        assert!(cache.get("tok", 101, |_| true).is_none(), "expired");
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn size_stays_bounded_dropping_expired_entries_first() {
        let cache = VerifiedTokens::new(SHARDS * 4);
        for i in 0..10_000 {
            cache.put(&format!("t{i}"), "k", claims(10), 0);
        }
        assert!(cache.len() <= SHARDS * 4);
        // Later puts drop expired entries rather than the fresh ones.
        let fresh: Vec<String> = (0..SHARDS).map(|i| format!("fresh{i}")).collect();
        for t in &fresh {
            cache.put(t, "k", claims(1_000), 100);
        }
        assert!(fresh.iter().all(|t| cache.get(t, 100, |_| true).is_some()));
    }
}
