//! The refund rules behind the Refund API handlers: eligibility, the checks against the payment,
//! idempotency, the remaining-amount guard (atomic in the store), the upstream call through the
//! payment's channel, and reconciliation of unknown outcomes. Nothing here knows about HTTP.

mod checks;
mod create;
mod resource;
mod settle;

pub use checks::{check_against_payment, remaining_of};
pub use create::{submit, Submitted};
pub use settle::{apply_notice, settle_due};
pub use switchboard_core::NewRefund;
