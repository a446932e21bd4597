//! An upstream access token, cached and refreshed once for all concurrent callers.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::error::AdapterError;

/// Tokens are refreshed this long before they expire, so an in-flight call never carries a dead one.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct CachedToken {
    pub value: String,
    pub expires_at: Instant,
}

impl CachedToken {
    pub fn new(value: String, expires_in: Duration) -> Self {
        CachedToken {
            value,
            expires_at: Instant::now() + expires_in,
        }
    }

    fn usable(&self) -> bool {
        Instant::now() + EXPIRY_MARGIN < self.expires_at
    }
}

/// Holds one token. While it is being fetched, other callers wait for that fetch instead of starting
/// their own (single flight).
#[derive(Default)]
pub struct TokenCache {
    current: Mutex<Option<CachedToken>>,
}

impl TokenCache {
    pub fn new() -> Self {
        TokenCache::default()
    }

    /// The cached token, or the result of `fetch` when there is none or it is about to expire.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<String, AdapterError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<CachedToken, AdapterError>>,
    {
        let mut slot = self.current.lock().await;
        if let Some(token) = slot.as_ref().filter(|t| t.usable()) {
            return Ok(token.value.clone());
        }
        let token = fetch().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// Forgets `rejected` (the upstream said it is no longer valid) unless a newer one replaced it.
    pub async fn invalidate(&self, rejected: &str) {
        let mut slot = self.current.lock().await;
        if slot.as_ref().is_some_and(|t| t.value == rejected) {
            *slot = None;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    /// A minimal stored payment, for adapter-level tests.
    pub fn record_json() -> serde_json::Value {
        serde_json::json!({
            "id": "p1", "merchant_id": "m", "flow": "one_step", "phase": {"phase": "live"},
            "status": "processing", "version": 1, "msisdn": "+34600000001", "operator_id": "op",
            "channel_id": "ch", "client_correlator": null, "reference_code": "r",
            "payment_amount": {"chargingInformation": {"amount": 1, "currency": "EUR", "description": "d"}},
            "upstream_correlator": "sb-p1", "upstream_id": null, "server_reference_code": null,
            "validation_info": null, "validation_attempts": 0, "pending_action": null, "sink": null,
            "sink_credential": null, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "payment_date": null, "denial_reason": null, "fingerprint": "f", "needs_review": false
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::new());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok(CachedToken::new("t1".into(), Duration::from_secs(3600)))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), "t1");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn expiring_tokens_are_refetched_and_invalidation_is_targeted() {
        let cache = TokenCache::new();
        let short = cache
            .get(|| async { Ok(CachedToken::new("old".into(), Duration::from_secs(10))) })
            .await;
        assert_eq!(short.unwrap(), "old");
        // 10 s is inside the refresh margin: the next call fetches again.
        let next = cache
            .get(|| async { Ok(CachedToken::new("new".into(), Duration::from_secs(3600))) })
            .await;
        assert_eq!(next.unwrap(), "new");
        cache.invalidate("old").await; // stale rejection: keeps "new"
        let same = cache
            .get(|| async { Err(AdapterError::NotSent("must not fetch".into())) })
            .await;
        assert_eq!(same.unwrap(), "new");
        cache.invalidate("new").await;
        let err = cache
            .get(|| async { Err(AdapterError::NotSent("down".into())) })
            .await;
        assert!(matches!(err, Err(AdapterError::NotSent(_))));
    }
}
