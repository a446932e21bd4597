//! Reading what `wrk --latency` prints.

/// One wrk run, as printed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WrkRun {
    pub requests: u64,
    pub seconds: f64,
    pub rps: f64,
    /// Answers outside 2xx/3xx.
    pub non_2xx: u64,
    /// connect + read + write + timeout.
    pub socket_errors: u64,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WrkParseError {
    #[error("wrk printed no `{0}` line")]
    Missing(&'static str),
    #[error("wrk printed an unreadable `{0}` line")]
    Unreadable(&'static str),
}

/// Parses wrk's text report (`--latency` for the percentiles).
pub fn parse(text: &str) -> Result<WrkRun, WrkParseError> {
    let rps_line =
        line_after(text, "Requests/sec:").ok_or(WrkParseError::Missing("Requests/sec"))?;
    let rps = rps_line
        .parse::<f64>()
        .map_err(|_| WrkParseError::Unreadable("Requests/sec"))?;
    let (requests, seconds) = totals(text)?;
    let non_2xx = match line_after(text, "Non-2xx or 3xx responses:") {
        Some(n) => n
            .parse()
            .map_err(|_| WrkParseError::Unreadable("Non-2xx or 3xx responses"))?,
        None => 0,
    };
    let socket_errors = match line_after(text, "Socket errors:") {
        Some(list) => socket_errors(list)?,
        None => 0,
    };
    Ok(WrkRun {
        requests,
        seconds,
        rps,
        non_2xx,
        socket_errors,
        p50_us: percentile(text, "50%"),
        p99_us: percentile(text, "99%"),
    })
}

/// The rest of the first line that starts (after spaces) with `label`, trimmed.
fn line_after<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim_start)
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
}

/// `  99337 requests in 8.00s, 30.03MB read`.
fn totals(text: &str) -> Result<(u64, f64), WrkParseError> {
    const WHAT: &str = "N requests in T";
    let line = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .ok_or(WrkParseError::Missing(WHAT))?;
    let mut words = line.split_whitespace();
    let requests = words
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or(WrkParseError::Unreadable(WHAT))?;
    let seconds = words
        .nth(2)
        .map(|t| t.trim_end_matches(','))
        .and_then(duration_us)
        .map(|us| us / 1e6)
        .ok_or(WrkParseError::Unreadable(WHAT))?;
    Ok((requests, seconds))
}

/// `connect 0, read 3, write 0, timeout 12`.
fn socket_errors(list: &str) -> Result<u64, WrkParseError> {
    list.split(',')
        .map(|part| {
            part.split_whitespace()
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or(WrkParseError::Unreadable("Socket errors"))
        })
        .sum()
}

/// `     99%    6.70ms` in the latency distribution.
fn percentile(text: &str, label: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some(label))
            .then(|| words.next().and_then(duration_us))
            .flatten()
    })
}

/// `812.00us`, `6.70ms`, `1.02s`, `2.00m` in microseconds.
pub fn duration_us(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 8s test @ http://127.0.0.1:8080/carrier-billing/v0.5/payments
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.61ms    1.10ms  20.38ms   81.21%
    Req/Sec     6.21k   455.43     7.08k    70.00%
  Latency Distribution
     50%  812.00us
     75%    3.00ms
     90%    3.73ms
     99%    1.20s
  99337 requests in 8.00s, 30.03MB read
  Socket errors: connect 0, read 3, write 0, timeout 12
  Non-2xx or 3xx responses: 17
Requests/sec:  12415.53
Transfer/sec:      3.75MB
";

    #[test]
    fn reads_every_number_of_a_full_report() {
        let run = parse(REPORT).unwrap();
        assert_eq!(
            run,
            WrkRun {
                requests: 99_337,
                seconds: 8.0,
                rps: 12_415.53,
                non_2xx: 17,
                socket_errors: 15,
                p50_us: Some(812.0),
                p99_us: Some(1_200_000.0),
            }
        );
    }

    #[test]
    fn a_clean_report_without_latency_has_no_errors_and_no_percentiles() {
        let text = "  10 requests in 1.00m, 1.00KB read\nRequests/sec:      0.17\n";
        let run = parse(text).unwrap();
        assert_eq!(run.requests, 10);
        assert_eq!(run.seconds, 60.0);
        assert_eq!((run.non_2xx, run.socket_errors), (0, 0));
        assert_eq!((run.p50_us, run.p99_us), (None, None));
    }

    #[test]
    fn a_broken_report_is_an_error_naming_the_line() {
        assert_eq!(
            parse("unable to connect to 127.0.0.1:1 Connection refused"),
            Err(WrkParseError::Missing("Requests/sec"))
        );
        assert_eq!(
            parse("Requests/sec: fast\n"),
            Err(WrkParseError::Unreadable("Requests/sec"))
        );
        assert_eq!(duration_us("3.0parsecs"), None);
        assert_eq!(duration_us("ms"), None);
    }
}
