//! The error-rule engine: an upstream's failed answer → what it proves about the money, as data.
//!
//! A rule matches on the operation (a list of names, e.g. `["topup", "esim"]`), the HTTP status
//! (exact, or a class such as `"4xx"`), the upstream's error code (exact, ASCII case ignored) and its
//! message (a regular expression). Every part left out matches anything. The first rule that matches wins; the order is part of the data. Rules deserialize
//! (`[[options.errors]]` in a channel file) and are validated then, so a bad pattern or an unknown
//! CAMARA code fails at load, never at call time.

use regex::Regex;
use serde::{Deserialize, Deserializer};
use switchboard_core::{ApiError, ErrorCode, Msisdn};

use crate::error::AdapterError;
use crate::sanitize::scrub_message;

/// Which HTTP statuses a rule covers: `402`, or `"4xx"` / `"5xx"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMatch {
    Is(u16),
    /// Every status of the class (`4` for `4xx`).
    Class(u16),
}

impl StatusMatch {
    fn matches(self, status: u16) -> bool {
        match self {
            StatusMatch::Is(s) => s == status,
            StatusMatch::Class(c) => status / 100 == c,
        }
    }
}

impl<'de> Deserialize<'de> for StatusMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u16),
            Text(String),
        }
        let bad = || serde::de::Error::custom("expected an HTTP status (402) or a class (\"4xx\")");
        match Raw::deserialize(d)? {
            Raw::Number(n) if (100..600).contains(&n) => Ok(StatusMatch::Is(n)),
            Raw::Text(t) => match t.as_bytes() {
                [c @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => {
                    Ok(StatusMatch::Class(u16::from(c - b'0')))
                }
                _ => Err(bad()),
            },
            Raw::Number(_) => Err(bad()),
        }
    }
}

/// What a matching answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    /// A definite refusal: nothing was charged; the merchant sees `error`.
    Refused,
    /// Never processed and not the merchant's fault (our credentials, throttling): safe to retry
    /// elsewhere.
    NotSent,
    /// May have been applied: settle by a status query.
    Unknown,
    /// The upstream has no such resource (status queries).
    NotFound,
    /// The upstream already has a transaction under this idempotency key and refuses to process
    /// it again instead of replaying its answer. Whoever can, reads that transaction back (the
    /// declarative adapter runs its status operation); otherwise it may have been applied.
    Duplicate,
}

/// One rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRule {
    /// The operations it covers (the adapter's names for them); empty: every one.
    #[serde(default)]
    pub operations: Vec<String>,
    #[serde(default)]
    pub status: Option<StatusMatch>,
    /// The upstream's own error code.
    #[serde(default)]
    pub code: Option<String>,
    /// A regular expression the upstream message must match.
    #[serde(default, deserialize_with = "regex_opt")]
    pub message: Option<Regex>,
    pub outcome: RuleOutcome,
    /// The CAMARA code a refusal is answered with (required for `refused`).
    #[serde(default, deserialize_with = "error_code_opt")]
    pub error: Option<ErrorCode>,
    /// Answer the code's standard message instead of the upstream's (scrubbed) one.
    #[serde(default)]
    pub standard_message: bool,
    /// A refusal's message, fixed (no upstream text at all).
    #[serde(default)]
    pub answer: Option<String>,
    /// Why a `not_sent` or `unknown` answer means that, for the logs.
    #[serde(default)]
    pub reason: Option<String>,
}

fn regex_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Regex>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    Regex::new(&text)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("invalid regular expression: {e}")))
}

fn error_code_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ErrorCode>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    ErrorCode::from_code(&text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown CAMARA error code '{text}'")))
}

/// The failed answer being classified.
#[derive(Debug, Clone, Copy)]
pub struct FailedAnswer<'a> {
    /// The operation that failed (matched against a rule's `operations`).
    pub operation: Option<&'a str>,
    pub status: u16,
    pub code: Option<&'a str>,
    pub message: Option<&'a str>,
}

