//! `POST /telecom/lookup`: number → operator, line type and what the line can buy.
//!
//! Line type rule: numbers whose last two digits are `50`–`59` are postpaid; any other number
//! has its operator's default (`orange-fr`: postpaid; the others: prepaid).

use serde_json::{json, Value};

use super::catalogue::{self, Kind, Line, Operator};
use super::error::TopUpError;
use super::outcome::{self, Outcome};
use crate::phone;

/// The operator whose prefix (the longest that matches) starts `digits`.
pub fn operator_for(digits: &str) -> Option<&'static Operator> {
    catalogue::OPERATORS
        .iter()
        .filter_map(|o| {
            o.prefixes
                .iter()
                .filter(|p| digits.starts_with(**p))
                .map(|p| p.len())
                .max()
                .map(|len| (len, o))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, o)| o)
}

/// The line type of `digits` at `operator`.
pub fn line_type(digits: &str, operator: &Operator) -> Line {
    match phone::last_two_digits(digits) {
        Some(50..=59) => Line::Postpaid,
        _ => operator.default_line,
    }
}

/// The product kinds a line can buy: those with at least one product that allows it.
pub fn supports(operator: &Operator, line: Line) -> Vec<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|k| catalogue::products(Some(operator.id), Some(*k)).any(|p| p.allows(line)))
        .collect()
}

/// The operator and line type of a number the provider serves, or 404 `unknown_number`
/// (no operator's prefix, or the scripted `82`).
pub fn resolve(digits: &str) -> Result<(&'static Operator, Line), TopUpError> {
    if outcome::for_phone(digits) == Outcome::UnknownNumber {
        return Err(TopUpError::unknown_number());
    }
    let operator = operator_for(digits).ok_or_else(TopUpError::unknown_number)?;
    Ok((operator, line_type(digits, operator)))
}

/// The lookup answer for `digits`.
pub fn lookup(digits: &str) -> Result<Value, TopUpError> {
    let (operator, line) = resolve(digits)?;
    let supports: Vec<_> = supports(operator, line)
        .into_iter()
        .map(Kind::supports_name)
        .collect();
    Ok(json!({
        "operator_id": operator.id,
        "operator_name": operator.name,
        "country": operator.country,
        "type": line.as_str(),
        "supports": supports,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_operators_by_prefix() {
        let id = |d: &str| operator_for(d).map(|o| o.id);
        assert_eq!(id("79161234567"), Some("mts-ru"));
        assert_eq!(id("33612345678"), Some("orange-fr"));
        assert_eq!(id("33712345678"), Some("orange-fr"));
        assert_eq!(id("34600000000"), Some("movistar-es"));
        assert_eq!(id("4915112345678"), Some("telekom-de"));
        assert_eq!(id("33112345678"), None);
        assert_eq!(id("4930123456"), None);
    }

    #[test]
    fn line_types_and_supports() {
        let v = lookup("79161234567").unwrap_or_default();
        assert_eq!(
            v,
            json!({"operator_id": "mts-ru", "operator_name": "MTS Russia", "country": "RU",
                "type": "prepaid", "supports": ["topup", "bundle", "plan_change"]})
        );
        let post = lookup("79161234555").unwrap_or_default();
        assert_eq!(post["type"], "postpaid");
        assert_eq!(post["supports"], json!(["bundle", "plan_change"]));
        let orange = lookup("33612345601").unwrap_or_default();
        assert_eq!(orange["type"], "postpaid");
        assert_eq!(orange["supports"], json!(["bundle", "plan_change"]));
        assert_eq!(lookup("79161234582"), Err(TopUpError::unknown_number()));
        assert_eq!(lookup("1555000001"), Err(TopUpError::unknown_number()));
    }
}
