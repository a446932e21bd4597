//! The CAMARA `x-correlator` header rule.

use std::sync::LazyLock;

use regex::Regex;

static PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9-_:;.\/<>{}]{0,256}$").expect("valid regex"));

/// True when `value` matches the CAMARA `XCorrelator` pattern (the empty string matches).
pub fn is_valid(value: &str) -> bool {
    PATTERN.is_match(value)
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn follows_the_camara_pattern() {
        assert!(is_valid("b4333c46-49c0-4f62-80d7-f0ef930f1c46"));
        assert!(is_valid(""));
        assert!(is_valid("a:b;c.d/e<f>{g}_h"));
        assert!(!is_valid("has space"));
        assert!(!is_valid("quote\""));
        assert!(!is_valid(&"a".repeat(257)));
        assert!(is_valid(&"a".repeat(256)));
    }
}
