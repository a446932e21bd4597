//! The watchers of each simulator: which record to settle, and how its notices are sent.
//!
//! Each function spawns one [`notify::watch`] task for one record, first waking at `at`.

use std::sync::Arc;
use std::time::Instant;

use crate::notify::{self, cloud_event_delivery, Delivery, Step, Taken};
use crate::refund::REFUND_PATH;
use crate::routes::CARRIER_BILLING_PATH;
use crate::state::AppState;

/// The deliveries of CAMARA notices, as CloudEvents from `source`.
fn cloud_events(kind: &'static str, source: &str, taken: Option<Taken>) -> Step {
    let Some(taken) = taken else {
        return Step::default();
    };
    let subscription = &taken.subscription;
    Step {
        deliveries: taken
            .notices
            .into_iter()
            .filter_map(|notice| cloud_event_delivery(kind, source, subscription, notice))
            .collect(),
        next: taken.next,
    }
}

/// A CAMARA payment with a `sink`.
pub fn payment(state: Arc<AppState>, operator: String, payment_id: String, at: Instant) {
    let source = format!("/{operator}{CARRIER_BILLING_PATH}");
    notify::watch(state.notifier.clone(), at, move |now| {
        let taken = state.store.take_notices(&operator, &payment_id, now);
        cloud_events("camara-payment", &source, taken)
    });
}

/// A CAMARA refund with a `sink`.
pub fn refund(state: Arc<AppState>, operator: String, refund_id: String, at: Instant) {
    let source = format!("/{operator}{REFUND_PATH}");
    notify::watch(state.notifier.clone(), at, move |now| {
        let taken = state.refunds.take_notices(&operator, &refund_id, now);
        cloud_events("camara-refund", &source, taken)
    });
}

/// An Ideabiz payment with a `webhook`.
pub fn ideabiz_payment(state: Arc<AppState>, platform: String, payment_id: String, at: Instant) {
    notify::watch(state.notifier.clone(), at, move |now| {
        let Some(taken) = state.ideabiz.take_notices(&platform, &payment_id, now) else {
            return Step::default();
        };
        let subscription = &taken.subscription;
        Step {
            deliveries: taken
                .notices
                .into_iter()
                .map(|notice| Delivery {
                    kind: notice.event_type,
                    url: subscription.url.clone(),
                    bearer: subscription.bearer.clone(),
                    content_type: "application/json",
                    headers: Vec::new(),
                    body: notice.data.to_string().into_bytes(),
                })
                .collect(),
            next: taken.next,
        }
    });
}

/// A top-up transaction of a provider with registered webhooks.
pub fn topup(state: Arc<AppState>, provider: String, tx_id: String, at: Instant) {
    notify::watch(state.notifier.clone(), at, move |now| {
        state.topup.take_events(&provider, &tx_id, now)
    });
}
