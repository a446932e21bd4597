//! Background work: notification delivery (the outbox) and reconciliation. Runs inside `switchboard`
//! (serve) unless `workers.enabled = false`, and alone in `switchboard worker` processes; several
//! workers share the work through the store (leases; at-least-once delivery).

use std::time::Duration;

use actix_web::web;
use switchboard_webhooks::{
    default_worker_id, DeliveryWorker, RetryPolicy, Sender, SenderConfig, WorkerConfig,
};
use tokio::task::JoinHandle;

use crate::app::StartError;
use crate::config::WebhooksConfig;
use crate::state::AppState;

/// Starts the delivery worker and the reconciliation loop.
pub fn spawn(state: &web::Data<AppState>) -> Result<Vec<JoinHandle<()>>, StartError> {
    let delivery = delivery_worker(state)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let deliveries = tokio::spawn(async move {
        // Aborting this task drops the worker; its leases run out and another worker takes over.
        let _stop = stop;
        delivery.run(stopped).await;
    });
    Ok(vec![crate::reconcile::spawn(state.clone()), deliveries])
}

fn delivery_worker(state: &AppState) -> Result<DeliveryWorker, StartError> {
    let config = &state.config().webhooks;
    let sender = Sender::new(sender_config(config, state)?)
        .map_err(|e| StartError::Config(format!("webhooks: {e}")))?;
    let merchants = state
        .config()
        .merchants
        .iter()
        .map(|(id, m)| {
            let secret = m.webhook_secret.expose();
            (id.clone(), (!secret.is_empty()).then(|| secret.to_string()))
        })
        .collect();
    let worker = WorkerConfig {
        id: default_worker_id(),
        poll: Duration::from_millis(config.poll_ms),
        lease: Duration::from_millis(config.lease_ms),
        batch: config.batch,
        concurrency: config.concurrency,
        policy: retry_policy(config),
    };
    tracing::info!(worker = %worker.id, "webhook delivery worker running");
    Ok(DeliveryWorker::new(
        state.store.clone(),
        sender,
        merchants,
        worker,
    ))
}

fn sender_config(config: &WebhooksConfig, state: &AppState) -> Result<SenderConfig, StartError> {
    let extra_ca_pem = if config.extra_ca_file.is_empty() {
        None
    } else {
        Some(std::fs::read(&config.extra_ca_file).map_err(|e| {
            StartError::Config(format!(
                "webhooks.extra_ca_file '{}': {e}",
                config.extra_ca_file
            ))
        })?)
    };
    Ok(SenderConfig {
        timeout: Duration::from_millis(config.timeout_ms),
        allow: state.webhook_allow.clone(),
        extra_ca_pem,
        hosts: config.hosts.clone(),
        ..SenderConfig::default()
    })
}

/// The configured schedule, or the built-in one (about a day).
pub fn retry_policy(config: &WebhooksConfig) -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    if !config.retry_schedule_ms.is_empty() {
        policy.schedule = config
            .retry_schedule_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect();
    }
    policy.throttle_floor = Duration::from_millis(config.throttle_floor_ms);
    policy
}
