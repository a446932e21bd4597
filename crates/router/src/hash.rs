//! A hasher for the `u64` keys of the routing tables (number-plan prefixes, ported numbers).
//!
//! SipHash (std's default) guards maps whose keys an attacker picks; these maps are filled from the
//! configuration and the admin API only, and a request merely looks a number up, so a plain
//! multiply-and-rotate is enough and several times cheaper on the payment path.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by a number, hashed with [`U64Hasher`].
pub(crate) type U64Map<V> = HashMap<u64, V, BuildHasherDefault<U64Hasher>>;

#[derive(Default, Clone, Copy)]
pub(crate) struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        // The multiply leaves its best-mixed bits at the top; hashbrown takes the top 7 bits for its
        // control bytes and the bottom ones for the bucket, so fold the top into the bottom too.
        let x = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^ (x >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The digits of an E.164 number (or prefix) as a number: 15 digits at most, and never a leading
/// zero, so two different digit strings of the same length never share a value.
pub(crate) fn digits_value(digits: &str) -> Option<u64> {
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    digits.bytes().try_fold(0u64, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_apart_in_a_map() {
        let mut map: U64Map<u32> = U64Map::default();
        for n in 0..10_000u64 {
            map.insert(34_600_000_000 + n * 7, n as u32);
        }
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.get(&(34_600_000_000 + 7 * 9_999)), Some(&9_999));
        assert_eq!(map.get(&34_600_000_001), None);
    }

    #[test]
    fn digit_values() {
        assert_eq!(digits_value("34600000001"), Some(34_600_000_001));
        assert_eq!(digits_value("999999999999999"), Some(999_999_999_999_999));
        assert_eq!(digits_value("1234567890123456"), None, "over 15 digits");
        assert_eq!(digits_value(""), None);
        assert_eq!(digits_value("34a"), None);
    }
}
