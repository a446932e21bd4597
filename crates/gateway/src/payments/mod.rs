//! The payment rules behind the Carrier Billing handlers: idempotency, routing, the upstream call and
//! the state change. Nothing here knows about HTTP.

mod actions;
pub(crate) mod create;
mod resource;
mod settle;

pub use actions::{cancel, confirm, validate};
pub use create::{submit, Submitted};
pub use settle::{next_check, update_with};
pub use switchboard_core::NewPayment;

use switchboard_core::{ApiError, ErrorCode};
use switchboard_store::StoreError;

pub(crate) fn store_error(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "store failure");
    ApiError::new(
        ErrorCode::Unavailable,
        "The payment store is unavailable. Try again later.",
    )
}
