//! Money: a decimal amount (never a float) with its ISO 4217 currency.
//!
//! CAMARA amounts are JSON numbers with `multipleOf: 0.001` and `minimum: 0.001`. We read the JSON
//! number's shortest round-trip text into a `Decimal`, so `19.99` is exactly 19.99 (an `f64` check of
//! `multipleOf` would reject it). Amounts are capped well inside the range where that text is exact.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::currency::is_iso_4217;

/// Largest amount Switchboard accepts (documented in the README): 999,999,999.999.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xD4A5_0FFF, 0xE8, 0, false, 3);

/// Why a number is not an acceptable amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("must be a number")]
    NotANumber,
    #[error("must have at most 3 decimals")]
    TooManyDecimals,
    #[error("must be at least 0.001")]
    TooSmall,
    #[error("must be at least 0")]
    Negative,
    #[error("must not exceed 999999999.999")]
    TooLarge,
}

/// A non-negative decimal with at most three decimals, serialised as a JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(Decimal);

impl Amount {
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    /// An amount of at least 0 with at most three decimals (CAMARA `taxAmount`, remaining amounts).
    pub fn non_negative(value: Decimal) -> Result<Amount, AmountError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(AmountError::Negative);
        }
        if value.normalize().scale() > 3 {
            return Err(AmountError::TooManyDecimals);
        }
        if value > MAX_AMOUNT {
            return Err(AmountError::TooLarge);
        }
        Ok(Amount(value.normalize()))
    }

    /// An amount of at least 0.001 (CAMARA `amount`).
    pub fn positive(value: Decimal) -> Result<Amount, AmountError> {
        let amount = Amount::non_negative(value).map_err(|e| match e {
            AmountError::Negative => AmountError::TooSmall,
            other => other,
        })?;
        if amount.0.is_zero() {
            return Err(AmountError::TooSmall);
        }
        Ok(amount)
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value = Decimal::from_str(s).map_err(|_| AmountError::NotANumber)?;
        Amount::non_negative(value)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonDecimal(self.0).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let JsonDecimal(value) = JsonDecimal::deserialize(deserializer)?;
        Amount::non_negative(value).map_err(de::Error::custom)
    }
}

/// Any decimal written as a JSON number (no scale or sign rule): the building block of [`Amount`]
/// and [`Fee`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonDecimal(pub Decimal);

impl Serialize for JsonDecimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = self.0.normalize();
        if value.scale() == 0 {
            if let Ok(int) = i64::try_from(value.mantissa()) {
                return serializer.serialize_i64(int);
            }
        }
        // Values are capped at 12 significant digits, which an f64 carries exactly enough that its
        // shortest representation is the decimal text again.
        let number: f64 = value
            .to_string()
            .parse()
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_f64(number)
    }
}

impl<'de> Deserialize<'de> for JsonDecimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = JsonDecimal;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonDecimal, E> {
                Ok(JsonDecimal(Decimal::from(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonDecimal, E> {
                Ok(JsonDecimal(Decimal::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonDecimal, E> {
                if !v.is_finite() || v.abs() > 1e15 {
                    return Err(E::custom(AmountError::TooLarge));
                }
                // Rust prints the shortest text that reads back as the same f64, never in exponent form.
                Decimal::from_str(&format!("{v}"))
                    .map(JsonDecimal)
                    .map_err(|_| E::custom(AmountError::NotANumber))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `chargingMetaData.fee`: a percentage with at most two decimals (`multipleOf: 0.01`), any sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "JsonDecimal", into = "JsonDecimal")]
pub struct Fee(Decimal);

impl TryFrom<JsonDecimal> for Fee {
    type Error = String;
    fn try_from(JsonDecimal(value): JsonDecimal) -> Result<Self, Self::Error> {
        if value.normalize().scale() > 2 {
            return Err("fee must have at most 2 decimals".into());
        }
        Ok(Fee(value.normalize()))
    }
}

impl From<Fee> for JsonDecimal {
    fn from(fee: Fee) -> Self {
        JsonDecimal(fee.0)
    }
}

/// An ISO 4217 alphabetic currency code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    pub fn parse(code: &str) -> Option<Currency> {
        is_iso_4217(code).then(|| Currency(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code)
            .ok_or_else(|| de::Error::custom("Currency is unknown or not authorized"))
    }
}

/// An amount with its currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: Amount,
    pub currency: Currency,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Amount, String> {
        serde_json::from_str::<Amount>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_19_99_exactly() {
        let a = parse("19.99").unwrap();
        assert_eq!(a.value(), Decimal::from_str("19.99").unwrap());
        assert_eq!(serde_json::to_string(&a).unwrap(), "19.99");
    }

    #[test]
    fn accepts_three_decimals_and_rejects_four() {
        assert_eq!(parse("0.001").unwrap().to_string(), "0.001");
        assert!(parse("0.0001").unwrap_err().contains("at most 3 decimals"));
        assert!(parse("1.2345").is_err());
    }

    #[test]
    fn integers_and_trailing_zeros_are_normalised() {
        assert_eq!(serde_json::to_string(&parse("5").unwrap()).unwrap(), "5");
        assert_eq!(
            serde_json::to_string(&parse("5.100").unwrap()).unwrap(),
            "5.1"
        );
    }

    #[test]
    fn positive_amounts_reject_zero_and_negatives() {
        assert_eq!(Amount::positive(Decimal::ZERO), Err(AmountError::TooSmall));
        assert_eq!(
            Amount::positive(Decimal::from(-1)),
            Err(AmountError::TooSmall)
        );
        assert!(Amount::positive(Decimal::from_str("0.001").unwrap()).is_ok());
        assert_eq!(
            Amount::non_negative(Decimal::from(-1)),
            Err(AmountError::Negative)
        );
    }

    #[test]
    fn max_amount_is_the_documented_cap() {
        assert_eq!(MAX_AMOUNT.to_string(), "999999999.999");
    }

    #[test]
    fn caps_large_amounts() {
        assert!(parse("999999999.999").is_ok());
        assert!(parse("1000000000").unwrap_err().contains("must not exceed"));
        assert!(parse("1e300").is_err());
    }

    #[test]
    fn rejects_non_numbers() {
        assert!(parse("\"10\"").is_err());
        assert!(parse("true").is_err());
    }

    #[test]
    fn currency_must_be_iso_4217() {
        assert!(serde_json::from_str::<Currency>("\"EUR\"").is_ok());
        assert!(serde_json::from_str::<Currency>("\"EURO\"").is_err());
        assert!(serde_json::from_str::<Currency>("\"eur\"").is_err());
    }

    #[test]
    fn fee_allows_two_decimals_and_negatives() {
        assert!(serde_json::from_str::<Fee>("-1.25").is_ok());
        assert!(serde_json::from_str::<Fee>("1.255").is_err());
        assert_eq!(
            serde_json::to_string(&serde_json::from_str::<Fee>("2.50").unwrap()).unwrap(),
            "2.5"
        );
    }

    #[test]
    fn sums_are_exact() {
        let a = parse("0.1").unwrap().value() + parse("0.2").unwrap().value();
        assert_eq!(a, Decimal::from_str("0.3").unwrap());
    }
}
