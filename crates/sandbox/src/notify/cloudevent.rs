//! The CAMARA notification envelope: a CloudEvent 1.0 posted to the subscriber's `sink`.

use chrono::{SecondsFormat, Utc};
use serde_json::json;

use super::{Delivery, Notice, Subscription};

/// `Content-Type` of a CAMARA notification.
pub const CLOUDEVENTS_JSON: &str = "application/cloudevents+json";

/// The delivery of `notice` to `subscription` as a CloudEvent from `source` (a URI reference
/// naming the simulated server), or `None` when the subscription's token has expired (CAMARA:
/// notifications stop then).
pub fn cloud_event_delivery(
    kind: &'static str,
    source: &str,
    subscription: &Subscription,
    notice: Notice,
) -> Option<Delivery> {
    let now = Utc::now();
    if !subscription.is_live(now) {
        tracing::info!(kind, "sink credential expired; notification not sent");
        return None;
    }
    let event = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "source": source,
        "type": notice.event_type,
        "specversion": "1.0",
        "time": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "datacontenttype": "application/json",
        "data": notice.data,
    });
    Some(Delivery {
        kind,
        url: subscription.url.clone(),
        bearer: subscription.bearer.clone(),
        content_type: CLOUDEVENTS_JSON,
        headers: vec![("x-correlator", uuid::Uuid::new_v4().to_string())],
        body: event.to_string().into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn builds_a_cloud_event_with_the_bearer_and_a_correlator() {
        let sub = Subscription {
            url: "http://127.0.0.1:9/cb?ref=p.a.b".into(),
            bearer: Some("tok".into()),
            expires: None,
        };
        let notice = Notice {
            event_type: "org.camaraproject.carrier-billing.v0.payment-completed",
            data: json!({"paymentId": "p1"}),
        };
        let d = cloud_event_delivery("camara-payment", "/op/carrier-billing/v0.5", &sub, notice)
            .unwrap();
        assert_eq!(d.url, sub.url);
        assert_eq!(d.bearer.as_deref(), Some("tok"));
        assert_eq!(d.content_type, CLOUDEVENTS_JSON);
        assert!(d
            .headers
            .iter()
            .any(|(n, v)| *n == "x-correlator" && !v.is_empty()));
        let event: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["datacontenttype"], "application/json");
        assert_eq!(event["source"], "/op/carrier-billing/v0.5");
        assert_eq!(event["data"]["paymentId"], "p1");
        for field in ["id", "time", "type"] {
            assert!(
                event[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field}"
            );
        }
    }

    #[test]
    fn an_expired_credential_stops_notifications() {
        let sub = Subscription {
            url: "https://x".into(),
            bearer: Some("tok".into()),
            expires: Some(Utc::now() - chrono::TimeDelta::seconds(1)),
        };
        let notice = Notice {
            event_type: "t",
            data: json!({}),
        };
        assert!(cloud_event_delivery("k", "/s", &sub, notice).is_none());
    }
}
