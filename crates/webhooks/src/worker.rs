//! The delivery worker: claims due deliveries from the store's outbox (the claim is also the lease
//! heartbeat), sends them with the [`Sender`], and records each result with the [`RetryPolicy`].
//! Several workers (in one process or many) share the outbox; leases keep them apart, and a worker
//! that dies loses its leases, so another one redelivers (at-least-once, same `webhook-id`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use switchboard_store::{Delivery, DeliveryResult, Store};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::retry::{self, Attempt, Outcome, RetryPolicy};
use crate::sender::{log_host, SendReport, Sender};

/// How a [`DeliveryWorker`] runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique per process (it owns the leases): default `"{hostname or 'worker'}-{uuid}"`.
    pub id: String,
    /// Time between ticks (claims).
    pub poll: Duration,
    /// How long a claimed delivery stays leased without a heartbeat; must exceed the sender's
    /// timeout.
    pub lease: Duration,
    /// Most deliveries claimed per merchant per tick.
    pub batch: usize,
    /// Most deliveries sent at once.
    pub concurrency: usize,
    pub policy: RetryPolicy,
}

impl WorkerConfig {
    pub const DEFAULT_POLL: Duration = Duration::from_secs(1);
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
    pub const DEFAULT_BATCH: usize = 32;
    pub const DEFAULT_CONCURRENCY: usize = 16;
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            id: default_worker_id(),
            poll: Self::DEFAULT_POLL,
            lease: Self::DEFAULT_LEASE,
            batch: Self::DEFAULT_BATCH,
            concurrency: Self::DEFAULT_CONCURRENCY,
            policy: RetryPolicy::default(),
        }
    }
}

/// `"{hostname}-{uuid}"`, or `"worker-{uuid}"` when the host name is unknown.
pub fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", uuid::Uuid::new_v4())
}

/// Delivers the outbox of a set of merchants. Dropping it (or the future of [`DeliveryWorker::run`])
/// abandons its in-flight attempts; their leases run out and another worker takes over.
pub struct DeliveryWorker {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
}

struct Shared {
    store: Arc<dyn Store>,
    sender: Sender,
    merchants: Vec<(String, Option<String>)>,
    config: WorkerConfig,
    /// Ids of deliveries this worker holds (waiting for a permit or being sent).
    in_flight: Mutex<HashSet<String>>,
    /// When each recent delivery finished here. A claim that was already on its way when a delivery
    /// finished may still return it (the store answered before the finish was recorded); such
    /// answers are stale and must not send it again.
    finished: Mutex<HashMap<String, Instant>>,
    permits: Semaphore,
}

impl Shared {
    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a delivery from the in-flight set when its task ends, however it ends.
struct InFlight {
    shared: Arc<Shared>,
    id: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.shared
            .finished
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(self.id.clone(), Instant::now());
        self.shared.in_flight().remove(&self.id);
    }
}

impl DeliveryWorker {
    /// `merchants`: `(merchant id, webhook secret "whsec_…")`; a merchant without a secret gets
    /// unsigned deliveries (with a warning).
    pub fn new(
        store: Arc<dyn Store>,
        sender: Sender,
        merchants: Vec<(String, Option<String>)>,
        config: WorkerConfig,
    ) -> DeliveryWorker {
        if config.lease <= sender.timeout() {
            tracing::warn!(
                lease = ?config.lease,
                timeout = ?sender.timeout(),
                "webhook lease is not longer than the request timeout: deliveries may be sent twice"
            );
        }
        for (merchant, secret) in &merchants {
            match secret {
                Some(secret) if crate::signing::sign(secret, "check", 0, b"").is_err() => {
                    tracing::error!(merchant = %merchant, "webhook secret is not whsec_<base64>: deliveries will fail")
                }
                None => {
                    tracing::warn!(merchant = %merchant, "no webhook secret: deliveries are unsigned")
                }
                Some(_) => {}
            }
        }
        let permits = Semaphore::new(config.concurrency.max(1));
        DeliveryWorker {
            shared: Arc::new(Shared {
                store,
                sender,
                merchants,
                config,
                in_flight: Mutex::new(HashSet::new()),
                finished: Mutex::new(HashMap::new()),
                permits,
            }),
            tasks: JoinSet::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.shared.config.id
    }

    /// Deliveries held right now (waiting for a send slot or being sent).
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight().len()
    }

