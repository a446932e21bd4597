//! Notifications the simulated upstreams send on their own: CAMARA CloudEvents to a payment's or
//! refund's `sink`, the Ideabiz platform's `webhook` calls, and the top-up providers' signed
//! events to their registered webhooks.
//!
//! Status changes are lazy (a record stores *when* it moves on), so a record that someone
//! subscribed to also gets a [`watch`]er: a background task that wakes at the record's next due
//! transition, settles it, takes the notices the transition left in the record's outbox, and
//! delivers them in order ([`Notifier`]: request timeout, a few retries with short backoff). API
//! answers never wait for a delivery.
//!
//! - `sink.rs`: which notification URLs are accepted, and a subscription (URL + bearer);
//! - `deliver.rs`: the HTTP client and the retry loop;
//! - `watch.rs`: the timer task;
//! - `cloudevent.rs`: the CAMARA CloudEvent envelope.

mod cloudevent;
mod deliver;
mod sink;
mod watch;

use std::time::Instant;

use serde_json::Value;

pub use cloudevent::cloud_event_delivery;
pub use deliver::{Delivery, Notifier};
pub use sink::{sink_allowed, Subscription};
pub use watch::{watch, Step};

/// One status change to announce: the event type and its `data`, captured when it happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub event_type: &'static str,
    pub data: Value,
}

/// What a watcher takes from a record: where to send, what to send, when to look again.
#[derive(Debug)]
pub struct Taken {
    pub subscription: Subscription,
    pub notices: Vec<Notice>,
    pub next: Option<Instant>,
}
