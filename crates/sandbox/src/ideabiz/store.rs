//! All mutable state of the simulated Ideabiz platforms behind one mutex:
//! token pairs, payments and charges. Every operation takes the lock once and
//! never across an `.await`, so the duplicate check and the charge are atomic.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::outcome::{self, Outcome, SERVER_ERROR};
use super::payment::Payment;
use super::request::ChargeRequest;
use crate::config::{IdeabizPlatform, Timings};
use crate::error::ApiError;
use crate::notify::Taken;
use crate::store::ChargeReport;

/// `(platform id, id within that platform)`.
type Key = (String, String);

/// Expired access tokens are remembered this long, so they are answered
/// "expired" rather than "invalid".
const FORGET_AFTER: Duration = Duration::from_secs(600);

struct AccessToken {
    platform: String,
    expires_at: Instant,
    revoked: bool,
}

struct RefreshToken {
    platform: String,
    scope: String,
    expires_at: Instant,
    /// The access token issued with it, revoked when this one is used.
    access_token: String,
}

#[derive(Default)]
struct State {
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    /// Token pairs issued per platform (password and refresh grants).
    issued: HashMap<String, u32>,
    /// Successful refresh grants per platform.
    refreshed: HashMap<String, u32>,
    payments: HashMap<Key, Payment>,
    by_correlator: HashMap<Key, String>,
    /// (platform, clientCorrelator) that already had their 502 (digits 84).
    transient_seen: HashSet<Key>,
}

/// A freshly issued token pair.
#[derive(Debug)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub scope: String,
}

/// Why a refresh grant failed (answered 400 `invalid_grant`).
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshError {
    /// Unknown, already used (rotated away), revoked or another platform's.
    Unknown,
    Expired,
}

/// What an API call's bearer token is.
#[derive(Debug, PartialEq, Eq)]
pub enum AccessCheck {
    Valid,
    /// Issued by this platform but expired or revoked.
    Expired,
    /// Never issued by this platform (or forgotten).
    Invalid,
}

/// Result of a charge request.
#[derive(Debug)]
pub struct Created {
    pub body: Value,
    /// Delay the answer by `slow_ms`.
    pub slow: bool,
    /// The payment has a webhook and moves on at this instant: watch it.
    pub watch: Option<Instant>,
}

fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn duplicate() -> ApiError {
    ApiError::new(
        409,
        "INVALID_ARGUMENT",
        "Duplicate request detected. This transaction appears to have been submitted already.",
    )
}

fn payment_not_found() -> ApiError {
    ApiError::not_found("No payment found for the given identifier")
}

/// The Ideabiz platforms' shared state.
#[derive(Default)]
pub struct Store {
    state: Mutex<State>,
}

impl State {
    fn issue(&mut self, platform: &IdeabizPlatform, scope: String, now: Instant) -> Issued {
        self.access.retain(|_, t| t.expires_at + FORGET_AFTER > now);
        self.refresh.retain(|_, t| t.expires_at > now);
        let access_token = new_token();
        let refresh_token = new_token();
        self.access.insert(
            access_token.clone(),
            AccessToken {
                platform: platform.id.clone(),
                expires_at: now + Duration::from_secs(platform.token_ttl_secs),
                revoked: false,
            },
        );
        self.refresh.insert(
            refresh_token.clone(),
            RefreshToken {
                platform: platform.id.clone(),
                scope: scope.clone(),
                expires_at: now + Duration::from_secs(platform.refresh_token_ttl_secs),
                access_token: access_token.clone(),
            },
        );
        *self.issued.entry(platform.id.clone()).or_default() += 1;
        Issued {
            access_token,
            refresh_token,
            expires_in: platform.token_ttl_secs,
            scope,
        }
    }
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Password grant: a new pair. Earlier pairs stay valid until they expire.
    pub fn issue(&self, platform: &IdeabizPlatform, scope: String, now: Instant) -> Issued {
        self.lock().issue(platform, scope, now)
    }

    /// Refresh grant: the refresh token is used up, its access token revoked,
    /// and a new pair issued (same scope unless `scope` asks for another).
    pub fn refresh(
        &self,
        platform: &IdeabizPlatform,
        refresh_token: &str,
        scope: Option<String>,
        now: Instant,
    ) -> Result<Issued, RefreshError> {
        let mut state = self.lock();
        let old = match state.refresh.get(refresh_token) {
            Some(t) if t.platform != platform.id => return Err(RefreshError::Unknown),
            Some(t) if t.expires_at <= now => {
                state.refresh.remove(refresh_token);
                return Err(RefreshError::Expired);
            }
            Some(_) => state
                .refresh
                .remove(refresh_token)
                .ok_or(RefreshError::Unknown)?,
            None => return Err(RefreshError::Unknown),
        };
        if let Some(access) = state.access.get_mut(&old.access_token) {
            access.revoked = true;
        }
        *state.refreshed.entry(platform.id.clone()).or_default() += 1;
        Ok(state.issue(platform, scope.unwrap_or(old.scope), now))
    }

    /// Whether `token` lets a caller use `platform` at `now`.
    pub fn check_access(&self, platform: &str, token: &str, now: Instant) -> AccessCheck {
        match self.lock().access.get(token) {
            Some(t) if t.platform != platform => AccessCheck::Invalid,
            Some(t) if t.revoked || t.expires_at <= now => AccessCheck::Expired,
            Some(_) => AccessCheck::Valid,
            None => AccessCheck::Invalid,
        }
    }

    /// Revokes every access token of `platform` (its refresh tokens still work).
    pub fn revoke_access_tokens(&self, platform: &str) {
        self.lock()
            .access
            .values_mut()
            .filter(|t| t.platform == platform)
            .for_each(|t| t.revoked = true);
    }

