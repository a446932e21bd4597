//! Provider errors → Switchboard outcomes, held as data in [`RULES`].
//!
//! The provider answers a failed call with `{"error": "<code>", "message": "…"}`. What the answer
//! proves decides the outcome:
//!
//! - a problem of *our channel* (API key, account rights, rate limit, a wrong `base_url`) →
//!   [`AdapterError::NotSent`]: nothing was done, and the merchant must not see our 401;
//! - a definite refusal of this request (unknown number, product, amount, a reused reference) →
//!   [`AdapterError::Refused`] with a CAMARA code and a fixed message (no provider text, which may
//!   carry phone numbers);
//! - anything that may have been applied (5xx, an unexpected status) → [`AdapterError::Unknown`],
//!   settled later by a status query;
//! - a status query for a transaction the provider does not know → [`AdapterError::NotFound`].
//!
//! The rules are data, `errors.toml`, read by the adapter toolkit's engine
//! (`switchboard_adapter::rules`); the first rule that matches wins. Every rule has a unit test
//! below, naming its index.

use std::sync::LazyLock;

use switchboard_adapter::AdapterError;
use switchboard_adapter::{describe_failure as describe, ErrorRules, FailedAnswer};

/// The upstream operation whose answer is being classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `POST /telecom/lookup`.
    Lookup,
    /// `GET /telecom/products`.
    Products,
    /// `POST /telecom/topup`, first or repeated.
    TopUp,
    /// `GET /telecom/topup/{tx_id}`.
    Status,
    /// `POST /esim/orders`.
    Esim,
}

impl Op {
    /// The name rules give it in `operations`.
    fn name(self) -> &'static str {
        match self {
            Op::Lookup => "lookup",
            Op::Products => "products",
            Op::TopUp => "topup",
            Op::Status => "status",
            Op::Esim => "esim",
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rule: ErrorRules,
}

/// The mapping, from `errors.toml` (compiled in; the tests below load it, so a bad edit fails the
/// build's tests, never a call).
static RULES: LazyLock<ErrorRules> = LazyLock::new(|| {
    let file: RuleFile = toml::from_str(include_str!("errors.toml")).expect("errors.toml parses");
    file.rule.validate().expect("errors.toml is valid");
    file.rule
});

/// The provider's `error` code, when the body has one.
fn error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(value.get("error")?.as_str()?.to_string())
}

fn answer<'a>(op: Op, status: u16, code: Option<&'a str>) -> FailedAnswer<'a> {
    FailedAnswer {
        operation: Some(op.name()),
        status,
        code,
        // Provider text is never matched on nor passed on.
        message: None,
    }
}

/// Classifies a non-2xx answer to `op`.
pub fn classify(op: Op, status: u16, body: &[u8]) -> AdapterError {
    let code = error_code(body);
    RULES
        .classify(&answer(op, status, code.as_deref()), None)
        .unwrap_or_else(|| AdapterError::Unknown(describe(status, code.as_deref())))
}

