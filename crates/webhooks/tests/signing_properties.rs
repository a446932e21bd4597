//! Properties of Standard Webhooks signing as a merchant verifies it: a signed message verifies,
//! any change to its id, timestamp or body does not, and no header value makes it panic.

use proptest::prelude::*;
use switchboard_webhooks::{sign, verify};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_765_000_000;

proptest! {
    #[test]
    fn a_signed_message_verifies_and_any_change_breaks_it(
        msg_id in "[a-z0-9_]{1,32}",
        body in prop::collection::vec(any::<u8>(), 0..256),
        flip in any::<prop::sample::Index>(),
    ) {
        let ts = NOW.to_string();
        let signature = sign(SECRET, &msg_id, NOW, &body).unwrap();
        prop_assert!(verify(SECRET, &msg_id, &ts, &signature, &body, NOW, 300).is_ok());
        if !body.is_empty() {
            let mut changed = body.clone();
            changed[flip.index(body.len())] ^= 0x01;
            prop_assert!(verify(SECRET, &msg_id, &ts, &signature, &changed, NOW, 300).is_err());
        }
        let other_id = format!("{msg_id}x");
        prop_assert!(verify(SECRET, &other_id, &ts, &signature, &body, NOW, 300).is_err());
        let later = (NOW + 1).to_string();
        prop_assert!(verify(SECRET, &msg_id, &later, &signature, &body, NOW, 300).is_err());
    }

    #[test]
    fn arbitrary_headers_never_panic(
        timestamp in "\\PC{0,24}",
        signatures in "\\PC{0,128}",
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let _ = verify(SECRET, "msg_1", &timestamp, &signatures, &body, NOW, 300);
    }
}
