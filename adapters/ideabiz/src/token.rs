//! The platform's token pair, kept in one slot and renewed once for all concurrent callers.
//!
//! Ideabiz answers a password grant with an access token **and** a refresh token, and rotates
//! both on every refresh grant: the old refresh token stops working and the old access token is
//! revoked. So the pair lives in a single [`tokio::sync::Mutex`]-guarded slot; whoever finds it
//! stale renews it while everyone else waits for that renewal (single flight):
//!
//! 1. a usable access token is returned as is;
//! 2. a stale one (near expiry, or rejected with a 401) is renewed with the refresh grant;
//! 3. when that fails (expired, revoked or already-rotated refresh token, or no answer), the
//!    channel logs in again with the password grant.

use std::future::Future;
use std::time::{Duration, Instant};

use switchboard_core::Secret;
use tokio::sync::Mutex;

use switchboard_adapter::AdapterError;

/// Renew at most this long before expiry…
const MAX_EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// …and at most this fraction of the lifetime before (so short-lived tokens are still used).
const MARGIN_DIVISOR: u32 = 10;

/// One token pair as granted.
#[derive(Clone)]
pub struct TokenPair {
    pub access: String,
    pub refresh: Option<Secret>,
    expires_at: Instant,
    margin: Duration,
}

impl TokenPair {
    pub fn new(access: String, refresh: Option<Secret>, lifetime: Duration) -> Self {
        TokenPair {
            access,
            refresh,
            expires_at: Instant::now() + lifetime,
            margin: (lifetime / MARGIN_DIVISOR).min(MAX_EXPIRY_MARGIN),
        }
    }

    fn usable(&self) -> bool {
        Instant::now() + self.margin < self.expires_at
    }
}

/// Which grant produced the current pair (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Password,
    Refresh,
}

/// Holds the channel's token pair.
#[derive(Default)]
pub struct TokenSlot {
    current: Mutex<Option<TokenPair>>,
}

impl TokenSlot {
    pub fn new() -> Self {
        TokenSlot::default()
    }

    /// A usable access token: the cached one, else a renewed pair (refresh grant, falling back to
    /// the password grant). Returns the token and the grant used, if any.
    pub async fn get<R, RF, P, PF>(
        &self,
        refresh: R,
        password: P,
    ) -> Result<(String, Option<Grant>), AdapterError>
    where
        R: FnOnce(Secret) -> RF,
        RF: Future<Output = Result<TokenPair, AdapterError>>,
        P: FnOnce() -> PF,
        PF: Future<Output = Result<TokenPair, AdapterError>>,
    {
        let mut slot = self.current.lock().await;
        if let Some(pair) = slot.as_ref().filter(|p| p.usable()) {
            return Ok((pair.access.clone(), None));
        }
        let refresh_token = slot.as_ref().and_then(|p| p.refresh.clone());
        // Whatever happens next, the old pair is finished: a refresh grant rotates it away.
        *slot = None;
        let renewed = match refresh_token {
            Some(token) => match refresh(token).await {
                Ok(pair) => Ok((pair, Grant::Refresh)),
                Err(error) => {
                    tracing::info!(%error, "refresh grant failed; logging in again");
                    password().await.map(|pair| (pair, Grant::Password))
                }
            },
            None => password().await.map(|pair| (pair, Grant::Password)),
        };
        let (pair, grant) = renewed?;
        let access = pair.access.clone();
        *slot = Some(pair);
        Ok((access, Some(grant)))
    }

    /// The platform rejected `rejected` (401): mark it stale so the next [`Self::get`] renews the
    /// pair, keeping the refresh token. A rejection of an older token changes nothing.
    pub async fn invalidate(&self, rejected: &str) {
        let mut slot = self.current.lock().await;
        if let Some(pair) = slot.as_mut().filter(|p| p.access == rejected) {
            pair.expires_at = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn pair(access: &str, refresh: &str, secs: u64) -> TokenPair {
        TokenPair::new(
            access.into(),
            Some(Secret::new(refresh)),
            Duration::from_secs(secs),
        )
    }

    async fn never(_: Secret) -> Result<TokenPair, AdapterError> {
        Err(AdapterError::NotSent("must not refresh".into()))
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_login() {
        let slot = Arc::new(TokenSlot::new());
        let logins = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (slot, logins) = (slot.clone(), logins.clone());
            tasks.push(tokio::spawn(async move {
                slot.get(never, || async {
                    logins.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    Ok(pair("a1", "r1", 3600))
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().0, "a1");
        }
        assert_eq!(logins.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn stale_pairs_are_refreshed_with_their_refresh_token() {
        let slot = TokenSlot::new();
        // 1 s lifetime: the margin is 100 ms, so it is usable at once…
        let first = slot
            .get(never, || async { Ok(pair("a1", "r1", 1)) })
            .await
            .unwrap();
        assert_eq!(first, ("a1".into(), Some(Grant::Password)));
        let again = slot
            .get(never, || async { Err(AdapterError::NotSent("no".into())) })
            .await
            .unwrap();
        assert_eq!(again, ("a1".into(), None));
        // …and a 401 makes it stale: the refresh grant gets the rotated refresh token.
        slot.invalidate("a1").await;
        let renewed = slot
            .get(
                |r: Secret| async move {
                    assert_eq!(r.expose(), "r1");
                    Ok(pair("a2", "r2", 3600))
                },
                || async { Err(AdapterError::NotSent("must not log in".into())) },
            )
            .await
            .unwrap();
        assert_eq!(renewed, ("a2".into(), Some(Grant::Refresh)));
        // A late 401 for the old token changes nothing.
        slot.invalidate("a1").await;
        assert_eq!(
            slot.get(never, || async { Err(AdapterError::NotSent("no".into())) })
                .await
                .unwrap()
                .0,
            "a2"
        );
    }

    #[tokio::test]
    async fn a_failed_refresh_falls_back_to_the_password_grant() {
        let slot = TokenSlot::new();
        slot.get(never, || async { Ok(pair("a1", "r1", 3600)) })
            .await
            .unwrap();
        slot.invalidate("a1").await;
        let got = slot
            .get(
                |_| async { Err(AdapterError::NotSent("invalid_grant".into())) },
                || async { Ok(pair("a2", "r2", 3600)) },
            )
            .await
            .unwrap();
        assert_eq!(got, ("a2".into(), Some(Grant::Password)));

        // Both failing: an error, and the slot is empty (next time: password grant first).
        slot.invalidate("a2").await;
        let err = slot
            .get(
                |_| async { Err(AdapterError::NotSent("invalid_grant".into())) },
                || async { Err(AdapterError::NotSent("down".into())) },
            )
            .await;
        assert!(matches!(err, Err(AdapterError::NotSent(_))));
        let got = slot
            .get(never, || async { Ok(pair("a3", "r3", 3600)) })
            .await
            .unwrap();
        assert_eq!(got, ("a3".into(), Some(Grant::Password)));
    }

    #[tokio::test]
    async fn tokens_inside_the_margin_are_renewed() {
        let slot = TokenSlot::new();
        slot.get(never, || async { Ok(pair("a1", "r1", 0)) })
            .await
            .unwrap();
        let got = slot
            .get(
                |_| async { Ok(pair("a2", "r2", 3600)) },
                || async { Err(AdapterError::NotSent("no".into())) },
            )
            .await
            .unwrap();
        assert_eq!(got, ("a2".into(), Some(Grant::Refresh)));
    }
}
