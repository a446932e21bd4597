//! Upstream CAMARA errors → Switchboard outcomes, held as data in [`RULES`].
//!
//! An operator answers a failed call with `{status, code, message}`. What that proves about the money
//! decides the outcome:
//!
//! - a business refusal (`403 CARRIER_BILLING.PAYMENT_DENIED`, `422 …UNAUTHORIZED_AMOUNT`, …) →
//!   [`AdapterError::Refused`] with the operator's code, so the merchant sees the same CAMARA error;
//! - a refusal caused by *our channel* (credentials, scope, rate limit, token type) →
//!   [`AdapterError::NotSent`]: nothing was processed, and the merchant must not see a 401/403 that is
//!   not about its own credentials;
//! - anything that may have been applied (5xx, a duplicate, a status we cannot read) →
//!   [`AdapterError::Unknown`], settled later by a status query;
//! - confirm/cancel/validate on a payment that is already where the call wanted it →
//!   [`Outcome::AlreadyApplied`]: the caller reads the payment and returns it.
//!
//! The first rule that matches wins. Every rule has a unit test below.

use switchboard_adapter::sanitize::{looks_like_a_code, scrub_message};
use switchboard_adapter::AdapterError;
use switchboard_core::error::ErrorInfo;
use switchboard_core::{ApiError, ErrorCode, Msisdn};

/// The upstream operation whose answer is being classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Prepare,
    Validate,
    Confirm,
    Cancel,
    /// `GET /payments/{id}`.
    Retrieve,
    /// `POST /payments/{id}/refunds` (refund API).
    CreateRefund,
    /// `GET /payments/{id}/refunds/{refundId}` (refund API).
    RetrieveRefund,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Prepare => "prepare",
            Op::Validate => "validate",
            Op::Confirm => "confirm",
            Op::Cancel => "cancel",
            Op::Retrieve => "retrieve",
            Op::CreateRefund => "create refund",
            Op::RetrieveRefund => "retrieve refund",
        }
    }
}