    /// Revokes every refresh token of `platform`.
    pub fn revoke_refresh_tokens(&self, platform: &str) {
        self.lock().refresh.retain(|_, t| t.platform != platform);
    }

    /// Token pairs issued by `platform` (both grants).
    pub fn tokens_issued(&self, platform: &str) -> u32 {
        self.lock().issued.get(platform).copied().unwrap_or(0)
    }

    /// Successful refresh grants at `platform`.
    pub fn refresh_grants(&self, platform: &str) -> u32 {
        self.lock().refreshed.get(platform).copied().unwrap_or(0)
    }

    /// Charges a subscriber, or answers the scripted error. A `clientCorrelator`
    /// seen before (on a payment that was created) is refused with 409.
    pub fn create(
        &self,
        platform: &str,
        request: ChargeRequest,
        timings: &Timings,
        now: Instant,
    ) -> Result<Created, ApiError> {
        let mut state = self.lock();
        let cc_key = request
            .client_correlator
            .as_ref()
            .map(|cc| (platform.to_owned(), cc.clone()));
        if cc_key
            .as_ref()
            .is_some_and(|key| state.by_correlator.contains_key(key))
        {
            return Err(duplicate());
        }
        let outcome = outcome::for_phone(&request.phone_number);
        if outcome == Outcome::TransientFailure {
            let first = cc_key
                .clone()
                .is_none_or(|key| state.transient_seen.insert(key));
            if first {
                let (status, code, message) = SERVER_ERROR;
                return Err(ApiError::new(status, code, message));
            }
        }
        let plan = outcome::plan(outcome)?;
        let payment = Payment::create(
            request,
            plan,
            Duration::from_millis(timings.async_delay_ms),
            now,
        );
        let body = payment.to_json();
        let watch = payment.watch_due();
        if let Some(key) = cc_key {
            state.by_correlator.insert(key, payment.id.clone());
        }
        state
            .payments
            .insert((platform.to_owned(), payment.id.clone()), payment);
        Ok(Created {
            body,
            slow: plan.slow,
            watch,
        })
    }

    /// Settles a payment and takes its unsent notifications; `None` when it is gone or has no
    /// webhook.
    pub fn take_notices(&self, platform: &str, id: &str, now: Instant) -> Option<Taken> {
        let mut state = self.lock();
        let payment = state
            .payments
            .get_mut(&(platform.to_owned(), id.to_owned()))?;
        payment.settle(now);
        Some(Taken {
            subscription: payment.request.subscription()?,
            notices: payment.take_notices(),
            next: payment.next_due(),
        })
    }

    /// A payment of `platform` by its id, settled; 404 if there is none.
    pub fn payment(&self, platform: &str, id: &str, now: Instant) -> Result<Value, ApiError> {
        let mut state = self.lock();
        let payment = state
            .payments
            .get_mut(&(platform.to_owned(), id.to_owned()))
            .ok_or_else(payment_not_found)?;
        payment.settle(now);
        Ok(payment.to_json())
    }

    /// A payment of `platform` by its `clientCorrelator`; 404 if there is none.
    pub fn payment_by_correlator(
        &self,
        platform: &str,
        client_correlator: &str,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let id = self
            .lock()
            .by_correlator
            .get(&(platform.to_owned(), client_correlator.to_owned()))
            .cloned()
            .ok_or_else(payment_not_found)?;
        self.payment(platform, &id, now)
    }

    /// Adds the charges applied so far to `report`.
    pub fn add_charges(&self, report: &mut ChargeReport, now: Instant) {
        let mut state = self.lock();
        for payment in state.payments.values_mut() {
            payment.settle(now);
            let charges = payment.charges();
            report.total += charges;
            if let Some(cc) = &payment.request.client_correlator {
                *report.by_client_correlator.entry(cc.clone()).or_default() += charges;
            }
        }
    }

    /// Forgets payments, charges, 502 markers and counters. Issued tokens stay
    /// valid, so clients' token caches keep working.
    pub fn reset(&self) {
        let mut state = self.lock();
        let access = std::mem::take(&mut state.access);
        let refresh = std::mem::take(&mut state.refresh);
        *state = State {
            access,
            refresh,
            ..State::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_rotates_the_pair() {
        let store = Store::default();
        let platform = IdeabizPlatform::with_defaults("p");
        let now = Instant::now();
        let first = store.issue(&platform, "default".into(), now);
        assert_eq!(
            store.check_access("p", &first.access_token, now),
            AccessCheck::Valid
        );
        assert_eq!(
            store.check_access("q", &first.access_token, now),
            AccessCheck::Invalid
        );
        let second = store
            .refresh(&platform, &first.refresh_token, None, now)
            .map_err(|e| format!("{e:?}"));
        let Ok(second) = second else {
            panic!("{second:?}")
        };
        assert_eq!(second.scope, "default");
        assert_eq!(
            store.check_access("p", &first.access_token, now),
            AccessCheck::Expired
        );
        assert_eq!(
            store.check_access("p", &second.access_token, now),
            AccessCheck::Valid
        );
        assert_eq!(
            store
                .refresh(&platform, &first.refresh_token, None, now)
                .err(),
            Some(RefreshError::Unknown)
        );
        assert_eq!(
            (store.tokens_issued("p"), store.refresh_grants("p")),
            (2, 1)
        );
        let later = now + Duration::from_secs(platform.refresh_token_ttl_secs + 1);
        assert_eq!(
            store
                .refresh(&platform, &second.refresh_token, None, later)
                .err(),
            Some(RefreshError::Expired)
        );
    }
}
