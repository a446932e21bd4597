//! One simulated payment: its state machine, delayed transitions and JSON form.
//!
//! Delayed transitions are lazy: a record stores *when* it moves on, and
//! [`PaymentRecord::settle`] applies every transition that is due. A charge is
//! counted by the transition into `succeeded`, which happens exactly once.
//!
//! When the payment has a `sink`, every transition that happens on its own (a
//! delayed one, or a reservation expiring) leaves a [`Notice`] in the record's
//! outbox for the watcher to send (see [`crate::notify`]).

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{json, Map, Value};

use crate::config::OperatorMode;
use crate::error::ApiError;
use crate::notify::Notice;
use crate::outcome::{Flow, Plan};
use crate::request::PaymentRequest;

/// The OTP every `pending_validation` payment accepts.
pub const VALID_OTP: &str = "123456";
/// Wrong codes allowed; this many wrong codes deny the payment.
pub const MAX_OTP_ATTEMPTS: u8 = 3;

/// CAMARA `paymentStatus` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Processing,
    PendingValidation,
    Reserved,
    Succeeded,
    Denied,
    Cancelled,
}

impl Status {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Processing => "processing",
            Status::PendingValidation => "pending_validation",
            Status::Reserved => "reserved",
            Status::Succeeded => "succeeded",
            Status::Denied => "denied",
            Status::Cancelled => "cancelled",
        }
    }
}

/// Fixed parts of a payment, as created.
#[derive(Clone, Debug)]
pub struct PaymentRecord {
    pub id: String,
    pub flow: Flow,
    pub request: PaymentRequest,
    server_reference_code: String,
    created_at: Instant,
    created_utc: DateTime<Utc>,
    mode: OperatorMode,
    async_delay: Duration,
    reservation_ttl: Option<Duration>,
    status: Status,
    /// A transition due at the given instant.
    scheduled: Option<(Instant, Status)>,
    /// When a `reserved` payment expires.
    expires_at: Option<Instant>,
    /// `authorizationId` and wrong attempts so far, for OTP validation.
    otp: Option<(String, u8)>,
    paid_at: Option<Instant>,
    charges: u32,
    /// Notices of transitions not yet sent to the sink.
    outbox: Vec<Notice>,
}

/// CloudEvent `type`s of payment events.
pub const EVENT_PENDING_VALIDATION: &str =
    "org.camaraproject.carrier-billing.v0.payment-pending-validation";
pub const EVENT_RESERVED: &str = "org.camaraproject.carrier-billing.v0.payment-reserved";
pub const EVENT_COMPLETED: &str = "org.camaraproject.carrier-billing.v0.payment-completed";
pub const EVENT_CANCELLED: &str = "org.camaraproject.carrier-billing.v0.payment-cancelled";
pub const EVENT_DENIED: &str = "org.camaraproject.carrier-billing.v0.payment-denied";
/// `denialReason` of an asynchronously denied payment (88).
pub const DENIAL_REASON: &str = "Payment denied by the operator";

impl PaymentRecord {
    /// A new payment following `plan`, created at `now`.
    pub fn create(
        request: PaymentRequest,
        flow: Flow,
        mode: OperatorMode,
        plan: Plan,
        timings: &crate::config::Timings,
        now: Instant,
    ) -> Self {
        let async_delay = Duration::from_millis(timings.async_delay_ms);
        let mut record = Self {
            id: uuid::Uuid::new_v4().to_string(),
            flow,
            request,
            server_reference_code: format!("srv-{}", uuid::Uuid::new_v4()),
            created_at: now,
            created_utc: Utc::now(),
            mode,
            async_delay,
            reservation_ttl: plan
                .expires
                .then(|| Duration::from_millis(timings.reservation_ttl_ms)),
            status: Status::Processing,
            scheduled: plan.later.map(|later| (now + async_delay, later)),
            expires_at: None,
            otp: plan
                .needs_validation
                .then(|| (uuid::Uuid::new_v4().simple().to_string(), 0)),
            paid_at: None,
            charges: 0,
            outbox: Vec::new(),
        };
        record.enter(plan.initial, now);
        record
    }