impl ErrorRule {
    fn matches(&self, answer: &FailedAnswer<'_>) -> bool {
        (self.operations.is_empty()
            || answer
                .operation
                .is_some_and(|op| self.operations.iter().any(|o| o == op)))
            && self.status.is_none_or(|s| s.matches(answer.status))
            && self
                .code
                .as_deref()
                .is_none_or(|c| answer.code.is_some_and(|have| have.eq_ignore_ascii_case(c)))
            && self
                .message
                .as_ref()
                .is_none_or(|re| answer.message.is_some_and(|m| re.is_match(m)))
    }

    /// What the rule makes of `answer`. `msisdn`: the subscriber the call was about, masked out of
    /// an upstream message passed on (without one, only a fixed or standard message is answered).
    pub fn apply(&self, answer: &FailedAnswer<'_>, msisdn: Option<&Msisdn>) -> AdapterError {
        let what = || match &self.reason {
            Some(reason) => format!("{reason} ({})", describe(answer.status, answer.code)),
            None => format!("upstream answered {}", answer.status),
        };
        match self.outcome {
            RuleOutcome::Refused => {
                let code = self.error.unwrap_or(ErrorCode::InvalidArgument);
                let message = match (&self.answer, self.standard_message, answer.message, msisdn) {
                    (Some(fixed), _, _, _) => fixed.clone(),
                    (None, false, Some(m), Some(msisdn)) => scrub_message(m, msisdn, code),
                    _ => code.default_message().to_owned(),
                };
                AdapterError::Refused(ApiError::new(code, message))
            }
            RuleOutcome::NotSent => AdapterError::NotSent(what()),
            RuleOutcome::Unknown => AdapterError::Unknown(what()),
            RuleOutcome::NotFound => AdapterError::NotFound,
            RuleOutcome::Duplicate => AdapterError::Unknown(format!(
                "upstream answered {}: it already has this transaction",
                answer.status
            )),
        }
    }
}

/// An ordered rule list; first match wins.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct ErrorRules(Vec<ErrorRule>);

impl ErrorRules {
    pub fn new(rules: Vec<ErrorRule>) -> Self {
        ErrorRules(rules)
    }

    /// Checks what serde cannot: a refusal names its CAMARA code. Returns the index and reason of
    /// the first bad rule.
    pub fn validate(&self) -> Result<(), (usize, &'static str)> {
        for (i, rule) in self.0.iter().enumerate() {
            if rule.outcome == RuleOutcome::Refused && rule.error.is_none() {
                return Err((i, "a refused outcome needs `error` (a CAMARA code)"));
            }
        }
        Ok(())
    }

    /// The first rule that matches `answer`.
    pub fn find(&self, answer: &FailedAnswer<'_>) -> Option<&ErrorRule> {
        self.0.iter().find(|r| r.matches(answer))
    }

