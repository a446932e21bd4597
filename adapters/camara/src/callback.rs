//! Operator notifications: the `sink` + `sinkCredential` Switchboard asks for with each payment and
//! refund, and the CloudEvents the operator sends there.
//!
//! - **Asking**: when the gateway gave the channel callback settings, create / prepare / refund
//!   bodies carry `sink` = `{callback url}?ref=<reference>` and an `ACCESSTOKEN` credential whose
//!   bearer token is the HMAC of that reference ([`CallbackSettings::target`]). The token's
//!   `accessTokenExpiresUtc` is the resource's creation time plus [`TOKEN_VALIDITY_DAYS`], so a
//!   replay of the request (same `clientCorrelator`) sends exactly the same body.
//! - **Reading**: the bearer must be the token of the `ref` in the query (checked first, before
//!   the body is looked at); then the CloudEvent's `type` decides the status ([`PAYMENT_EVENTS`],
//!   [`REFUND_EVENTS`]) and `data` gives the operator's ids, dates and denial reason.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_adapter::sanitize::scrub_reason;
use switchboard_adapter::{
    CallbackError, CallbackNotice, CallbackRef, CallbackRequest, CallbackSettings, UpstreamPayment,
    UpstreamRefund,
};
use switchboard_core::{PaymentStatus, RefundStatus};

/// How long the sink token is announced as valid: longer than any payment or refund lives.
pub const TOKEN_VALIDITY_DAYS: i64 = 30;

/// CloudEvent `type` → payment status (Carrier Billing v0.5, event version `v0`).
pub const PAYMENT_EVENTS: &[(&str, PaymentStatus)] = &[
    (
        "org.camaraproject.carrier-billing.v0.payment-pending-validation",
        PaymentStatus::PendingValidation,
    ),
    (
        "org.camaraproject.carrier-billing.v0.payment-reserved",
        PaymentStatus::Reserved,
    ),
    (
        "org.camaraproject.carrier-billing.v0.payment-completed",
        PaymentStatus::Succeeded,
    ),
    (
        "org.camaraproject.carrier-billing.v0.payment-cancelled",
        PaymentStatus::Cancelled,
    ),
    (
        "org.camaraproject.carrier-billing.v0.payment-denied",
        PaymentStatus::Denied,
    ),
];

/// CloudEvent `type` → refund status (Carrier Billing Refund v0.3, event version `v0`).
/// `refund-in-bill` ("will be applied in the next bill") is accepted and not final yet.
pub const REFUND_EVENTS: &[(&str, RefundStatus)] = &[
    (
        "org.camaraproject.carrier-billing-refund.v0.refund-completed",
        RefundStatus::Succeeded,
    ),
    (
        "org.camaraproject.carrier-billing-refund.v0.refund-denied",
        RefundStatus::Denied,
    ),
    (
        "org.camaraproject.carrier-billing-refund.v0.refund-in-bill",
        RefundStatus::Processing,
    ),
];

/// `sinkCredential` of type `ACCESSTOKEN` (the only one CAMARA allows).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SinkCredential {
    pub credential_type: &'static str,
    pub access_token: String,
    pub access_token_type: &'static str,
    pub access_token_expires_utc: String,
}

/// The `sink` and `sinkCredential` of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Sink {
    pub url: String,
    pub credential: SinkCredential,
}

/// What to ask the operator for `reference`, created at `created_at`; `None` without callbacks.
pub fn sink(
    settings: Option<&CallbackSettings>,
    reference: &CallbackRef,
    created_at: DateTime<Utc>,
) -> Option<Sink> {
    let target = settings?.target(reference);
    let expires = created_at + TimeDelta::days(TOKEN_VALIDITY_DAYS);
    Some(Sink {
        url: target.url,
        credential: SinkCredential {
            credential_type: "ACCESSTOKEN",
            access_token: target.token,
            access_token_type: "bearer",
            access_token_expires_utc: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
        },
    })
}

/// The fields of a CloudEvent we read (others are ignored).
#[derive(Debug, Deserialize)]
struct CloudEvent {
    #[serde(default)]
    specversion: Option<String>,
    #[serde(default, rename = "type")]
    event_type: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

/// `data` of payment and refund events (BasicEvent and its extensions).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventData {
    #[serde(default)]
    payment_id: Option<String>,
    #[serde(default)]
    refund_id: Option<String>,
    #[serde(default)]
    payment_date: Option<String>,
    #[serde(default)]
    refund_date: Option<String>,
    #[serde(default)]
    denial_reason: Option<String>,
}

