//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): the headers `webhook-id`,
//! `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
//! keyed with a secret `whsec_<base64 key>`. Switchboard signs its merchants' webhooks with it
//! (`switchboard-webhooks`) and verifies the events of top-up providers that use it (the top-up
//! adapter), so the scheme lives here, once, in the adapter toolkit.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// Prefix of a signing secret; the rest is the base64 of the HMAC key.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a receiver lets `webhook-timestamp` drift from its clock (Standard Webhooks suggests 5 min).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("the signing secret is not whsec_<base64>")]
    BadSecret,
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is too far from now")]
    TimestampOutOfTolerance,
    #[error("no signature matches")]
    NoMatchingSignature,
}

fn mac(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<HmacSha256, SigningError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| SigningError::BadSecret)?;
    if key.is_empty() {
        return Err(SigningError::BadSecret);
    }
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| SigningError::BadSecret)?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

/// The `webhook-signature` value for one message: `v1,<base64>`.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SigningError> {
    let tag = mac(secret, msg_id, timestamp, body)?
        .finalize()
        .into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

/// Checks a received message as a merchant would: the timestamp must be within `tolerance_secs` of
/// `now` (both Unix seconds), and one of the space-separated `v1,<base64>` entries of `signatures`
/// must match (compared in constant time). Entries of other versions are ignored.
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SigningError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SigningError::BadTimestamp)?;
    if now.abs_diff(ts) > tolerance_secs.unsigned_abs() {
        return Err(SigningError::TimestampOutOfTolerance);
    }
    let expected = mac(secret, msg_id, ts, body)?;
    let matched = signatures
        .split_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, sig)| STANDARD.decode(sig).ok())
        .any(|sig| expected.clone().verify_slice(&sig).is_ok());
    if matched {
        Ok(())
    } else {
        Err(SigningError::NoMatchingSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published test vector of the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        assert_eq!(sign(SECRET, ID, TS, BODY).unwrap(), SIG);
        // the prefix is optional, as in the reference libraries
        assert_eq!(
            sign(SECRET.trim_start_matches("whsec_"), ID, TS, BODY).unwrap(),
            SIG
        );
    }

    #[test]
    fn verifies_one_of_several_signatures() {
        let ts = TS.to_string();
        assert_eq!(verify(SECRET, ID, &ts, SIG, BODY, TS, 300), Ok(()));
        let several = format!("v1a,abc v1,AAAA {SIG}");
        assert_eq!(
            verify(SECRET, ID, &ts, &several, BODY, TS + 299, 300),
            Ok(())
        );
    }

    #[test]
    fn refuses_tampering_and_old_or_future_timestamps() {
        let ts = TS.to_string();
        let other_body = br#"{"test": 2432232315}"#;
        assert_eq!(
            verify(SECRET, ID, &ts, SIG, other_body, TS, 300),
            Err(SigningError::NoMatchingSignature)
        );
        assert_eq!(
            verify(SECRET, "msg_other", &ts, SIG, BODY, TS, 300),
            Err(SigningError::NoMatchingSignature)
        );
        assert_eq!(
            verify(SECRET, ID, &ts, "v2,garbage v1", BODY, TS, 300),
            Err(SigningError::NoMatchingSignature)
        );
        assert_eq!(
            verify(SECRET, ID, &ts, SIG, BODY, TS + 301, 300),
            Err(SigningError::TimestampOutOfTolerance)
        );
        assert_eq!(
            verify(SECRET, ID, &ts, SIG, BODY, TS - 301, 300),
            Err(SigningError::TimestampOutOfTolerance)
        );
        assert_eq!(
            verify(SECRET, ID, "soon", SIG, BODY, TS, 300),
            Err(SigningError::BadTimestamp)
        );
    }

    #[test]
    fn bad_secrets_are_errors() {
        assert_eq!(
            sign("whsec_!!!", ID, TS, BODY),
            Err(SigningError::BadSecret)
        );
        assert_eq!(sign("whsec_", ID, TS, BODY), Err(SigningError::BadSecret));
    }
}
