//! When to try a delivery again, and what an attempt's result means.
//!
//! The first attempt is immediate; then the schedule of a [`RetryPolicy`] gives the wait before each
//! retry (± its jitter). The default policy is [`SCHEDULE`] (about 28 hours in all, ±[`JITTER`]);
//! after a `429` or a timeout the wait is at least [`THROTTLE_FLOOR`]; a `Retry-After` is respected
//! up to [`MAX_RETRY_AFTER`]. Configuration can set a shorter policy (tests, demos). Everything is a
//! pure function: the caller passes the jitter (from [`jitter`] in production, a constant in tests).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Wait before retry 1, 2, … of the default policy; its length is the number of retries.
pub const SCHEDULE: [Duration; 7] = [
    secs(5),
    secs(5 * 60),
    secs(30 * 60),
    secs(2 * 3600),
    secs(5 * 3600),
    secs(10 * 3600),
    secs(10 * 3600),
];
/// Attempts in all under the default policy: the first one and a retry per step of [`SCHEDULE`].
pub const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32 + 1;
/// Each wait is moved by up to this fraction of itself, either way (default policy).
pub const JITTER: f64 = 0.2;
/// Shortest wait after a `429` or a timeout (default policy).
pub const THROTTLE_FLOOR: Duration = secs(60);
/// Longest `Retry-After` honoured; a longer one is cut to this (default policy).
pub const MAX_RETRY_AFTER: Duration = secs(10 * 3600);

/// How long to wait between attempts. `Default` is the production schedule ([`SCHEDULE`],
/// [`THROTTLE_FLOOR`], [`MAX_RETRY_AFTER`], [`JITTER`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Wait before retry 1, 2, …; attempts in all = `schedule.len() + 1`.
    pub schedule: Vec<Duration>,
    /// Shortest wait after a `429` or a timeout.
    pub throttle_floor: Duration,
    /// Longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// Each wait is moved by up to this fraction of itself, either way (`0.2` = ±20 %).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            schedule: SCHEDULE.to_vec(),
            throttle_floor: THROTTLE_FLOOR,
            max_retry_after: MAX_RETRY_AFTER,
            jitter: JITTER,
        }
    }
}

impl RetryPolicy {
    /// Attempts in all: the first one and a retry per step of the schedule.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.schedule.len())
            .unwrap_or(u32::MAX - 1)
            .saturating_add(1)
    }

    /// The wait before retry number `retry` (1-based), `None` once the schedule is exhausted.
    /// `jitter` in `[-1, 1]` (clamped) moves it by up to ±`self.jitter` of itself.
    pub fn next_delay(&self, retry: u32, jitter: f64) -> Option<Duration> {
        let base = *self
            .schedule
            .get(usize::try_from(retry.checked_sub(1)?).ok()?)?;
        let factor = 1.0 + self.jitter.clamp(0.0, 1.0) * jitter.clamp(-1.0, 1.0);
        Some(base.mul_f64(factor))
    }

    /// What to do after the attempt number `attempts` (1-based, counting this one) ended with
    /// `result`. `retry_after` is the response's `Retry-After` (see [`parse_retry_after`]), if any.
    pub fn classify(
        &self,
        result: Attempt,
        attempts: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Outcome {
        let throttled = match result {
            Attempt::Status(s) if (200..300).contains(&s) => return Outcome::Delivered,
            Attempt::Status(410) => return Outcome::StopEndpoint,
            Attempt::Status(429) | Attempt::Timeout => true,
            Attempt::Status(_) | Attempt::Network => false,
        };
        let Some(mut delay) = self.next_delay(attempts, jitter) else {
            return Outcome::DeadLetter;
        };
        if let Some(asked) = retry_after {
            delay = delay.max(asked.min(self.max_retry_after));
        }
        if throttled {
            delay = delay.max(self.throttle_floor);
        }
        Outcome::Retry(delay)
    }
}

/// What one delivery attempt came back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The sink answered with this HTTP status.
    Status(u16),
    /// No answer in time.
    Timeout,
    /// No answer at all (DNS, connect, TLS, reset, refused by the SSRF guard…).
    Network,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: done.
    Delivered,
    /// 410 Gone: stop delivering to this sink (CAMARA: "callback no longer available").
    StopEndpoint,
    /// Try again after this long.
    Retry(Duration),
    /// Out of attempts: keep the event in the dead-letter store for a replay.
    DeadLetter,
}

/// A jitter value in `[-1, 1]` for [`RetryPolicy::next_delay`] and [`RetryPolicy::classify`].
pub fn jitter(rng: &mut impl Rng) -> f64 {
    rng.random_range(-1.0..=1.0)
}

/// [`RetryPolicy::next_delay`] of the default policy.
pub fn next_delay(retry: u32, jitter: f64) -> Option<Duration> {
    RetryPolicy::default().next_delay(retry, jitter)
}