fn malformed(why: impl Into<String>) -> CallbackError {
    CallbackError::Malformed(why.into())
}

/// Verifies and reads one notification sent to `{callback url}?ref=…`.
pub fn parse(
    settings: Option<&CallbackSettings>,
    request: &CallbackRequest,
) -> Result<CallbackNotice, CallbackError> {
    let settings = settings.ok_or(CallbackError::Unsupported)?;
    let encoded = request
        .query_param("ref")
        .ok_or(CallbackError::Unauthenticated)?;
    let token = request.bearer().ok_or(CallbackError::Unauthenticated)?;
    if !settings.verify(&encoded, token) {
        return Err(CallbackError::Unauthenticated);
    }
    let reference =
        CallbackRef::decode(&encoded).ok_or_else(|| malformed("unknown callback reference"))?;
    let event: CloudEvent = serde_json::from_slice(&request.body).map_err(|e| {
        malformed(format!(
            "unreadable CloudEvent (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if event.specversion.as_deref() != Some("1.0") {
        return Err(malformed("specversion is not 1.0"));
    }
    let event_type = event
        .event_type
        .as_deref()
        .ok_or_else(|| malformed("no type"))?;
    let data: EventData = match event.data {
        Some(value @ Value::Object(_)) => {
            serde_json::from_value(value).map_err(|_| malformed("unreadable data"))?
        }
        _ => return Err(malformed("no data object")),
    };
    match reference {
        CallbackRef::Payment {
            merchant_id,
            payment_id,
        } => Ok(CallbackNotice::Payment {
            merchant_id,
            payment_id,
            update: payment_update(event_type, data)?,
        }),
        CallbackRef::Refund {
            merchant_id,
            payment_id,
            refund_id,
        } => Ok(CallbackNotice::Refund {
            merchant_id,
            payment_id,
            refund_id,
            update: refund_update(event_type, data)?,
        }),
    }
}

fn lookup<S: Copy>(table: &[(&str, S)], event_type: &str) -> Option<S> {
    table
        .iter()
        .find(|(name, _)| *name == event_type)
        .map(|(_, status)| *status)
}

fn date(text: Option<&str>, field: &str) -> Result<Option<DateTime<Utc>>, CallbackError> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| malformed(format!("{field} is not RFC 3339")))
    })
    .transpose()
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

fn payment_update(event_type: &str, data: EventData) -> Result<UpstreamPayment, CallbackError> {
    let status = lookup(PAYMENT_EVENTS, event_type).ok_or_else(|| {
        if lookup(REFUND_EVENTS, event_type).is_some() {
            malformed("a refund event for a payment")
        } else {
            malformed("unknown payment event type")
        }
    })?;
    let upstream_id = non_empty(data.payment_id).ok_or_else(|| malformed("no data.paymentId"))?;
    let payment_date = date(data.payment_date.as_deref(), "data.paymentDate")?;
    if status == PaymentStatus::Succeeded && payment_date.is_none() {
        return Err(malformed("payment-completed without data.paymentDate"));
    }
    Ok(UpstreamPayment {
        upstream_id: Some(upstream_id),
        status,
        server_reference_code: None,
        validation_info: None,
        payment_date: payment_date.filter(|_| status == PaymentStatus::Succeeded),
        denial_reason: data
            .denial_reason
            .as_deref()
            .and_then(scrub_reason)
            .filter(|_| status == PaymentStatus::Denied),
    })
}