    /// Current state (call [`Self::settle`] first).
    #[cfg(test)]
    pub fn status(&self) -> Status {
        self.status
    }

    /// Charges applied for this payment (0 or 1).
    pub fn charges(&self) -> u32 {
        self.charges
    }

    /// Moves to `status` at instant `at`, with its side effects.
    fn enter(&mut self, status: Status, at: Instant) {
        self.status = status;
        match status {
            Status::Succeeded => {
                self.charges += 1;
                self.paid_at = Some(at);
            }
            Status::Reserved => self.expires_at = self.reservation_ttl.map(|ttl| at + ttl),
            _ => {}
        }
    }

    /// Applies every transition due at `now`.
    pub fn settle(&mut self, now: Instant) {
        if let Some((at, next)) = self.scheduled {
            if at <= now {
                self.scheduled = None;
                self.enter(next, at);
                self.announce();
            }
        }
        if self.status == Status::Reserved && self.expires_at.is_some_and(|at| at <= now) {
            self.expires_at = None;
            self.status = Status::Cancelled;
            self.announce();
        }
    }

    /// Puts the current state's notice in the outbox, when someone subscribed.
    fn announce(&mut self) {
        if self.request.subscription.is_some() {
            if let Some(notice) = self.notice() {
                self.outbox.push(notice);
            }
        }
    }

    /// The CloudEvent `type` and `data` announcing the current state (`processing` has none).
    /// `data.status` is the outcome of the procedure (`succeeded` / `failed`), not a `paymentStatus`.
    pub fn notice(&self) -> Option<Notice> {
        let (event_type, outcome, description) = match self.status {
            Status::Processing => return None,
            Status::PendingValidation => (
                EVENT_PENDING_VALIDATION,
                "succeeded",
                "The payment waits for the subscriber's validation",
            ),
            Status::Reserved => (EVENT_RESERVED, "succeeded", "The amount is reserved"),
            Status::Succeeded => (EVENT_COMPLETED, "succeeded", "The payment is completed"),
            Status::Cancelled => (EVENT_CANCELLED, "failed", "The reservation was cancelled"),
            Status::Denied => (EVENT_DENIED, "failed", DENIAL_REASON),
        };
        let mut data = json!({"paymentId": self.id, "status": outcome, "description": description});
        match self.status {
            Status::Succeeded => {
                let paid_at = self.paid_at.unwrap_or(self.created_at);
                data["paymentDate"] = json!(self.utc(paid_at));
            }
            Status::Denied => data["denialReason"] = json!(DENIAL_REASON),
            _ => {}
        }
        Some(Notice { event_type, data })
    }

