//! The scripted behaviour, chosen by the last two digits of the phone number.
//!
//! `00`–`79` (and anything not in [`TABLE`]) is a plain success.

use crate::config::OperatorMode;
use crate::error::ApiError;
use crate::payment::Status;

/// What the simulated operator does for one phone number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success, synchronous or asynchronous as the operator's mode says.
    Success,
    /// A synchronous refusal: an error, no resource created.
    Reject {
        status: u16,
        code: &'static str,
        message: &'static str,
    },
    /// The first request per `clientCorrelator` fails with 500; retries succeed.
    TransientFailure,
    /// Created (and charged) at once, but the first answer comes after `slow_ms`.
    SlowAnswer,
    /// `processing`, then the success state after `async_delay_ms`, on any operator.
    AsyncSuccess,
    /// Prepare needs OTP validation (`pending_validation`); 1-step is a plain success.
    OtpValidation,
    /// `processing`, then `denied` after `async_delay_ms`.
    AsyncDenied,
    /// Prepare reserves, and the reservation expires after `reservation_ttl_ms`.
    ExpiringReservation,
}

/// The digit table. Digits not listed are [`Outcome::Success`].
pub const TABLE: &[(u8, Outcome)] = &[
    (
        80,
        Outcome::Reject {
            status: 403,
            code: "CARRIER_BILLING.PAYMENT_DENIED",
            message: "Payment denied by the operator",
        },
    ),
    (
        81,
        Outcome::Reject {
            status: 422,
            code: "CARRIER_BILLING.UNAUTHORIZED_AMOUNT",
            message: "Amount not authorized for this subscriber",
        },
    ),
    (
        82,
        Outcome::Reject {
            status: 404,
            code: "IDENTIFIER_NOT_FOUND",
            message: "Device identifier not found",
        },
    ),
    (
        83,
        Outcome::Reject {
            status: 422,
            code: "SERVICE_NOT_APPLICABLE",
            message: "The service is not available for the provided identifier",
        },
    ),
    (84, Outcome::TransientFailure),
    (85, Outcome::SlowAnswer),
    (86, Outcome::AsyncSuccess),
    (87, Outcome::OtpValidation),
    (88, Outcome::AsyncDenied),
    (89, Outcome::ExpiringReservation),
];

/// The outcome scripted for `phone`.
pub fn for_phone(phone: &str) -> Outcome {
    crate::phone::last_two_digits(phone)
        .and_then(|digits| TABLE.iter().find(|(d, _)| *d == digits))
        .map_or(Outcome::Success, |(_, outcome)| *outcome)
}

/// 1-step (`POST /payments`) or 2-step (`POST /payments/prepare`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    OneStep,
    TwoStep,
}

impl Flow {
    /// The state a successful request of this flow ends in.
    pub fn success_state(self) -> Status {
        match self {
            Flow::OneStep => Status::Succeeded,
            Flow::TwoStep => Status::Reserved,
        }
    }
}

/// How a newly created payment evolves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// State in the 201.
    pub initial: Status,
    /// State reached after `async_delay_ms`, if any.
    pub later: Option<Status>,
    /// Prepare answered with `validationInfo` (OTP needed).
    pub needs_validation: bool,
    /// The reservation expires after `reservation_ttl_ms`.
    pub expires: bool,
    /// The first answer is delayed by `slow_ms`.
    pub slow: bool,
}

impl Plan {
    fn settled(initial: Status) -> Self {
        Self {
            initial,
            later: None,
            needs_validation: false,
            expires: false,
            slow: false,
        }
    }

    fn processing_then(later: Status) -> Self {
        Self {
            later: Some(later),
            ..Self::settled(Status::Processing)
        }
    }

    fn by_mode(mode: OperatorMode, state: Status) -> Self {
        match mode {
            OperatorMode::Sync => Self::settled(state),
            OperatorMode::Async => Self::processing_then(state),
        }
    }
}

/// The plan for a payment to create, or the error to answer instead.
///
/// [`Outcome::TransientFailure`] is handled by the store (it depends on
/// earlier requests); here it is the success it becomes on retry.
pub fn plan(outcome: Outcome, flow: Flow, mode: OperatorMode) -> Result<Plan, ApiError> {
    let ok = flow.success_state();
    Ok(match (outcome, flow) {
        (
            Outcome::Reject {
                status,
                code,
                message,
            },
            _,
        ) => return Err(ApiError::new(status, code, message)),
        (Outcome::SlowAnswer, _) => Plan {
            slow: true,
            ..Plan::settled(ok)
        },
        (Outcome::AsyncSuccess, _) => Plan::processing_then(ok),
        (Outcome::AsyncDenied, _) => Plan::processing_then(Status::Denied),
        (Outcome::OtpValidation, Flow::TwoStep) => Plan {
            needs_validation: true,
            ..Plan::settled(Status::PendingValidation)
        },
        (Outcome::ExpiringReservation, Flow::TwoStep) => Plan {
            expires: true,
            ..Plan::by_mode(mode, ok)
        },
        (
            Outcome::Success
            | Outcome::TransientFailure
            | Outcome::OtpValidation
            | Outcome::ExpiringReservation,
            _,
        ) => Plan::by_mode(mode, ok),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookup() {
        assert_eq!(for_phone("+34600000000"), Outcome::Success);
        assert_eq!(for_phone("+34600000079"), Outcome::Success);
        assert_eq!(for_phone("+34600000084"), Outcome::TransientFailure);
        assert_eq!(for_phone("+34600000090"), Outcome::Success);
        assert!(matches!(
            for_phone("+34600000080"),
            Outcome::Reject { status: 403, .. }
        ));
    }

    #[test]
    fn plans() {
        let sync = OperatorMode::Sync;
        let asyn = OperatorMode::Async;
        assert_eq!(
            plan(Outcome::Success, Flow::OneStep, sync).map(|p| p.initial),
            Ok(Status::Succeeded)
        );
        let p = plan(Outcome::Success, Flow::TwoStep, asyn).ok();
        assert_eq!(
            p.map(|p| (p.initial, p.later)),
            Some((Status::Processing, Some(Status::Reserved)))
        );
        let p = plan(Outcome::OtpValidation, Flow::OneStep, sync).ok();
        assert_eq!(p.map(|p| p.needs_validation), Some(false));
        let p = plan(Outcome::ExpiringReservation, Flow::TwoStep, sync).ok();
        assert_eq!(
            p.map(|p| (p.initial, p.expires)),
            Some((Status::Reserved, true))
        );
        let p = plan(Outcome::ExpiringReservation, Flow::OneStep, sync).ok();
        assert_eq!(p.map(|p| p.expires), Some(false));
    }
}
