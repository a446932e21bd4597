//! Observability on the request path: one recording call per event feeds both the Prometheus
//! metrics (`GET /metrics`) and the rolling stats windows (`GET /admin/stats`).
//!
//! Every label value comes from configuration (operator and channel ids) or a fixed set. The
//! operation, upstream, store, limit and webhook counters exist from start-up in dense tables
//! indexed by position: recording is a read-only map lookup and a few relaxed atomic adds — no
//! lock and no allocation. (The HTTP series, keyed by matched route, are created on first use: see
//! [`http`].)

mod backlog;
pub mod fleet;
pub mod histogram;
pub mod http;
mod metrics;
pub mod stats;
mod store;
pub mod window;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use switchboard_adapter::AdapterError;
use switchboard_core::ErrorCode;
use switchboard_store::DeliveryResult;

pub use backlog::{spawn_refresh, Backlog};
pub use metrics::render;
pub use store::{Observed, StoreOp, STORE_OPS};

use histogram::AtomicHistogram;
use window::{Tally, Window};

use crate::config::Config;

/// What was asked of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Payment,
    Prepare,
    Confirm,
    Cancel,
    Validate,
    Refund,
    Topup,
    EsimOrder,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Payment,
        Kind::Prepare,
        Kind::Confirm,
        Kind::Cancel,
        Kind::Validate,
        Kind::Refund,
        Kind::Topup,
        Kind::EsimOrder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Payment => "payment",
            Kind::Prepare => "prepare",
            Kind::Confirm => "confirm",
            Kind::Cancel => "cancel",
            Kind::Validate => "validate",
            Kind::Refund => "refund",
            Kind::Topup => "topup",
            Kind::EsimOrder => "esim_order",
        }
    }
}

/// How an operation ended (`switchboard_operations_total{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done upstream.
    Succeeded,
    /// Accepted upstream, not settled yet.
    Processing,
    /// Refused by the operator.
    Denied,
    /// Sent, but no answer in time: left for reconciliation.
    Unknown,
    /// No channel could be reached.
    NotSent,
    /// Refused before anything was sent (a limit, no route, not offered).
    Rejected,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Succeeded,
        Outcome::Processing,
        Outcome::Denied,
        Outcome::Unknown,
        Outcome::NotSent,
        Outcome::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Processing => "processing",
            Outcome::Denied => "denied",
            Outcome::Unknown => "unknown",
            Outcome::NotSent => "not_sent",
            Outcome::Rejected => "rejected",
        }
    }

    fn tally(self) -> Tally {
        match self {
            Outcome::Succeeded => Tally::Succeeded,
            Outcome::Processing => Tally::Pending,
            Outcome::Denied | Outcome::Rejected => Tally::Refused,
            Outcome::Unknown | Outcome::NotSent => Tally::TechnicalFailure,
        }
    }
}

/// How one upstream call ended (`switchboard_upstream_request_duration_seconds{result}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallResult {
    Ok,
    Refused,
    Unknown,
    NotSent,
    NotFound,
    Unsupported,
}

impl CallResult {
    /// How an adapter call ended.
    pub fn of<T>(answer: &Result<T, AdapterError>) -> CallResult {
        match answer {
            Ok(_) => CallResult::Ok,
            Err(AdapterError::Refused(_)) => CallResult::Refused,
            Err(AdapterError::Unknown(_)) => CallResult::Unknown,
            Err(AdapterError::NotSent(_)) => CallResult::NotSent,
            Err(AdapterError::NotFound) => CallResult::NotFound,
            Err(AdapterError::Unsupported(_)) => CallResult::Unsupported,
        }
    }

    pub const ALL: [CallResult; 6] = [
        CallResult::Ok,
        CallResult::Refused,
        CallResult::Unknown,
        CallResult::NotSent,
        CallResult::NotFound,
        CallResult::Unsupported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallResult::Ok => "ok",
            CallResult::Refused => "refused",
            CallResult::Unknown => "unknown",
            CallResult::NotSent => "not_sent",
            CallResult::NotFound => "not_found",
            CallResult::Unsupported => "unsupported",
        }
    }
}

/// The limits that refuse requests (`switchboard_limit_refusals_total{limit}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    MerchantRate,
    ChannelRate,
    Spending,
}

impl Limit {
    pub const ALL: [Limit; 3] = [Limit::MerchantRate, Limit::ChannelRate, Limit::Spending];

    pub fn as_str(self) -> &'static str {
        match self {
            Limit::MerchantRate => "merchant_rate",
            Limit::ChannelRate => "channel_rate",
            Limit::Spending => "spending",
        }
    }
}

/// Webhook attempt outcomes (`switchboard_webhook_deliveries_total{outcome}`).
pub const WEBHOOK_OUTCOMES: [&str; 4] = ["delivered", "retry", "dead_letter", "gone"];

/// The channel label of an operation refused before any channel was tried.
pub const NO_CHANNEL: &str = "none";
/// The operator label of an operator id that is not in the configuration.
pub const OTHER_OPERATOR: &str = "other";