    /// One round: for each merchant, claims due deliveries (renewing the leases of those already
    /// held), and starts sending the new ones in the background. Returns how many were started.
    /// A store error is logged; the next tick tries again.
    pub async fn tick(&mut self) -> usize {
        while let Some(done) = self.tasks.try_join_next() {
            if let Err(err) = done {
                if err.is_panic() {
                    tracing::error!(error = %err, "a webhook delivery task panicked");
                }
            }
        }
        let shared = self.shared.clone();
        let config = &shared.config;
        let lease_ms = u64::try_from(config.lease.as_millis()).unwrap_or(u64::MAX);
        let mut started = 0;
        // Finish times older than any claim still in flight are no longer needed.
        shared
            .finished
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, at| at.elapsed() < config.lease);
        for (merchant, secret) in &shared.merchants {
            let free = config.concurrency.saturating_sub(self.in_flight());
            // Claim at least one: the call is also the heartbeat of the leases already held.
            let limit = config.batch.min(free).max(1);
            let claim_started = Instant::now();
            let claimed = match shared
                .store
                .claim_deliveries(merchant, &config.id, Utc::now(), lease_ms, limit)
                .await
            {
                Ok(claimed) => claimed,
                Err(err) => {
                    tracing::warn!(merchant = %merchant, error = %err, "cannot claim webhook deliveries; retrying next tick");
                    continue;
                }
            };
            for delivery in claimed {
                let finished_meanwhile = shared
                    .finished
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&delivery.id)
                    .is_some_and(|at| *at >= claim_started);
                if finished_meanwhile || !shared.in_flight().insert(delivery.id.clone()) {
                    continue; // being sent by this worker, or the claim's view is stale
                }
                let guard = InFlight {
                    shared: shared.clone(),
                    id: delivery.id.clone(),
                };
                let span = tracing::info_span!(
                    "webhook_delivery",
                    merchant = %delivery.merchant_id,
                    event_id = %delivery.event_id,
                    delivery = %delivery.id,
                    host = %log_host(&delivery.endpoint.url),
                    attempt = delivery.attempts + 1,
                );
                let task = deliver(guard, delivery, secret.clone());
                self.tasks.spawn(task.instrument(span));
                started += 1;
            }
        }
        started
    }

    /// Ticks every `poll` until `shutdown` turns `true` (or its sender is dropped), then stops
    /// claiming, lets the attempts already being sent finish (each is bounded by the sender's
    /// timeout) and abandons the ones still waiting for a slot (their leases run out).
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id(), merchants = self.shared.merchants.len(), "webhook delivery worker started");
        let poll = self.shared.config.poll;
        loop {
            if *shutdown.borrow_and_update() {
                break;
            }
            self.tick().await;
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        self.shared.permits.close();
        while self.tasks.join_next().await.is_some() {}
        tracing::info!(worker = %self.id(), "webhook delivery worker stopped");
    }
}

