//! The application state shared by all handlers and the [`crate::SandboxHandle`].

use std::collections::HashMap;
use std::time::Instant;

use crate::config::{IdeabizPlatform, SandboxConfig, SandboxOperator, Timings};
use crate::error::ApiError;
use crate::ideabiz;
use crate::notify::Notifier;
use crate::store::{ChargeReport, Store};
use crate::topup::TopUpState;

/// Configuration plus the mutable stores (CAMARA operators and Ideabiz platforms).
pub struct AppState {
    operators: HashMap<String, SandboxOperator>,
    ideabiz_platforms: HashMap<String, IdeabizPlatform>,
    dcb_aggregators: HashMap<String, crate::dcb::DcbAggregator>,
    pub timings: Timings,
    pub store: Store,
    pub ideabiz: ideabiz::Store,
    /// DCB aggregators' charges and refunds.
    pub dcb: crate::dcb::Store,
    /// Top-up providers and their transactions.
    pub topup: TopUpState,
    /// Refunds of the CAMARA operators' payments.
    pub refunds: crate::refund::RefundBook,
    /// Subscriber consent requests (phone-bound tokens).
    pub consent: crate::consent::ConsentStore,
    /// Sends the simulators' own notifications (sinks, webhooks).
    pub notifier: Notifier,
    /// The `traceparent` headers received (test support).
    pub traceparents: crate::traceparents::TraceparentLog,
    /// Faults set through the admin API (`faults.rs`).
    pub faults: crate::faults::Faults,
}

impl AppState {
    pub fn new(config: &SandboxConfig, notifier: Notifier) -> Self {
        Self {
            operators: config
                .operators
                .iter()
                .map(|op| (op.id.clone(), op.clone()))
                .collect(),
            ideabiz_platforms: config
                .ideabiz
                .iter()
                .map(|p| (p.id.clone(), p.clone()))
                .collect(),
            dcb_aggregators: config
                .dcb
                .iter()
                .map(|a| (a.id.clone(), a.clone()))
                .collect(),
            timings: config.timings,
            store: Store::default(),
            ideabiz: ideabiz::Store::default(),
            dcb: crate::dcb::Store::default(),
            topup: TopUpState::new(&config.topup),
            refunds: crate::refund::RefundBook::default(),
            consent: Default::default(),
            notifier,
            traceparents: Default::default(),
            faults: Default::default(),
        }
    }

    /// The CAMARA operator served under `/{id}`, or 404.
    pub fn operator(&self, id: &str) -> Result<&SandboxOperator, ApiError> {
        self.operators
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("Unknown operator '{id}'")))
    }

    /// The Ideabiz platform served under `/{id}`, or 404.
    pub fn ideabiz_platform(&self, id: &str) -> Result<&IdeabizPlatform, ApiError> {
        self.ideabiz_platforms
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("Unknown platform '{id}'")))
    }

    /// The DCB aggregator served under `/{id}`.
    pub fn dcb_aggregator(&self, id: &str) -> Option<&crate::dcb::DcbAggregator> {
        self.dcb_aggregators.get(id)
    }

    /// Charges applied so far by every simulated upstream.
    pub fn charges(&self, now: Instant) -> ChargeReport {
        let mut report = self.store.charges(now);
        self.ideabiz.add_charges(&mut report, now);
        self.dcb.add_charges(&mut report, now);
        report
    }

    /// Forgets payments, charges and counters everywhere.
    pub fn reset(&self) {
        self.store.reset();
        self.ideabiz.reset();
        self.dcb.reset();
        self.topup.reset();
        self.consent.reset();
        self.refunds.reset();
        self.traceparents.reset();
        self.faults.heal_all();
    }
}
