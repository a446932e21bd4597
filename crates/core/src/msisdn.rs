//! Phone numbers: E.164 with a leading `+`, as CAMARA's `PhoneNumber` pattern says.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{de, Deserialize, Deserializer, Serialize};

static E164: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\+[1-9][0-9]{4,14}$").expect("valid regex"));

/// A validated E.164 number. `Debug` and [`Msisdn::masked`] hide all but the last digits, so a
/// number that reaches a log line is never written out in full.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Msisdn(String);

impl Msisdn {
    pub fn parse(text: &str) -> Option<Msisdn> {
        E164.is_match(text).then(|| Msisdn(text.to_string()))
    }

    /// The full number (`+34600000000`). Never log this; use [`Msisdn::masked`].
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without `+` (`34600000000`).
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// The last two digits, which the sandbox uses to script outcomes.
    pub fn last_two_digits(&self) -> &str {
        &self.0[self.0.len() - 2..]
    }

    /// `+34*******00`: country-ish prefix and the last two digits, the rest hidden.
    pub fn masked(&self) -> String {
        let digits = self.digits();
        let head = &digits[..2.min(digits.len())];
        let tail = &digits[digits.len() - 2..];
        format!(
            "+{head}{}{tail}",
            "*".repeat(digits.len().saturating_sub(4))
        )
    }
}

impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msisdn({})", self.masked())
    }
}

impl<'de> Deserialize<'de> for Msisdn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Msisdn::parse(&text).ok_or_else(|| {
            de::Error::custom(
                "phoneNumber must be E.164 with a leading '+' (^\\+[1-9][0-9]{4,14}$)",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164_only() {
        assert!(Msisdn::parse("+34600000000").is_some());
        assert!(Msisdn::parse("+12345").is_some());
        assert!(Msisdn::parse("+123456789012345").is_some());
        assert!(Msisdn::parse("+1234567890123456").is_none(), "16 digits");
        assert!(Msisdn::parse("+1234").is_none(), "4 digits");
        assert!(Msisdn::parse("+0123456").is_none(), "leading zero");
        assert!(Msisdn::parse("34600000000").is_none(), "no plus");
        assert!(Msisdn::parse("tel:+34600000000").is_none());
        assert!(Msisdn::parse("+34 600 000 000").is_none());
    }

    #[test]
    fn masking_hides_the_middle() {
        let m = Msisdn::parse("+34600123456").unwrap();
        assert_eq!(m.masked(), "+34*******56");
        assert!(!format!("{m:?}").contains("600123"));
        assert_eq!(m.last_two_digits(), "56");
        assert_eq!(m.digits(), "34600123456");
    }
}
