//! The outbox contract of the [`Store`](crate::Store): events written in the same atomic step as the
//! state change they describe, the deliveries workers claim and finish, dead letters, the merchants'
//! registered webhook endpoints and the reconciliation review list.
//!
//! Delivery semantics every backend implements (the conformance suite holds them):
//! - One [`OutboxEvent`] becomes one [`Delivery`] per address: a [`EventTarget::Sink`] gives one; a
//!   [`EventTarget::MerchantEndpoints`] gives one per endpoint the merchant has registered and not
//!   stopped *at the moment the event is written* (none registered: nothing is queued).
//! - Deliveries of one `subject` (for a fan-out: one subject per endpoint) leave in the order they
//!   were written: a delivery is only handed out while no earlier delivery of its subject is still
//!   queued (waiting for a retry, or held by a worker).
//! - A claimed delivery is leased to the worker: claiming again renews the lease of everything the
//!   worker holds (the heartbeat). A delivery whose lease ran out (its worker died) is handed to the
//!   next worker that claims, with the same `event_id`: at-least-once.
//! - A lease runs on the caller's clock: it starts at the `now` of the claim that took or renewed it
//!   and has run out once a later claim's `now` reaches that start plus the claimer's `lease_ms`.
//! - 410 Gone stops the endpoint: its queued and future deliveries go to the dead letters (reason
//!   [`STOPPED_REASON`]) without being sent, until one of them is replayed (which re-enables it).
//!   Registering or removing the endpoint again does not change that; only a replay does.
//! - Delivery ids have the shape `<n>-<m>` (a Redis stream entry id); dead letters sort on
//!   `failed_at`, then on the id read as that pair of numbers (write order).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::{PaymentRecord, RefundRecord, TopUpRecord};

/// The dead-letter reason of deliveries skipped because their endpoint answered 410 Gone.
pub const STOPPED_REASON: &str = "endpoint stopped: it answered 410 Gone";

/// The dead-letter reason of deliveries whose `bearer_expires_at` passed before they could leave.
pub const EXPIRED_REASON: &str = "sink credential expired";

/// An event a merchant must hear about, written with the state change it describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEvent {
    /// The CloudEvent `id`, sent as `webhook-id` (the same on every attempt and replay).
    pub event_id: String,
    /// e.g. `org.camaraproject.carrier-billing.v0.payment-completed` or `topup.completed`.
    pub event_type: String,
    pub merchant_id: String,
    /// Ordering key: deliveries of one subject leave in order (e.g. `payment:<id>`).
    pub subject: String,
    pub created_at: DateTime<Utc>,
    /// Passed on as `x-correlator`.
    pub correlator: Option<String>,
    /// The exact JSON body to send.
    pub body: String,
    pub target: EventTarget,
}

/// Where an event goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventTarget {
    /// One address given with the resource (a CAMARA `sink`).
    Sink { endpoint: Endpoint },
    /// Every webhook endpoint the merchant has registered (top-up events).
    MerchantEndpoints,
}

/// One delivery address.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Stable id: a registered endpoint's id, or `sink:<url>` for a CAMARA sink. A 410 stops this id.
    pub id: String,
    pub url: String,
    /// `Authorization: Bearer` (a CAMARA `sinkCredential` access token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<String>,
    /// After this instant the bearer token is no longer valid: delivery stops (dead letter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("bearer", &self.bearer.as_ref().map(|_| "***"))
            .field("bearer_expires_at", &self.bearer_expires_at)
            .finish()
    }
}

/// A webhook endpoint a merchant registered with `POST /webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    /// Event types it wants; empty: every type.
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Set by the store when the endpoint answered 410 Gone (read-only for callers).
    #[serde(default)]
    pub stopped: bool,
}

/// One event on its way to one address, as a worker sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The store's id of this delivery (dead-letter and replay address it).
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub merchant_id: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub correlator: Option<String>,
    pub body: String,
    pub endpoint: Endpoint,
    /// Attempts made so far (0 for a fresh delivery).
    pub attempts: u32,
    /// Not before this instant (`created_at` for a fresh delivery).
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
}

/// What a worker reports after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// 2xx: the delivery leaves the queue.
    Delivered,
    /// Try again at `next_attempt_at`; `attempts` grows by one, `error` is kept as `last_error`.
    Retry {
        next_attempt_at: DateTime<Utc>,
        error: String,
    },
    /// Give up: the delivery moves to the dead letters (`attempts` grows by one).
    DeadLetter { reason: String },
    /// 410 Gone: dead letter, and the endpoint is stopped (see the module docs).
    Gone { reason: String },
}

/// An exhausted delivery, kept until replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub delivery: Delivery,
    pub reason: String,
    pub failed_at: DateTime<Utc>,
}

/// Records reconciliation gave up on (`needs_review`), for `/admin/reconciliation`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewList {
    pub payments: Vec<PaymentRecord>,
    pub refunds: Vec<RefundRecord>,
    pub topups: Vec<TopUpRecord>,
}
