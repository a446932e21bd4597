//! The Ideabiz platform's scripted behaviour, by the last two digits of the
//! phone number. `00`–`79` (and anything not in [`TABLE`]) is a plain,
//! synchronous `Charged`.
//!
//! The refusals use the platform's own codes and messages (its error table),
//! which differ from CAMARA's: an insufficient balance is a 403, an unknown
//! subscriber a 400.

use super::payment::Status;
use crate::error::ApiError;

/// What the simulated platform does for one phone number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `Charged` in the 201.
    Success,
    /// A refusal: an error, nothing created or charged.
    Reject {
        status: u16,
        code: &'static str,
        message: &'static str,
    },
    /// The first request per `clientCorrelator` gets 502 `SERVER_ERROR` and
    /// nothing is applied; later requests are processed.
    TransientFailure,
    /// Charged at once, but the answer comes after `slow_ms`.
    SlowAnswer,
    /// `processing`, then `Charged` after `async_delay_ms`.
    AsyncSuccess,
    /// `processing`, then `Denied` after `async_delay_ms` (no charge).
    AsyncDenied,
}

/// 502 `SERVER_ERROR`, the platform's "try again" answer.
pub const SERVER_ERROR: (u16, &str, &str) = (
    502,
    "SERVER_ERROR",
    "Temporary system error while processing the transaction. Please try again later.",
);

/// The digit table. Digits not listed are [`Outcome::Success`].
pub const TABLE: &[(u8, Outcome)] = &[
    (
        80,
        Outcome::Reject {
            status: 403,
            code: "CARRIER_BILLING.PAYMENT_DENIED",
            message: "Transaction not allowed: outgoing is barred for this account.",
        },
    ),
    (
        81,
        Outcome::Reject {
            status: 403,
            code: "CARRIER_BILLING.UNAUTHORIZED_AMOUNT",
            message: "User has insufficient credit for the full transaction amount",
        },
    ),
    (
        82,
        Outcome::Reject {
            status: 400,
            code: "INVALID_ARGUMENT",
            message: "Invalid account details. Please verify the subscriber/account and try again.",
        },
    ),
    (
        83,
        Outcome::Reject {
            status: 403,
            code: "CARRIER_BILLING.PAYMENT_DENIED",
            message: "Not authorized to perform this transaction.",
        },
    ),
    (84, Outcome::TransientFailure),
    (85, Outcome::SlowAnswer),
    (86, Outcome::AsyncSuccess),
    (88, Outcome::AsyncDenied),
];

/// The outcome scripted for `phone` (`tel:94…`).
pub fn for_phone(phone: &str) -> Outcome {
    crate::phone::last_two_digits(phone)
        .and_then(|digits| TABLE.iter().find(|(d, _)| *d == digits))
        .map_or(Outcome::Success, |(_, outcome)| *outcome)
}

/// How a new payment evolves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Status in the 201.
    pub initial: Status,
    /// Status reached after `async_delay_ms`, if any.
    pub later: Option<Status>,
    /// The answer is delayed by `slow_ms`.
    pub slow: bool,
}

/// The plan for a payment to create, or the error to answer instead.
/// [`Outcome::TransientFailure`] is decided by the store (it depends on
/// earlier requests); here it is the success it becomes on retry.
pub fn plan(outcome: Outcome) -> Result<Plan, ApiError> {
    let settled = |initial| Plan {
        initial,
        later: None,
        slow: false,
    };
    Ok(match outcome {
        Outcome::Reject {
            status,
            code,
            message,
        } => return Err(ApiError::new(status, code, message)),
        Outcome::Success | Outcome::TransientFailure => settled(Status::Charged),
        Outcome::SlowAnswer => Plan {
            slow: true,
            ..settled(Status::Charged)
        },
        Outcome::AsyncSuccess => Plan {
            later: Some(Status::Charged),
            ..settled(Status::Processing)
        },
        Outcome::AsyncDenied => Plan {
            later: Some(Status::Denied),
            ..settled(Status::Processing)
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookup_and_plans() {
        assert_eq!(for_phone("tel:94771234500"), Outcome::Success);
        assert_eq!(for_phone("tel:94771234579"), Outcome::Success);
        assert_eq!(for_phone("tel:94771234587"), Outcome::Success);
        assert_eq!(for_phone("tel:94771234584"), Outcome::TransientFailure);
        assert!(matches!(
            for_phone("tel:94771234581"),
            Outcome::Reject { status: 403, .. }
        ));
        assert_eq!(
            plan(Outcome::AsyncDenied).map(|p| (p.initial, p.later)),
            Ok((Status::Processing, Some(Status::Denied)))
        );
        assert_eq!(plan(Outcome::SlowAnswer).map(|p| p.slow), Ok(true));
        assert_eq!(
            plan(for_phone("tel:94771234582")).map_err(|e| e.status),
            Err(400)
        );
    }
}