    /// Where the first rule that matches `answer` is in the list (each rule's test names it).
    pub fn position(&self, answer: &FailedAnswer<'_>) -> Option<usize> {
        self.0.iter().position(|r| r.matches(answer))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rules, in order.
    pub fn iter(&self) -> impl Iterator<Item = &ErrorRule> {
        self.0.iter()
    }

    /// The first matching rule's outcome, or `None` (the caller's own fallback decides).
    pub fn classify(
        &self,
        answer: &FailedAnswer<'_>,
        msisdn: Option<&Msisdn>,
    ) -> Option<AdapterError> {
        self.find(answer).map(|r| r.apply(answer, msisdn))
    }

    /// [`Self::classify`] with the safe fallback: 401, 403 and 429 never reached processing
    /// (`NotSent`), anything else may have been applied (`Unknown`).
    pub fn classify_or_default(
        &self,
        answer: &FailedAnswer<'_>,
        msisdn: Option<&Msisdn>,
    ) -> AdapterError {
        self.classify(answer, msisdn)
            .unwrap_or_else(|| match answer.status {
                401 | 403 | 429 => AdapterError::NotSent(format!(
                    "upstream answered {} (our channel's problem)",
                    answer.status
                )),
                s => AdapterError::Unknown(format!("upstream answered {s}")),
            })
    }
}

/// `upstream 404 unknown_number`, safe for logs: the upstream's code is shown only when it looks
/// like one (CAMARA style, `CARRIER_BILLING.X`, or snake_case, `unknown_number`), so no upstream
/// free text gets through.
pub fn describe(status: u16, code: Option<&str>) -> String {
    let snake_case = |c: &str| {
        !c.is_empty()
            && c.len() <= 64
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    match code {
        Some(c) if crate::sanitize::looks_like_a_code(c) || snake_case(c) => {
            format!("upstream {status} {c}")
        }
        Some(_) => format!("upstream {status} with a non-standard code"),
        None => format!("upstream {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml_like: serde_json::Value) -> ErrorRules {
        serde_json::from_value(toml_like).unwrap()
    }

    fn answer<'a>(
        status: u16,
        code: Option<&'a str>,
        message: Option<&'a str>,
    ) -> FailedAnswer<'a> {
        FailedAnswer {
            operation: None,
            status,
            code,
            message,
        }
    }

    fn msisdn() -> Msisdn {
        Msisdn::parse("+393400000080").unwrap()
    }

    #[test]
    fn first_match_wins_and_parts_left_out_match_anything() {
        let r = rules(serde_json::json!([
            {"status": 402, "code": "e_limit", "outcome": "refused", "error": "CARRIER_BILLING.UNAUTHORIZED_AMOUNT"},
            {"status": "4xx", "message": "(?i)barred", "outcome": "refused", "error": "CARRIER_BILLING.PAYMENT_DENIED"},
            {"status": "5xx", "outcome": "unknown"},
            {"outcome": "not_sent"}
        ]));
        let m = msisdn();
        let refused = |e: Option<AdapterError>| match e {
            Some(AdapterError::Refused(api)) => Some(api.code),
            _ => None,
        };
        assert_eq!(
            refused(r.classify(&answer(402, Some("E_LIMIT"), Some("x")), Some(&m))),
            Some(ErrorCode::UnauthorizedAmount)
        );
        assert_eq!(
            refused(r.classify(&answer(400, None, Some("Line BARRED")), Some(&m))),
            Some(ErrorCode::PaymentDenied)
        );
        assert!(matches!(
            r.classify(&answer(503, None, None), Some(&m)),
            Some(AdapterError::Unknown(_))
        ));
        assert!(matches!(
            r.classify(&answer(400, Some("E_OTHER"), None), Some(&m)),
            Some(AdapterError::NotSent(_))
        ));
    }

    #[test]
    fn refusal_messages_are_scrubbed_or_standard() {
        let r = rules(serde_json::json!([
            {"status": 402, "outcome": "refused", "error": "CARRIER_BILLING.PAYMENT_DENIED"},
            {"status": 404, "outcome": "refused", "error": "IDENTIFIER_NOT_FOUND", "standard_message": true}
        ]));
        let m = msisdn();
        let Some(AdapterError::Refused(e)) = r.classify(
            &answer(402, None, Some("denied for 393400000080")),
            Some(&m),
        ) else {
            panic!("refusal expected");
        };
        assert!(!e.message.contains("393400000080"), "{}", e.message);
        let Some(AdapterError::Refused(e)) =
            r.classify(&answer(404, None, Some("secret")), Some(&m))
        else {
            panic!("refusal expected");
        };
        assert_eq!(e.message, ErrorCode::IdentifierNotFound.default_message());
    }

    #[test]
    fn the_fallback_never_claims_a_refusal() {
        let r = ErrorRules::default();
        let m = msisdn();
        assert!(matches!(
            r.classify_or_default(&answer(401, None, None), Some(&m)),
            AdapterError::NotSent(_)
        ));
        assert!(matches!(
            r.classify_or_default(&answer(400, None, None), Some(&m)),
            AdapterError::Unknown(_)
        ));
    }

    #[test]
    fn bad_rules_fail_when_read() {
        let bad = |v: serde_json::Value| {
            serde_json::from_value::<ErrorRules>(v)
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad(serde_json::json!([{"status": "4yy", "outcome": "unknown"}])).contains("class")
        );
        assert!(
            bad(serde_json::json!([{"message": "(", "outcome": "unknown"}]))
                .contains("regular expression")
        );
        assert!(bad(serde_json::json!([{"outcome": "refused", "error": "NOPE"}])).contains("NOPE"));
        assert!(bad(serde_json::json!([{"outcome": "maybe"}])).contains("maybe"));
        let no_code = rules(serde_json::json!([{"outcome": "unknown"}, {"outcome": "refused"}]));
        assert_eq!(no_code.validate().map_err(|(i, _)| i), Err(1));
    }

    #[test]
    fn a_duplicate_is_found_and_read_naively_as_unknown() {
        let dup = rules(serde_json::json!([{"status": 409, "outcome": "duplicate"}]));
        let dup_answer = answer(409, None, None);
        assert_eq!(
            dup.find(&dup_answer).map(|r| r.outcome),
            Some(RuleOutcome::Duplicate)
        );
        // Read naively, a duplicate may have been applied: never NotSent, never a refusal.
        assert!(matches!(
            dup.classify(&dup_answer, Some(&msisdn())),
            Some(AdapterError::Unknown(_))
        ));
    }

    #[test]
    fn operations_scope_a_rule_and_fixed_answers_and_reasons_are_used() {
        let r = rules(serde_json::json!([
            {"operations": ["status"], "status": 404, "outcome": "not_found"},
            {"status": 404, "code": "unknown_number", "outcome": "refused",
             "error": "IDENTIFIER_NOT_FOUND", "answer": "No operator serves this phone number."},
            {"status": "5xx", "outcome": "unknown", "reason": "the provider failed"}
        ]));
        let on = |op, status, code| FailedAnswer {
            operation: Some(op),
            status,
            code,
            message: Some("line 79161234567 unknown"),
        };
        assert_eq!(r.position(&on("status", 404, None)), Some(0));
        assert_eq!(
            r.position(&on("topup", 404, Some("unknown_number"))),
            Some(1)
        );
        assert_eq!(
            r.position(&on("topup", 404, None)),
            None,
            "scoped to status"
        );
        let Some(AdapterError::Refused(e)) =
            r.classify(&on("topup", 404, Some("unknown_number")), None)
        else {
            panic!("refused")
        };
        assert_eq!(e.message, "No operator serves this phone number.");
        let Some(AdapterError::Unknown(why)) =
            r.classify(&on("topup", 500, Some("internal_error")), None)
        else {
            panic!("unknown")
        };
        assert_eq!(why, "the provider failed (upstream 500 internal_error)");
        let Some(AdapterError::Unknown(why)) =
            r.classify(&on("topup", 502, Some("Boom +7916")), None)
        else {
            panic!("unknown")
        };
        assert!(why.ends_with("with a non-standard code)"), "{why}");
    }

    #[test]
    fn without_the_subscriber_an_upstream_message_is_not_passed_on() {
        let r = rules(serde_json::json!([
            {"status": 402, "outcome": "refused", "error": "CARRIER_BILLING.PAYMENT_DENIED"}
        ]));
        let Some(AdapterError::Refused(e)) =
            r.classify(&answer(402, None, Some("denied for 79161234567")), None)
        else {
            panic!("refused")
        };
        assert_eq!(e.message, ErrorCode::PaymentDenied.default_message());
    }
}
