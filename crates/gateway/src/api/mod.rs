//! The merchant-facing APIs.

pub mod carrier_billing;
