//! Making upstream error text safe to pass on: no phone numbers, no control characters, bounded length.

use switchboard_core::{ErrorCode, Msisdn};

/// Longest upstream message passed on to a merchant.
pub const MAX_MESSAGE_CHARS: usize = 256;

/// Whether `code` looks like a CAMARA-style code (upper-case letters, `_` and `.`), so it can be
/// logged without letting upstream free text through.
pub fn looks_like_a_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || matches!(c, '_' | '.'))
}

/// The upstream message without the subscriber's number (in any form), other long digit runs,
/// control characters, and not too long. An empty message, or one that only repeats a code, becomes
/// the code's standard message.
pub fn scrub_message(message: &str, msisdn: &Msisdn, code: ErrorCode) -> String {
    let message = message
        .replace(msisdn.as_str(), &msisdn.masked())
        .replace(msisdn.digits(), &msisdn.masked());
    let mut out = String::with_capacity(message.len());
    let mut digits = String::new();
    for c in message
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE_CHARS)
    {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush_digits(&mut out, &mut digits);
            out.push(c);
        }
    }
    flush_digits(&mut out, &mut digits);
    let out = out.trim();
    if out.is_empty() || looks_like_a_code(out) {
        code.default_message().to_string()
    } else {
        out.to_string()
    }
}

/// Upstream free text (a denial reason in a notification) made safe to store and pass on when the
/// subscriber's number is not at hand: digit runs of 7 or more masked, no control characters, at
/// most [`MAX_MESSAGE_CHARS`]. `None` when nothing is left.
pub fn scrub_reason(text: &str) -> Option<String> {
    scrub_text(text, MAX_MESSAGE_CHARS)
}

/// [`scrub_reason`] with another bound: at most `max_chars` characters are kept.
pub fn scrub_text(text: &str, max_chars: usize) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    for c in text.chars().filter(|c| !c.is_control()).take(max_chars) {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush_digits(&mut out, &mut digits);
            out.push(c);
        }
    }
    flush_digits(&mut out, &mut digits);
    let out = out.trim();
    (!out.is_empty()).then(|| out.to_string())
}

/// Any run of 7 or more digits might be a phone number: keep its first two and last two digits.
fn flush_digits(out: &mut String, digits: &mut String) {
    if digits.len() >= 7 {
        out.push_str(&digits[..2]);
        out.push_str(&"*".repeat(digits.len() - 4));
        out.push_str(&digits[digits.len() - 2..]);
    } else {
        out.push_str(digits);
    }
    digits.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_codes_and_length_are_scrubbed() {
        let m = Msisdn::parse("+34600123480").unwrap();
        assert_eq!(
            scrub_message("", &m, ErrorCode::PaymentDenied),
            ErrorCode::PaymentDenied.default_message()
        );
        assert_eq!(
            scrub_message(
                "CARRIER_BILLING.PAYMENT_DENIED",
                &m,
                ErrorCode::PaymentDenied
            ),
            ErrorCode::PaymentDenied.default_message()
        );
        assert!(
            !scrub_message("line +34600123480 denied", &m, ErrorCode::PaymentDenied)
                .contains("600123")
        );
        assert_eq!(
            scrub_message("other 491701234567 x", &m, ErrorCode::PaymentDenied),
            "other 49********67 x"
        );
        assert_eq!(
            scrub_message("limit 50 EUR", &m, ErrorCode::PaymentDenied),
            "limit 50 EUR"
        );
        assert_eq!(
            scrub_message(&"x".repeat(1000), &m, ErrorCode::PaymentDenied).len(),
            MAX_MESSAGE_CHARS
        );
        assert!(looks_like_a_code("CARRIER_BILLING.X") && !looks_like_a_code("not a code"));
    }

    #[test]
    fn reasons_are_scrubbed_without_a_number_at_hand() {
        assert_eq!(
            scrub_reason("blocked: 491701234567\n").as_deref(),
            Some("blocked: 49********67")
        );
        assert_eq!(
            scrub_reason("limit 50 EUR").as_deref(),
            Some("limit 50 EUR")
        );
        assert_eq!(scrub_reason(" \t "), None);
        assert_eq!(
            scrub_reason(&"x".repeat(1000)).map(|r| r.len()),
            Some(MAX_MESSAGE_CHARS)
        );
    }
}