/// [`RetryPolicy::classify`] of the default policy.
pub fn classify(
    result: Attempt,
    attempts: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Outcome {
    RetryPolicy::default().classify(result, attempts, retry_after, jitter)
}

/// A `Retry-After` header: delay-seconds or an HTTP date (then the time left until it, zero if
/// past). `None` when unreadable.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(s) = value.parse::<u64>() {
        return Some(secs(s));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn schedule_spans_about_a_day_and_starts_within_seconds() {
        assert_eq!(next_delay(1, 0.0), Some(secs(5)));
        assert_eq!(next_delay(7, 0.0), Some(secs(36_000)));
        assert_eq!(next_delay(8, 0.0), None);
        assert_eq!(next_delay(0, 0.0), None);
        let total: Duration = SCHEDULE.iter().sum();
        assert!(
            total > secs(24 * 3600) && total < secs(30 * 3600),
            "{total:?}"
        );
        assert_eq!(MAX_ATTEMPTS, 8);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        assert_eq!(next_delay(2, 1.0), Some(secs(360)));
        assert_eq!(next_delay(2, -1.0), Some(secs(240)));
        assert_eq!(next_delay(2, 7.0), Some(secs(360)), "clamped");
        let mut rng = rand::rng();
        for _ in 0..100 {
            let j = jitter(&mut rng);
            assert!((-1.0..=1.0).contains(&j));
        }
    }

    #[test]
    fn classifies_results() {
        assert_eq!(
            classify(Attempt::Status(204), 1, None, 0.0),
            Outcome::Delivered
        );
        assert_eq!(
            classify(Attempt::Status(200), 8, None, 0.0),
            Outcome::Delivered
        );
        assert_eq!(
            classify(Attempt::Status(410), 1, None, 0.0),
            Outcome::StopEndpoint
        );
        for status in [301, 302, 400, 401, 403, 404, 500, 503] {
            assert_eq!(
                classify(Attempt::Status(status), 1, None, 0.0),
                Outcome::Retry(secs(5)),
                "{status}"
            );
        }
        assert_eq!(
            classify(Attempt::Network, 2, None, 0.0),
            Outcome::Retry(secs(300))
        );
        assert_eq!(
            classify(Attempt::Status(500), 8, None, 0.0),
            Outcome::DeadLetter
        );
        assert_eq!(
            classify(Attempt::Timeout, 8, None, 0.0),
            Outcome::DeadLetter
        );
    }

    #[test]
    fn throttling_and_timeouts_wait_at_least_a_minute() {
        assert_eq!(
            classify(Attempt::Status(429), 1, None, 0.0),
            Outcome::Retry(THROTTLE_FLOOR)
        );
        assert_eq!(
            classify(Attempt::Timeout, 1, None, -1.0),
            Outcome::Retry(THROTTLE_FLOOR)
        );
        // a later step is already longer than the floor
        assert_eq!(
            classify(Attempt::Timeout, 2, None, 0.0),
            Outcome::Retry(secs(300))
        );
    }

    #[test]
    fn retry_after_is_respected_and_capped() {
        let asked = Some(secs(900));
        assert_eq!(
            classify(Attempt::Status(429), 1, asked, 0.0),
            Outcome::Retry(secs(900))
        );
        assert_eq!(
            classify(Attempt::Status(503), 1, asked, 0.0),
            Outcome::Retry(secs(900))
        );
        // never shorter than the schedule
        assert_eq!(
            classify(Attempt::Status(503), 3, Some(secs(1)), 0.0),
            Outcome::Retry(secs(1800))
        );
        let huge = Some(secs(7 * 24 * 3600));
        assert_eq!(
            classify(Attempt::Status(429), 1, huge, 0.0),
            Outcome::Retry(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn parses_retry_after_seconds_and_http_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        assert_eq!(parse_retry_after("120", now), Some(secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now),
            Some(secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn a_short_policy_for_tests_and_demos() {
        let policy = RetryPolicy {
            schedule: vec![Duration::from_millis(50); 3],
            throttle_floor: Duration::from_millis(100),
            max_retry_after: secs(2),
            jitter: 0.0,
        };
        assert_eq!(policy.max_attempts(), 4);
        assert_eq!(policy.next_delay(3, 1.0), Some(Duration::from_millis(50)));
        assert_eq!(policy.next_delay(4, 0.0), None);
        assert_eq!(
            policy.classify(Attempt::Status(503), 1, None, 1.0),
            Outcome::Retry(Duration::from_millis(50))
        );
        assert_eq!(
            policy.classify(Attempt::Timeout, 2, None, 0.0),
            Outcome::Retry(Duration::from_millis(100))
        );
        assert_eq!(
            policy.classify(Attempt::Status(429), 1, Some(secs(60)), 0.0),
            Outcome::Retry(secs(2))
        );
        assert_eq!(
            policy.classify(Attempt::Network, 4, None, 0.0),
            Outcome::DeadLetter
        );
        assert_eq!(
            policy.classify(Attempt::Status(410), 4, None, 0.0),
            Outcome::StopEndpoint
        );
    }

    #[test]
    fn the_default_policy_is_the_documented_schedule() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.schedule, SCHEDULE.to_vec());
        assert_eq!(policy.max_attempts(), MAX_ATTEMPTS);
        assert_eq!(policy.throttle_floor, THROTTLE_FLOOR);
        assert_eq!(policy.max_retry_after, MAX_RETRY_AFTER);
        assert_eq!(policy.jitter, JITTER);
        assert_eq!(policy.next_delay(2, -1.0), Some(secs(240)));
        let empty = RetryPolicy {
            schedule: vec![],
            ..RetryPolicy::default()
        };
        assert_eq!(empty.max_attempts(), 1);
        assert_eq!(
            empty.classify(Attempt::Status(500), 1, None, 0.0),
            Outcome::DeadLetter
        );
    }
}
