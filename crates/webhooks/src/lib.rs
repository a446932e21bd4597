//! The pure building blocks of outbound webhook delivery: CloudEvents built from payments, refunds and
//! top-ups, Standard Webhooks signatures, the retry schedule and the SSRF guard. No I/O lives here:
//! the outbox, the workers and the HTTP client come later and use these pieces.

pub mod cloudevents;
pub mod retry;
pub mod signing;
pub mod ssrf;

pub use cloudevents::{payment_event, refund_event, topup_event, CloudEvent};
pub use retry::{classify, next_delay, parse_retry_after, Attempt, Outcome};
pub use signing::{sign, verify, SigningError};
pub use ssrf::{check_addr, check_resolved, check_url, AllowList, SsrfError};
