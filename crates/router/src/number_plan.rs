//! The number plan: E.164 prefixes → operator. Longest prefix wins.

use serde::{Deserialize, Serialize};
use switchboard_core::{Currency, Msisdn};

/// One operator of the number plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorInfo {
    pub id: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// E.164 prefixes with the leading `+` (`"+346"`).
    pub prefixes: Vec<String>,
    /// Currencies the operator bills in; other currencies are "not authorized".
    pub currencies: Vec<Currency>,
}

impl OperatorInfo {
    /// Convenience constructor for tests and defaults; panics on an invalid currency literal.
    pub fn new(id: &str, country: &str, prefixes: &[&str], currencies: &[&str]) -> OperatorInfo {
        OperatorInfo {
            id: id.into(),
            country: country.into(),
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            currencies: currencies
                .iter()
                .map(|c| Currency::parse(c).expect("ISO 4217 literal"))
                .collect(),
        }
    }

    pub fn bills_in(&self, currency: &Currency) -> bool {
        self.currencies.contains(currency)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberPlanError {
    #[error("operator '{operator}': prefix '{prefix}' must be '+' followed by 1 to 15 digits")]
    BadPrefix { operator: String, prefix: String },
    #[error("prefix '{prefix}' is claimed by both '{first}' and '{second}'")]
    DuplicatePrefix {
        prefix: String,
        first: String,
        second: String,
    },
    #[error("operator '{0}' has no prefixes")]
    NoPrefixes(String),
    #[error("operator '{0}' has no currencies")]
    NoCurrencies(String),
}

#[derive(Debug, Clone, Default)]
pub struct NumberPlan {
    operators: Vec<OperatorInfo>,
    /// (prefix digits, operator index), longest prefix first.
    prefixes: Vec<(String, usize)>,
}

impl NumberPlan {
    pub fn new(operators: Vec<OperatorInfo>) -> Result<NumberPlan, NumberPlanError> {
        let mut prefixes: Vec<(String, usize)> = Vec::new();
        for (i, op) in operators.iter().enumerate() {
            if op.prefixes.is_empty() {
                return Err(NumberPlanError::NoPrefixes(op.id.clone()));
            }
            if op.currencies.is_empty() {
                return Err(NumberPlanError::NoCurrencies(op.id.clone()));
            }
            for prefix in &op.prefixes {
                let digits = prefix.strip_prefix('+').unwrap_or_default();
                let valid = (1..=15).contains(&digits.len())
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && !digits.starts_with('0');
                if !valid {
                    return Err(NumberPlanError::BadPrefix {
                        operator: op.id.clone(),
                        prefix: prefix.clone(),
                    });
                }
                if let Some((_, j)) = prefixes.iter().find(|(p, _)| p == digits) {
                    return Err(NumberPlanError::DuplicatePrefix {
                        prefix: prefix.clone(),
                        first: operators[*j].id.clone(),
                        second: op.id.clone(),
                    });
                }
                prefixes.push((digits.to_string(), i));
            }
        }
        prefixes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok(NumberPlan {
            operators,
            prefixes,
        })
    }

    pub fn lookup(&self, msisdn: &Msisdn) -> Option<&OperatorInfo> {
        let digits = msisdn.digits();
        self.prefixes
            .iter()
            .find(|(p, _)| digits.starts_with(p.as_str()))
            .map(|(_, i)| &self.operators[*i])
    }

    pub fn operator(&self, id: &str) -> Option<&OperatorInfo> {
        self.operators.iter().find(|o| o.id == id)
    }

    pub fn operators(&self) -> &[OperatorInfo] {
        &self.operators
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let plan = NumberPlan::new(vec![
            OperatorInfo::new("generic", "ES", &["+34"], &["EUR"]),
            OperatorInfo::new("special", "ES", &["+34699"], &["EUR"]),
        ])
        .unwrap();
        assert_eq!(
            plan.lookup(&Msisdn::parse("+34699000001").unwrap())
                .unwrap()
                .id,
            "special"
        );
        assert_eq!(
            plan.lookup(&Msisdn::parse("+34600000001").unwrap())
                .unwrap()
                .id,
            "generic"
        );
        assert!(plan
            .lookup(&Msisdn::parse("+44700000001").unwrap())
            .is_none());
    }

    #[test]
    fn rejects_bad_and_duplicate_prefixes() {
        let bad = NumberPlan::new(vec![OperatorInfo::new("x", "ES", &["34"], &["EUR"])]);
        assert!(matches!(bad, Err(NumberPlanError::BadPrefix { .. })));
        let dup = NumberPlan::new(vec![
            OperatorInfo::new("a", "ES", &["+346"], &["EUR"]),
            OperatorInfo::new("b", "ES", &["+346"], &["EUR"]),
        ]);
        assert!(matches!(dup, Err(NumberPlanError::DuplicatePrefix { .. })));
        let none = NumberPlan::new(vec![OperatorInfo::new("a", "ES", &[], &["EUR"])]);
        assert_eq!(none.err(), Some(NumberPlanError::NoPrefixes("a".into())));
    }
}