    /// Takes the notices not sent yet.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.outbox)
    }

    /// When a watcher should look at this payment: it has a sink and moves on its own later.
    pub fn watch_due(&self) -> Option<Instant> {
        self.request.subscription.as_ref()?;
        self.next_due()
    }

    /// When the payment next moves on its own, if it will.
    pub fn next_due(&self) -> Option<Instant> {
        let scheduled = self.scheduled.map(|(at, _)| at);
        let expiry = self.expires_at.filter(|_| self.status == Status::Reserved);
        match (scheduled, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `POST .../validate`: checks the OTP.
    pub fn validate(&mut self, authorization_id: &str, code: &str) -> Result<(), ApiError> {
        match self.status {
            Status::PendingValidation => {}
            Status::Reserved => {
                return Err(ApiError::conflict(
                    "ALREADY_EXISTS",
                    "Payment already validated",
                ))
            }
            other => return Err(ApiError::incompatible_state("validate", other.as_str())),
        }
        let Some((expected_id, attempts)) = self.otp.as_mut() else {
            return Err(ApiError::incompatible_state(
                "validate",
                self.status.as_str(),
            ));
        };
        if authorization_id != expected_id {
            return Err(ApiError::new(
                400,
                "CARRIER_BILLING.INVALID_AUTHORIZATION_ID",
                "Unknown authorizationId for this payment",
            ));
        }
        if code == VALID_OTP {
            self.status = Status::Reserved;
            return Ok(());
        }
        *attempts += 1;
        if *attempts >= MAX_OTP_ATTEMPTS {
            self.status = Status::Denied;
            return Err(ApiError::new(
                400,
                "CARRIER_BILLING.VALIDATION_FAILED",
                "Too many wrong codes; the payment is denied",
            ));
        }
        Err(ApiError::new(
            400,
            "CARRIER_BILLING.INVALID_CODE",
            "The code is not valid",
        ))
    }

    /// `POST .../confirm`: charges a reservation (later, on an async operator).
    pub fn confirm(&mut self, now: Instant) -> Result<(), ApiError> {
        self.check_reserved("confirm")?;
        self.expires_at = None;
        match self.mode {
            OperatorMode::Sync => self.enter(Status::Succeeded, now),
            OperatorMode::Async => {
                self.status = Status::Processing;
                self.scheduled = Some((now + self.async_delay, Status::Succeeded));
            }
        }
        Ok(())
    }

    /// `POST .../cancel`: releases a reservation.
    pub fn cancel(&mut self) -> Result<(), ApiError> {
        self.check_reserved("cancel")?;
        self.expires_at = None;
        self.status = Status::Cancelled;
        Ok(())
    }

    fn check_reserved(&self, operation: &str) -> Result<(), ApiError> {
        match self.status {
            Status::Reserved => Ok(()),
            Status::Succeeded => Err(ApiError::conflict(
                "CARRIER_BILLING.PAYMENT_CONFIRMED",
                "The payment is already confirmed",
            )),
            Status::Cancelled => Err(ApiError::conflict(
                "CARRIER_BILLING.PAYMENT_CANCELLED",
                "The payment is cancelled",
            )),
            other => Err(ApiError::incompatible_state(operation, other.as_str())),
        }
    }

    fn utc(&self, at: Instant) -> String {
        let elapsed =
            TimeDelta::from_std(at.saturating_duration_since(self.created_at)).unwrap_or_default();
        rfc3339(self.created_utc + elapsed)
    }

    /// The CAMARA `Payment` body; `validationInfo` is added when asked and
    /// the payment waits for an OTP (prepare responses).
    pub fn to_json(&self, with_validation_info: bool) -> Value {
        let request = &self.request;
        let mut transaction = Map::new();
        transaction.insert("phoneNumber".into(), json!(request.phone_number));
        if let Some(cc) = &request.client_correlator {
            transaction.insert("clientCorrelator".into(), json!(cc));
        }
        transaction.insert("paymentAmount".into(), request.payment_amount.clone());
        transaction.insert("referenceCode".into(), json!(request.reference_code));
        transaction.insert(
            "serverReferenceCode".into(),
            json!(self.server_reference_code),
        );

        let mut body = Map::new();
        body.insert("paymentId".into(), json!(self.id));
        body.insert("amountTransaction".into(), Value::Object(transaction));
        body.insert("paymentStatus".into(), json!(self.status.as_str()));
        body.insert(
            "paymentCreationDate".into(),
            json!(rfc3339(self.created_utc)),
        );
        if let Some(paid_at) = self.paid_at {
            body.insert("paymentDate".into(), json!(self.utc(paid_at)));
        }
        if let Some(subscription) = &request.subscription {
            body.insert("sink".into(), json!(subscription.url));
        }
        if let (true, Status::PendingValidation, Some((authorization_id, _))) =
            (with_validation_info, self.status, &self.otp)
        {
            body.insert(
                "validationInfo".into(),
                json!({"action": "validate", "authorizationId": authorization_id}),
            );
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
    use crate::config::Timings;
    use crate::outcome::{plan, Outcome};

    fn record(outcome: Outcome, flow: Flow, mode: OperatorMode, now: Instant) -> PaymentRecord {
        record_with(outcome, flow, mode, now, None)
    }

    fn record_with(
        outcome: Outcome,
        flow: Flow,
        mode: OperatorMode,
        now: Instant,
        subscription: Option<crate::notify::Subscription>,
    ) -> PaymentRecord {
        let request = PaymentRequest {
            phone_number: "+34600000000".into(),
            client_correlator: Some("cc".into()),
            payment_amount: json!({}),
            reference_code: "ref".into(),
            subscription,
        };
        let plan = plan(outcome, flow, mode).unwrap_or_else(|e| panic!("{e}"));
        PaymentRecord::create(request, flow, mode, plan, &Timings::default(), now)
    }

    #[test]
    fn lazy_async_success_charges_once() {
        let now = Instant::now();
        let mut p = record(Outcome::Success, Flow::OneStep, OperatorMode::Async, now);
        assert_eq!((p.status(), p.charges()), (Status::Processing, 0));
        let later = now + Duration::from_secs(3);
        p.settle(later);
        p.settle(later);
        assert_eq!((p.status(), p.charges()), (Status::Succeeded, 1));
        assert!(p.to_json(false).get("paymentDate").is_some());
    }

    #[test]
    fn reservation_expires_after_async_reserve() {
        let now = Instant::now();
        let mut p = record(
            Outcome::ExpiringReservation,
            Flow::TwoStep,
            OperatorMode::Async,
            now,
        );
        p.settle(now + Duration::from_millis(2500));
        assert_eq!(p.status(), Status::Reserved);
        p.settle(now + Duration::from_millis(5100));
        assert_eq!(p.status(), Status::Cancelled);
        assert_eq!(p.charges(), 0);
    }

    fn sink() -> Option<crate::notify::Subscription> {
        Some(crate::notify::Subscription {
            url: "https://merchant.example/n".into(),
            bearer: None,
            expires: None,
        })
    }

    #[test]
    fn transitions_on_their_own_leave_one_notice_each() {
        let now = Instant::now();
        let mut p = record_with(
            Outcome::AsyncSuccess,
            Flow::OneStep,
            OperatorMode::Sync,
            now,
            sink(),
        );
        assert_eq!(
            p.watch_due(),
            Some(now + Duration::from_millis(Timings::default().async_delay_ms))
        );
        assert!(p.take_notices().is_empty());
        let later = now + Duration::from_secs(5);
        p.settle(later);
        p.settle(later);
        let notices = p.take_notices();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].event_type, EVENT_COMPLETED);
        assert_eq!(notices[0].data["paymentId"], p.id.as_str());
        assert_eq!(notices[0].data["status"], "succeeded");
        assert!(notices[0].data["paymentDate"].is_string());
        assert!(p.take_notices().is_empty());
        assert_eq!(p.watch_due(), None);

        let mut denied = record_with(
            Outcome::AsyncDenied,
            Flow::OneStep,
            OperatorMode::Sync,
            now,
            sink(),
        );
        denied.settle(later);
        let notices = denied.take_notices();
        assert_eq!(notices[0].event_type, EVENT_DENIED);
        assert_eq!(notices[0].data["status"], "failed");
        assert_eq!(notices[0].data["denialReason"], DENIAL_REASON);

        // Async reserve, then the reservation expires: reserved, then cancelled.
        let mut expiring = record_with(
            Outcome::ExpiringReservation,
            Flow::TwoStep,
            OperatorMode::Async,
            now,
            sink(),
        );
        let reserve_at = expiring.watch_due().unwrap_or(now);
        expiring.settle(reserve_at);
        let expiry = expiring.watch_due().unwrap_or(now);
        assert!(expiry > reserve_at);
        expiring.settle(expiry);
        let types: Vec<_> = expiring
            .take_notices()
            .iter()
            .map(|n| n.event_type)
            .collect();
        assert_eq!(types, [EVENT_RESERVED, EVENT_CANCELLED]);
    }

    #[test]
    fn no_sink_no_notices_and_api_actions_announce_nothing() {
        let now = Instant::now();
        let mut p = record(
            Outcome::AsyncSuccess,
            Flow::OneStep,
            OperatorMode::Sync,
            now,
        );
        assert_eq!(p.watch_due(), None);
        p.settle(now + Duration::from_secs(5));
        assert!(p.take_notices().is_empty());
        let mut two = record_with(
            Outcome::Success,
            Flow::TwoStep,
            OperatorMode::Sync,
            now,
            sink(),
        );
        assert_eq!(two.cancel(), Ok(()));
        two.settle(now + Duration::from_secs(5));
        assert!(two.take_notices().is_empty());
        assert_eq!(
            two.notice().map(|n| n.event_type),
            Some(EVENT_CANCELLED),
            "a notice exists for the state, but only transitions on their own are sent"
        );
    }
}
