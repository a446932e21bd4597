//! Between outbox values and what the outbox scripts take and answer: the events' arguments (so
//! Lua only copies JSON, never parses it), claimed deliveries and dead letters.

use chrono::{DateTime, Utc};
use redis::Value;
use serde::{Deserialize, Serialize};

use super::codec::{array, bytes, score};
use super::keys;
use crate::{
    DeadLetter, Delivery, Endpoint, EventTarget, OutboxEvent, StoreError, WebhookEndpoint,
};

/// What every delivery of one event shares, as the stream entry's `ev` field.
#[derive(Serialize, Deserialize)]
struct EventPart {
    event_id: String,
    event_type: String,
    merchant_id: String,
    created_at: DateTime<Utc>,
    correlator: Option<String>,
    body: String,
}

impl EventPart {
    fn of(event: &OutboxEvent) -> EventPart {
        EventPart {
            event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            merchant_id: event.merchant_id.clone(),
            created_at: event.created_at,
            correlator: event.correlator.clone(),
            body: event.body.clone(),
        }
    }
}

fn encode_json<T: Serialize>(value: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode {what}: {e}")))
}

fn decode_json<'a, T: Deserialize<'a>>(text: &'a str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("undecodable {what}: {e}")))
}

/// The events' part of an update script's ARGV (see outbox.lua): their count, then 8 fields each.
pub(crate) fn events_argv(events: &[OutboxEvent]) -> Result<Vec<String>, StoreError> {
    let mut argv = Vec::with_capacity(1 + 8 * events.len());
    argv.push(events.len().to_string());
    for event in events {
        let (kind, endpoint_id, address, expiry) = match &event.target {
            EventTarget::Sink { endpoint } => (
                "sink",
                endpoint.id.clone(),
                encode_json(endpoint, "endpoint")?,
                endpoint
                    .bearer_expires_at
                    .map(|t| score(t).to_string())
                    .unwrap_or_default(),
            ),
            EventTarget::MerchantEndpoints => ("fan", String::new(), String::new(), String::new()),
        };
        argv.extend([
            kind.to_string(),
            event.subject.clone(),
            keys::encode(&event.event_type),
            score(event.created_at).to_string(),
            encode_json(&EventPart::of(event), "event")?,
            endpoint_id,
            address,
            expiry,
        ]);
    }
    Ok(argv)
}

/// What webhook_put.lua stores for an endpoint: its JSON, creation score, the endpoint JSON its
/// deliveries carry and its event filter.
pub(crate) fn endpoint_argv(endpoint: &WebhookEndpoint) -> Result<Vec<String>, StoreError> {
    let stored = WebhookEndpoint {
        stopped: false,
        ..endpoint.clone()
    };
    let target = crate::outbox_rules::delivery_endpoint(endpoint);
    let filter = if endpoint.events.is_empty() {
        String::new()
    } else {
        let types: Vec<String> = endpoint.events.iter().map(|t| keys::encode(t)).collect();
        format!(" {} ", types.join(" "))
    };
    Ok(vec![
        endpoint.id.clone(),
        encode_json(&stored, "webhook endpoint")?,
        score(endpoint.created_at).to_string(),
        encode_json(&target, "endpoint")?,
        filter,
    ])
}

/// One delivery as the scripts keep it, every part still text.
struct Parts {
    id: String,
    event: String,
    endpoint: String,
    subject: String,
    attempts: String,
    next_attempt_us: String,
    last_error: Option<String>,
}

fn instant(micros: &str) -> Result<DateTime<Utc>, StoreError> {
    micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| StoreError::Corrupt("unreadable outbox time".into()))
}

impl Parts {
    fn delivery(self) -> Result<Delivery, StoreError> {
        let event: EventPart = decode_json(&self.event, "outbox event")?;
        let endpoint: Endpoint = decode_json(&self.endpoint, "outbox endpoint")?;
        let attempts = self
            .attempts
            .parse()
            .map_err(|_| StoreError::Corrupt("unreadable delivery attempts".into()))?;
        Ok(Delivery {
            id: self.id,
            event_id: event.event_id,
            event_type: event.event_type,
            merchant_id: event.merchant_id,
            subject: self.subject,
            created_at: event.created_at,
            correlator: event.correlator,
            body: event.body,
            endpoint,
            attempts,
            next_attempt_at: instant(&self.next_attempt_us)?,
            last_error: self.last_error,
        })
    }
}

fn text(value: Option<&Value>) -> Result<String, StoreError> {
    let raw =
        value.ok_or_else(|| StoreError::Corrupt("short reply from an outbox script".into()))?;
    String::from_utf8(bytes(raw)?)
        .map_err(|_| StoreError::Corrupt("outbox text is not UTF-8".into()))
}

