//! A 2xx answer → Switchboard's view, through the configured JSON pointers and status maps.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use switchboard_adapter::sanitize::scrub_reason;
use switchboard_adapter::{AdapterError, UpstreamPayment, UpstreamRefund};
use switchboard_core::{PaymentStatus, RefundStatus};

use crate::spec::{AmountUnits, ResponseSpec, StatusMap};

/// The text at `pointer` (strings as they are, numbers written out).
pub fn text_at(body: &Value, pointer: &str) -> Option<String> {
    match body.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What every answer must agree with: the request that was sent.
pub struct Expected<'a> {
    pub idempotency_key: &'a str,
    /// The amount sent, in major units.
    pub amount: Decimal,
    pub minor_unit_digits: u32,
}

/// The fields common to payments and refunds.
struct Read {
    word: String,
    upstream_id: Option<String>,
    date: Option<DateTime<Utc>>,
    denial_reason: Option<String>,
    server_reference: Option<String>,
}

fn read(
    body: &Value,
    spec: &ResponseSpec,
    expected: Option<&Expected<'_>>,
) -> Result<Read, AdapterError> {
    let word = text_at(body, &spec.status)
        .ok_or_else(|| AdapterError::Unknown(format!("answer has no status at {}", spec.status)))?;
    if let (Some(p), Some(exp)) = (&spec.idempotency_key, expected) {
        let got = text_at(body, p);
        if got.as_deref() != Some(exp.idempotency_key) {
            return Err(AdapterError::Unknown(
                "the answer is about another transaction (idempotency key differs)".into(),
            ));
        }
    }
    if let (Some(p), Some(exp)) = (&spec.amount, expected) {
        let got = text_at(body, p).and_then(|t| Decimal::from_str(&t).ok());
        let want = match spec.amount_units {
            AmountUnits::Major => exp.amount,
            AmountUnits::Minor => exp.amount * Decimal::from(10u64.pow(exp.minor_unit_digits)),
        };
        if got.map(|g| g.normalize()) != Some(want.normalize()) {
            return Err(AdapterError::Unknown(
                "the answer reports another amount than was sent".into(),
            ));
        }
    }
    let date = spec
        .date
        .as_ref()
        .and_then(|p| text_at(body, p))
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|d| d.with_timezone(&Utc));
    Ok(Read {
        word,
        upstream_id: spec.upstream_id.as_ref().and_then(|p| text_at(body, p)),
        date,
        denial_reason: spec
            .denial_reason
            .as_ref()
            .and_then(|p| text_at(body, p))
            .and_then(|t| scrub_reason(&t)),
        server_reference: spec
            .server_reference
            .as_ref()
            .and_then(|p| text_at(body, p)),
    })
}

fn unmapped(word: &str) -> AdapterError {
    // The word is upstream text: bounded, and never a number.
    let word: String = word
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect();
    AdapterError::Unknown(format!("upstream status '{word}' is not in the status map"))
}

pub fn payment(
    body: &Value,
    spec: &ResponseSpec,
    statuses: &StatusMap<PaymentStatus>,
    expected: Option<&Expected<'_>>,
) -> Result<UpstreamPayment, AdapterError> {
    let r = read(body, spec, expected)?;
    let status = statuses.get(&r.word).ok_or_else(|| unmapped(&r.word))?;
    Ok(UpstreamPayment {
        upstream_id: r.upstream_id,
        status,
        server_reference_code: r.server_reference,
        validation_info: None,
        payment_date: r.date.filter(|_| status == PaymentStatus::Succeeded),
        denial_reason: r.denial_reason.filter(|_| status == PaymentStatus::Denied),
    })
}

