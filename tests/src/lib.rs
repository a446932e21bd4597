//! Harness for the end-to-end suites: a real gateway with its in-process sandbox on free ports, a
//! merchant-side HTTP client, the OpenAPI schema checker, and a merchant's webhook endpoint
//! ([`Receiver`]: HTTPS with a test CA, recording, scriptable answers).

mod env;
pub mod fault_proxy;
mod gateway;
pub mod receiver;
mod schema;

pub use env::Env;
pub use gateway::{body_of, signing_key, with_sink, TestGateway, Timing};
pub use receiver::{verify_signature, Receiver, Recorded, Reply, Respond};
pub use schema::{OpenApi, ADMIN, CARRIER_BILLING};

use std::future::Future;
use std::time::Duration;

/// A port of 127.0.0.1 that was free a moment ago, for a tool the test starts (chromedriver,
/// Prometheus).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `probe` until it returns `Some`, for at most `limit`. Tests wait on state, not on time.
pub async fn eventually<T, F, Fut>(limit: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