/// Which operations a rule covers.
#[derive(Debug, Clone, Copy)]
enum Ops {
    Any,
    Only(&'static [Op]),
}

/// Which HTTP statuses a rule covers.
#[derive(Debug, Clone, Copy)]
enum Status {
    Is(u16),
    Client,
    Server,
    Any,
}

/// Which upstream `code` a rule covers.
#[derive(Debug, Clone, Copy)]
enum Code {
    Any,
    Is(&'static str),
    /// A code Switchboard knows ([`ErrorCode::from_code`]) whose own status is a 4xx.
    Known,
    /// The body is not a CAMARA `ErrorInfo` at all.
    NoBody,
}

/// What a matching rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Definite refusal, passed on with the operator's (known) code and its scrubbed message.
    Refuse,
    /// Definite refusal with this code and its standard message (the operator's code is not ours).
    RefuseAs(ErrorCode),
    /// Not processed, and not the merchant's fault: the reason is for operators, not merchants.
    NotSent(&'static str),
    /// May have been applied: settle by status query.
    Unknown(&'static str),
    /// The operator does not know the payment.
    NotFound,
    /// The state the call asked for is already reached: read the payment and return it.
    AlreadyApplied,
}

struct Rule {
    ops: Ops,
    status: Status,
    code: Code,
    action: Action,
}

const CREATE_OR_PREPARE: &[Op] = &[Op::Create, Op::Prepare];
const ON_A_PAYMENT: &[Op] = &[Op::Validate, Op::Confirm, Op::Cancel];
const STATUS_QUERIES: &[Op] = &[Op::Retrieve, Op::RetrieveRefund];

const fn rule(ops: Ops, status: Status, code: Code, action: Action) -> Rule {
    Rule {
        ops,
        status,
        code,
        action,
    }
}

/// The mapping. First match wins; the order is part of the data.
#[rustfmt::skip]
const RULES: &[Rule] = &[
    // 0-4: our channel's problem, nothing processed. The merchant must not see our 401/403/429.
    rule(Ops::Any, Status::Is(401), Code::Any, Action::NotSent("the operator rejected our credentials")),
    rule(Ops::Any, Status::Client, Code::Is("UNAUTHENTICATED"), Action::NotSent("the operator rejected our credentials")),
    // PERMISSION_DENIED means the channel's client lacks the scope: a configuration problem of ours,
    // so NotSent (another channel may serve the request) rather than a refusal the merchant sees.
    rule(Ops::Any, Status::Client, Code::Is("PERMISSION_DENIED"), Action::NotSent("the operator denies this channel the scope for the operation")),
    rule(Ops::Any, Status::Is(429), Code::Any, Action::NotSent("the operator is rate limiting this channel")),
    rule(Ops::Any, Status::Client, Code::Is("TOO_MANY_REQUESTS"), Action::NotSent("the operator is rate limiting this channel")),
    // 5-6: we always send phoneNumber with a 2-legged token; these mean the channel is misconfigured.
    rule(Ops::Any, Status::Client, Code::Is("MISSING_IDENTIFIER"), Action::NotSent("the operator expects another token type (channel misconfigured)")),
    rule(Ops::Any, Status::Client, Code::Is("UNNECESSARY_IDENTIFIER"), Action::NotSent("the operator expects a 3-legged token (channel misconfigured)")),
    // 7-8: we sent something the operator cannot take at all (a bug of ours, not the merchant's).
    rule(Ops::Any, Status::Is(405), Code::Any, Action::NotSent("the operator does not allow this method on the path")),
    rule(Ops::Any, Status::Is(415), Code::Any, Action::NotSent("the operator does not accept our media type")),
    // 9-10: status queries never refuse a payment; they only fail to learn its state.
    rule(Ops::Only(STATUS_QUERIES), Status::Is(404), Code::Any, Action::NotFound),
    rule(Ops::Only(STATUS_QUERIES), Status::Client, Code::Any, Action::Unknown("the operator refused the status query")),
    // 11: a duplicate of create/prepare: the first one was applied; its state is learned by status.
    rule(Ops::Only(CREATE_OR_PREPARE), Status::Is(409), Code::Any, Action::Unknown("the operator reports a duplicate payment")),
    // 12: a 404 on the collection itself means a wrong base_url, not an unknown subscriber.
    rule(Ops::Only(CREATE_OR_PREPARE), Status::Is(404), Code::Is("NOT_FOUND"), Action::NotSent("the operator does not serve the payments path (check base_url)")),
    // 13-15: already where the call wanted it (a retry after a lost answer): read and return.
    rule(Ops::Only(&[Op::Confirm]), Status::Is(409), Code::Is("CARRIER_BILLING.PAYMENT_CONFIRMED"), Action::AlreadyApplied),
    rule(Ops::Only(&[Op::Cancel]), Status::Is(409), Code::Is("CARRIER_BILLING.PAYMENT_CANCELLED"), Action::AlreadyApplied),
    rule(Ops::Only(ON_A_PAYMENT), Status::Is(409), Code::Is("ALREADY_EXISTS"), Action::AlreadyApplied),
    // 16: a 4xx without a CAMARA body (an HTML error page, a proxy): not processed, not the merchant's fault.
    rule(Ops::Any, Status::Client, Code::NoBody, Action::NotSent("the operator answered without a CAMARA error body")),
    // 17: a business refusal in the operator's words.
    rule(Ops::Any, Status::Client, Code::Known, Action::Refuse),
    // 18-24: codes we do not know: refuse by status, with a generic message.
    rule(Ops::Any, Status::Is(400), Code::Any, Action::RefuseAs(ErrorCode::InvalidArgument)),
    rule(Ops::Any, Status::Is(403), Code::Any, Action::RefuseAs(ErrorCode::PaymentDenied)),
    rule(Ops::Only(CREATE_OR_PREPARE), Status::Is(404), Code::Any, Action::RefuseAs(ErrorCode::IdentifierNotFound)),
    rule(Ops::Only(ON_A_PAYMENT), Status::Is(404), Code::Any, Action::RefuseAs(ErrorCode::NotFound)),
    rule(Ops::Only(ON_A_PAYMENT), Status::Is(409), Code::Any, Action::RefuseAs(ErrorCode::IncompatibleState)),
    rule(Ops::Any, Status::Is(422), Code::Any, Action::RefuseAs(ErrorCode::ServiceNotApplicable)),
    rule(Ops::Any, Status::Client, Code::Any, Action::Unknown("the operator answered with an unexpected client error")),
    // 25-26: server errors and anything else: the outcome is unknown.
    rule(Ops::Any, Status::Server, Code::Any, Action::Unknown("the operator failed")),
    rule(Ops::Any, Status::Any, Code::Any, Action::Unknown("the operator answered with an unexpected status")),
];

/// How a failed upstream call ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Failed(AdapterError),
    /// confirm/cancel/validate found the payment already in the wanted state.
    AlreadyApplied,
}

impl Rule {
    fn matches(&self, op: Op, status: u16, body: Option<&ErrorInfo>) -> bool {
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
            Code::Is(code) => body.is_some_and(|b| b.code == code),
            Code::Known => body.and_then(|b| known_code(&b.code)).is_some(),
            Code::NoBody => body.is_none(),
        };
        op_ok && status_ok && code_ok
    }
}

fn known_code(code: &str) -> Option<ErrorCode> {
    ErrorCode::from_code(code).filter(|c| (400..500).contains(&c.status()))
}

fn rule_index(op: Op, status: u16, body: Option<&ErrorInfo>) -> usize {
    RULES
        .iter()
        .position(|r| r.matches(op, status, body))
        .unwrap_or(RULES.len() - 1)
}

/// Classifies a non-2xx answer to `op`. `msisdn` is scrubbed from any message passed on.
pub fn classify(op: Op, status: u16, body: &[u8], msisdn: &Msisdn) -> Outcome {
    let info = parse_error_body(body);
    let index = rule_index(op, status, info.as_ref());
    let upstream = describe(status, info.as_ref());
    match RULES[index].action {
        Action::Refuse => {
            // Code::Known guarantees both are present; fall back defensively all the same.
            match info
                .as_ref()
                .and_then(|b| known_code(&b.code).map(|c| (c, b)))
            {
                Some((code, b)) => Outcome::Failed(AdapterError::Refused(ApiError::new(
                    code,
                    scrub_message(&b.message, msisdn, code),
                ))),
                None => Outcome::Failed(AdapterError::Unknown(upstream)),
            }
        }
        Action::RefuseAs(code) => Outcome::Failed(AdapterError::Refused(ApiError::of(code))),
        Action::NotSent(why) => {
            Outcome::Failed(AdapterError::NotSent(format!("{why} ({upstream})")))
        }
        Action::Unknown(why) => {
            Outcome::Failed(AdapterError::Unknown(format!("{why} ({upstream})")))
        }
        Action::NotFound => Outcome::Failed(AdapterError::NotFound),
        Action::AlreadyApplied => Outcome::AlreadyApplied,
    }
}

/// The upstream `ErrorInfo`, when the body is one (a `code` string is the minimum).
fn parse_error_body(body: &[u8]) -> Option<ErrorInfo> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = value.get("code")?.as_str()?.to_string();
    let message = value
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_string();
    let status = value
        .get("status")
        .and_then(|s| s.as_u64())
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or_default();
    Some(ErrorInfo {
        status,
        code,
        message,
    })
}

