//! The provider's events, as its webhook delivers them to Switchboard's callback address.
//!
//! `POST {callback url}` with the Standard Webhooks headers `webhook-id`, `webhook-timestamp`,
//! `webhook-signature` (HMAC-SHA256 with the secret registered in `webhooks.rs`) and the body
//! `{"id","type","created_at","data"}`: `type` is `topup.pending`, `topup.completed` or
//! `topup.failed`, `data` the transaction exactly as `GET /telecom/topup/{tx_id}` answers it.
//!
//! The signature and a timestamp within [`DEFAULT_TOLERANCE_SECS`] of now are checked first;
//! only then is the body read, like a status answer. Switchboard's top-up id comes back from
//! `data.external_tx_id` (our upstream reference, `sb-<id>`).

use serde::Deserialize;
use serde_json::Value;
use switchboard_adapter::signing::standard_webhooks::{
    verify, DEFAULT_TOLERANCE_SECS, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};
use switchboard_adapter::{
    CallbackError, CallbackNotice, CallbackRequest, CallbackSettings, UpstreamTopUp,
};
use switchboard_core::{TopUpRecord, TopUpStatus};

use crate::transformers::TransactionAnswer;

/// Event `type` → the status its `data` must carry.
pub const EVENTS: &[(&str, TopUpStatus)] = &[
    ("topup.pending", TopUpStatus::Pending),
    ("topup.completed", TopUpStatus::Completed),
    ("topup.failed", TopUpStatus::Failed),
];

/// The envelope fields we read.
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default, rename = "type")]
    event_type: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

fn malformed(why: impl Into<String>) -> CallbackError {
    CallbackError::Malformed(why.into())
}