/// Sends one delivery once a slot is free, and records the result.
async fn deliver(guard: InFlight, delivery: Delivery, secret: Option<String>) {
    let shared = guard.shared.clone();
    let Ok(_permit) = shared.permits.acquire().await else {
        return; // shutting down: the lease runs out and another worker takes it
    };
    let report = shared
        .sender
        .send(&delivery, secret.as_deref(), Utc::now())
        .await;
    let now = Utc::now();
    let result = decide(
        &shared.config.policy,
        &delivery,
        &report,
        now,
        retry::jitter(&mut rand::rng()),
    );
    match &result {
        DeliveryResult::Delivered => tracing::debug!("webhook delivered"),
        DeliveryResult::Retry {
            next_attempt_at,
            error,
        } => {
            tracing::debug!(%next_attempt_at, error = %error, "webhook attempt failed; will retry")
        }
        DeliveryResult::DeadLetter { reason } => {
            tracing::info!(reason = %reason, "webhook delivery dead-lettered")
        }
        DeliveryResult::Gone { reason } => {
            tracing::info!(reason = %reason, "webhook endpoint answered 410 Gone: endpoint stopped, delivery dead-lettered")
        }
    }
    for attempt in 1..=3u32 {
        match shared
            .store
            .finish_delivery(&delivery.merchant_id, &delivery.id, &result, now)
            .await
        {
            Ok(true) => break,
            Ok(false) => {
                tracing::debug!("delivery already finished by another worker");
                break;
            }
            Err(err) => {
                tracing::warn!(error = %err, attempt, "cannot record the delivery result");
                if attempt < 3 {
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
    }
    drop(guard);
}

/// What to record after an attempt: the attempt number is `delivery.attempts + 1`.
pub fn decide(
    policy: &RetryPolicy,
    delivery: &Delivery,
    report: &SendReport,
    now: DateTime<Utc>,
    jitter: f64,
) -> DeliveryResult {
    let attempts = delivery.attempts.saturating_add(1);
    let error = report
        .error
        .clone()
        .unwrap_or_else(|| describe(report.attempt));
    match policy.classify(report.attempt, attempts, report.retry_after, jitter) {
        Outcome::Delivered => DeliveryResult::Delivered,
        Outcome::StopEndpoint => DeliveryResult::Gone { reason: error },
        Outcome::Retry(delay) => DeliveryResult::Retry {
            next_attempt_at: now
                + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX),
            error,
        },
        Outcome::DeadLetter => DeliveryResult::DeadLetter {
            reason: format!("gave up after {attempts} attempts: {error}"),
        },
    }
}

fn describe(attempt: Attempt) -> String {
    match attempt {
        Attempt::Status(s) => format!("HTTP {s}"),
        Attempt::Timeout => "timed out".into(),
        Attempt::Network => "network error".into(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use switchboard_store::Endpoint;

    use super::*;

    fn delivery(attempts: u32) -> Delivery {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap();
        Delivery {
            id: "d1".into(),
            event_id: "e1".into(),
            event_type: "t".into(),
            merchant_id: "m".into(),
            subject: "payment:p1".into(),
            created_at: at,
            correlator: None,
            body: "{}".into(),
            endpoint: Endpoint {
                id: "sink:https://example.com/cb".into(),
                url: "https://example.com/cb".into(),
                bearer: None,
                bearer_expires_at: None,
            },
            attempts,
            next_attempt_at: at,
            last_error: None,
        }
    }

    fn report(attempt: Attempt, error: Option<&str>) -> SendReport {
        SendReport {
            attempt,
            retry_after: None,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn results_follow_the_policy() {
        let policy = RetryPolicy {
            schedule: vec![Duration::from_secs(5), Duration::from_secs(60)],
            throttle_floor: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(600),
            jitter: 0.0,
        };
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let ok = report(Attempt::Status(204), None);
        assert_eq!(
            decide(&policy, &delivery(0), &ok, now, 0.0),
            DeliveryResult::Delivered
        );
        let gone = report(Attempt::Status(410), Some("HTTP 410 from example.com"));
        assert_eq!(
            decide(&policy, &delivery(0), &gone, now, 0.0),
            DeliveryResult::Gone {
                reason: "HTTP 410 from example.com".into()
            }
        );
        let busy = report(Attempt::Status(503), Some("HTTP 503 from example.com"));
        assert_eq!(
            decide(&policy, &delivery(1), &busy, now, 0.0),
            DeliveryResult::Retry {
                next_attempt_at: now + chrono::Duration::seconds(60),
                error: "HTTP 503 from example.com".into()
            }
        );
        let slow = report(Attempt::Timeout, None);
        assert_eq!(
            decide(&policy, &delivery(0), &slow, now, 0.0),
            DeliveryResult::Retry {
                next_attempt_at: now + chrono::Duration::seconds(30),
                error: "timed out".into()
            }
        );
        let mut asked = report(Attempt::Status(429), None);
        asked.retry_after = Some(Duration::from_secs(120));
        assert_eq!(
            decide(&policy, &delivery(0), &asked, now, 0.0),
            DeliveryResult::Retry {
                next_attempt_at: now + chrono::Duration::seconds(120),
                error: "HTTP 429".into()
            }
        );
        assert_eq!(
            decide(&policy, &delivery(2), &busy, now, 0.0),
            DeliveryResult::DeadLetter {
                reason: "gave up after 3 attempts: HTTP 503 from example.com".into()
            }
        );
    }

    #[test]
    fn worker_ids_are_unique() {
        let a = default_worker_id();
        assert_ne!(a, default_worker_id());
        assert!(a.len() > 36, "{a}");
        let config = WorkerConfig::default();
        assert_eq!(config.poll, Duration::from_secs(1));
        assert_eq!(config.lease, Duration::from_secs(60));
        assert_eq!(config.policy, RetryPolicy::default());
    }
}
