//! Standard Webhooks signatures (<https://www.standardwebhooks.com>), as a provider computes them:
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`,
//! keyed with the base64 key of a `whsec_<base64>` secret.
//!
//! The simulator's own implementation, on purpose: it shares no code with the gateway, which
//! verifies these signatures with `switchboard-webhooks`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// Prefix of a signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The HMAC key of a `whsec_<base64>` secret; `None` when it is not one.
pub fn key(secret: &str) -> Option<Vec<u8>> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    (!key.is_empty()).then_some(key)
}

/// `v1,<base64 signature>` of one message; `None` for a secret that is not `whsec_<base64>`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).ok()?;
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        // Published with the Standard Webhooks specification.
        assert_eq!(
            sign(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            )
            .as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn only_whsec_base64_secrets() {
        assert!(key("whsec_c2Vjb25k").is_some());
        for bad in ["c2Vjb25k", "whsec_", "whsec_!!", ""] {
            assert!(key(bad).is_none(), "{bad}");
            assert!(sign(bad, "m", 1, b"").is_none(), "{bad}");
        }
    }
}
