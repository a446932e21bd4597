//! Request signing primitives shared by adapters: SHA-256 and HMAC-SHA256 digests, encoded as an
//! upstream expects them.

pub mod standard_webhooks;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How a digest is written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Lower-case hex.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

impl Encoding {
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Hex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            Encoding::Base64 => STANDARD.encode(bytes),
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Encoding::Hex.encode(&Sha256::digest(bytes))
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `presented` (in `encoding`) is the HMAC-SHA256 of `message` under `key`, compared in
/// constant time.
pub fn verify_hmac_sha256(key: &[u8], message: &[u8], presented: &str, encoding: Encoding) -> bool {
    let presented = presented.trim();
    let bytes = match encoding {
        Encoding::Base64 => STANDARD.decode(presented).ok(),
        Encoding::Hex => (presented.len().is_multiple_of(2))
            .then(|| {
                (0..presented.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(presented.get(i..i + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()
            })
            .flatten(),
    };
    let Some(bytes) = bytes else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.verify_slice(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors_and_verification() {
        // RFC 4231 test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            Encoding::Hex.encode(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_hmac_sha256(
            b"Jefe",
            b"what do ya want for nothing?",
            &Encoding::Base64.encode(&mac),
            Encoding::Base64
        ));
        assert!(!verify_hmac_sha256(
            b"Jefe",
            b"other",
            &Encoding::Hex.encode(&mac),
            Encoding::Hex
        ));
        assert!(!verify_hmac_sha256(b"Jefe", b"x", "abc", Encoding::Hex));
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
