//! Token signing keys: Ed25519 (JWS `EdDSA`), each with a `kid`. The first configured key signs; every
//! configured key verifies, which is how keys rotate without cutting off tokens already issued.

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use serde_json::{json, Value};

use crate::config::SigningKeyConfig;

/// PKCS#8 v1 DER of an Ed25519 private key is this prefix followed by the 32-byte seed (RFC 8410).
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn pkcs8_der(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(seed);
    der
}

/// A PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) for the Ed25519 key with this seed; what
/// `openssl genpkey -algorithm ed25519` writes.
pub fn ed25519_pem_from_seed(seed: &[u8; 32]) -> String {
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(pkcs8_der(seed))
    )
}

/// A new random Ed25519 private key, as PKCS#8 PEM.
pub fn generate_ed25519_pem() -> String {
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    ed25519_pem_from_seed(&seed)
}

/// The seed of a PKCS#8 Ed25519 private key. Lenient about layout, so a key can come from an
/// environment variable: the header lines are optional, and whitespace or literal `\n` are ignored.
fn seed_from_pem(pem: &str) -> Result<[u8; 32], String> {
    let body: String = pem
        .replace("\\n", "\n")
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| "private_key_pem is not PEM/base64".to_string())?;
    match der.strip_prefix(&PKCS8_ED25519_PREFIX[..]) {
        Some(seed) if seed.len() == 32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(seed);
            Ok(out)
        }
        _ => Err("private_key_pem is not a PKCS#8 Ed25519 private key \
                  (make one with `openssl genpkey -algorithm ed25519`)"
            .to_string()),
    }
}

/// Checks one configured key without keeping it (configuration validation).
pub fn check_key(key: &SigningKeyConfig) -> Result<(), String> {
    seed_from_pem(key.private_key_pem.expose()).map(|_| ())
}

struct VerifyingKey {
    decoding: DecodingKey,
    /// Base64url public key (JWK `x`).
    x: String,
}

/// The signing key and every verifying key, by kid.
pub struct KeySet {
    signing_kid: String,
    encoding: EncodingKey,
    verifying: HashMap<String, VerifyingKey>,
    /// kids in configuration order (JWKS order).
    order: Vec<String>,
}

impl KeySet {
    /// From configuration; no keys configured → one generated key (with a warning).
    pub fn from_config(keys: &[SigningKeyConfig]) -> Result<KeySet, String> {
        let keys: Vec<(String, [u8; 32])> = if keys.is_empty() {
            tracing::warn!(
                "auth.keys is empty: generated a signing key for this process; tokens end with it and \
                 are not accepted by other replicas"
            );
            let mut seed = [0u8; 32];
            rand::rng().fill_bytes(&mut seed);
            vec![(format!("generated-{}", uuid::Uuid::new_v4().simple()), seed)]
        } else {
            keys.iter()
                .map(|k| {
                    seed_from_pem(k.private_key_pem.expose())
                        .map(|seed| (k.kid.clone(), seed))
                        .map_err(|e| format!("auth.keys '{}': {e}", k.kid))
                })
                .collect::<Result<_, _>>()?
        };
        let (signing_kid, signing_seed) = keys[0].clone();
        let mut verifying = HashMap::new();
        let mut order = Vec::new();
        for (kid, seed) in &keys {
            let public = ed25519_dalek::SigningKey::from_bytes(seed)
                .verifying_key()
                .to_bytes();
            let x = URL_SAFE_NO_PAD.encode(public);
            let decoding = DecodingKey::from_ed_der(&public);
            if verifying
                .insert(kid.clone(), VerifyingKey { decoding, x })
                .is_some()
            {
                return Err(format!("auth.keys: kid '{kid}' is used twice"));
            }
            order.push(kid.clone());
        }
        Ok(KeySet {
            signing_kid,
            encoding: EncodingKey::from_ed_der(&pkcs8_der(&signing_seed)),
            verifying,
            order,
        })
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn decoding(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid).map(|k| &k.decoding)
    }

    /// The public keys as a JWK Set (RFC 7517), for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .order
            .iter()
            .map(|kid| {
                json!({
                    "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                    "kid": kid, "x": self.verifying[kid].x,
                })
            })
            .collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::Secret;

    fn key(kid: &str, pem: &str) -> SigningKeyConfig {
        SigningKeyConfig {
            kid: kid.into(),
            private_key_pem: Secret::new(pem),
        }
    }

    #[test]
    fn pem_round_trips_and_is_parsed_leniently() {
        let seed = [7u8; 32];
        let pem = ed25519_pem_from_seed(&seed);
        assert_eq!(seed_from_pem(&pem).unwrap(), seed);
        assert_eq!(seed_from_pem(&pem.replace('\n', "\\n")).unwrap(), seed);
        let body = pem.lines().nth(1).unwrap();
        assert_eq!(seed_from_pem(body).unwrap(), seed);
        assert!(seed_from_pem("not a key").is_err());
        // An RSA/EC key (other DER) is refused.
        assert!(seed_from_pem(&STANDARD.encode([0x30u8; 48])).is_err());
    }

    #[test]
    fn publishes_every_key_and_signs_with_the_first() {
        let set = KeySet::from_config(&[
            key("new", &generate_ed25519_pem()),
            key("old", &generate_ed25519_pem()),
        ])
        .unwrap();
        assert_eq!(set.signing_kid(), "new");
        let jwks = set.jwks();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, ["new", "old"]);
        assert!(!jwks.to_string().contains("PRIVATE"));
        assert!(KeySet::from_config(&[key("a", "x")]).is_err());
        let pem = generate_ed25519_pem();
        assert!(KeySet::from_config(&[key("a", &pem), key("a", &pem)]).is_err());
        assert!(KeySet::from_config(&[])
            .unwrap()
            .signing_kid()
            .starts_with("generated-"));
    }
}