/// The label sets: configured ids, by position.
#[derive(Debug)]
pub struct Labels {
    /// Configured operator ids, then [`OTHER_OPERATOR`].
    pub operators: Vec<String>,
    /// Enabled channel ids, then [`NO_CHANNEL`].
    pub channels: Vec<String>,
    /// For each enabled channel: the operators it serves.
    pub channel_operators: Vec<Vec<String>>,
    /// Channels in the configuration that are disabled.
    pub disabled_channels: Vec<String>,
    operator_index: HashMap<String, usize>,
    channel_index: HashMap<String, usize>,
}

impl Labels {
    pub fn from_config(config: &Config) -> Labels {
        let mut operators: Vec<String> = config.operators.keys().cloned().collect();
        operators.sort();
        operators.push(OTHER_OPERATOR.to_string());
        let mut enabled: Vec<(&String, &_)> =
            config.channels.iter().filter(|(_, c)| c.enabled).collect();
        enabled.sort_by(|a, b| a.0.cmp(b.0));
        let mut channels: Vec<String> = enabled.iter().map(|(id, _)| (*id).clone()).collect();
        let channel_operators = enabled.iter().map(|(_, c)| c.operators.clone()).collect();
        channels.push(NO_CHANNEL.to_string());
        let mut disabled_channels: Vec<String> = config
            .channels
            .iter()
            .filter(|(_, c)| !c.enabled)
            .map(|(id, _)| id.clone())
            .collect();
        disabled_channels.sort();
        let index = |v: &[String]| v.iter().cloned().zip(0..).collect::<HashMap<_, _>>();
        Labels {
            operator_index: index(&operators),
            channel_index: index(&channels),
            operators,
            channels,
            channel_operators,
            disabled_channels,
        }
    }

    fn operator(&self, id: &str) -> usize {
        self.operator_index
            .get(id)
            .copied()
            .unwrap_or(self.operators.len() - 1)
    }

    /// `None` (the [`NO_CHANNEL`] slot) for no channel; unknown ids count there too.
    fn channel(&self, id: Option<&str>) -> usize {
        id.and_then(|id| self.channel_index.get(id))
            .copied()
            .unwrap_or(self.channels.len() - 1)
    }

    /// Configured operators (without [`OTHER_OPERATOR`]).
    pub fn configured_operators(&self) -> &[String] {
        &self.operators[..self.operators.len() - 1]
    }

    /// Enabled channels (without [`NO_CHANNEL`]).
    pub fn configured_channels(&self) -> &[String] {
        &self.channels[..self.channels.len() - 1]
    }
}

