//! Client secrets are kept as argon2id PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
//! Verification reads the parameters from the string, so stronger hashes can be rolled in any time.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A fresh argon2id PHC string for `secret`.
pub fn hash_secret(secret: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16-byte salt encodes");
    hasher()
        .hash_password(secret.as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters")
        .to_string()
}

/// Whether `secret` matches the PHC string (constant-time comparison; a malformed hash never
/// matches).
pub fn verify_secret(phc: &str, secret: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(secret.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checks a configured hash (configuration validation).
pub fn check_hash(phc: &str) -> Result<(), String> {
    let hash = PasswordHash::new(phc).map_err(|e| format!("not a PHC string: {e}"))?;
    if !hash.algorithm.as_str().starts_with("argon2") {
        return Err(format!("'{}' is not an argon2 hash", hash.algorithm));
    }
    Ok(())
}

static DUMMY: LazyLock<String> = LazyLock::new(|| hash_secret("no such client"));

/// Spends the time of one verification, so an unknown client id looks like a wrong secret.
pub fn burn(secret: &str) {
    let _ = verify_secret(&DUMMY, secret);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_secret("s3cret");
        let b = hash_secret("s3cret");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_secret(&a, "s3cret"));
        assert!(!verify_secret(&a, "s3cret "));
        assert!(!verify_secret("plain", "plain"));
        assert!(check_hash(&a).is_ok());
        assert!(check_hash("demo-secret").is_err());
    }
}
