//! The number plan: E.164 prefixes → operator. Longest prefix wins.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use switchboard_core::{Currency, Msisdn};

use crate::hash::{digits_value, U64Map};

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

/// Operators and their prefixes. A lookup walks the prefix lengths present (15 at most, E.164's
/// longest number), longest first, with one hash probe each: its cost does not grow with the number
/// of operators or prefixes.
#[derive(Debug, Clone, Default)]
pub struct NumberPlan {
    operators: Vec<OperatorInfo>,
    /// Operator id → index in `operators`.
    by_id: HashMap<String, usize>,
    /// (prefix length, prefix value → operator index), longest length first; only lengths present.
    by_length: Vec<(usize, U64Map<u32>)>,
}

/// `10^n` for `n` in `0..=15`.
const POW10: [u64; 16] = {
    let mut table = [1u64; 16];
    let mut i = 1;
    while i < 16 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

impl NumberPlan {
    pub fn new(operators: Vec<OperatorInfo>) -> Result<NumberPlan, NumberPlanError> {
        let mut by_length: Vec<(usize, U64Map<u32>)> = Vec::new();
        let mut by_id = HashMap::with_capacity(operators.len());
        for (i, op) in operators.iter().enumerate() {
            if op.prefixes.is_empty() {
                return Err(NumberPlanError::NoPrefixes(op.id.clone()));
            }
            if op.currencies.is_empty() {
                return Err(NumberPlanError::NoCurrencies(op.id.clone()));
            }
            for prefix in &op.prefixes {
                let digits = prefix.strip_prefix('+').unwrap_or_default();
                let value = digits_value(digits).filter(|_| !digits.starts_with('0'));
                let Some(value) = value else {
                    return Err(NumberPlanError::BadPrefix {
                        operator: op.id.clone(),
                        prefix: prefix.clone(),
                    });
                };
                let table = match by_length.iter().position(|(len, _)| *len == digits.len()) {
                    Some(at) => &mut by_length[at].1,
                    None => {
                        by_length.push((digits.len(), U64Map::default()));
                        &mut by_length.last_mut().expect("just pushed").1
                    }
                };
                if let Some(j) = table.insert(value, i as u32) {
                    return Err(NumberPlanError::DuplicatePrefix {
                        prefix: prefix.clone(),
                        first: operators[j as usize].id.clone(),
                        second: op.id.clone(),
                    });
                }
            }
            by_id.entry(op.id.clone()).or_insert(i);
        }
        by_length.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        Ok(NumberPlan {
            operators,
            by_id,
            by_length,
        })
    }

    pub fn lookup(&self, msisdn: &Msisdn) -> Option<&OperatorInfo> {
        self.lookup_index(msisdn).map(|i| &self.operators[i])
    }

    /// The index (in [`NumberPlan::operators`]) of the operator whose longest prefix `msisdn` has.
    pub fn lookup_index(&self, msisdn: &Msisdn) -> Option<usize> {
        let digits = msisdn.digits();
        let number = digits_value(digits)?;
        self.by_length
            .iter()
            .filter(|(len, _)| *len <= digits.len())
            .find_map(|(len, table)| table.get(&(number / POW10[digits.len() - len])))
            .map(|i| *i as usize)
    }

    /// The prefix the number plan matched for `msisdn` (the route test's `matched_prefix`): the
    /// longest of its operator's prefixes the number starts with.
    pub fn matched_prefix(&self, msisdn: &Msisdn) -> Option<&str> {
        let number = msisdn.as_str();
        self.lookup(msisdn)?
            .prefixes
            .iter()
            .filter(|p| number.starts_with(p.as_str()))
            .max_by_key(|p| p.len())
            .map(String::as_str)
    }

    pub fn operator(&self, id: &str) -> Option<&OperatorInfo> {
        self.index_of(id).map(|i| &self.operators[i])
    }

    /// The index of operator `id` in [`NumberPlan::operators`].
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
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
        let long = NumberPlan::new(vec![OperatorInfo::new(
            "x",
            "ES",
            &["+3460000000000001"],
            &["EUR"],
        )]);
        assert!(matches!(long, Err(NumberPlanError::BadPrefix { .. })));
        for bad in ["+", "+034", "+34 6", "+3a"] {
            let plan = NumberPlan::new(vec![OperatorInfo::new("x", "ES", &[bad], &["EUR"])]);
            assert!(
                matches!(plan, Err(NumberPlanError::BadPrefix { .. })),
                "{bad}"
            );
        }
        let none = NumberPlan::new(vec![OperatorInfo::new("a", "ES", &[], &["EUR"])]);
        assert_eq!(none.err(), Some(NumberPlanError::NoPrefixes("a".into())));
    }

    #[test]
    fn nested_prefixes_of_many_lengths_and_full_length_numbers() {
        let plan = NumberPlan::new(vec![
            OperatorInfo::new("country", "ES", &["+3"], &["EUR"]),
            OperatorInfo::new("block", "ES", &["+34612"], &["EUR"]),
            OperatorInfo::new("line", "ES", &["+346123456789012"], &["EUR"]),
            OperatorInfo::new("other", "DE", &["+49", "+4915"], &["EUR"]),
        ])
        .unwrap();
        let op = |n: &str| {
            plan.lookup(&Msisdn::parse(n).unwrap())
                .map(|o| o.id.as_str())
        };
        assert_eq!(
            op("+346123456789012"),
            Some("line"),
            "a prefix as long as the number"
        );
        assert_eq!(op("+346123456789013"), Some("block"));
        assert_eq!(op("+34612"), Some("block"));
        assert_eq!(op("+34611111111"), Some("country"));
        assert_eq!(op("+4915123456"), Some("other"));
        assert_eq!(op("+4416123456"), None);
        assert_eq!(plan.index_of("other"), Some(3));
        let prefix = |n: &str| plan.matched_prefix(&Msisdn::parse(n).unwrap());
        assert_eq!(
            prefix("+4915123456"),
            Some("+4915"),
            "the longest of the operator's"
        );
        assert_eq!(prefix("+34611111111"), Some("+3"));
        assert_eq!(prefix("+4416123456"), None);
        assert_eq!(plan.operator("block").unwrap().country, "ES");
        assert!(plan.operator("atlantis").is_none());
    }
}
