//! The aggregator's request signature: hex HMAC-SHA256 over a canonical string.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `METHOD\nPATH_AND_QUERY\nTIMESTAMP\nhex(SHA256(body))`: what a merchant request signs.
pub fn canonical_request(
    method: &str,
    path_and_query: &str,
    timestamp: &str,
    body: &[u8],
) -> String {
    format!(
        "{}\n{path_and_query}\n{timestamp}\n{}",
        method.to_ascii_uppercase(),
        hex(&Sha256::digest(body))
    )
}

/// `TIMESTAMP\nhex(SHA256(body))`: what a notification to `notify_url` signs.
pub fn canonical_notification(timestamp: &str, body: &[u8]) -> String {
    format!("{timestamp}\n{}", hex(&Sha256::digest(body)))
}

/// Hex HMAC-SHA256 of `canonical` under `secret`.
pub fn sign(secret: &str, canonical: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(canonical.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Constant-time check of a presented hex signature.
pub fn verify(secret: &str, canonical: &str, presented: &str) -> bool {
    let Some(bytes) = unhex(presented.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(canonical.as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_string_and_known_signature() {
        let c = canonical_request("post", "/dcb-it/dcb/v1/charges", "1700000000", b"{}");
        assert_eq!(
            c,
            "POST\n/dcb-it/dcb/v1/charges\n1700000000\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let sig = sign("k", &c);
        assert!(verify("k", &c, &sig));
        assert!(!verify("other", &c, &sig));
        assert!(!verify("k", &c, "zz"));
        assert!(!verify("k", &format!("{c}x"), &sig));
    }
}
