//! The `GET /admin/stats` document: 1 min / 15 min / 1 h windows per channel and operator, a 15 min
//! series per channel, and the backlog. Built from this replica's windows (`scope: "replica"`).

use chrono::Utc;
use serde::Serialize;
use serde_json::{json, Map, Value};
use switchboard_core::ErrorCode;

use super::histogram::quantile_ms;
use super::window::{period_of, Totals, BUCKET_SECS};
use super::Observer;

/// The windows of the document, with their length in seconds.
pub const WINDOWS: [(&str, u64); 3] = [("1m", 60), ("15m", 900), ("1h", 3_600)];
/// The series covers this many seconds.
pub const SERIES_SECS: u64 = 900;

#[derive(Debug, Serialize)]
struct Latency {
    p50: f64,
    p95: f64,
    p99: f64,
}

fn latency(t: &Totals) -> Option<Latency> {
    Some(Latency {
        p50: quantile_ms(&t.latency, 0.50)?,
        p95: quantile_ms(&t.latency, 0.95)?,
        p99: quantile_ms(&t.latency, 0.99)?,
    })
}

fn errors(t: &Totals) -> Map<String, Value> {
    ErrorCode::ALL
        .iter()
        .zip(t.errors.iter())
        .filter(|(_, n)| **n > 0)
        .map(|(code, n)| (code.as_str().to_string(), json!(n)))
        .collect()
}

fn sum(buckets: &[(u64, Totals)]) -> Totals {
    let mut t = Totals::default();
    for (_, b) in buckets {
        t.add(b);
    }
    t
}

/// One ENTRY of the contract; `id` is `{"channel": …, "operators": […]}` or `{"operator": …}`.
fn entry(mut id: Map<String, Value>, t: &Totals, all_attempts: u64) -> Value {
    let share = if all_attempts == 0 {
        0.0
    } else {
        t.attempts as f64 / all_attempts as f64
    };
    id.insert("attempts".into(), json!(t.attempts));
    id.insert("succeeded".into(), json!(t.succeeded));
    id.insert("refused".into(), json!(t.refused));
    id.insert("technical_failures".into(), json!(t.technical_failures));
    id.insert("success_rate".into(), json!(t.success_rate()));
    id.insert("latency_ms".into(), json!(latency(t)));
    id.insert("traffic_share".into(), json!(share));
    id.insert("errors".into(), Value::Object(errors(t)));
    Value::Object(id)
}

/// The bucket source of the document: this replica's windows, or the fleet's merged buckets.
pub trait Buckets {
    /// Non-empty buckets `(period, totals)` of channel `i` (or operator `i`), periods `from..=to`.
    fn channel(&self, i: usize, from: u64, to: u64) -> Vec<(u64, Totals)>;
    fn operator(&self, i: usize, from: u64, to: u64) -> Vec<(u64, Totals)>;
}

/// This replica's own windows.
pub struct Local<'a>(pub &'a Observer);

impl Buckets for Local<'_> {
    fn channel(&self, i: usize, from: u64, to: u64) -> Vec<(u64, Totals)> {
        self.0.channel_window(i).buckets(from, to)
    }
    fn operator(&self, i: usize, from: u64, to: u64) -> Vec<(u64, Totals)> {
        self.0.operator_window(i).buckets(from, to)
    }
}

fn entries(
    ids: &[String],
    totals: &[Totals],
    id_of: impl Fn(usize, &str) -> Map<String, Value>,
) -> Vec<Value> {
    let all: u64 = totals.iter().map(|t| t.attempts).sum();
    ids.iter()
        .zip(totals)
        .enumerate()
        .map(|(i, (id, t))| entry(id_of(i, id), t, all))
        .collect()
}

/// The whole document at `now_secs` (unix).
pub fn document(observe: &Observer, source: &dyn Buckets, scope: &str, now_secs: u64) -> Value {
    let labels = &observe.labels;
    let now = period_of(now_secs);
    let channels = labels.configured_channels();
    let operators = labels.configured_operators();
    let mut windows = Map::new();
    for (name, secs) in WINDOWS {
        let from = now + 1 - secs / BUCKET_SECS;
        let ch: Vec<Totals> = (0..channels.len())
            .map(|i| sum(&source.channel(i, from, now)))
            .collect();
        let op: Vec<Totals> = (0..operators.len())
            .map(|i| sum(&source.operator(i, from, now)))
            .collect();
        let ch = entries(channels, &ch, |i, id| {
            let mut m = Map::new();
            m.insert("channel".into(), json!(id));
            m.insert("operators".into(), json!(labels.channel_operators[i]));
            m
        });
        let op = entries(operators, &op, |_, id| {
            let mut m = Map::new();
            m.insert("operator".into(), json!(id));
            m
        });
        windows.insert(name.into(), json!({"channels": ch, "operators": op}));
    }
    let series_from = now + 1 - SERIES_SECS / BUCKET_SECS;
    let series: Vec<Value> = channels
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let points: Vec<Value> = source
                .channel(i, series_from, now)
                .iter()
                .map(|(period, t)| {
                    json!({
                        "t": period * BUCKET_SECS,
                        "attempts": t.attempts,
                        "success_rate": t.success_rate(),
                        "p95_ms": quantile_ms(&t.latency, 0.95),
                    })
                })
                .collect();
            json!({"channel": id, "points": points})
        })
        .collect();
    let b = &observe.backlog;
    let pending: Map<String, Value> = b
        .pending()
        .iter()
        .map(|(kind, n)| (kind.to_string(), json!(n)))
        .collect();
    json!({
        "generated_at": Utc::now().to_rfc3339(),
        "scope": scope,
        "windows": windows,
        "series": series,
        "backlog": {
            "reconciliation_pending": pending,
            "reconciliation_oldest_age_seconds": b.oldest_age_seconds(),
            "webhook_pending": b.webhook_pending(),
            "webhook_dead_letters": b.webhook_dead_letters(),
        },
    })
}

/// One channel's windows (`{"1m": ENTRY, "15m": …, "1h": …}`) exactly as `doc` (a [`document`])
/// lists them; a channel the document does not list (disabled in configuration) gets idle entries.
pub fn channel_windows(doc: &Value, channel: &str, operators: &[String]) -> Value {
    let windows = WINDOWS
        .iter()
        .map(|(name, _)| {
            let listed = doc["windows"][name]["channels"]
                .as_array()
                .and_then(|list| list.iter().find(|e| e["channel"] == channel));
            let entry = listed.cloned().unwrap_or_else(|| {
                let mut id = Map::new();
                id.insert("channel".into(), json!(channel));
                id.insert("operators".into(), json!(operators));
                entry(id, &Totals::default(), 0)
            });
            (name.to_string(), entry)
        })
        .collect();
    Value::Object(windows)
}

/// This replica's document.
pub fn replica_document(observe: &Observer, now_secs: u64) -> Value {
    document(observe, &Local(observe), "replica", now_secs)
}