/// `upstream 404 unknown_number`, safe for logs (see [`describe`]).
pub fn describe_answer(status: u16, body: &[u8]) -> String {
    describe(status, error_code(body).as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchboard_core::ErrorCode;

    fn body(code: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"error": code, "message": "line 79161234567 says no"})).unwrap()
    }

    /// Checks that `(op, status, raw)` hits rule `index`, and returns the outcome.
    fn case(op: Op, status: u16, raw: &[u8], index: usize) -> AdapterError {
        let code = error_code(raw);
        assert_eq!(
            RULES.position(&answer(op, status, code.as_deref())),
            Some(index),
            "{op:?} {status} {} hit the wrong rule",
            String::from_utf8_lossy(raw)
        );
        classify(op, status, raw)
    }

    fn not_sent(e: &AdapterError) -> bool {
        matches!(e, AdapterError::NotSent(_))
    }

    fn unknown(e: &AdapterError) -> bool {
        matches!(e, AdapterError::Unknown(_))
    }

    fn refused(e: &AdapterError) -> Option<ErrorCode> {
        match e {
            AdapterError::Refused(api) => Some(api.code),
            _ => None,
        }
    }

    #[test]
    fn rule_00_401_is_not_sent() {
        let e = case(Op::TopUp, 401, br#"{"error":"unauthorized"}"#, 0);
        assert!(
            matches!(&e, AdapterError::NotSent(m) if m.contains("API key")),
            "{e:?}"
        );
        assert!(not_sent(&case(Op::Lookup, 401, b"", 0)));
    }

    #[test]
    fn rule_01_403_is_not_sent() {
        assert!(not_sent(&case(Op::Esim, 403, &body("forbidden"), 1)));
    }

    #[test]
    fn rule_02_429_is_not_sent() {
        assert!(not_sent(&case(Op::TopUp, 429, b"slow down", 2)));
    }

    #[test]
    fn rule_03_unknown_transaction_is_not_found() {
        assert_eq!(
            case(Op::Status, 404, &body("transaction_not_found"), 3),
            AdapterError::NotFound
        );
    }

    #[test]
    fn rule_04_a_refused_status_query_is_unknown() {
        assert!(unknown(&case(Op::Status, 400, &body("invalid_request"), 4)));
    }

    #[test]
    fn rule_05_unknown_number_is_refused() {
        for op in [Op::Lookup, Op::TopUp] {
            let e = case(op, 404, &body("unknown_number"), 5);
            assert_eq!(refused(&e), Some(ErrorCode::IdentifierNotFound));
        }
    }

    #[test]
    fn rule_06_unknown_product_is_refused() {
        for op in [Op::TopUp, Op::Esim] {
            assert_eq!(
                refused(&case(op, 404, &body("product_not_found"), 6)),
                Some(ErrorCode::NotFound)
            );
        }
    }

    #[test]
    fn rule_07_other_404s_mean_a_wrong_base_url() {
        assert!(not_sent(&case(Op::TopUp, 404, b"<html>", 7)));
        assert!(not_sent(&case(Op::Products, 404, &body("not_found"), 7)));
        assert!(not_sent(&case(Op::Status, 404, &body("not_found"), 7)));
        assert!(not_sent(&case(Op::Esim, 404, &body("unknown_number"), 7)));
    }

    #[test]
    fn rule_08_reused_reference_is_refused_as_invalid_argument() {
        for op in [Op::TopUp, Op::Esim] {
            let e = case(op, 409, &body("external_tx_id_conflict"), 8);
            assert_eq!(refused(&e), Some(ErrorCode::InvalidArgument));
        }
    }

    #[test]
    fn rule_09_invalid_amount_is_out_of_range() {
        assert_eq!(
            refused(&case(Op::TopUp, 422, &body("invalid_amount"), 9)),
            Some(ErrorCode::OutOfRange)
        );
    }

    #[test]
    fn rule_10_other_422s_are_not_applicable() {
        for code in [
            "product_not_available",
            "product_operator_mismatch",
            "product_not_esim_capable",
        ] {
            let e = case(Op::TopUp, 422, &body(code), 10);
            assert_eq!(refused(&e), Some(ErrorCode::ServiceNotApplicable), "{code}");
        }
        assert_eq!(
            refused(&case(Op::Esim, 422, b"", 10)),
            Some(ErrorCode::ServiceNotApplicable)
        );
    }

    #[test]
    fn rule_11_400_is_invalid_argument() {
        assert_eq!(
            refused(&case(Op::TopUp, 400, &body("invalid_request"), 11)),
            Some(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            refused(&case(Op::Products, 400, b"", 11)),
            Some(ErrorCode::InvalidArgument)
        );
    }

    #[test]
    fn rule_12_other_client_errors_are_unknown() {
        assert!(unknown(&case(Op::TopUp, 408, b"", 12)));
        assert!(unknown(&case(Op::Status, 410, &body("gone"), 12)));
        assert!(unknown(&case(Op::Lookup, 409, &body("conflict"), 12)));
    }

    #[test]
    fn rule_13_server_errors_are_unknown() {
        let e = case(Op::TopUp, 500, &body("internal_error"), 13);
        assert!(
            matches!(&e, AdapterError::Unknown(m) if m.ends_with("(upstream 500 internal_error)")),
            "{e:?}"
        );
        assert!(unknown(&case(Op::Status, 503, b"", 13)));
    }

    #[test]
    fn rule_14_anything_else_is_unknown() {
        assert!(unknown(&case(Op::TopUp, 302, b"", 14)));
        assert!(unknown(&case(Op::TopUp, 600, b"", 14)));
    }

    #[test]
    fn table_shape() {
        // The per-rule tests above name indices 0..=14; keep them in step with the table.
        assert_eq!(RULES.len(), 15);
        let last = RULES.iter().last().unwrap();
        assert!(
            last.operations.is_empty() && last.status.is_none() && last.code.is_none(),
            "the last rule catches everything"
        );
    }

    #[test]
    fn messages_carry_no_provider_text() {
        for (status, raw) in [
            (422, body("product_not_available")),
            (
                500,
                serde_json::to_vec(&json!({"error": "Boom +79161234567"})).unwrap(),
            ),
        ] {
            let text = classify(Op::TopUp, status, &raw).to_string();
            assert!(!text.contains("9161234"), "{text}");
        }
        let text = classify(
            Op::TopUp,
            500,
            &serde_json::to_vec(&json!({"error": "Boom +7916"})).unwrap(),
        )
        .to_string();
        assert!(text.contains("non-standard code"), "{text}");
    }
}
