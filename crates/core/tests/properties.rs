//! Properties of the parsers that see every merchant's input: E.164 numbers and money.

use proptest::prelude::*;
use rust_decimal::Decimal;
use switchboard_core::money::{Amount, AmountError};
use switchboard_core::Msisdn;

proptest! {
    /// Any text: no panic, and accepted exactly when it is `+`, a non-zero digit, then 4 to 14 digits.
    #[test]
    fn msisdn_accepts_exactly_e164(text in prop_oneof!["\\PC{0,20}", "\\+?[0-9 ]{0,17}"]) {
        let valid = text.len() >= 6
            && text.len() <= 16
            && text.starts_with('+')
            && text[1..].bytes().all(|b| b.is_ascii_digit())
            && !text[1..].starts_with('0');
        prop_assert_eq!(Msisdn::parse(&text).is_some(), valid, "{}", text);
    }

    /// A valid number round-trips, and its masked form never shows more than four of its digits.
    #[test]
    fn msisdn_masking_hides_the_middle(digits in "[1-9][0-9]{4,14}") {
        let text = format!("+{digits}");
        let number = Msisdn::parse(&text).unwrap();
        prop_assert_eq!(number.as_str(), text.as_str());
        let masked = number.masked();
        prop_assert!(masked.chars().filter(char::is_ascii_digit).count() <= 4, "{}", masked);
        let debug = format!("{number:?}");
        prop_assert!(!debug.contains(&digits), "{}", debug);
    }

    /// Amounts: at most three decimals, at most 999999999.999, never negative; accepted values
    /// keep their exact value (no float on the way).
    #[test]
    fn amounts_keep_exact_values_within_the_rules(mantissa in any::<i64>(), scale in 0u32..=8) {
        let value = Decimal::new(mantissa, scale);
        let max: Decimal = "999999999.999".parse().unwrap();
        let expected = if value.is_sign_negative() && !value.is_zero() {
            Err(AmountError::Negative)
        } else if value.normalize().scale() > 3 {
            Err(AmountError::TooManyDecimals)
        } else if value > max {
            Err(AmountError::TooLarge)
        } else {
            Ok(())
        };
        let got = Amount::non_negative(value);
        prop_assert_eq!(got.clone().map(|_| ()), expected);
        if let Ok(amount) = got {
            prop_assert_eq!(amount.value(), value);
        }
    }
}
