//! The Prometheus exposition of the [`Observer`]'s tables (OpenMetrics text, `prometheus-client`).
//! Counters of the dense tables are exposed once they are non-zero (as a lazily created family
//! would); gauges always.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use switchboard_router::Router;

use super::histogram::AtomicHistogram;
use super::{CallResult, Kind, Limit, Observer, Outcome, STORE_OPS, WEBHOOK_OUTCOMES};

/// `switchboard_channel_health` of a channel disabled in configuration or by ops (0–2 are
/// `CircuitState::gauge`: closed, half-open, open).
pub const DISABLED: i64 = 3;

struct Exposition {
    observe: Arc<Observer>,
    router: Arc<Router>,
}

impl fmt::Debug for Exposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Exposition")
    }
}

fn counter(m: &mut MetricEncoder<'_>, v: u64) -> fmt::Result {
    m.encode_counter::<NoLabelSet, u64, u64>(&v, None::<&Exemplar<NoLabelSet, u64>>)
}

pub(super) fn histogram(m: &mut MetricEncoder<'_>, h: &AtomicHistogram) -> fmt::Result {
    m.encode_histogram::<NoLabelSet>(h.sum_seconds(), h.count(), &h.cumulative_seconds(), None)
}

fn labelled<S: EncodeLabelSet>(
    d: &mut MetricEncoder<'_>,
    labels: &S,
    f: impl FnOnce(&mut MetricEncoder<'_>) -> fmt::Result,
) -> fmt::Result {
    f(&mut d.encode_family(labels)?)
}

impl Exposition {
    fn operations(&self, e: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let o = &self.observe;
        let mut d = e.encode_descriptor(
            "switchboard_operations",
            "Operations by kind, operator, channel and outcome.",
            None,
            MetricType::Counter,
        )?;
        for (k, kind) in Kind::ALL.iter().enumerate() {
            for (op, operator) in o.labels.operators.iter().enumerate() {
                for (ch, channel) in o.labels.channels.iter().enumerate() {
                    for (r, outcome) in Outcome::ALL.iter().enumerate() {
                        let v =
                            o.operations[o.operation_slot(k, op, ch, r)].load(Ordering::Relaxed);
                        if v == 0 {
                            continue;
                        }
                        let labels = [
                            ("kind", kind.as_str()),
                            ("operator", operator.as_str()),
                            ("channel", channel.as_str()),
                            ("outcome", outcome.as_str()),
                        ];
                        labelled(&mut d, &labels, |m| counter(m, v))?;
                    }
                }
            }
        }
        Ok(())
    }

    fn upstream(&self, e: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let o = &self.observe;
        let mut d = e.encode_descriptor(
            "switchboard_upstream_request_duration_seconds",
            "Upstream (operator) calls by channel, operation and result.",
            None,
            MetricType::Histogram,
        )?;
        for (ch, channel) in o.labels.channels.iter().enumerate() {
            for (k, kind) in Kind::ALL.iter().enumerate() {
                for (r, result) in CallResult::ALL.iter().enumerate() {
                    let h = &o.upstream[o.upstream_slot(ch, k, r)];
                    if h.count() == 0 {
                        continue;
                    }
                    let labels = [
                        ("channel", channel.as_str()),
                        ("operation", kind.as_str()),
                        ("result", result.as_str()),
                    ];
                    labelled(&mut d, &labels, |m| histogram(m, h))?;
                }
            }
        }
        Ok(())
    }

    fn store(&self, e: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let o = &self.observe;
        let mut d = e.encode_descriptor(
            "switchboard_store_operation_duration_seconds",
            "Store calls by backend and operation.",
            None,
            MetricType::Histogram,
        )?;
        for (i, name) in STORE_OPS.iter().enumerate() {
            let h = &o.store[i];
            if h.count() == 0 {
                continue;
            }
            let labels = [("backend", o.backend), ("operation", name)];
            labelled(&mut d, &labels, |m| histogram(m, h))?;
        }
        Ok(())
    }

    fn counters(&self, e: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let o = &self.observe;
        counter(
            &mut e.encode_descriptor(
                "switchboard_idempotent_replays",
                "Requests answered by replaying a stored result.",
                None,
                MetricType::Counter,
            )?,
            o.replays.load(Ordering::Relaxed),
        )?;
        let mut d = e.encode_descriptor(
            "switchboard_limit_refusals",
            "Requests refused by a limit.",
            None,
            MetricType::Counter,
        )?;
        for (i, limit) in Limit::ALL.iter().enumerate() {
            let v = o.limits[i].load(Ordering::Relaxed);
            labelled(&mut d, &[("limit", limit.as_str())], |m| counter(m, v))?;
        }
        let mut d = e.encode_descriptor(
            "switchboard_webhook_deliveries",
            "Webhook delivery attempts by outcome.",
            None,
            MetricType::Counter,
        )?;
        for (i, outcome) in WEBHOOK_OUTCOMES.iter().enumerate() {
            let v = o.webhooks[i].load(Ordering::Relaxed);
            labelled(&mut d, &[("outcome", *outcome)], |m| counter(m, v))?;
        }
        Ok(())
    }

    fn gauges(&self, e: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let b = &self.observe.backlog;
        let gauge = |e: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: i64| {
            e.encode_descriptor(name, help, None, MetricType::Gauge)?
                .encode_gauge(&v)
        };
        let mut d = e.encode_descriptor(
            "switchboard_reconciliation_pending",
            "Records waiting on the operator (reconciliation backlog), by kind.",
            None,
            MetricType::Gauge,
        )?;
        for (kind, v) in b.pending() {
            labelled(&mut d, &[("kind", kind)], |m| m.encode_gauge(&v))?;
        }
        let oldest = b.oldest_age_seconds().unwrap_or(0.0);
        e.encode_descriptor(
            "switchboard_reconciliation_oldest_age_seconds",
            "Age of the oldest record waiting on the operator (0 when none).",
            None,
            MetricType::Gauge,
        )?
        .encode_gauge(&oldest)?;
        if let Some(pending) = b.webhook_pending() {
            gauge(
                e,
                "switchboard_webhook_pending",
                "Webhook deliveries waiting in the outbox.",
                pending,
            )?;
        }
        gauge(
            e,
            "switchboard_webhook_dead_letters",
            "Webhook deliveries in the dead-letter lists.",
            b.webhook_dead_letters(),
        )?;
        let mut d = e.encode_descriptor(
            "switchboard_channel_health",
            "Channel circuit (the worst of its operations, or as ops forced it): 0 closed, 1 half-open (probing), 2 open (skipped for new requests), 3 disabled (in configuration, or disabled/draining by ops).",
            None,
            MetricType::Gauge,
        )?;
        for channel in self.router.channels() {
            // Taken out of routing by ops (disabled or draining) reads as disabled; a circuit ops
            // forced open or closed reads as forced.
            let v = if channel.takes_new_requests() {
                channel.circuit().gauge()
            } else {
                DISABLED
            };
            labelled(&mut d, &[("channel", channel.id.as_str())], |m| {
                m.encode_gauge(&v)
            })?;
        }
        for id in &self.observe.labels.disabled_channels {
            labelled(&mut d, &[("channel", id.as_str())], |m| {
                m.encode_gauge(&DISABLED)
            })?;
        }
        let mut d = e.encode_descriptor(
            "switchboard_build_info",
            "The running build.",
            None,
            MetricType::Gauge,
        )?;
        labelled(&mut d, &[("version", env!("CARGO_PKG_VERSION"))], |m| {
            m.encode_gauge(&1i64)
        })
    }
}

impl prometheus_client::collector::Collector for Exposition {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> fmt::Result {
        self.operations(&mut e)?;
        self.upstream(&mut e)?;
        self.store(&mut e)?;
        self.counters(&mut e)?;
        self.gauges(&mut e)?;
        self.observe.http.encode(&mut e)
    }
}

/// The text exposition of everything.
pub fn render(observe: &Arc<Observer>, router: &Arc<Router>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Exposition {
        observe: observe.clone(),
        router: router.clone(),
    }));
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}
