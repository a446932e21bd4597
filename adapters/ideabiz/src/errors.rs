//! Ideabiz errors → Switchboard outcomes, held as data in [`RULES`].
//!
//! The platform answers a failed call with `{code, status, message}`, and its API gateway (WSO2)
//! answers auth problems with `{"fault": {code, message, description}}`. Several different
//! refusals share one code (`CARRIER_BILLING.PAYMENT_DENIED`, `INVALID_ARGUMENT`), so rules match
//! on the HTTP status, the code **and** the message text (lower-cased, whitespace collapsed,
//! substrings). What the answer proves about the money decides the outcome:
//!
//! | platform answer | outcome |
//! |---|---|
//! | 403 `CARRIER_BILLING.PAYMENT_DENIED` "…outgoing is barred…" / "Not authorized to perform…" | `Refused` 403 `CARRIER_BILLING.PAYMENT_DENIED` |
//! | 403 `CARRIER_BILLING.UNAUTHORIZED_AMOUNT` "insufficient credit…" / "Unauthorized amount requested" | `Refused` **422** `CARRIER_BILLING.UNAUTHORIZED_AMOUNT` (CAMARA's status) |
//! | 400 `INVALID_ARGUMENT` "Invalid account details…" | `Refused` 404 `IDENTIFIER_NOT_FOUND` |
//! | 400 `INVALID_ARGUMENT` "Invalid reason code…" / "Schema validation failed at…" | `Refused` 400 `INVALID_ARGUMENT` |
//! | 409 "Duplicate request detected…" / 400 "clientCorrelator already exist…" | [`Outcome::Duplicate`]: the charge exists; read it by `clientCorrelator` |
//! | 502 `SERVER_ERROR`, other 5xx | `Unknown` (settled by a status query) |
//! | 401, WSO2 faults, 429 | `NotSent`: our channel's problem, nothing processed |
//!
//! The first rule that matches wins; every rule has a unit test below.

use switchboard_adapter::sanitize::{looks_like_a_code, scrub_message};
use switchboard_adapter::AdapterError;
use switchboard_core::{ApiError, ErrorCode, Msisdn};

/// The upstream call whose answer is being classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `POST /payments`.
    Create,
    /// `GET /payments/{paymentId}`.
    Retrieve,
    /// `GET /payments?clientCorrelator=…`.
    Lookup,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Retrieve => "retrieve",
            Op::Lookup => "lookup",
        }
    }
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

