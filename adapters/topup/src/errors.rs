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
//! The first rule that matches wins. Every rule has a unit test below.

use switchboard_adapter::AdapterError;
use switchboard_core::{ApiError, ErrorCode};

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

#[derive(Debug, Clone, Copy)]
enum Ops {
    Any,
    Only(&'static [Op]),
}

#[derive(Debug, Clone, Copy)]
enum Status {
    Is(u16),
    Client,
    Server,
    Any,
}

/// Which provider `error` code a rule covers.
#[derive(Debug, Clone, Copy)]
enum Code {
    Any,
    Is(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Not processed, and not the merchant's fault.
    NotSent(&'static str),
    /// Definitely refused: this code, this message.
    Refuse(ErrorCode, &'static str),
    /// May have been applied: settle by status query.
    Unknown(&'static str),
    /// The provider does not know the transaction.
    NotFound,
}

struct Rule {
    ops: Ops,
    status: Status,
    code: Code,
    action: Action,
}

const fn rule(ops: Ops, status: Status, code: Code, action: Action) -> Rule {
    Rule {
        ops,
        status,
        code,
        action,
    }
}

const CREATES: &[Op] = &[Op::TopUp, Op::Esim];
const BY_NUMBER: &[Op] = &[Op::Lookup, Op::TopUp];

/// The mapping. First match wins; the order is part of the data.
#[rustfmt::skip]
const RULES: &[Rule] = &[
    // 0-2: our channel's problem; nothing was done. The merchant must not see our 401/403/429.
    rule(Ops::Any, Status::Is(401), Code::Any, Action::NotSent("the provider rejected our API key")),
    rule(Ops::Any, Status::Is(403), Code::Any, Action::NotSent("the provider denies this account the operation")),
    rule(Ops::Any, Status::Is(429), Code::Any, Action::NotSent("the provider is rate limiting this channel")),
    // 3-4: status queries never refuse a top-up; they find it or fail to learn its state.
    rule(Ops::Only(&[Op::Status]), Status::Is(404), Code::Is("transaction_not_found"), Action::NotFound),
    rule(Ops::Only(&[Op::Status]), Status::Is(400), Code::Any, Action::Unknown("the provider refused the status query")),
    // 5-6: definite refusals of this request.
    rule(Ops::Only(BY_NUMBER), Status::Is(404), Code::Is("unknown_number"), Action::Refuse(ErrorCode::IdentifierNotFound, "No operator serves this phone number.")),
    rule(Ops::Only(CREATES), Status::Is(404), Code::Is("product_not_found"), Action::Refuse(ErrorCode::NotFound, "The product is not offered by the provider.")),
    // 7: any other 404 is a path the provider does not serve: a wrong base_url.
    rule(Ops::Any, Status::Is(404), Code::Any, Action::NotSent("the provider does not serve this path (check base_url)")),
    // 8: our reference was used for another request; this one was not applied.
    rule(Ops::Only(CREATES), Status::Is(409), Code::Any, Action::Refuse(ErrorCode::InvalidArgument, "The reference was already used for a different request.")),
    // 9-10: business refusals.
    rule(Ops::Any, Status::Is(422), Code::Is("invalid_amount"), Action::Refuse(ErrorCode::OutOfRange, "The amount is not allowed for this product.")),
    rule(Ops::Any, Status::Is(422), Code::Any, Action::Refuse(ErrorCode::ServiceNotApplicable, "The product is not available for this phone number.")),
    // 11: the request itself was rejected; nothing was done.
    rule(Ops::Any, Status::Is(400), Code::Any, Action::Refuse(ErrorCode::InvalidArgument, "The provider rejected the request as invalid.")),
    // 12-14: anything else may have been applied.
    rule(Ops::Any, Status::Client, Code::Any, Action::Unknown("the provider answered with an unexpected client error")),
    rule(Ops::Any, Status::Server, Code::Any, Action::Unknown("the provider failed")),
    rule(Ops::Any, Status::Any, Code::Any, Action::Unknown("the provider answered with an unexpected status")),
];

impl Rule {
    fn matches(&self, op: Op, status: u16, code: Option<&str>) -> bool {
        let op_ok = match self.ops {
            Ops::Any => true,
            Ops::Only(ops) => ops.contains(&op),
        };
        let status_ok = match self.status {
            Status::Is(s) => s == status,
            Status::Client => (400..500).contains(&status),
            Status::Server => (500..600).contains(&status),
            Status::Any => true,
        };
        let code_ok = match self.code {
            Code::Any => true,
            Code::Is(c) => code == Some(c),
        };
        op_ok && status_ok && code_ok
    }
}

/// The provider's `error` code, when the body has one.
fn error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(value.get("error")?.as_str()?.to_string())
}

fn rule_index(op: Op, status: u16, code: Option<&str>) -> usize {
    RULES
        .iter()
        .position(|r| r.matches(op, status, code))
        .unwrap_or(RULES.len() - 1)
}

/// Classifies a non-2xx answer to `op`.
pub fn classify(op: Op, status: u16, body: &[u8]) -> AdapterError {
    let code = error_code(body);
    let upstream = describe(status, code.as_deref());
    match RULES[rule_index(op, status, code.as_deref())].action {
        Action::NotSent(why) => AdapterError::NotSent(format!("{why} ({upstream})")),
        Action::Refuse(code, message) => AdapterError::Refused(ApiError::new(code, message)),
        Action::Unknown(why) => AdapterError::Unknown(format!("{why} ({upstream})")),
        Action::NotFound => AdapterError::NotFound,
    }
}

/// `upstream 404 unknown_number`, safe for logs: a code is shown only when it looks like one
/// (lower-case letters, digits and `_`), so no provider free text gets through.
pub fn describe_answer(status: u16, body: &[u8]) -> String {
    describe(status, error_code(body).as_deref())
}

fn describe(status: u16, code: Option<&str>) -> String {
    match code {
        Some(c) if looks_like_a_code(c) => format!("upstream {status} {c}"),
        Some(_) => format!("upstream {status} with a non-standard code"),
        None => format!("upstream {status}"),
    }
}

fn looks_like_a_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(code: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"error": code, "message": "line 79161234567 says no"})).unwrap()
    }

    /// Checks that `(op, status, raw)` hits rule `index`, and returns the outcome.
    fn case(op: Op, status: u16, raw: &[u8], index: usize) -> AdapterError {
        let code = error_code(raw);
        assert_eq!(
            rule_index(op, status, code.as_deref()),
            index,
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
        let last = &RULES[RULES.len() - 1];
        assert!(matches!(
            (last.ops, last.status, last.code),
            (Ops::Any, Status::Any, Code::Any)
        ));
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
