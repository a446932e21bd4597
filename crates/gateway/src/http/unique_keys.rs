//! A JSON body with a key written twice in one object (at any depth) is refused before anything reads
//! it: parsers disagree on which copy wins (serde_json keeps the last, many WAFs and signing layers
//! the first), so `{"amount": 1.5, "amount": 45}` must not mean 45 here and 1.5 elsewhere.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// `Err(message)` naming the first duplicated key by its path (`amountTransaction.amount`) when
/// `body` has one; `Ok` for any other body, even malformed JSON (the real parse reports that).
pub fn check_unique_keys(body: &[u8]) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let root = Unique { path: "" };
    match root.deserialize(&mut de) {
        Err(e) if e.is_data() => Err(e.to_string()),
        _ => Ok(()),
    }
}

/// Walks one JSON value at `path`, keeping nothing but the keys of the object being read.
#[derive(Clone, Copy)]
struct Unique<'p> {
    path: &'p str,
}

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let path = format!("{}[]", self.path);
        while seq.next_element_seed(Unique { path: &path })?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key '{path}' in the JSON body"
                )));
            }
            map.next_value_seed(Unique { path: &path })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_at_any_depth_is_named_by_its_path() {
        let top = check_unique_keys(br#"{"amount": 1.5, "x": 1, "amount": 45}"#).unwrap_err();
        assert!(top.starts_with("duplicate key 'amount'"), "{top}");
        let deep = check_unique_keys(br#"{"a": {"b": [{"c": 1}, {"c": 2, "d": 0, "c": 3}]}}"#)
            .unwrap_err();
        assert!(deep.starts_with("duplicate key 'a.b[].c'"), "{deep}");
    }

    #[test]
    fn anything_else_passes_to_the_real_parse() {
        for ok in [
            &br#"{"a": {"x": 1}, "b": {"x": 1}, "c": [{"x": 1}, {"x": 2}]}"#[..],
            br#"{"amount": 1.50000000000000000001, "s": "a\"b"}"#,
            br#"[1, "two", null, true]"#,
            b"{not json",
            b"",
        ] {
            assert_eq!(
                check_unique_keys(ok),
                Ok(()),
                "{}",
                String::from_utf8_lossy(ok)
            );
        }
    }
}
