//! Inbound operator callbacks: where Switchboard asks an operator to notify it, the per-resource
//! token it hands out with that address, and what an adapter makes of a notification.
//!
//! The address is `{server.public_url}/callbacks/{channel}?ref=<reference>`; the token is an HMAC of
//! the channel and the reference under the gateway's callback key, so it needs no storage, is the same
//! on every replica, and a token given for one payment never authenticates a notification about
//! another one.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{UpstreamPayment, UpstreamRefund, UpstreamTopUp};

/// Set by the gateway on every channel when `server.public_url` is configured (never from the
/// channel's own configuration).
#[derive(Clone)]
pub struct CallbackSettings {
    /// `{public_url}/callbacks/{channel}`.
    pub url: String,
    /// The HMAC key of callback tokens (config `callbacks.secret`; the same on every replica).
    pub key: Vec<u8>,
}

impl std::fmt::Debug for CallbackSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackSettings")
            .field("url", &self.url)
            .field("key", &"***")
            .finish()
    }
}

/// The Switchboard resource a callback address is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackRef {
    Payment {
        merchant_id: String,
        payment_id: String,
    },
    Refund {
        merchant_id: String,
        payment_id: String,
        refund_id: String,
    },
}

impl CallbackRef {
    /// The `ref` query value: `p.<merchant>.<payment>` or `r.<merchant>.<payment>.<refund>`, each part
    /// base64url-encoded (so any id round-trips and the text is URL-safe).
    pub fn encode(&self) -> String {
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s.as_bytes());
        match self {
            CallbackRef::Payment {
                merchant_id,
                payment_id,
            } => format!("p.{}.{}", enc(merchant_id), enc(payment_id)),
            CallbackRef::Refund {
                merchant_id,
                payment_id,
                refund_id,
            } => format!(
                "r.{}.{}.{}",
                enc(merchant_id),
                enc(payment_id),
                enc(refund_id)
            ),
        }
    }

    /// The inverse of [`CallbackRef::encode`]; `None` for anything else.
    pub fn decode(text: &str) -> Option<CallbackRef> {
        let dec = |s: &str| {
            URL_SAFE_NO_PAD
                .decode(s)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|s| !s.is_empty())
        };
        let parts: Vec<&str> = text.split('.').collect();
        match parts.as_slice() {
            ["p", m, p] => Some(CallbackRef::Payment {
                merchant_id: dec(m)?,
                payment_id: dec(p)?,
            }),
            ["r", m, p, r] => Some(CallbackRef::Refund {
                merchant_id: dec(m)?,
                payment_id: dec(p)?,
                refund_id: dec(r)?,
            }),
            _ => None,
        }
    }
}

/// What an adapter gives upstream so the operator can notify Switchboard about one resource.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    /// `{settings.url}?ref=<reference>`.
    pub url: String,
    /// The bearer token the operator must present.
    pub token: String,
}

impl std::fmt::Debug for CallbackTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackTarget")
            .field("url", &self.url)
            .field("token", &"***")
            .finish()
    }
}

impl CallbackSettings {
    /// The address and token for one resource.
    pub fn target(&self, reference: &CallbackRef) -> CallbackTarget {
        let encoded = reference.encode();
        CallbackTarget {
            url: format!("{}?ref={}", self.url, encoded),
            token: self.token(&encoded),
        }
    }

    /// The token for an encoded reference.
    pub fn token(&self, encoded_ref: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(self.url.as_bytes());
        mac.update(b"\n");
        mac.update(encoded_ref.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The Standard Webhooks signing secret (`whsec_<base64 key>`) Switchboard registers with an
    /// upstream that notifies per account (a top-up provider's `POST /webhooks`):
    /// `whsec_` + base64(HMAC-SHA256(key, "topup-webhook:" + url)). Derived, not stored, so every
    /// replica registers and verifies with the same secret; another channel (another `url`) gets
    /// another one.
    pub fn signing_secret(&self) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(b"topup-webhook:");
        mac.update(self.url.as_bytes());
        format!("whsec_{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Whether `presented` is the token of `encoded_ref` (constant-time).
    pub fn verify(&self, encoded_ref: &str, presented: &str) -> bool {
        let Ok(presented) = URL_SAFE_NO_PAD.decode(presented.trim()) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(self.url.as_bytes());
        mac.update(b"\n");
        mac.update(encoded_ref.as_bytes());
        mac.verify_slice(&presented).is_ok()
    }
}

/// An inbound notification as the gateway received it.
#[derive(Debug, Clone, Default)]
pub struct CallbackRequest {
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The raw query string (without `?`).
    pub query: String,
    pub body: Vec<u8>,
}

impl CallbackRequest {
    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// The first value of a query parameter (percent-decoded).
    pub fn query_param(&self, name: &str) -> Option<String> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&self.query)
            .ok()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }
}

/// A verified notification, normalised.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackNotice {
    Payment {
        merchant_id: String,
        payment_id: String,
        update: UpstreamPayment,
    },
    Refund {
        merchant_id: String,
        payment_id: String,
        refund_id: String,
        update: UpstreamRefund,
    },
    /// Top-up providers notify per provider account, so the merchant is not in the notification:
    /// `tx_id` is Switchboard's transaction id (from the upstream reference).
    TopUp {
        tx_id: String,
        update: UpstreamTopUp,
    },
}