/// Verifies and reads one event; `now` is the receiver's clock (Unix seconds).
pub fn parse(
    settings: Option<&CallbackSettings>,
    request: &CallbackRequest,
    now: i64,
) -> Result<CallbackNotice, CallbackError> {
    let settings = settings.ok_or(CallbackError::Unsupported)?;
    let header = |name| request.header(name).ok_or(CallbackError::Unauthenticated);
    let (id, timestamp, signature) = (
        header(HEADER_ID)?,
        header(HEADER_TIMESTAMP)?,
        header(HEADER_SIGNATURE)?,
    );
    verify(
        &settings.signing_secret(),
        id,
        timestamp,
        signature,
        &request.body,
        now,
        DEFAULT_TOLERANCE_SECS,
    )
    .map_err(|_| CallbackError::Unauthenticated)?;

    let event: Event = serde_json::from_slice(&request.body).map_err(|e| {
        malformed(format!(
            "unreadable event (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let event_type = event.event_type.as_deref().unwrap_or_default();
    let expected = EVENTS
        .iter()
        .find(|(name, _)| *name == event_type)
        .map(|(_, status)| *status)
        .ok_or_else(|| malformed("unknown event type"))?;
    let answer: TransactionAnswer = match event.data {
        Some(data @ Value::Object(_)) => {
            serde_json::from_value(data).map_err(|_| malformed("unreadable data"))?
        }
        _ => return Err(malformed("no data object")),
    };
    let prefix = TopUpRecord::upstream_reference_for("");
    let tx_id = answer
        .external_tx_id()
        .and_then(|reference| reference.strip_prefix(prefix.as_str()))
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| malformed("data.external_tx_id is not a Switchboard reference"))?;
    let update = UpstreamTopUp::try_from(answer).map_err(|e| malformed(e.to_string()))?;
    if update.status != expected {
        return Err(malformed("the event type and data.status disagree"));
    }
    Ok(CallbackNotice::TopUp { tx_id, update })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchboard_adapter::signing::standard_webhooks::sign;

    const NOW: i64 = 1_780_000_000;

    fn settings() -> CallbackSettings {
        CallbackSettings {
            url: "https://sb.example/callbacks/globaltopup".into(),
            key: b"callback-key".to_vec(),
        }
    }

    fn transaction(status: &str, external: &str) -> Value {
        let mut tx = json!({"tx_id": "tel_1", "external_tx_id": external, "status": status,
            "phone": "79161234586", "operator_id": "mts-ru", "product_id": "mts-ru-topup",
            "amount": 100, "currency": "RUB", "created_at": "2026-01-01T00:00:00Z"});
        match status {
            "completed" => {
                tx["operator_tx_id"] = json!("MTS-20260101-00001");
                tx["credited"] = json!({"amount": 100, "currency": "RUB"});
                tx["completed_at"] = json!("2026-01-01T00:00:01Z");
            }
            "failed" => tx["failure_reason"] = json!("operator declined the top-up"),
            _ => {}
        }
        tx
    }

    /// An event signed as the provider signs it, at `timestamp`.
    fn signed(event_type: &str, data: Value, timestamp: i64) -> CallbackRequest {
        let body = serde_json::to_vec(&json!({"id": "evt-1", "type": event_type,
            "created_at": "2026-01-01T00:00:01Z", "data": data}))
        .unwrap();
        let signature = sign(&settings().signing_secret(), "evt-1", timestamp, &body).unwrap();
        CallbackRequest {
            headers: vec![
                ("webhook-id".into(), "evt-1".into()),
                ("webhook-timestamp".into(), timestamp.to_string()),
                ("webhook-signature".into(), signature),
            ],
            query: String::new(),
            body,
        }
    }

    fn read(request: &CallbackRequest) -> Result<CallbackNotice, CallbackError> {
        parse(Some(&settings()), request, NOW)
    }

    #[test]
    fn event_table() {
        for (event_type, status) in EVENTS {
            let data = transaction(status.as_str(), "sb-t1");
            let CallbackNotice::TopUp { tx_id, update } =
                read(&signed(event_type, data, NOW)).unwrap()
            else {
                panic!("{event_type}: not a top-up notice")
            };
            assert_eq!(tx_id, "t1");
            assert_eq!(update.status, *status);
            assert_eq!(update.upstream_tx_id.as_deref(), Some("tel_1"));
            assert_eq!(
                update.completed_at.is_some(),
                *status == TopUpStatus::Completed
            );
            assert_eq!(update.credited.is_some(), *status == TopUpStatus::Completed);
            assert_eq!(
                update.failure_reason.is_some(),
                *status == TopUpStatus::Failed
            );
        }
    }

    #[test]
    fn the_signature_and_its_age_are_checked_first() {
        let good = signed("topup.completed", transaction("completed", "sb-t1"), NOW);
        assert!(read(&good).is_ok());
        // Tampered body (even to something unreadable), missing headers, another secret.
        let mut tampered = good.clone();
        tampered.body = String::from_utf8(good.body.clone())
            .unwrap()
            .replace("completed", "failed")
            .into_bytes();
        assert_eq!(read(&tampered), Err(CallbackError::Unauthenticated));
        tampered.body = b"garbage".to_vec();
        assert_eq!(read(&tampered), Err(CallbackError::Unauthenticated));
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            let mut missing = good.clone();
            missing.headers.retain(|(n, _)| n != name);
            assert_eq!(
                read(&missing),
                Err(CallbackError::Unauthenticated),
                "{name}"
            );
        }
        let other = CallbackSettings {
            url: "https://sb.example/callbacks/other".into(),
            ..settings()
        };
        assert_eq!(
            parse(Some(&other), &good, NOW),
            Err(CallbackError::Unauthenticated)
        );
        // Signed properly, but too old or too far ahead.
        for skew in [-301, 301] {
            let stale = signed(
                "topup.completed",
                transaction("completed", "sb-t1"),
                NOW + skew,
            );
            assert_eq!(read(&stale), Err(CallbackError::Unauthenticated), "{skew}");
        }
        let near = signed(
            "topup.completed",
            transaction("completed", "sb-t1"),
            NOW - 299,
        );
        assert!(read(&near).is_ok());
        assert_eq!(parse(None, &good, NOW), Err(CallbackError::Unsupported));
    }

    #[test]
    fn authenticated_but_unreadable_is_malformed() {
        for request in [
            signed(
                "topup.completed",
                transaction("completed", "merchant-1"),
                NOW,
            ),
            signed("topup.completed", transaction("completed", "sb-"), NOW),
            signed("topup.completed", transaction("failed", "sb-t1"), NOW),
            signed("topup.refunded", transaction("completed", "sb-t1"), NOW),
            signed("topup.completed", transaction("teleported", "sb-t1"), NOW),
            signed("topup.completed", json!("text"), NOW),
        ] {
            assert!(
                matches!(read(&request), Err(CallbackError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(&request.body)
            );
        }
    }
}