fn refund_update(event_type: &str, data: EventData) -> Result<UpstreamRefund, CallbackError> {
    let status = lookup(REFUND_EVENTS, event_type).ok_or_else(|| {
        if lookup(PAYMENT_EVENTS, event_type).is_some() {
            malformed("a payment event for a refund")
        } else {
            malformed("unknown refund event type")
        }
    })?;
    let upstream_id = non_empty(data.refund_id).ok_or_else(|| malformed("no data.refundId"))?;
    let refund_date = date(data.refund_date.as_deref(), "data.refundDate")?;
    if status == RefundStatus::Succeeded && refund_date.is_none() {
        return Err(malformed("refund-completed without data.refundDate"));
    }
    Ok(UpstreamRefund {
        upstream_id: Some(upstream_id),
        status,
        refund_date: refund_date.filter(|_| status == RefundStatus::Succeeded),
        denial_reason: data
            .denial_reason
            .as_deref()
            .and_then(scrub_reason)
            .filter(|_| status == RefundStatus::Denied),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings() -> CallbackSettings {
        CallbackSettings {
            url: "https://sb.example/callbacks/movistar".into(),
            key: b"callback-key".to_vec(),
        }
    }

    fn payment_ref(id: &str) -> CallbackRef {
        CallbackRef::Payment {
            merchant_id: "m1".into(),
            payment_id: id.into(),
        }
    }

    fn refund_ref() -> CallbackRef {
        CallbackRef::Refund {
            merchant_id: "m1".into(),
            payment_id: "p1".into(),
            refund_id: "r1".into(),
        }
    }

    /// A notification as the operator sends it to the sink of `reference`.
    fn request(reference: &CallbackRef, event_type: &str, data: Value) -> CallbackRequest {
        let s = settings();
        let target = s.target(reference);
        let query = target.url.split_once('?').map(|(_, q)| q).unwrap_or("");
        CallbackRequest {
            headers: vec![(
                "authorization".into(),
                format!("Bearer {}", target.token),
            )],
            query: query.into(),
            body: serde_json::to_vec(&json!({
                "id": "e1", "source": "https://op.example", "type": event_type, "specversion": "1.0",
                "time": "2026-01-01T00:00:00Z", "datacontenttype": "application/json", "data": data
            }))
            .unwrap(),
        }
    }

    fn read(req: &CallbackRequest) -> Result<CallbackNotice, CallbackError> {
        parse(Some(&settings()), req)
    }

    #[test]
    fn asks_for_a_bearer_sink_that_replays_identically() {
        let created: DateTime<Utc> = "2026-01-01T10:00:00Z".parse().unwrap();
        let s = settings();
        let sink = sink(Some(&s), &payment_ref("p1"), created).unwrap();
        assert_eq!(sink.url, s.target(&payment_ref("p1")).url);
        assert!(sink.url.contains("?ref=p."));
        assert_eq!(sink.credential.credential_type, "ACCESSTOKEN");
        assert_eq!(sink.credential.access_token_type, "bearer");
        assert_eq!(
            sink.credential.access_token_expires_utc,
            "2026-01-31T10:00:00Z"
        );
        let again = super::sink(Some(&s), &payment_ref("p1"), created).unwrap();
        assert_eq!(again, sink);
        assert!(super::sink(None, &payment_ref("p1"), created).is_none());
        assert_eq!(
            serde_json::to_value(&sink.credential).unwrap()["accessTokenExpiresUtc"],
            "2026-01-31T10:00:00Z"
        );
    }

    #[test]
    fn payment_event_table() {
        let cases = [
            (
                "payment-pending-validation",
                PaymentStatus::PendingValidation,
            ),
            ("payment-reserved", PaymentStatus::Reserved),
            ("payment-completed", PaymentStatus::Succeeded),
            ("payment-cancelled", PaymentStatus::Cancelled),
            ("payment-denied", PaymentStatus::Denied),
        ];
        for (suffix, status) in cases {
            let event_type = format!("org.camaraproject.carrier-billing.v0.{suffix}");
            let data = json!({"paymentId": "up-1", "status": "succeeded", "description": "d",
                "paymentDate": "2026-01-01T01:00:00+01:00", "denialReason": "no credit for 34600123480"});
            let notice = read(&request(&payment_ref("p1"), &event_type, data)).unwrap();
            let CallbackNotice::Payment {
                merchant_id,
                payment_id,
                update,
            } = notice
            else {
                panic!("{suffix}: not a payment notice")
            };
            assert_eq!((merchant_id.as_str(), payment_id.as_str()), ("m1", "p1"));
            assert_eq!(update.status, status, "{suffix}");
            assert_eq!(update.upstream_id.as_deref(), Some("up-1"));
            assert_eq!(
                update.payment_date.is_some(),
                status == PaymentStatus::Succeeded,
                "{suffix}"
            );
            assert_eq!(
                update.denial_reason.as_deref(),
                (status == PaymentStatus::Denied).then_some("no credit for 34*******80"),
                "{suffix}"
            );
        }
    }

    #[test]
    fn refund_event_table() {
        let cases = [
            ("refund-completed", RefundStatus::Succeeded),
            ("refund-denied", RefundStatus::Denied),
            ("refund-in-bill", RefundStatus::Processing),
        ];
        for (suffix, status) in cases {
            let event_type = format!("org.camaraproject.carrier-billing-refund.v0.{suffix}");
            let data = json!({"paymentId": "up-1", "refundId": "ur-1", "status": "succeeded",
                "description": "d", "refundDate": "2026-01-01T00:00:00Z", "denialReason": "late"});
            let notice = read(&request(&refund_ref(), &event_type, data)).unwrap();
            let CallbackNotice::Refund {
                refund_id, update, ..
            } = notice
            else {
                panic!("{suffix}: not a refund notice")
            };
            assert_eq!(refund_id, "r1");
            assert_eq!(update.status, status, "{suffix}");
            assert_eq!(update.upstream_id.as_deref(), Some("ur-1"));
            assert_eq!(
                update.refund_date.is_some(),
                status == RefundStatus::Succeeded
            );
            assert_eq!(
                update.denial_reason.is_some(),
                status == RefundStatus::Denied
            );
        }
    }

    #[test]
    fn the_token_is_checked_before_anything_else() {
        let completed = "org.camaraproject.carrier-billing.v0.payment-completed";
        let good = request(&payment_ref("a"), completed, json!({}));
        // Missing, wrong, or another payment's token: unauthenticated, even with a broken body.
        let mut missing = good.clone();
        missing.headers.clear();
        missing.body = b"not json".to_vec();
        assert_eq!(read(&missing), Err(CallbackError::Unauthenticated));
        let mut wrong = good.clone();
        wrong.headers = vec![("authorization".into(), "Bearer AAAA".into())];
        assert_eq!(read(&wrong), Err(CallbackError::Unauthenticated));
        let b = settings().target(&payment_ref("b"));
        let mut swapped = good.clone();
        swapped.query = b.url.split_once('?').map(|(_, q)| q.to_string()).unwrap();
        assert_eq!(read(&swapped), Err(CallbackError::Unauthenticated));
        let mut no_ref = good.clone();
        no_ref.query.clear();
        assert_eq!(read(&no_ref), Err(CallbackError::Unauthenticated));
        // No callback settings: this channel takes no callbacks.
        assert_eq!(parse(None, &good), Err(CallbackError::Unsupported));
    }

    #[test]
    fn authenticated_but_unreadable_is_malformed() {
        let completed = "org.camaraproject.carrier-billing.v0.payment-completed";
        let refund_completed = "org.camaraproject.carrier-billing-refund.v0.refund-completed";
        let ok_data = json!({"paymentId": "up", "refundId": "ur", "paymentDate": "2026-01-01T00:00:00Z",
            "refundDate": "2026-01-01T00:00:00Z"});
        let cases = [
            request(&payment_ref("p"), refund_completed, ok_data.clone()),
            request(&refund_ref(), completed, ok_data.clone()),
            request(
                &payment_ref("p"),
                "org.camaraproject.carrier-billing.v0.payment-teleported",
                ok_data.clone(),
            ),
            request(&payment_ref("p"), completed, json!({"paymentId": "up"})),
            request(
                &payment_ref("p"),
                completed,
                json!({"paymentId": "up", "paymentDate": "today"}),
            ),
            request(
                &payment_ref("p"),
                completed,
                json!({"paymentDate": "2026-01-01T00:00:00Z"}),
            ),
            request(&payment_ref("p"), completed, json!("text")),
            request(
                &refund_ref(),
                refund_completed,
                json!({"refundDate": "2026-01-01T00:00:00Z"}),
            ),
        ];
        for req in cases {
            assert!(
                matches!(read(&req), Err(CallbackError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(&req.body)
            );
        }
        let mut garbage = request(&payment_ref("p"), completed, ok_data.clone());
        garbage.body = b"<html>".to_vec();
        assert!(matches!(read(&garbage), Err(CallbackError::Malformed(_))));
        let mut old = request(&payment_ref("p"), completed, ok_data);
        let mut event: Value = serde_json::from_slice(&old.body).unwrap();
        event["specversion"] = json!("0.3");
        old.body = serde_json::to_vec(&event).unwrap();
        assert!(matches!(read(&old), Err(CallbackError::Malformed(_))));
    }
}
