//! Backlog gauges (reconciliation and webhooks), refreshed from the store by a periodic task, off
//! the request path. They read the store, so on Redis they are the fleet's figures.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use crate::state::AppState;

/// At most this many records of each kind are counted per refresh.
pub const COUNT_CAP: usize = 10_000;

/// The last refreshed figures. `-1`: not known yet (or the store did not answer last time).
#[derive(Debug)]
pub struct Backlog {
    payments: AtomicI64,
    refunds: AtomicI64,
    topups: AtomicI64,
    /// f64 bits of the oldest pending record's age; NaN when none.
    oldest_age: AtomicU64,
    webhook_pending: AtomicI64,
    webhook_dead_letters: AtomicI64,
}

impl Default for Backlog {
    fn default() -> Self {
        Backlog {
            payments: AtomicI64::new(0),
            refunds: AtomicI64::new(0),
            topups: AtomicI64::new(0),
            oldest_age: AtomicU64::new(f64::NAN.to_bits()),
            webhook_pending: AtomicI64::new(-1),
            webhook_dead_letters: AtomicI64::new(0),
        }
    }
}

impl Backlog {
    /// `(kind, pending)` for payment, refund and topup.
    pub fn pending(&self) -> [(&'static str, i64); 3] {
        [
            ("payment", self.payments.load(Ordering::Relaxed)),
            ("refund", self.refunds.load(Ordering::Relaxed)),
            ("topup", self.topups.load(Ordering::Relaxed)),
        ]
    }

    pub fn oldest_age_seconds(&self) -> Option<f64> {
        let v = f64::from_bits(self.oldest_age.load(Ordering::Relaxed));
        (!v.is_nan()).then_some(v)
    }

    /// Deliveries waiting in the outbox; `None` when the store does not count them.
    pub fn webhook_pending(&self) -> Option<i64> {
        let v = self.webhook_pending.load(Ordering::Relaxed);
        (v >= 0).then_some(v)
    }

    pub fn webhook_dead_letters(&self) -> i64 {
        self.webhook_dead_letters.load(Ordering::Relaxed)
    }
}

fn oldest<'a>(created: impl Iterator<Item = &'a DateTime<Utc>>) -> Option<DateTime<Utc>> {
    created.min().copied()
}

/// Reads the backlog from the store once.
pub async fn refresh(state: &AppState) {
    let store = state.store.as_ref();
    let merchants: Vec<String> = state.config().merchants.keys().cloned().collect();
    let now = Utc::now();
    // Everything unsettled, due or not.
    let horizon = now + chrono::Duration::days(36_500);
    let b = &state.observe.backlog;
    let mut first: Vec<DateTime<Utc>> = Vec::new();
    if let Ok(p) = store
        .due_for_reconciliation(&merchants, horizon, COUNT_CAP)
        .await
    {
        b.payments.store(p.len() as i64, Ordering::Relaxed);
        first.extend(oldest(p.iter().map(|r| &r.created_at)));
    }
    if let Ok(r) = store.due_refunds(&merchants, horizon, COUNT_CAP).await {
        b.refunds.store(r.len() as i64, Ordering::Relaxed);
        first.extend(oldest(r.iter().map(|r| &r.created_at)));
    }
    if let Ok(t) = store.due_topups(&merchants, horizon, COUNT_CAP).await {
        b.topups.store(t.len() as i64, Ordering::Relaxed);
        first.extend(oldest(t.iter().map(|r| &r.created_at)));
    }
    let age = oldest(first.iter())
        .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1_000.0)
        .unwrap_or(f64::NAN);
    b.oldest_age.store(age.to_bits(), Ordering::Relaxed);
    let (mut dead, mut pending) = (Some(0i64), Some(0i64));
    for m in &merchants {
        dead = dead
            .zip(store.dead_letters(m).await.ok())
            .map(|(n, l)| n + l.len() as i64);
        pending = pending
            .zip(store.outbox_pending(m).await.ok())
            .map(|(n, p)| n + p as i64);
    }
    // A figure the store could not give in full keeps the last one.
    if let Some(dead) = dead {
        b.webhook_dead_letters.store(dead, Ordering::Relaxed);
    }
    if let Some(pending) = pending {
        b.webhook_pending.store(pending, Ordering::Relaxed);
    }
}

/// Refreshes the backlog every `every`.
pub fn spawn_refresh(state: web::Data<AppState>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            refresh(&state).await;
        }
    })
}
