//! Properties of the callback tokens that let an operator's notification in: a reference's own
//! token verifies, nothing else does, and no input makes verification panic.

use proptest::prelude::*;
use switchboard_adapter::{CallbackRef, CallbackSettings};

fn settings(key: Vec<u8>) -> CallbackSettings {
    CallbackSettings {
        url: "https://switchboard.example/callbacks/movistar".into(),
        key,
    }
}

proptest! {
    #[test]
    fn a_reference_round_trips_and_only_its_own_token_verifies(
        merchant_id in "\\PC{1,24}",
        payment_id in "\\PC{1,40}",
        key in prop::collection::vec(any::<u8>(), 1..64),
        other in "\\PC{1,40}",
    ) {
        let reference = CallbackRef::Payment { merchant_id, payment_id: payment_id.clone() };
        let encoded = reference.encode();
        prop_assert_eq!(CallbackRef::decode(&encoded), Some(reference.clone()));
        let s = settings(key.clone());
        let token = s.token(&encoded);
        prop_assert!(s.verify(&encoded, &token));
        if other != payment_id {
            let forged = CallbackRef::Payment { merchant_id: "m".into(), payment_id: other }.encode();
            prop_assert!(!s.verify(&forged, &token), "a token opens one reference only");
        }
        let mut other_key = key;
        other_key[0] ^= 1;
        prop_assert!(!settings(other_key).verify(&encoded, &token), "another key, another token");
    }

    #[test]
    fn arbitrary_tokens_and_references_never_verify_or_panic(
        encoded in "\\PC{0,64}",
        presented in "\\PC{0,64}",
    ) {
        let _ = CallbackRef::decode(&encoded);
        let s = settings(b"k".to_vec());
        prop_assert_eq!(s.verify(&encoded, &presented), s.token(&encoded) == presented.trim());
    }
}
