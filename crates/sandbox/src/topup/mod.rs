//! A simulated top-up aggregator (the shape of the GlobalTopUp-style API): operator lookup,
//! a product catalogue (balance top-ups, bundles, plan changes), idempotent top-ups with
//! scripted outcomes, and eSIM orders.
//!
//! - **Auth**: a static API key, `Authorization: Bearer <key>`; anything else → 401
//!   `{"error":"unauthorized"}`.
//! - **Phone numbers** are accepted with or without `+` and answered as digits.
//! - **Idempotency**: `POST /telecom/topup` with a used `external_tx_id` returns that
//!   transaction (200) and credits nothing more; the same id with another body → 409.
//! - **Outcomes** by the last two digits of the phone (see [`outcome::TABLE`] and the README).
//!
//! Files: `catalogue.rs` (operators and products as data), `lookup.rs` (number plan and line
//! type rule), `rules.rs` (checks on a top-up), `outcome.rs` (digit table), `transaction.rs` /
//! `esim.rs` (one transaction / order), `store.rs` (all state, one lock), `webhooks.rs`
//! (registrations and events), `signature.rs` (Standard Webhooks signing), `request.rs`, `routes.rs`, `error.rs`, `config.rs`.

mod catalogue;
mod config;
mod error;
mod esim;
mod lookup;
mod outcome;
mod request;
mod routes;
mod rules;
mod signature;
mod store;
mod transaction;
mod webhooks;

use std::collections::HashMap;
use std::time::Instant;

use crate::notify::Step;

pub use config::{TopUpProvider, DEFAULT_TOPUP_API_KEY, DEFAULT_TOPUP_PROVIDER};
pub use routes::{admin_credits, configure};
pub use store::CreditReport;

use store::TopUpStore;

/// The configured providers and their shared store.
pub struct TopUpState {
    providers: HashMap<String, TopUpProvider>,
    pub store: TopUpStore,
}

impl TopUpState {
    pub fn new(providers: &[TopUpProvider]) -> Self {
        Self {
            providers: providers
                .iter()
                .map(|p| (p.id.clone(), p.clone()))
                .collect(),
            store: TopUpStore::default(),
        }
    }

    /// The provider served under `/{id}`.
    pub fn provider(&self, id: &str) -> Option<&TopUpProvider> {
        self.providers.get(id)
    }

    /// Credits applied so far, by `external_tx_id`.
    pub fn credits(&self, now: Instant) -> CreditReport {
        self.store.credits(now)
    }

    /// Forgets transactions, orders and credits (webhook registrations stay, as the gateway
    /// registers them once at start).
    pub fn reset(&self) {
        self.store.reset();
    }

    /// The URLs of `provider`'s registered webhooks.
    pub fn webhook_urls(&self, provider: &str) -> Vec<String> {
        self.store.webhook_urls(provider)
    }

    /// A watcher's step for one transaction: its unsent events, signed for every webhook.
    pub fn take_events(&self, provider: &str, tx_id: &str, now: Instant) -> Step {
        let Some(taken) = self.store.take_events(provider, tx_id, now) else {
            return Step::default();
        };
        Step {
            deliveries: webhooks::deliveries(taken.notices, &taken.webhooks),
            next: taken.next,
        }
    }
}