/// Reply of outbox_claim.lua: `{id, event, endpoint, subject, attempts, next (µs), has error,
/// error}` per delivery.
pub(crate) fn claimed(reply: Value) -> Result<Vec<Delivery>, StoreError> {
    array(reply)?
        .into_iter()
        .map(|item| {
            let f = array(item)?;
            let has_error = text(f.get(6))? == "1";
            Parts {
                id: text(f.first())?,
                event: text(f.get(1))?,
                endpoint: text(f.get(2))?,
                subject: text(f.get(3))?,
                attempts: text(f.get(4))?,
                next_attempt_us: text(f.get(5))?,
                last_error: if has_error {
                    Some(text(f.get(7))?)
                } else {
                    None
                },
            }
            .delivery()
        })
        .collect()
}

/// A dead letter as outbox_work.lua's `bury` writes it: a flat object of strings.
#[derive(Deserialize)]
struct StoredDeadLetter {
    id: String,
    s: String,
    ev: String,
    ep: String,
    a: String,
    n: String,
    err: Option<String>,
    r: String,
    f: String,
}

/// Values of the dead-letter hash (`HVALS`), in no particular order.
pub(crate) fn dead_letters(reply: Value) -> Result<Vec<DeadLetter>, StoreError> {
    array(reply)?
        .iter()
        .map(|value| {
            let raw = text(Some(value))?;
            let stored: StoredDeadLetter = decode_json(&raw, "dead letter")?;
            let delivery = Parts {
                id: stored.id,
                event: stored.ev,
                endpoint: stored.ep,
                subject: stored.s,
                attempts: stored.a,
                next_attempt_us: stored.n,
                last_error: stored.err,
            }
            .delivery()?;
            Ok(DeadLetter {
                delivery,
                reason: stored.r,
                failed_at: instant(&stored.f)?,
            })
        })
        .collect()
}

/// Reply of webhook_list.lua: `{JSON, stopped '1'/'0', ...}`.
pub(crate) fn endpoints(reply: Value) -> Result<Vec<WebhookEndpoint>, StoreError> {
    let items = array(reply)?;
    items
        .chunks(2)
        .map(|pair| {
            if matches!(pair.first(), None | Some(Value::Nil)) {
                return Err(StoreError::Corrupt(
                    "webhook order names a missing endpoint".into(),
                ));
            }
            let json = text(pair.first())?;
            let mut endpoint: WebhookEndpoint = decode_json(&json, "webhook endpoint")?;
            endpoint.stopped = text(pair.get(1))? == "1";
            Ok(endpoint)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn event(target: EventTarget) -> OutboxEvent {
        OutboxEvent {
            event_id: "e1".into(),
            event_type: "topup.completed".into(),
            merchant_id: "m1".into(),
            subject: "topup:t1".into(),
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            correlator: Some("c".into()),
            body: "{\"a\":1}".into(),
            target,
        }
    }

    #[test]
    fn events_become_eight_fields_each() {
        assert_eq!(events_argv(&[]).unwrap(), ["0"]);
        let expires = Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap();
        let sink = event(EventTarget::Sink {
            endpoint: Endpoint {
                id: "sink:https://x".into(),
                url: "https://x".into(),
                bearer: Some("secret".into()),
                bearer_expires_at: Some(expires),
            },
        });
        let argv = events_argv(&[sink, event(EventTarget::MerchantEndpoints)]).unwrap();
        assert_eq!(argv.len(), 17);
        assert_eq!(argv[0], "2");
        assert_eq!(&argv[1..4], ["sink", "topup:t1", "topup.completed"]);
        assert_eq!(argv[6], "sink:https://x");
        assert_eq!(argv[8], score(expires).to_string());
        assert_eq!(&argv[9..11], ["fan", "topup:t1"]);
        assert_eq!(&argv[14..17], ["", "", ""]);
    }

    #[test]
    fn filters_frame_encoded_types_with_spaces() {
        let mut endpoint = WebhookEndpoint {
            id: "w1".into(),
            url: "https://x".into(),
            events: vec![],
            description: None,
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            stopped: true,
        };
        assert_eq!(endpoint_argv(&endpoint).unwrap()[4], "");
        endpoint.events = vec!["topup.failed".into(), "a b".into()];
        let argv = endpoint_argv(&endpoint).unwrap();
        assert_eq!(argv[4], " topup.failed a%20b ");
        assert!(!argv[1].contains("\"stopped\":true"), "{}", argv[1]);
    }

    #[test]
    fn malformed_replies_are_corrupt_not_panics() {
        for reply in [
            Value::Nil,
            Value::Array(vec![Value::Array(vec![bulk("1-0")])]),
            Value::Array(vec![Value::Array(vec![
                bulk("1-0"),
                bulk("{"),
                bulk("{}"),
                bulk("s"),
                bulk("0"),
                bulk("0"),
                bulk("0"),
                bulk(""),
            ])]),
        ] {
            assert!(matches!(claimed(reply), Err(StoreError::Corrupt(_))));
        }
        for reply in [
            Value::Array(vec![bulk("{}")]),
            Value::Array(vec![Value::Int(1)]),
        ] {
            assert!(matches!(dead_letters(reply), Err(StoreError::Corrupt(_))));
        }
        assert!(matches!(
            endpoints(Value::Array(vec![Value::Nil, bulk("0")])),
            Err(StoreError::Corrupt(_))
        ));
        assert!(claimed(Value::Array(vec![])).unwrap().is_empty());
    }
}
