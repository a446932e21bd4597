//! The merchant-facing APIs.

pub mod admin;
mod admin_control;
mod admin_outbox;
mod admin_routing;
mod admin_stats;
pub mod callbacks;
pub mod carrier_billing;
pub mod deliverable;
pub mod metrics;
pub mod refund;
pub mod topup;
pub mod webhooks;
