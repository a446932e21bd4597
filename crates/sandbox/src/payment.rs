//! One simulated payment: its state machine, delayed transitions and JSON form.
//!
//! Delayed transitions are lazy: a record stores *when* it moves on, and
//! [`PaymentRecord::settle`] applies every transition that is due. A charge is
//! counted by the transition into `succeeded`, which happens exactly once.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{json, Map, Value};

use crate::config::OperatorMode;
use crate::error::ApiError;
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
}

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
            }
        }
        if self.status == Status::Reserved && self.expires_at.is_some_and(|at| at <= now) {
            self.expires_at = None;
            self.status = Status::Cancelled;
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
        if let Some(sink) = &request.sink {
            body.insert("sink".into(), json!(sink));
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
        let request = PaymentRequest {
            phone_number: "+34600000000".into(),
            client_correlator: Some("cc".into()),
            payment_amount: json!({}),
            reference_code: "ref".into(),
            sink: None,
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
}