pub fn refund(
    body: &Value,
    spec: &ResponseSpec,
    statuses: &StatusMap<RefundStatus>,
    expected: Option<&Expected<'_>>,
) -> Result<UpstreamRefund, AdapterError> {
    let r = read(body, spec, expected)?;
    let status = statuses.get(&r.word).ok_or_else(|| unmapped(&r.word))?;
    Ok(UpstreamRefund {
        upstream_id: r.upstream_id,
        status,
        refund_date: r.date.filter(|_| status == RefundStatus::Succeeded),
        denial_reason: r.denial_reason.filter(|_| status == RefundStatus::Denied),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::StatusMatching;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn spec() -> ResponseSpec {
        serde_json::from_value(json!({
            "status": "/status", "upstream_id": "/charge_id", "idempotency_key": "/merchant_tx_id",
            "amount": "/amount", "amount_units": "minor", "date": "/updated_at",
            "denial_reason": "/error/message"
        }))
        .unwrap()
    }

    fn statuses_matching(matching: StatusMatching) -> StatusMap<PaymentStatus> {
        let words = BTreeMap::from([
            ("SUCCESS".into(), PaymentStatus::Succeeded),
            ("FAILED".into(), PaymentStatus::Denied),
            ("PENDING".into(), PaymentStatus::Processing),
            ("IN_PROGRESS".into(), PaymentStatus::Processing),
        ]);
        StatusMap::compile("statuses", &words, matching).unwrap()
    }

    fn statuses() -> StatusMap<PaymentStatus> {
        statuses_matching(StatusMatching::Exact)
    }

    #[test]
    fn loose_status_words_ignore_case_and_separators() {
        let body = |word: &str| json!({"status": word, "merchant_tx_id": "sb-1", "amount": 250});
        let loose = statuses_matching(StatusMatching::Loose);
        for word in [
            "success",
            "Success",
            "in-progress",
            "InProgress",
            "in progress",
        ] {
            assert!(
                payment(&body(word), &spec(), &loose, Some(&expected())).is_ok(),
                "{word}"
            );
            assert!(
                payment(&body(word), &spec(), &statuses(), Some(&expected())).is_err(),
                "exact: {word}"
            );
        }
    }

    fn expected() -> Expected<'static> {
        Expected {
            idempotency_key: "sb-1",
            amount: Decimal::from_str("2.5").unwrap(),
            minor_unit_digits: 2,
        }
    }

    #[test]
    fn maps_status_id_date_and_checks_identity() {
        let body = json!({"status": "SUCCESS", "charge_id": "chg_1", "merchant_tx_id": "sb-1",
                          "amount": 250, "updated_at": "2026-01-01T00:00:00Z"});
        let p = payment(&body, &spec(), &statuses(), Some(&expected())).unwrap();
        assert_eq!(p.status, PaymentStatus::Succeeded);
        assert_eq!(p.upstream_id.as_deref(), Some("chg_1"));
        assert!(p.payment_date.is_some());
        let other = json!({"status": "SUCCESS", "merchant_tx_id": "sb-2", "amount": 250});
        assert!(matches!(
            payment(&other, &spec(), &statuses(), Some(&expected())),
            Err(AdapterError::Unknown(_))
        ));
        let more = json!({"status": "SUCCESS", "merchant_tx_id": "sb-1", "amount": 2500});
        assert!(matches!(
            payment(&more, &spec(), &statuses(), Some(&expected())),
            Err(AdapterError::Unknown(_))
        ));
    }

    #[test]
    fn denial_reasons_are_scrubbed_and_unknown_words_are_unknown() {
        let body = json!({"status": "FAILED", "merchant_tx_id": "sb-1", "amount": 250,
                          "error": {"message": "denied for 393400000088"}});
        let p = payment(&body, &spec(), &statuses(), Some(&expected())).unwrap();
        assert_eq!(p.status, PaymentStatus::Denied);
        assert!(!p.denial_reason.unwrap().contains("393400000088"));
        let odd = json!({"status": "WEIRD", "merchant_tx_id": "sb-1", "amount": 250});
        assert!(matches!(
            payment(&odd, &spec(), &statuses(), Some(&expected())),
            Err(AdapterError::Unknown(_))
        ));
    }
}
