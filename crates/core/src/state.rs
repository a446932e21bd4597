//! The CAMARA Carrier Billing payment state machine.
//!
//! ```text
//! processing          -> succeeded | reserved | pending_validation | denied
//! pending_validation  -> reserved | denied
//! reserved            -> succeeded | denied | cancelled
//! succeeded, denied, cancelled: terminal
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Processing,
    PendingValidation,
    Reserved,
    Succeeded,
    Denied,
    Cancelled,
}

/// A transition the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("payment cannot move from {from} to {to}")]
pub struct TransitionError {
    pub from: PaymentStatus,
    pub to: PaymentStatus,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 6] = [
        PaymentStatus::Processing,
        PaymentStatus::PendingValidation,
        PaymentStatus::Reserved,
        PaymentStatus::Succeeded,
        PaymentStatus::Denied,
        PaymentStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Processing => "processing",
            PaymentStatus::PendingValidation => "pending_validation",
            PaymentStatus::Reserved => "reserved",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Denied => "denied",
            PaymentStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded | PaymentStatus::Denied | PaymentStatus::Cancelled
        )
    }

    /// Whether the spec allows going from `self` to `to`. Staying in the same state is not a transition.
    pub fn can_move_to(self, to: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, to),
            (
                Processing,
                Succeeded | Reserved | PendingValidation | Denied
            ) | (PendingValidation, Reserved | Denied)
                | (Reserved, Succeeded | Denied | Cancelled)
        )
    }

    /// `Ok(true)` for a real move, `Ok(false)` when already there (duplicates are harmless),
    /// an error for anything the spec forbids.
    pub fn check_move(self, to: PaymentStatus) -> Result<bool, TransitionError> {
        if self == to {
            Ok(false)
        } else if self.can_move_to(to) {
            Ok(true)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PaymentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PaymentStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown payment status '{s}'"))
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentStatus::*;
    use super::*;

    #[test]
    fn allowed_moves_are_exactly_the_spec_list() {
        let allowed = [
            (Processing, Succeeded),
            (Processing, Reserved),
            (Processing, PendingValidation),
            (Processing, Denied),
            (PendingValidation, Reserved),
            (PendingValidation, Denied),
            (Reserved, Succeeded),
            (Reserved, Denied),
            (Reserved, Cancelled),
        ];
        for from in PaymentStatus::ALL {
            for to in PaymentStatus::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn terminal_states_never_move() {
        for from in [Succeeded, Denied, Cancelled] {
            assert!(from.is_terminal());
            for to in PaymentStatus::ALL {
                assert!(!from.can_move_to(to));
            }
        }
        assert_eq!(
            Succeeded.check_move(Cancelled),
            Err(TransitionError {
                from: Succeeded,
                to: Cancelled
            })
        );
    }

    #[test]
    fn same_state_is_a_harmless_no_op() {
        assert_eq!(Succeeded.check_move(Succeeded), Ok(false));
        assert_eq!(Processing.check_move(Succeeded), Ok(true));
    }

    #[test]
    fn parses_and_prints_spec_names() {
        for st in PaymentStatus::ALL {
            assert_eq!(st.as_str().parse::<PaymentStatus>(), Ok(st));
            assert_eq!(
                serde_json::to_string(&st).unwrap(),
                format!("\"{}\"", st.as_str())
            );
        }
        assert!("pending-validation".parse::<PaymentStatus>().is_err());
    }
}
