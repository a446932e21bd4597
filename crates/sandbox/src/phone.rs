//! Phone numbers: format check, masking for logs, and the digits that script outcomes.

/// `^\+[1-9][0-9]{4,14}$` (E.164 with a leading `+`).
pub fn is_valid(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (5..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The last two digits as a number (`None` if the number is shorter or not digits).
pub fn last_two_digits(phone: &str) -> Option<u8> {
    let tail = phone.get(phone.len().checked_sub(2)?..)?;
    tail.parse().ok()
}

/// A loggable form that hides everything but the last two digits.
pub fn mask(phone: &str) -> String {
    match phone.get(phone.len().saturating_sub(2)..) {
        Some(tail) if phone.len() > 2 => format!("***{tail}"),
        _ => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_e164() {
        assert!(is_valid("+34600000000"));
        assert!(is_valid("+12345"));
        assert!(!is_valid("+1234"));
        assert!(!is_valid("+0123456"));
        assert!(!is_valid("34600000000"));
        assert!(!is_valid("+34 600"));
        assert!(!is_valid("+1234567890123456"));
    }

    #[test]
    fn masks_and_reads_digits() {
        assert_eq!(mask("+34600000042"), "***42");
        assert_eq!(mask("4"), "***");
        assert_eq!(last_two_digits("+34600000087"), Some(87));
        assert_eq!(last_two_digits("+3460000000é"), None);
        assert_eq!(last_two_digits("7"), None);
    }
}
