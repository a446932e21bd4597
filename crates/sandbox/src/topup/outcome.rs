//! The scripted top-up behaviour, chosen by the last two digits of the phone number.
//!
//! Anything not in [`TABLE`] (`00`–`79`, `81`, `83`, `87`, `89`–`99`) completes at once.

use crate::phone;

/// What the simulated provider does with a top-up for one phone number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `completed` in the first answer, credited once.
    Completed,
    /// `failed` at once with `failure_reason` "number barred"; nothing credited.
    Barred,
    /// 404 `unknown_number` for lookup and top-up; nothing created.
    UnknownNumber,
    /// The first request per `external_tx_id` gets 500 with nothing created or credited; later
    /// requests with that `external_tx_id` are processed normally (completed).
    TransientFailure,
    /// Completed and credited at once, but the first answer comes after `slow_ms`.
    SlowAnswer,
    /// `pending`, then `completed` (credited) after `async_delay_ms`.
    PendingThenCompleted,
    /// `pending`, then `failed` after `async_delay_ms`; nothing credited.
    PendingThenFailed,
}

/// The digit table. Digits not listed are [`Outcome::Completed`].
pub const TABLE: &[(u8, Outcome)] = &[
    (80, Outcome::Barred),
    (82, Outcome::UnknownNumber),
    (84, Outcome::TransientFailure),
    (85, Outcome::SlowAnswer),
    (86, Outcome::PendingThenCompleted),
    (88, Outcome::PendingThenFailed),
];

/// Reason of a barred number's failed top-up.
pub const BARRED_REASON: &str = "number barred";
/// Reason of a top-up that failed after `pending` (88).
pub const DECLINED_REASON: &str = "operator declined the top-up";

/// The outcome scripted for `digits` (a phone number, with or without `+`).
pub fn for_phone(digits: &str) -> Outcome {
    phone::last_two_digits(digits)
        .and_then(|d| TABLE.iter().find(|(t, _)| *t == d))
        .map_or(Outcome::Completed, |(_, outcome)| *outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookup() {
        assert_eq!(for_phone("79161234500"), Outcome::Completed);
        assert_eq!(for_phone("79161234579"), Outcome::Completed);
        assert_eq!(for_phone("79161234581"), Outcome::Completed);
        assert_eq!(for_phone("79161234580"), Outcome::Barred);
        assert_eq!(for_phone("+79161234582"), Outcome::UnknownNumber);
        assert_eq!(for_phone("79161234584"), Outcome::TransientFailure);
        assert_eq!(for_phone("79161234585"), Outcome::SlowAnswer);
        assert_eq!(for_phone("79161234586"), Outcome::PendingThenCompleted);
        assert_eq!(for_phone("79161234588"), Outcome::PendingThenFailed);
        assert_eq!(for_phone("79161234599"), Outcome::Completed);
    }
}
