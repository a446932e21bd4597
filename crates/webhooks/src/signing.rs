//! Standard Webhooks signatures (<https://www.standardwebhooks.com>) of the webhooks Switchboard
//! sends: the scheme is the adapter toolkit's ([`switchboard_adapter::signing::standard_webhooks`],
//! shared with the top-up adapter, which verifies providers' events with it); a merchant's secret
//! is made here.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
pub use switchboard_adapter::signing::standard_webhooks::*;

/// A new random secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret(rng: &mut impl RngCore) -> String {
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_secret_signs_and_verifies() {
        let secret = new_secret(&mut rand::rng());
        assert!(secret.starts_with(SECRET_PREFIX));
        let sig = sign(&secret, "evt_1", 1_700_000_000, b"{}").unwrap();
        let ts = "1700000000";
        assert_eq!(
            verify(&secret, "evt_1", ts, &sig, b"{}", 1_700_000_000, 300),
            Ok(())
        );
        assert_ne!(new_secret(&mut rand::rng()), secret);
    }
}
