//! One simulated Ideabiz payment: its (lazy) state machine and JSON form.
//!
//! As in the CAMARA simulator, a delayed transition is stored as *when* it
//! happens and applied by [`Payment::settle`]; the charge is counted by the
//! single transition into `Charged`.
//!
//! A payment created with a `webhook` announces a delayed transition: the
//! payment body as it stands then (without the webhook) is left in its outbox
//! for the watcher to POST to `notificationUrl` (see [`crate::notify`]).

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{json, Map, Value};

use super::outcome::Plan;
use super::request::ChargeRequest;
use crate::notify::Notice;

/// `denialReason` of a payment the platform denied after `processing` (88).
pub const DENIAL_REASON: &str = "The operator declined the charge";
/// The notice's event type (the platform's notifications carry none; it names them in logs).
pub const NOTIFICATION: &str = "ideabiz-payment";

/// `amountTransaction.transactionOperationStatus` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Accepted, not charged yet.
    Processing,
    /// Charged (final).
    Charged,
    /// Not charged, and it never will be (final).
    Denied,
}

impl Status {
    /// The wire value, spelled as the platform does (`processing` is lower case in its examples).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Processing => "processing",
            Status::Charged => "Charged",
            Status::Denied => "Denied",
        }
    }
}

/// A payment as the platform keeps it.
#[derive(Clone, Debug)]
pub struct Payment {
    pub id: String,
    pub request: ChargeRequest,
    created_at: Instant,
    created_utc: DateTime<Utc>,
    status: Status,
    /// When the status last changed (`paymentDate`).
    changed_at: Instant,
    scheduled: Option<(Instant, Status)>,
    charges: u32,
    /// Notifications (payment bodies) not yet sent to the webhook.
    outbox: Vec<Notice>,
}

impl Payment {
    /// A new payment following `plan`, created at `now`.
    pub fn create(request: ChargeRequest, plan: Plan, async_delay: Duration, now: Instant) -> Self {
        let mut payment = Self {
            id: uuid::Uuid::new_v4().simple().to_string().to_uppercase(),
            request,
            created_at: now,
            created_utc: Utc::now(),
            status: Status::Processing,
            changed_at: now,
            scheduled: plan.later.map(|later| (now + async_delay, later)),
            charges: 0,
            outbox: Vec::new(),
        };
        payment.enter(plan.initial, now);
        payment
    }

    /// Charges applied for this payment (0 or 1).
    pub fn charges(&self) -> u32 {
        self.charges
    }

    /// Current status (call [`Self::settle`] first).
    #[cfg(test)]
    pub fn status(&self) -> Status {
        self.status
    }

    fn enter(&mut self, status: Status, at: Instant) {
        self.status = status;
        self.changed_at = at;
        if status == Status::Charged {
            self.charges += 1;
        }
    }

    /// Applies the scheduled transition if it is due.
    pub fn settle(&mut self, now: Instant) {
        if let Some((at, next)) = self.scheduled {
            if at <= now {
                self.scheduled = None;
                self.enter(next, at);
                if self.request.webhook.is_some() {
                    self.outbox.push(Notice {
                        event_type: NOTIFICATION,
                        data: self.notification(),
                    });
                }
            }
        }
    }

    /// When a watcher should look at this payment: it has a webhook and moves on later.
    pub fn watch_due(&self) -> Option<Instant> {
        self.request.webhook.as_ref()?;
        self.scheduled.map(|(at, _)| at)
    }

    /// When the payment next moves on its own, if it will.
    pub fn next_due(&self) -> Option<Instant> {
        self.scheduled.map(|(at, _)| at)
    }

