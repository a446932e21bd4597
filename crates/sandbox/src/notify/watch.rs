//! The timer task behind a watched record.

use std::time::Instant;

use super::{Delivery, Notifier};

/// What one wake-up found: notifications to send now, and when to wake up next (`None`: the
/// record has nothing more due, or is gone).
#[derive(Debug, Default)]
pub struct Step {
    pub deliveries: Vec<Delivery>,
    pub next: Option<Instant>,
}

/// Spawns a task that sleeps until `first`, calls `step` with the current instant, sends what it
/// returned (in order, each with its retries), and repeats at the instant it named. The caller's
/// answer never waits for it; when the server's runtime stops, the task stops with it.
pub fn watch<F>(notifier: Notifier, first: Instant, mut step: F)
where
    F: FnMut(Instant) -> Step + Send + 'static,
{
    tokio::spawn(async move {
        let mut next = Some(first);
        while let Some(at) = next {
            tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
            let now = Instant::now();
            let found = step(now);
            for delivery in found.deliveries {
                notifier.deliver(delivery).await;
            }
            // A record always moves past a due instant when settled; guard against a loop anyway.
            next = found.next.filter(|n| *n > now);
        }
    });
}
