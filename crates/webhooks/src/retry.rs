//! When to try a delivery again, and what an attempt's result means.
//!
//! The first attempt is immediate; then [`SCHEDULE`] gives the wait before each retry (±[`JITTER`]),
//! about 28 hours in all. After a `429` or a timeout the wait is at least [`THROTTLE_FLOOR`]; a
//! `Retry-After` is respected up to [`MAX_RETRY_AFTER`]. Everything is a pure function: the caller
//! passes the jitter (from [`jitter`] in production, a constant in tests).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Wait before retry 1, 2, …; its length is the number of retries.
pub const SCHEDULE: [Duration; 7] = [
    secs(5),
    secs(5 * 60),
    secs(30 * 60),
    secs(2 * 3600),
    secs(5 * 3600),
    secs(10 * 3600),
    secs(10 * 3600),
];
/// Attempts in all: the first one and a retry per step of [`SCHEDULE`].
pub const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32 + 1;
/// Each wait is moved by up to this fraction of itself, either way.
pub const JITTER: f64 = 0.2;
/// Shortest wait after a `429` or a timeout.
pub const THROTTLE_FLOOR: Duration = secs(60);
/// Longest `Retry-After` honoured; a longer one is cut to this.
pub const MAX_RETRY_AFTER: Duration = secs(10 * 3600);

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

/// A jitter value in `[-1, 1]` for [`next_delay`] and [`classify`].
pub fn jitter(rng: &mut impl Rng) -> f64 {
    rng.random_range(-1.0..=1.0)
}

/// The wait before retry number `retry` (1-based), `None` once the schedule is exhausted. `jitter`
/// in `[-1, 1]` (clamped) moves it by up to ±[`JITTER`].
pub fn next_delay(retry: u32, jitter: f64) -> Option<Duration> {
    let base = *SCHEDULE.get(usize::try_from(retry.checked_sub(1)?).ok()?)?;
    Some(base.mul_f64(1.0 + JITTER * jitter.clamp(-1.0, 1.0)))
}

/// What to do after the attempt number `attempts` (1-based, counting this one) ended with `result`.
/// `retry_after` is the response's `Retry-After` (see [`parse_retry_after`]), if any.
pub fn classify(
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
    let Some(mut delay) = next_delay(attempts, jitter) else {
        return Outcome::DeadLetter;
    };
    if let Some(asked) = retry_after {
        delay = delay.max(asked.min(MAX_RETRY_AFTER));
    }
    if throttled {
        delay = delay.max(THROTTLE_FLOOR);
    }
    Outcome::Retry(delay)
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
}
