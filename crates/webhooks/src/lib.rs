//! Outbound webhook delivery: CloudEvents built from payments, refunds and top-ups, Standard Webhooks
//! signatures, the retry policy and the SSRF guard (pure building blocks), plus the I/O that uses
//! them: the [`Sender`] (one HTTP attempt, guarded resolver, no redirects) and the
//! [`DeliveryWorker`] (claims the store's outbox, sends, records results, dead-letters).

pub mod cloudevents;
mod resolver;
pub mod retry;
pub mod sender;
pub mod signing;
pub mod ssrf;
pub mod worker;

pub use cloudevents::{payment_event, refund_event, topup_event, CloudEvent};
pub use retry::{classify, next_delay, parse_retry_after, Attempt, Outcome, RetryPolicy};
pub use sender::{SendReport, Sender, SenderConfig, SenderError};
pub use signing::{sign, verify, SigningError};
pub use ssrf::{check_addr, check_resolved, check_url, AllowList, GuardedUrl, SsrfError};
pub use worker::{default_worker_id, DeliveryWorker, WorkerConfig};