    /// Takes the notifications not sent yet.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.outbox)
    }

    /// The body POSTed to the webhook: the payment as a status query answers it, without the
    /// `webhook` itself (the token is not repeated in every notification).
    pub fn notification(&self) -> Value {
        let mut body = self.to_json();
        if let Value::Object(map) = &mut body {
            map.remove("webhook");
        }
        body
    }

    fn utc(&self, at: Instant) -> String {
        let elapsed =
            TimeDelta::from_std(at.saturating_duration_since(self.created_at)).unwrap_or_default();
        rfc3339(self.created_utc + elapsed)
    }

    /// The platform's payment body (201 of a charge, 200 of a status query).
    pub fn to_json(&self) -> Value {
        let request = &self.request;
        let mut transaction = Map::new();
        transaction.insert("phoneNumber".into(), json!(request.phone_number));
        if let Some(cc) = &request.client_correlator {
            transaction.insert("clientCorrelator".into(), json!(cc));
        }
        transaction.insert("paymentAmount".into(), request.payment_amount.clone());
        transaction.insert("referenceCode".into(), json!(request.reference_code));
        transaction.insert(
            "transactionOperationStatus".into(),
            json!(self.status.as_str()),
        );
        transaction.insert(
            "resourceURL".into(),
            json!(format!("urn:payments:{}", self.id)),
        );
        transaction.insert(
            "serverReferenceCode".into(),
            json!(format!("{}-serv", request.reference_code)),
        );
        let mut body = Map::new();
        body.insert("paymentId".into(), json!(self.id));
        body.insert("amountTransaction".into(), Value::Object(transaction));
        body.insert(
            "paymentCreationDate".into(),
            json!(rfc3339(self.created_utc)),
        );
        body.insert("paymentDate".into(), json!(self.utc(self.changed_at)));
        if self.status == Status::Denied {
            body.insert("denialReason".into(), json!(DENIAL_REASON));
        }
        if let Some(webhook) = &request.webhook {
            body.insert("webhook".into(), webhook.clone());
        }
        Value::Object(body)
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_charge_is_counted_once() {
        let now = Instant::now();
        let request = ChargeRequest {
            phone_number: "tel:94777123486".into(),
            client_correlator: Some("cc".into()),
            payment_amount: json!({}),
            reference_code: "ref".into(),
            webhook: None,
        };
        let plan = Plan {
            initial: Status::Processing,
            later: Some(Status::Charged),
            slow: false,
        };
        let mut p = Payment::create(request, plan, Duration::from_millis(100), now);
        assert_eq!((p.status(), p.charges()), (Status::Processing, 0));
        let body = p.to_json();
        assert_eq!(
            body["amountTransaction"]["transactionOperationStatus"],
            "processing"
        );
        assert_eq!(
            body["amountTransaction"]["resourceURL"],
            format!("urn:payments:{}", p.id)
        );
        let later = now + Duration::from_secs(1);
        p.settle(later);
        p.settle(later);
        assert_eq!((p.status(), p.charges()), (Status::Charged, 1));
        assert!(p.take_notices().is_empty(), "no webhook: nothing announced");
        assert_eq!(
            p.to_json()["amountTransaction"]["serverReferenceCode"],
            "ref-serv"
        );
    }

    #[test]
    fn a_payment_with_a_webhook_announces_its_outcome_without_the_token() {
        let now = Instant::now();
        let request = ChargeRequest {
            phone_number: "tel:94777123488".into(),
            client_correlator: Some("cc".into()),
            payment_amount: json!({}),
            reference_code: "ref".into(),
            webhook: Some(
                json!({"notificationUrl": "https://sb.example/cb", "notificationAuthToken": "tok"}),
            ),
        };
        let plan = Plan {
            initial: Status::Processing,
            later: Some(Status::Denied),
            slow: false,
        };
        let mut p = Payment::create(request, plan, Duration::from_millis(100), now);
        assert_eq!(p.watch_due(), Some(now + Duration::from_millis(100)));
        p.settle(now + Duration::from_secs(1));
        let notices = p.take_notices();
        assert_eq!(notices.len(), 1);
        let body = &notices[0].data;
        assert_eq!(body["paymentId"], p.id.as_str());
        assert_eq!(
            body["amountTransaction"]["transactionOperationStatus"],
            "Denied"
        );
        assert_eq!(body["amountTransaction"]["clientCorrelator"], "cc");
        assert_eq!(body["denialReason"], DENIAL_REASON);
        assert!(body.get("webhook").is_none());
        assert!(!body.to_string().contains("tok"));
        assert_eq!(p.watch_due(), None);
    }
}
