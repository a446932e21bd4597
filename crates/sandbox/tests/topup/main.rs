//! HTTP tests of the simulated top-up provider, against a real server with short timings.

mod esim;
mod helpers;
mod lookup;
mod products;
mod topup;
mod webhooks;
