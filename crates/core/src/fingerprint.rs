//! A hash of what a request asks for, so a retry with a different body is told apart from a replay.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Hex SHA-256 of the JSON form of `value`: its meaning, not its formatting (decimals are
/// normalised by their own serialisation, so `1.50` and `1.5` are the same amount).
pub fn fingerprint<T: Serialize + ?Sized>(value: &T) -> String {
    let mut hasher = Sha256::new();
    // Serialising into the hasher avoids an intermediate buffer; a type that cannot be serialised
    // (none of ours) hashes what was written before the failure, which is still deterministic.
    let _ = serde_json::to_writer(HashWriter(&mut hasher), value);
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_hash_equal_and_any_change_differs() {
        let a = fingerprint(&("p1", 1, "x"));
        assert_eq!(a, fingerprint(&("p1", 1, "x")));
        assert_ne!(a, fingerprint(&("p1", 2, "x")));
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn is_sha256_of_the_json_text() {
        // `printf '[1,2]' | sha256sum`
        assert_eq!(
            fingerprint(&[1, 2]),
            "49a64717d5d4cb19952e6eac2946415cf6879adacf9908e7d872332d32c6e684"
        );
    }
}
