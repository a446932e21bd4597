//! HTTP tests of the sandbox, against a real server started with short timings.

mod auth;
mod helpers;
mod ideabiz;
mod notifications;
mod one_step;
mod two_step;
