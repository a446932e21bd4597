//! The merchant-facing APIs.

pub mod admin;
pub mod carrier_billing;
pub mod refund;
pub mod topup;