/// Why a notification was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// Missing or wrong token / signature: 401, nothing changes.
    #[error("callback not authenticated")]
    Unauthenticated,
    /// Authenticated but unreadable: 400, nothing changes.
    #[error("callback not understood: {0}")]
    Malformed(String),
    /// This channel's style sends no callbacks (or none are configured): 404.
    #[error("this channel takes no callbacks")]
    Unsupported,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> CallbackSettings {
        CallbackSettings {
            url: "https://sb.example/callbacks/op".into(),
            key: b"k".to_vec(),
        }
    }

    #[test]
    fn references_round_trip_with_any_id() {
        for r in [
            CallbackRef::Payment {
                merchant_id: "m.1".into(),
                payment_id: "p/ä?".into(),
            },
            CallbackRef::Refund {
                merchant_id: "m".into(),
                payment_id: "p".into(),
                refund_id: "r.r".into(),
            },
        ] {
            assert_eq!(CallbackRef::decode(&r.encode()), Some(r));
        }
        assert_eq!(CallbackRef::decode("x.a.b"), None);
        assert_eq!(CallbackRef::decode("p.bQ"), None);
    }

    #[test]
    fn a_token_authenticates_only_its_own_reference_and_channel() {
        let s = settings();
        let a = CallbackRef::Payment {
            merchant_id: "m".into(),
            payment_id: "a".into(),
        };
        let b = CallbackRef::Payment {
            merchant_id: "m".into(),
            payment_id: "b".into(),
        };
        let target = s.target(&a);
        assert!(target.url.ends_with(&format!("?ref={}", a.encode())));
        assert!(s.verify(&a.encode(), &target.token));
        assert!(!s.verify(&b.encode(), &target.token));
        let other_channel = CallbackSettings {
            url: "https://sb.example/callbacks/other".into(),
            key: b"k".to_vec(),
        };
        assert!(!other_channel.verify(&a.encode(), &target.token));
        assert!(!s.verify(&a.encode(), "not-base64!"));
    }

    #[test]
    fn the_signing_secret_is_derived_per_channel_and_stable() {
        let s = settings();
        // HMAC-SHA256(b"k", "topup-webhook:https://sb.example/callbacks/op"), computed independently.
        assert_eq!(
            s.signing_secret(),
            "whsec_DdkX0PerAQrhuwrbvQ53P1p3md0Wu2ACrvhF8+TAYcE="
        );
        assert_eq!(s.signing_secret(), settings().signing_secret());
        let other_channel = CallbackSettings {
            url: "https://sb.example/callbacks/other".into(),
            key: b"k".to_vec(),
        };
        assert_ne!(other_channel.signing_secret(), s.signing_secret());
        let other_key = CallbackSettings {
            key: b"k2".to_vec(),
            ..settings()
        };
        assert_ne!(other_key.signing_secret(), s.signing_secret());
        let key = s.signing_secret();
        let decoded = STANDARD.decode(key.trim_start_matches("whsec_")).unwrap();
        assert_eq!(decoded.len(), 32);
        assert!(!format!("{s:?}").contains(&key));
    }

    #[test]
    fn request_helpers_read_bearer_and_query() {
        let req = CallbackRequest {
            headers: vec![("authorization".into(), "Bearer abc".into())],
            query: "ref=p.x.y&z=1".into(),
            body: Vec::new(),
        };
        assert_eq!(req.bearer(), Some("abc"));
        assert_eq!(req.query_param("ref").as_deref(), Some("p.x.y"));
        assert_eq!(req.query_param("nope"), None);
    }
}