#[derive(Debug, Clone, Copy)]
enum Code {
    Any,
    /// The platform's `code` (compared ignoring ASCII case).
    Is(&'static str),
    /// A WSO2 gateway `fault` body.
    Fault,
    /// Neither a platform error nor a fault (an HTML page, a proxy, nothing).
    NoBody,
}

/// Lower-case substrings of the message; any one matches.
#[derive(Debug, Clone, Copy)]
enum Text {
    Any,
    Has(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Definite refusal with this CAMARA code and the platform's (scrubbed) message.
    Refuse(ErrorCode),
    /// Definite refusal with this code and its standard message (the wording is unknown to us).
    RefuseAs(ErrorCode),
    /// Not processed, and not the merchant's fault.
    NotSent(&'static str),
    /// May have been applied: settle by status query.
    Unknown(&'static str),
    /// The platform has no such payment (status queries).
    NotFound,
    /// The charge was submitted before: read it by `clientCorrelator`.
    Duplicate,
}

#[derive(Debug, Clone, Copy)]
struct Rule {
    ops: Ops,
    status: Status,
    code: Code,
    text: Text,
    action: Action,
}

const CREATE: &[Op] = &[Op::Create];
const STATUS_QUERIES: &[Op] = &[Op::Retrieve, Op::Lookup];

const fn rule(ops: Ops, status: Status, code: Code, text: Text, action: Action) -> Rule {
    Rule {
        ops,
        status,
        code,
        text,
        action,
    }
}

const DUPLICATE: &[&str] = &[
    "duplicate request",
    "already exist",
    "submitted already",
    "already been submitted",
];
const BARRED: &[&str] = &["barred"];
const NOT_AUTHORIZED: &[&str] = &["not authorized to perform", "not authorised to perform"];
const NO_CREDIT: &[&str] = &[
    "insufficient credit",
    "insufficient balance",
    "insufficient fund",
];
const BAD_ACCOUNT: &[&str] = &["invalid account details", "verify the subscriber"];
const BAD_REASON: &[&str] = &["invalid reason code"];
const BAD_SCHEMA: &[&str] = &["schema validation failed"];

/// The mapping. First match wins; the order is part of the data.
#[rustfmt::skip]
const RULES: &[Rule] = &[
    // 0-2: our channel's problem; nothing processed. The merchant must not see our 401/403/429.
    rule(Ops::Any, Status::Is(401), Code::Any, Text::Any, Action::NotSent("the platform rejected our access token")),
    rule(Ops::Any, Status::Client, Code::Fault, Text::Any, Action::NotSent("the platform's API gateway refused the call (subscription, scope or throttling)")),
    rule(Ops::Any, Status::Is(429), Code::Any, Text::Any, Action::NotSent("the platform is throttling this channel")),
    // 3-4: status queries never refuse a payment; they only fail to learn its state.
    rule(Ops::Only(STATUS_QUERIES), Status::Is(404), Code::Any, Text::Any, Action::NotFound),
    rule(Ops::Only(STATUS_QUERIES), Status::Client, Code::Any, Text::Any, Action::Unknown("the platform refused the status query")),
    // 5-6: the platform refuses a repeated clientCorrelator: the first charge exists.
    rule(Ops::Only(CREATE), Status::Client, Code::Any, Text::Has(DUPLICATE), Action::Duplicate),
    rule(Ops::Only(CREATE), Status::Is(409), Code::Any, Text::Any, Action::Duplicate),
    // 7-14: the platform's error table (business refusals, by message).
    rule(Ops::Any, Status::Is(403), Code::Any, Text::Has(BARRED), Action::Refuse(ErrorCode::PaymentDenied)),
    rule(Ops::Any, Status::Is(403), Code::Any, Text::Has(NOT_AUTHORIZED), Action::Refuse(ErrorCode::PaymentDenied)),
    rule(Ops::Any, Status::Client, Code::Any, Text::Has(NO_CREDIT), Action::Refuse(ErrorCode::UnauthorizedAmount)),
    rule(Ops::Any, Status::Client, Code::Is("CARRIER_BILLING.UNAUTHORIZED_AMOUNT"), Text::Any, Action::Refuse(ErrorCode::UnauthorizedAmount)),
    rule(Ops::Any, Status::Is(400), Code::Any, Text::Has(BAD_ACCOUNT), Action::Refuse(ErrorCode::IdentifierNotFound)),
    rule(Ops::Any, Status::Is(400), Code::Any, Text::Has(BAD_REASON), Action::Refuse(ErrorCode::InvalidArgument)),
    rule(Ops::Any, Status::Is(400), Code::Any, Text::Has(BAD_SCHEMA), Action::Refuse(ErrorCode::InvalidArgument)),
    rule(Ops::Any, Status::Client, Code::Is("CARRIER_BILLING.PAYMENT_DENIED"), Text::Any, Action::Refuse(ErrorCode::PaymentDenied)),
    // 15-16: not the platform's error form, or not the platform at all: nothing processed.
    rule(Ops::Any, Status::Client, Code::NoBody, Text::Any, Action::NotSent("the platform answered without an error body")),
    rule(Ops::Only(CREATE), Status::Is(404), Code::Any, Text::Any, Action::NotSent("the platform does not serve the payments path (check base_url)")),
    // 17-19: wording we do not know: refuse by status, with a standard message.
    rule(Ops::Any, Status::Is(400), Code::Any, Text::Any, Action::RefuseAs(ErrorCode::InvalidArgument)),
    rule(Ops::Any, Status::Is(403), Code::Any, Text::Any, Action::RefuseAs(ErrorCode::PaymentDenied)),
    rule(Ops::Any, Status::Client, Code::Any, Text::Any, Action::Unknown("the platform answered with an unexpected client error")),
    // 20-22: server errors and anything else: the outcome is unknown.
    rule(Ops::Any, Status::Is(502), Code::Is("SERVER_ERROR"), Text::Any, Action::Unknown("the platform reports a temporary system error")),
    rule(Ops::Any, Status::Server, Code::Any, Text::Any, Action::Unknown("the platform failed")),
    rule(Ops::Any, Status::Any, Code::Any, Text::Any, Action::Unknown("the platform answered with an unexpected status")),
];

/// How a failed call ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Failed(AdapterError),
    /// A create refused as a duplicate: the charge was submitted before; read it.
    Duplicate,
}

/// A platform error or gateway fault, as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Upstream {
    code: Option<String>,
    /// Lower-cased, whitespace collapsed: for matching only.
    text: String,
    /// As sent: passed on (scrubbed) in refusals.
    message: String,
    fault: Option<u64>,
}

impl Rule {
    fn matches(&self, op: Op, status: u16, body: Option<&Upstream>) -> bool {
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
            Code::Is(code) => body
                .and_then(|b| b.code.as_deref())
                .is_some_and(|c| c.eq_ignore_ascii_case(code)),
            Code::Fault => body.is_some_and(|b| b.fault.is_some()),
            Code::NoBody => body.is_none(),
        };
        let text_ok = match self.text {
            Text::Any => true,
            Text::Has(needles) => body.is_some_and(|b| needles.iter().any(|n| b.text.contains(n))),
        };
        op_ok && status_ok && code_ok && text_ok
    }
}

fn rule_index(op: Op, status: u16, body: Option<&Upstream>) -> usize {
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
        Action::Refuse(code) => {
            let message = info
                .as_ref()
                .map(|b| b.message.as_str())
                .unwrap_or_default();
            Outcome::Failed(AdapterError::Refused(ApiError::new(
                code,
                scrub_message(message, msisdn, code),
            )))
        }
        Action::RefuseAs(code) => Outcome::Failed(AdapterError::Refused(ApiError::of(code))),
        Action::NotSent(why) => {
            Outcome::Failed(AdapterError::NotSent(format!("{why} ({upstream})")))
        }
        Action::Unknown(why) => {
            Outcome::Failed(AdapterError::Unknown(format!("{why} ({upstream})")))
        }
        Action::NotFound => Outcome::Failed(AdapterError::NotFound),
        Action::Duplicate => Outcome::Duplicate,
    }
}

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The platform's `{code, status, message}` or the gateway's `{"fault": {…}}`.
fn parse_error_body(body: &[u8]) -> Option<Upstream> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(fault) = value.get("fault").filter(|f| f.is_object()) {
        let code = fault.get("code").and_then(|c| {
            c.as_u64()
                .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
        });
        let text = ["message", "description"]
            .iter()
            .filter_map(|k| fault.get(k).and_then(|v| v.as_str()))
            .collect::<Vec<_>>()
            .join(" ");
        return Some(Upstream {
            code: None,
            text: normalise(&text),
            message: text,
            fault: Some(code.unwrap_or_default()),
        });
    }
    let code = value.get("code")?.as_str()?.to_string();
    let message = value
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_string();
    Some(Upstream {
        code: Some(code),
        text: normalise(&message),
        message,
        fault: None,
    })
}