/// `upstream 403 CARRIER_BILLING.PAYMENT_DENIED`, safe for logs: a code is shown only when it looks
/// like a CAMARA code (upper-case letters, `_` and `.`), so no upstream free text gets through.
fn describe(status: u16, info: Option<&ErrorInfo>) -> String {
    match info {
        Some(b) if looks_like_a_code(&b.code) => format!("upstream {status} {}", b.code),
        Some(_) => format!("upstream {status} with a non-standard code"),
        None => format!("upstream {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msisdn() -> Msisdn {
        Msisdn::parse("+34600123480").unwrap()
    }

    fn body(status: u16, code: &str, message: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"status": status, "code": code, "message": message})).unwrap()
    }

    /// One case per rule: (op, status, body, expected rule index, expected outcome).
    fn case(op: Op, status: u16, raw: &[u8], rule: usize) -> Outcome {
        let info = parse_error_body(raw);
        assert_eq!(
            rule_index(op, status, info.as_ref()),
            rule,
            "{op:?} {status} {:?} hit the wrong rule",
            String::from_utf8_lossy(raw)
        );
        classify(op, status, raw, &msisdn())
    }

    fn not_sent(o: &Outcome) -> bool {
        matches!(o, Outcome::Failed(AdapterError::NotSent(_)))
    }

    fn unknown(o: &Outcome) -> bool {
        matches!(o, Outcome::Failed(AdapterError::Unknown(_)))
    }

    fn refused(o: &Outcome) -> Option<ErrorCode> {
        match o {
            Outcome::Failed(AdapterError::Refused(e)) => Some(e.code),
            _ => None,
        }
    }

    #[test]
    fn rule_00_401_is_not_sent() {
        let o = case(Op::Create, 401, &body(401, "UNAUTHENTICATED", "expired"), 0);
        assert!(not_sent(&o), "{o:?}");
        assert!(format!("{o:?}").contains("credentials"));
        assert!(not_sent(&case(Op::Confirm, 401, b"", 0)));
    }

    #[test]
    fn rule_01_unauthenticated_code_is_not_sent() {
        assert!(not_sent(&case(
            Op::Create,
            400,
            &body(400, "UNAUTHENTICATED", "x"),
            1
        )));
    }

    #[test]
    fn rule_02_permission_denied_is_not_sent() {
        let o = case(
            Op::Prepare,
            403,
            &body(403, "PERMISSION_DENIED", "no scope"),
            2,
        );
        assert!(not_sent(&o), "{o:?}");
    }

    #[test]
    fn rule_03_429_is_not_sent() {
        assert!(not_sent(&case(Op::Create, 429, b"slow down", 3)));
    }

    #[test]
    fn rule_04_too_many_requests_code_is_not_sent() {
        assert!(not_sent(&case(
            Op::Create,
            400,
            &body(400, "TOO_MANY_REQUESTS", "x"),
            4
        )));
    }

    #[test]
    fn rule_05_06_identifier_complaints_are_not_sent() {
        assert!(not_sent(&case(
            Op::Create,
            422,
            &body(422, "MISSING_IDENTIFIER", "x"),
            5
        )));
        assert!(not_sent(&case(
            Op::Confirm,
            422,
            &body(422, "UNNECESSARY_IDENTIFIER", "x"),
            6
        )));
    }

    #[test]
    fn rule_07_08_method_and_media_type_are_not_sent() {
        assert!(not_sent(&case(
            Op::Create,
            405,
            &body(405, "METHOD_NOT_ALLOWED", "x"),
            7
        )));
        assert!(not_sent(&case(
            Op::Create,
            415,
            &body(415, "UNSUPPORTED_MEDIA_TYPE", "x"),
            8
        )));
    }

    #[test]
    fn rule_09_retrieve_404_is_not_found() {
        assert_eq!(
            case(Op::Retrieve, 404, &body(404, "NOT_FOUND", "x"), 9),
            Outcome::Failed(AdapterError::NotFound)
        );
    }

    #[test]
    fn rule_10_retrieve_never_refuses() {
        assert!(unknown(&case(
            Op::Retrieve,
            400,
            &body(400, "INVALID_ARGUMENT", "x"),
            10
        )));
    }

    #[test]
    fn rule_11_duplicate_create_is_unknown() {
        assert!(unknown(&case(
            Op::Create,
            409,
            &body(409, "ALREADY_EXISTS", "dup"),
            11
        )));
        assert!(unknown(&case(Op::Prepare, 409, b"", 11)));
    }

    #[test]
    fn rule_12_create_path_not_found_is_not_sent() {
        assert!(not_sent(&case(
            Op::Create,
            404,
            &body(404, "NOT_FOUND", "x"),
            12
        )));
    }

    #[test]
    fn rule_13_confirm_of_confirmed_is_already_applied() {
        let raw = body(409, "CARRIER_BILLING.PAYMENT_CONFIRMED", "x");
        assert_eq!(case(Op::Confirm, 409, &raw, 13), Outcome::AlreadyApplied);
        // …but cancelling a confirmed payment is a refusal (rule 17).
        assert_eq!(
            refused(&case(Op::Cancel, 409, &raw, 17)),
            Some(ErrorCode::PaymentConfirmed)
        );
    }

    #[test]
    fn rule_14_cancel_of_cancelled_is_already_applied() {
        let raw = body(409, "CARRIER_BILLING.PAYMENT_CANCELLED", "x");
        assert_eq!(case(Op::Cancel, 409, &raw, 14), Outcome::AlreadyApplied);
        assert_eq!(
            refused(&case(Op::Confirm, 409, &raw, 17)),
            Some(ErrorCode::PaymentCancelled)
        );
    }

    #[test]
    fn rule_15_repeated_action_is_already_applied() {
        assert_eq!(
            case(Op::Validate, 409, &body(409, "ALREADY_EXISTS", "x"), 15),
            Outcome::AlreadyApplied
        );
    }

    #[test]
    fn rule_16_client_error_without_camara_body_is_not_sent() {
        assert!(not_sent(&case(
            Op::Create,
            404,
            b"<html>Not Found</html>",
            16
        )));
        assert!(not_sent(&case(Op::Confirm, 400, br#"{"error":"x"}"#, 16)));
    }

    #[test]
    fn rule_17_known_codes_are_refused_in_the_operators_words() {
        let cases = [
            (
                Op::Create,
                403,
                "CARRIER_BILLING.PAYMENT_DENIED",
                ErrorCode::PaymentDenied,
            ),
            (
                Op::Create,
                422,
                "CARRIER_BILLING.UNAUTHORIZED_AMOUNT",
                ErrorCode::UnauthorizedAmount,
            ),
            (
                Op::Prepare,
                404,
                "IDENTIFIER_NOT_FOUND",
                ErrorCode::IdentifierNotFound,
            ),
            (
                Op::Create,
                422,
                "SERVICE_NOT_APPLICABLE",
                ErrorCode::ServiceNotApplicable,
            ),
            (
                Op::Validate,
                400,
                "CARRIER_BILLING.INVALID_CODE",
                ErrorCode::InvalidCode,
            ),
            (
                Op::Validate,
                400,
                "CARRIER_BILLING.VALIDATION_FAILED",
                ErrorCode::ValidationFailed,
            ),
            (Op::Confirm, 404, "NOT_FOUND", ErrorCode::NotFound),
        ];
        for (op, status, code, expected) in cases {
            let o = case(
                op,
                status,
                &body(status, code, "Refused for +34600123480 (34600123480)"),
                17,
            );
            let Outcome::Failed(AdapterError::Refused(e)) = o else {
                panic!("{code}: {o:?}")
            };
            assert_eq!(e.code, expected);
            assert!(
                !e.message.contains("600123"),
                "phone number leaked: {}",
                e.message
            );
        }
    }

    #[test]
    fn rule_18_to_23_unknown_codes_are_refused_by_status() {
        let raw = |s| body(s, "ACME.SOMETHING_ODD", "odd");
        assert_eq!(
            refused(&case(Op::Create, 400, &raw(400), 18)),
            Some(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            refused(&case(Op::Create, 403, &raw(403), 19)),
            Some(ErrorCode::PaymentDenied)
        );
        assert_eq!(
            refused(&case(Op::Create, 404, &raw(404), 20)),
            Some(ErrorCode::IdentifierNotFound)
        );
        assert_eq!(
            refused(&case(Op::Cancel, 404, &raw(404), 21)),
            Some(ErrorCode::NotFound)
        );
        assert_eq!(
            refused(&case(Op::Confirm, 409, &raw(409), 22)),
            Some(ErrorCode::IncompatibleState)
        );
        assert_eq!(
            refused(&case(Op::Create, 422, &raw(422), 23)),
            Some(ErrorCode::ServiceNotApplicable)
        );
        // A generic message, not the operator's unknown wording.
        let Outcome::Failed(AdapterError::Refused(e)) =
            classify(Op::Create, 400, &raw(400), &msisdn())
        else {
            panic!()
        };
        assert_eq!(e.message, ErrorCode::InvalidArgument.default_message());
    }

    #[test]
    fn rule_24_other_client_errors_are_unknown() {
        assert!(unknown(&case(
            Op::Create,
            408,
            &body(408, "ACME.TIMEOUT", "x"),
            24
        )));
        // A known code whose own status is 5xx is not a refusal.
        assert!(unknown(&case(
            Op::Create,
            410,
            &body(410, "INTERNAL", "x"),
            24
        )));
    }

    #[test]
    fn rule_25_server_errors_are_unknown() {
        assert!(unknown(&case(
            Op::Create,
            500,
            &body(500, "INTERNAL", "x"),
            25
        )));
        assert!(unknown(&case(Op::Confirm, 503, b"", 25)));
        assert!(unknown(&case(
            Op::Create,
            502,
            &body(502, "CARRIER_BILLING.PAYMENT_DENIED", "x"),
            25
        )));
    }

    #[test]
    fn rule_26_anything_else_is_unknown() {
        assert!(unknown(&case(Op::Create, 302, b"", 26)));
        assert!(unknown(&case(Op::Create, 600, b"", 26)));
    }

    #[test]
    fn every_rule_is_reachable_and_the_last_one_catches_all() {
        // The per-rule tests above name indices 0..=26; keep them in step with the table.
        assert_eq!(RULES.len(), 27);
        assert!(matches!(RULES[RULES.len() - 1].status, Status::Any));
        assert!(matches!(RULES[RULES.len() - 1].code, Code::Any));
        assert!(matches!(RULES[RULES.len() - 1].ops, Ops::Any));
    }

    #[test]
    fn create_and_prepare_never_get_already_applied() {
        for op in [Op::Create, Op::Prepare, Op::Retrieve] {
            for rule in RULES.iter().filter(|r| r.action == Action::AlreadyApplied) {
                assert!(!matches!(rule.ops, Ops::Any));
                assert!(!rule.matches(
                    op,
                    409,
                    parse_error_body(&body(409, "ALREADY_EXISTS", "")).as_ref()
                ));
            }
        }
    }

    #[test]
    fn messages_for_operators_carry_no_upstream_text() {
        let raw = body(
            500,
            "INTERNAL\n+34600123480",
            "secret stuff for +34600123480",
        );
        let Outcome::Failed(AdapterError::Unknown(m)) = classify(Op::Create, 500, &raw, &msisdn())
        else {
            panic!()
        };
        assert!(
            !m.contains("600123") && !m.contains("secret") && !m.contains('\n'),
            "{m}"
        );
        assert!(m.contains("upstream 500 with a non-standard code"), "{m}");
        let raw = body(503, "UNAVAILABLE", "x");
        let Outcome::Failed(AdapterError::Unknown(m)) = classify(Op::Create, 503, &raw, &msisdn())
        else {
            panic!()
        };
        assert!(m.ends_with("(upstream 503 UNAVAILABLE)"), "{m}");
    }
}
