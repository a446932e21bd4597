//! The Switchboard gateway: the actix-web application, merchant auth, the CAMARA handlers, and the
//! workers that settle unknown outcomes. `app::start` runs it all; the `switchboard` binary wraps it.

pub mod api;
pub mod app;
pub mod auth;
pub mod channel_check;
pub mod config;
pub mod dashboard;
pub mod events;
mod health;
pub mod http;
pub mod limits;
pub mod observe;
mod openapi;
pub mod operation;
pub mod payments;
pub mod reconcile;
pub mod refunds;
pub mod reload;
pub mod routing;
pub mod routing_controls;
pub mod shared_health;
pub mod state;
pub mod telemetry;
pub mod topup;
pub mod workers;

pub use app::{start, Running, StartError};
pub use openapi::{
    ADMIN as ADMIN_OPENAPI, CARRIER_BILLING as CARRIER_BILLING_OPENAPI, REFUND as REFUND_OPENAPI,
    TOPUP as TOPUP_OPENAPI,
};
