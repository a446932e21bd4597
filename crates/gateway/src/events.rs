//! The outbox events a state change produces. Callers pass them to the same store call that writes
//! the change, so an event exists exactly when its change was saved.
//!
//! - Payments and refunds (CAMARA): one CloudEvent to the resource's `sink` each time its visible
//!   status changes after creation (the create/prepare answer itself already told the merchant the
//!   first status). Resources without a `sink` produce nothing.
//! - Top-ups: `topup.pending|completed|failed` to every webhook endpoint the merchant registered,
//!   when the first outcome is recorded and on every later status change.

use chrono::{DateTime, Utc};
use switchboard_core::{PaymentRecord, RefundRecord, Sink, SinkCredential, TopUpRecord};
use switchboard_store::{Endpoint, EventTarget, OutboxEvent};
use switchboard_webhooks::{payment_event, refund_event, topup_event, CloudEvent};

use crate::config::WebhooksConfig;

/// Events of a payment moving from `before` to `after`.
pub fn for_payment(
    config: &WebhooksConfig,
    before: &PaymentRecord,
    after: &PaymentRecord,
    now: DateTime<Utc>,
) -> Vec<OutboxEvent> {
    let changed = before.is_visible() && before.status != after.status;
    let Some(sink) = after.sink.as_ref().filter(|_| changed) else {
        return Vec::new();
    };
    payment_event(after, now, &config.source)
        .map(|event| {
            to_sink(
                event,
                &after.merchant_id,
                subject(&after.id),
                after.correlator.clone(),
                sink,
                after.sink_credential.as_ref(),
            )
        })
        .into_iter()
        .collect()
}

/// Events of a refund moving from `before` to `after` (ordered with its payment's events).
pub fn for_refund(
    config: &WebhooksConfig,
    before: &RefundRecord,
    after: &RefundRecord,
    now: DateTime<Utc>,
) -> Vec<OutboxEvent> {
    let changed = before.is_visible() && before.status != after.status;
    let Some(sink) = after.sink.as_ref().filter(|_| changed) else {
        return Vec::new();
    };
    refund_event(after, now, &config.source)
        .map(|event| {
            to_sink(
                event,
                &after.merchant_id,
                subject(&after.payment_id),
                after.correlator.clone(),
                sink,
                after.sink_credential.as_ref(),
            )
        })
        .into_iter()
        .collect()
}

/// Events of a top-up moving from `before` to `after`. `before.version == 1` is the record as first
/// inserted: the first recorded outcome is always announced.
pub fn for_topup(
    config: &WebhooksConfig,
    before: &TopUpRecord,
    after: &TopUpRecord,
    now: DateTime<Utc>,
) -> Vec<OutboxEvent> {
    if before.version != 1 && before.status == after.status {
        return Vec::new();
    }
    let event = topup_event(after, now, &config.source);
    vec![outbox_event(
        event,
        &after.merchant_id,
        format!("topup:{}", after.id),
        None,
        EventTarget::MerchantEndpoints,
    )]
}

/// Payment and refund events share the payment's subject, so they leave in order.
fn subject(payment_id: &str) -> String {
    format!("payment:{payment_id}")
}

fn to_sink(
    event: CloudEvent,
    merchant_id: &str,
    subject: String,
    correlator: Option<String>,
    sink: &Sink,
    credential: Option<&SinkCredential>,
) -> OutboxEvent {
    let endpoint = Endpoint {
        id: format!("sink:{}", sink.as_str()),
        url: sink.as_str().to_string(),
        bearer: credential.map(|c| c.access_token.clone()),
        bearer_expires_at: credential.map(|c| c.access_token_expires_utc),
    };
    outbox_event(
        event,
        merchant_id,
        subject,
        correlator,
        EventTarget::Sink { endpoint },
    )
}

fn outbox_event(
    event: CloudEvent,
    merchant_id: &str,
    subject: String,
    correlator: Option<String>,
    target: EventTarget,
) -> OutboxEvent {
    OutboxEvent {
        body: String::from_utf8_lossy(&event.to_json()).into_owned(),
        event_id: event.id,
        event_type: event.kind,
        merchant_id: merchant_id.to_string(),
        subject,
        created_at: event.time,
        correlator,
        target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::{PaymentStatus, Phase, TopUpStatus};
    use switchboard_store::conformance::{sample_payment, sample_topup};

    fn config() -> WebhooksConfig {
        WebhooksConfig::default()
    }

    fn with_sink(mut p: PaymentRecord) -> PaymentRecord {
        p.sink = Some(Sink::parse("https://merchant.example/events").unwrap());
        p.sink_credential = Some(SinkCredential {
            access_token: "tok".into(),
            access_token_expires_utc: Utc::now() + chrono::Duration::days(1),
        });
        p.correlator = Some("corr-1".into());
        p
    }

    #[test]
    fn a_status_change_after_creation_goes_to_the_sink_with_its_credential() {
        let mut before = with_sink(sample_payment("p1", "m", 1));
        before.status = PaymentStatus::Processing;
        let after = with_sink(sample_payment("p1", "m", 2)); // succeeded
        let events = for_payment(&config(), &before, &after, Utc::now());
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(
            e.event_type,
            "org.camaraproject.carrier-billing.v0.payment-completed"
        );
        assert_eq!(e.subject, "payment:p1");
        assert_eq!(e.correlator.as_deref(), Some("corr-1"));
        let body: serde_json::Value = serde_json::from_str(&e.body).unwrap();
        assert_eq!(body["id"], e.event_id.as_str());
        assert_eq!(body["data"]["paymentId"], "p1");
        match &e.target {
            EventTarget::Sink { endpoint } => {
                assert_eq!(endpoint.url, "https://merchant.example/events");
                assert_eq!(endpoint.bearer.as_deref(), Some("tok"));
                assert_eq!(endpoint.id, "sink:https://merchant.example/events");
            }
            other => panic!("expected a sink, got {other:?}"),
        }
    }

    #[test]
    fn no_event_without_a_sink_without_a_change_or_for_the_first_answer() {
        let mut before = with_sink(sample_payment("p1", "m", 1));
        before.status = PaymentStatus::Processing;
        let after = sample_payment("p1", "m", 2);
        assert!(for_payment(&config(), &before, &after, Utc::now()).is_empty());
        let same = with_sink(sample_payment("p1", "m", 2));
        assert!(for_payment(&config(), &same, &same, Utc::now()).is_empty());
        let mut submitting = with_sink(sample_payment("p1", "m", 1));
        submitting.phase = Phase::Submitting;
        let live = with_sink(sample_payment("p1", "m", 2));
        assert!(
            for_payment(&config(), &submitting, &live, Utc::now()).is_empty(),
            "the create answer already told the merchant"
        );
    }

    #[test]
    fn top_ups_announce_the_first_outcome_and_every_change() {
        let inserted = sample_topup("t1", "m", "x1");
        let mut completed = inserted.clone();
        completed.status = TopUpStatus::Completed;
        completed.version = 2;
        let first = for_topup(&config(), &inserted, &completed, Utc::now());
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].event_type, "topup.completed");
        assert_eq!(first[0].target, EventTarget::MerchantEndpoints);
        let mut pending2 = inserted.clone();
        pending2.version = 2;
        let mut pending3 = pending2.clone();
        pending3.version = 3;
        assert!(for_topup(&config(), &pending2, &pending3, Utc::now()).is_empty());
    }
}