/// Every counter, histogram and window, created at start-up.
#[derive(Debug)]
pub struct Observer {
    pub labels: Labels,
    /// `memory` or `redis`.
    pub backend: &'static str,
    /// kind × operator × channel × outcome.
    operations: Box<[AtomicU64]>,
    /// channel × kind × result.
    upstream: Box<[AtomicHistogram]>,
    store: Box<[AtomicHistogram]>,
    replays: AtomicU64,
    limits: [AtomicU64; 3],
    webhooks: [AtomicU64; 4],
    /// Per enabled channel (the `none` slot unused), then per operator.
    channel_windows: Box<[Window]>,
    operator_windows: Box<[Window]>,
    pub backlog: Backlog,
    pub http: http::HttpMetrics,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Observer {
    pub fn new(config: &Config) -> Observer {
        let labels = Labels::from_config(config);
        let (ops, chs) = (labels.operators.len(), labels.channels.len());
        let operations = (0..Kind::ALL.len() * ops * chs * Outcome::ALL.len())
            .map(|_| AtomicU64::new(0))
            .collect();
        let upstream = (0..chs * Kind::ALL.len() * CallResult::ALL.len())
            .map(|_| AtomicHistogram::default())
            .collect();
        let store = STORE_OPS
            .iter()
            .map(|_| AtomicHistogram::default())
            .collect();
        let backend = match config.store.backend {
            crate::config::StoreBackend::Embedded => "embedded",
            crate::config::StoreBackend::Memory => "memory",
            crate::config::StoreBackend::Redis => "redis",
        };
        Observer {
            channel_windows: (0..chs).map(|_| Window::default()).collect(),
            operator_windows: (0..ops).map(|_| Window::default()).collect(),
            labels,
            backend,
            operations,
            upstream,
            store,
            replays: AtomicU64::new(0),
            limits: Default::default(),
            webhooks: Default::default(),
            backlog: Backlog::default(),
            http: http::HttpMetrics::default(),
        }
    }

    fn kind_index(kind: Kind) -> usize {
        Kind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_default()
    }

    fn operation_slot(&self, kind: usize, op: usize, ch: usize, outcome: usize) -> usize {
        let (ops, chs) = (self.labels.operators.len(), self.labels.channels.len());
        ((kind * ops + op) * chs + ch) * Outcome::ALL.len() + outcome
    }

    fn upstream_slot(&self, ch: usize, kind: usize, result: usize) -> usize {
        (ch * Kind::ALL.len() + kind) * CallResult::ALL.len() + result
    }

    /// One upstream call on a channel (each channel tried counts).
    pub fn upstream_call(&self, kind: Kind, channel: &str, result: CallResult, took: Duration) {
        let ch = self.labels.channel(Some(channel));
        let r = CallResult::ALL
            .iter()
            .position(|c| *c == result)
            .unwrap_or_default();
        self.upstream[self.upstream_slot(ch, Self::kind_index(kind), r)].observe(took);
    }

    /// One finished operation: its counter, and its channel's and operator's windows. `latency`:
    /// the last upstream call's duration, if one was made.
    fn record_operation(
        &self,
        kind: Kind,
        op: usize,
        channel: Option<&str>,
        outcome: Outcome,
        error: Option<ErrorCode>,
        latency: Option<Duration>,
    ) {
        let ch = self.labels.channel(channel);
        let r = Outcome::ALL
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or_default();
        let slot = self.operation_slot(Self::kind_index(kind), op, ch, r);
        self.operations[slot].fetch_add(1, Ordering::Relaxed);
        let now = unix_now();
        let tally = outcome.tally();
        if ch < self.labels.channels.len() - 1 {
            self.channel_windows[ch].record(now, tally, latency, error);
        }
        self.operator_windows[op].record(now, tally, latency, error);
    }

    pub fn replayed(&self) {
        self.replays.fetch_add(1, Ordering::Relaxed);
    }

    pub fn limit_refused(&self, limit: Limit) {
        let i = Limit::ALL
            .iter()
            .position(|l| *l == limit)
            .unwrap_or_default();
        self.limits[i].fetch_add(1, Ordering::Relaxed);
    }

    pub fn store_call(&self, op: StoreOp, took: Duration) {
        self.store[op as usize].observe(took);
    }

    pub fn webhook_delivery(&self, result: &DeliveryResult) {
        let i = match result {
            DeliveryResult::Delivered => 0,
            DeliveryResult::Retry { .. } => 1,
            DeliveryResult::DeadLetter { .. } => 2,
            DeliveryResult::Gone { .. } => 3,
        };
        self.webhooks[i].fetch_add(1, Ordering::Relaxed);
    }

    /// The window of an enabled channel, by position in [`Labels::configured_channels`].
    pub fn channel_window(&self, i: usize) -> &Window {
        &self.channel_windows[i]
    }

    /// The window of a configured operator, by position in [`Labels::configured_operators`].
    pub fn operator_window(&self, i: usize) -> &Window {
        &self.operator_windows[i]
    }
}

/// What the operation engine records about one request: made once per request from the kind and
/// the operator (resolved to its slot up front, so nothing is allocated).
#[derive(Debug, Clone, Copy)]
pub struct Recorder<'a> {
    observe: &'a Observer,
    kind: Kind,
    operator: usize,
}

impl Observer {
    pub fn recorder(&self, kind: Kind, operator: &str) -> Recorder<'_> {
        Recorder {
            observe: self,
            kind,
            operator: self.labels.operator(operator),
        }
    }
}

impl Recorder<'_> {
    pub fn call(&self, channel: &str, result: CallResult, took: Duration) {
        self.observe.upstream_call(self.kind, channel, result, took);
    }

    /// The request ended: on `channel` (`None`: nothing sent), with `outcome`.
    pub fn done(
        &self,
        channel: Option<&str>,
        outcome: Outcome,
        error: Option<ErrorCode>,
        latency: Option<Duration>,
    ) {
        self.observe
            .record_operation(self.kind, self.operator, channel, outcome, error, latency);
    }

    pub fn limit_refused(&self, limit: Limit) {
        self.observe.limit_refused(limit);
    }

    /// A one-call operation on an existing resource (validate, confirm, cancel): the call and its
    /// outcome. `pending`: whether an answer leaves it processing.
    pub fn answered<T>(
        &self,
        channel: &str,
        answer: &Result<T, AdapterError>,
        took: Duration,
        pending: impl FnOnce(&T) -> bool,
    ) {
        self.call(channel, CallResult::of(answer), took);
        let (outcome, error) = match answer {
            Ok(up) if pending(up) => (Outcome::Processing, None),
            Ok(_) => (Outcome::Succeeded, None),
            Err(AdapterError::Refused(e)) => (Outcome::Denied, Some(e.code)),
            Err(AdapterError::Unknown(_)) => (Outcome::Unknown, None),
            Err(AdapterError::NotSent(_)) => (Outcome::NotSent, Some(ErrorCode::Unavailable)),
            Err(AdapterError::NotFound) => (Outcome::Rejected, Some(ErrorCode::IdentifierNotFound)),
            Err(AdapterError::Unsupported(_)) => {
                (Outcome::Rejected, Some(ErrorCode::ServiceNotApplicable))
            }
        };
        self.done(Some(channel), outcome, error, Some(took));
    }

    pub fn replayed(&self) {
        self.observe.replayed();
    }
}