/// `upstream 403 CARRIER_BILLING.PAYMENT_DENIED`, safe for logs: a code is shown only when it
/// looks like one (upper-case letters, `_` and `.`), so no upstream free text gets through.
fn describe(status: u16, info: Option<&Upstream>) -> String {
    match info {
        Some(Upstream {
            fault: Some(code), ..
        }) => format!("upstream {status} fault {code}"),
        Some(Upstream {
            code: Some(code), ..
        }) if looks_like_a_code(code) => format!("upstream {status} {code}"),
        Some(_) => format!("upstream {status} with a non-standard code"),
        None => format!("upstream {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msisdn() -> Msisdn {
        Msisdn::parse("+94777123480").unwrap()
    }

    fn body(status: u16, code: &str, message: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"code": code, "status": status, "message": message})).unwrap()
    }

    fn fault(code: u32, description: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"fault": {"code": code, "message": "Invalid Credentials", "description": description}}))
            .unwrap()
    }

    /// Classifies and checks which rule decided.
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

    fn refused(o: &Outcome) -> (ErrorCode, String) {
        match o {
            Outcome::Failed(AdapterError::Refused(e)) => (e.code, e.message.clone()),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn rule_00_401_is_not_sent() {
        let o = case(Op::Create, 401, &fault(900901, "Access token expired"), 0);
        assert!(not_sent(&o), "{o:?}");
        assert!(format!("{o:?}").contains("fault 900901"));
        assert!(not_sent(&case(Op::Lookup, 401, b"", 0)));
    }

    #[test]
    fn rule_01_gateway_faults_are_not_sent() {
        assert!(not_sent(&case(
            Op::Create,
            403,
            &fault(900908, "Resource forbidden"),
            1
        )));
        // A fault beats the status-query rules too.
        assert!(not_sent(&case(
            Op::Retrieve,
            404,
            &fault(404, "No matching resource"),
            1
        )));
    }

    #[test]
    fn rule_02_429_is_not_sent() {
        assert!(not_sent(&case(Op::Create, 429, b"slow down", 2)));
    }

    #[test]
    fn rule_03_status_query_404_is_not_found() {
        let raw = body(404, "NOT_FOUND", "No payment found");
        assert_eq!(
            case(Op::Retrieve, 404, &raw, 3),
            Outcome::Failed(AdapterError::NotFound)
        );
        assert_eq!(
            case(Op::Lookup, 404, b"", 3),
            Outcome::Failed(AdapterError::NotFound)
        );
    }

    #[test]
    fn rule_04_status_queries_never_refuse() {
        let raw = body(
            400,
            "INVALID_ARGUMENT",
            "Schema validation failed at clientCorrelator",
        );
        assert!(unknown(&case(Op::Lookup, 400, &raw, 4)));
        let raw = body(403, "CARRIER_BILLING.PAYMENT_DENIED", "barred");
        assert!(unknown(&case(Op::Retrieve, 403, &raw, 4)));
    }

    #[test]
    fn rule_05_duplicate_messages_are_duplicates() {
        let seed = body(
            409,
            "INVALID_ARGUMENT",
            "Duplicate request detected. This transaction appears to have been submitted already.",
        );
        assert_eq!(case(Op::Create, 409, &seed, 5), Outcome::Duplicate);
        // The table's 400 variant, and odd spacing/case.
        let raw = body(
            400,
            "INVALID_ARGUMENT",
            "clientCorrelator already exist on server",
        );
        assert_eq!(case(Op::Create, 400, &raw, 5), Outcome::Duplicate);
        let raw = body(409, "INVALID_ARGUMENT", "DUPLICATE   Request detected");
        assert_eq!(case(Op::Create, 409, &raw, 5), Outcome::Duplicate);
    }

    #[test]
    fn rule_06_any_other_conflict_on_create_is_a_duplicate() {
        assert_eq!(
            case(Op::Create, 409, &body(409, "CONFLICT", "x"), 6),
            Outcome::Duplicate
        );
    }

    #[test]
    fn rule_07_barred_account_is_payment_denied() {
        let raw = body(
            403,
            "CARRIER_BILLING.PAYMENT_DENIED",
            "Transaction not allowed: outgoing is barred for this account.",
        );
        let (code, message) = refused(&case(Op::Create, 403, &raw, 7));
        assert_eq!(code, ErrorCode::PaymentDenied);
        assert_eq!(
            message,
            "Transaction not allowed: outgoing is barred for this account."
        );
        // The table's variant without the final dot, another code.
        let raw = body(
            403,
            "PAYMENT_DENIED",
            "transaction not allowed: Outgoing is BARRED for this account",
        );
        assert_eq!(
            refused(&case(Op::Create, 403, &raw, 7)).0,
            ErrorCode::PaymentDenied
        );
    }

    #[test]
    fn rule_08_not_authorized_is_payment_denied() {
        let raw = body(
            403,
            "CARRIER_BILLING.PAYMENT_DENIED",
            "Not authorized to perform this transaction.",
        );
        assert_eq!(
            refused(&case(Op::Create, 403, &raw, 8)).0,
            ErrorCode::PaymentDenied
        );
    }

    #[test]
    fn rule_09_insufficient_credit_is_unauthorized_amount_with_camara_status() {
        let raw = body(
            403,
            "CARRIER_BILLING.UNAUTHORIZED_AMOUNT",
            "User has insufficient credit for the full transaction amount",
        );
        let o = case(Op::Create, 403, &raw, 9);
        let Outcome::Failed(AdapterError::Refused(e)) = &o else {
            panic!("{o:?}")
        };
        assert_eq!(e.code, ErrorCode::UnauthorizedAmount);
        assert_eq!(
            e.status(),
            422,
            "CAMARA says 422 even though the platform says 403"
        );
        assert_eq!(
            e.message,
            "User has insufficient credit for the full transaction amount"
        );
        let raw = body(400, "INVALID_ARGUMENT", "Insufficient balance");
        assert_eq!(
            refused(&case(Op::Create, 400, &raw, 9)).0,
            ErrorCode::UnauthorizedAmount
        );
    }

    #[test]
    fn rule_10_unauthorized_amount_code_is_unauthorized_amount() {
        let raw = body(
            403,
            "CARRIER_BILLING.UNAUTHORIZED_AMOUNT",
            "Unauthorized amount requested",
        );
        assert_eq!(
            refused(&case(Op::Create, 403, &raw, 10)).0,
            ErrorCode::UnauthorizedAmount
        );
    }

    #[test]
    fn rule_11_invalid_account_details_is_identifier_not_found() {
        let raw = body(
            400,
            "INVALID_ARGUMENT",
            "Invalid account details. Please verify the subscriber/account and try again.",
        );
        let o = case(Op::Create, 400, &raw, 11);
        let Outcome::Failed(AdapterError::Refused(e)) = &o else {
            panic!("{o:?}")
        };
        assert_eq!((e.code, e.status()), (ErrorCode::IdentifierNotFound, 404));
    }

    #[test]
    fn rule_12_invalid_reason_code_is_invalid_argument() {
        let raw = body(
            400,
            "INVALID_ARGUMENT",
            "Invalid reason code provided for this transaction.",
        );
        let (code, message) = refused(&case(Op::Create, 400, &raw, 12));
        assert_eq!(code, ErrorCode::InvalidArgument);
        assert_eq!(
            message,
            "Invalid reason code provided for this transaction."
        );
    }

    #[test]
    fn rule_13_schema_failures_are_invalid_argument() {
        let raw = body(
            400,
            "INVALID_ARGUMENT",
            "Schema validation failed at  phoneNumber",
        );
        let (code, message) = refused(&case(Op::Create, 400, &raw, 13));
        assert_eq!(code, ErrorCode::InvalidArgument);
        assert!(
            message.starts_with("Schema validation failed at"),
            "{message}"
        );
    }

    #[test]
    fn rule_14_other_payment_denials_are_payment_denied() {
        // "Payment denied by business", or the code repeated as the message.
        let raw = body(
            403,
            "CARRIER_BILLING.PAYMENT_DENIED",
            "Payment denied by business",
        );
        assert_eq!(
            refused(&case(Op::Create, 403, &raw, 14)),
            (
                ErrorCode::PaymentDenied,
                "Payment denied by business".into()
            )
        );
        let raw = body(
            403,
            "CARRIER_BILLING.PAYMENT_DENIED",
            "CARRIER_BILLING.PAYMENT_DENIED",
        );
        assert_eq!(
            refused(&case(Op::Create, 403, &raw, 14)),
            (
                ErrorCode::PaymentDenied,
                ErrorCode::PaymentDenied.default_message().into()
            )
        );
    }

    #[test]
    fn rule_15_client_errors_without_a_platform_body_are_not_sent() {
        assert!(not_sent(&case(
            Op::Create,
            404,
            b"<html>Not Found</html>",
            15
        )));
        assert!(not_sent(&case(Op::Create, 400, br#"{"error":"x"}"#, 15)));
    }

    #[test]
    fn rule_16_create_404_means_a_wrong_base_url() {
        let o = case(
            Op::Create,
            404,
            &body(404, "NOT_FOUND", "Unknown platform"),
            16,
        );
        assert!(
            matches!(&o, Outcome::Failed(AdapterError::NotSent(m)) if m.contains("base_url")),
            "{o:?}"
        );
    }

    #[test]
    fn rule_17_18_unknown_wording_is_refused_by_status() {
        let raw = body(400, "ACME.ODD", "something odd");
        assert_eq!(
            refused(&case(Op::Create, 400, &raw, 17)),
            (
                ErrorCode::InvalidArgument,
                ErrorCode::InvalidArgument.default_message().into()
            )
        );
        let raw = body(403, "ACME.ODD", "something odd");
        assert_eq!(
            refused(&case(Op::Create, 403, &raw, 18)).0,
            ErrorCode::PaymentDenied
        );
    }

    #[test]
    fn rule_19_other_client_errors_are_unknown() {
        assert!(unknown(&case(
            Op::Create,
            422,
            &body(422, "ACME.ODD", "x"),
            19
        )));
        assert!(unknown(&case(
            Op::Create,
            408,
            &body(408, "TIMEOUT", "x"),
            19
        )));
    }

    #[test]
    fn rule_20_server_error_502_is_unknown() {
        let raw = body(
            502,
            "SERVER_ERROR",
            "Temporary system error while processing the transaction. Please try again later.",
        );
        let o = case(Op::Create, 502, &raw, 20);
        assert!(
            matches!(&o, Outcome::Failed(AdapterError::Unknown(m)) if m.contains("upstream 502 SERVER_ERROR")),
            "{o:?}"
        );
    }

    #[test]
    fn rule_21_other_server_errors_are_unknown() {
        assert!(unknown(&case(Op::Create, 500, b"", 21)));
        assert!(unknown(&case(
            Op::Create,
            503,
            &body(503, "CARRIER_BILLING.PAYMENT_DENIED", "barred"),
            21
        )));
        assert!(unknown(&case(Op::Lookup, 504, b"", 21)));
    }

    #[test]
    fn rule_22_anything_else_is_unknown() {
        assert!(unknown(&case(Op::Create, 302, b"", 22)));
        assert!(unknown(&case(Op::Create, 600, b"", 22)));
    }

    #[test]
    fn the_table_is_complete_and_ends_with_a_catch_all() {
        // The per-rule tests above name indices 0..=22; keep them in step with the table.
        assert_eq!(RULES.len(), 23);
        let last = RULES[RULES.len() - 1];
        assert!(matches!(
            (last.ops, last.status, last.code, last.text),
            (Ops::Any, Status::Any, Code::Any, Text::Any)
        ));
        // Duplicates only ever come from a create.
        for r in RULES.iter().filter(|r| r.action == Action::Duplicate) {
            assert!(matches!(r.ops, Ops::Only(ops) if ops == CREATE));
        }
    }

    #[test]
    fn messages_never_carry_numbers_or_free_text_into_logs() {
        let raw = body(
            403,
            "CARRIER_BILLING.PAYMENT_DENIED",
            "Line +94777123480 (94777123480) is barred",
        );
        let (_, message) = refused(&classify(Op::Create, 403, &raw, &msisdn()));
        assert!(!message.contains("777123"), "{message}");
        let raw = body(500, "INTERNAL\n94777123480", "secret for 94777123480");
        let Outcome::Failed(AdapterError::Unknown(m)) = classify(Op::Create, 500, &raw, &msisdn())
        else {
            panic!()
        };
        assert!(
            !m.contains("777123") && !m.contains("secret") && !m.contains('\n'),
            "{m}"
        );
        assert!(
            m.ends_with("(upstream 500 with a non-standard code)"),
            "{m}"
        );
    }

    #[test]
    fn scrubbing_masks_numbers_and_bounds_length() {
        let m = msisdn();
        assert_eq!(
            scrub_message("", &m, ErrorCode::PaymentDenied),
            ErrorCode::PaymentDenied.default_message()
        );
        assert_eq!(
            scrub_message("line tel:94777123480 denied", &m, ErrorCode::PaymentDenied),
            "line tel:+94*******80 denied"
        );
        assert_eq!(
            scrub_message("limit 5000 LKR", &m, ErrorCode::PaymentDenied),
            "limit 5000 LKR"
        );
        assert_eq!(
            scrub_message(&"x".repeat(1000), &m, ErrorCode::PaymentDenied).len(),
            switchboard_adapter::sanitize::MAX_MESSAGE_CHARS
        );
    }
}
