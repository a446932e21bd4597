//! What one store's run measured, the numbers derived from it, and the report table.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::stats::{median, ratio};
use crate::table;
use crate::wrk_output::WrkRun;

/// Saturation runs of one layer, one per round.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Layer {
    pub rounds: Vec<WrkRun>,
}

impl Layer {
    pub fn median_rps(&self) -> Option<f64> {
        median(&self.rounds.iter().map(|r| r.rps).collect::<Vec<_>>())
    }

    pub fn failures(&self) -> u64 {
        self.rounds
            .iter()
            .map(|r| r.non_2xx + r.socket_errors)
            .sum()
    }

    fn range(&self) -> String {
        let rps = self.rounds.iter().map(|r| r.rps);
        let (lo, hi) = rps.fold((f64::INFINITY, 0.0f64), |(lo, hi), r| {
            (lo.min(r), hi.max(r))
        });
        match self.median_rps() {
            Some(m) => format!("{m:.0} ({lo:.0}–{hi:.0})"),
            None => "–".into(),
        }
    }
}

/// p50 / p99 at a fixed rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub failures: u64,
}

/// L0 and L3 at the same fixed rate.
#[derive(Debug, Clone, Serialize)]
pub struct FixedRate {
    /// `oha -q … --latency-correction`, or the wrk fallback (saturation, not a fixed rate).
    pub tool: String,
    pub target_rps: f64,
    pub l0: Latency,
    pub l3: Latency,
}

impl FixedRate {
    pub fn added_p50_us(&self) -> f64 {
        self.l3.p50_us - self.l0.p50_us
    }

    pub fn added_p99_us(&self) -> f64 {
        self.l3.p99_us - self.l0.p99_us
    }
}

/// Everything measured on one store.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreRun {
    pub store: String,
    pub l0_sandbox: Layer,
    pub l1_nginx: Layer,
    pub l3_switchboard: Layer,
    pub l3_replay: Layer,
    pub fixed_rate: Option<FixedRate>,
    /// Gateway CPU (user + system) per request in each L3 saturation round.
    pub gateway_cpu_us_per_request: Vec<f64>,
    pub gateway_rss_kb_end: Option<u64>,
    /// Redis commands per successful L3 payment, per command and `total` (Redis store only).
    pub redis_commands_per_payment: BTreeMap<String, f64>,
    pub notes: Vec<String>,
}

/// The derived numbers, as written to the JSON next to the raw runs.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub l0_rps: Option<f64>,
    pub l1_rps: Option<f64>,
    pub l3_rps: Option<f64>,
    pub l3_over_l1: Option<f64>,
    pub replay_rps: Option<f64>,
    pub replay_over_fresh: Option<f64>,
    pub added_p50_us: Option<f64>,
    pub added_p99_us: Option<f64>,
    pub gateway_cpu_us_per_request: Option<f64>,
}

impl StoreRun {
    pub fn summary(&self) -> Summary {
        let l3 = self.l3_switchboard.median_rps();
        let replay = self.l3_replay.median_rps();
        Summary {
            l0_rps: self.l0_sandbox.median_rps(),
            l1_rps: self.l1_nginx.median_rps(),
            l3_rps: l3,
            l3_over_l1: ratio(l3, self.l1_nginx.median_rps()),
            replay_rps: replay,
            replay_over_fresh: ratio(replay, l3),
            added_p50_us: self.fixed_rate.as_ref().map(FixedRate::added_p50_us),
            added_p99_us: self.fixed_rate.as_ref().map(FixedRate::added_p99_us),
            gateway_cpu_us_per_request: median(&self.gateway_cpu_us_per_request),
        }
    }
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.decimals$}"))
}

fn ms(us: f64) -> String {
    format!("{:.2}", us / 1000.0)
}

fn latency(l: &Latency) -> String {
    format!("{} / {}", ms(l.p50_us), ms(l.p99_us))
}

/// One row per measured number, one column per store.
pub fn render(runs: &[StoreRun]) -> String {
    let mut header = vec!["payments/s (median of rounds, min–max)".to_string()];
    header.extend(runs.iter().map(|r| format!("{} store", r.store)));
    let summaries: Vec<Summary> = runs.iter().map(StoreRun::summary).collect();
    let row = |label: &str, cell: &dyn Fn(usize) -> String| {
        let mut cells = vec![label.to_string()];
        cells.extend((0..runs.len()).map(cell));
        cells
    };
    let fixed = |i: usize, f: &dyn Fn(&FixedRate) -> String| {
        runs[i].fixed_rate.as_ref().map_or("–".into(), f)
    };
    let redis = |i: usize| {
        let per = &runs[i].redis_commands_per_payment;
        match per.get("total") {
            None => "–".into(),
            Some(total) => {
                let each: Vec<String> = per
                    .iter()
                    .filter(|(name, _)| name.as_str() != "total")
                    .map(|(name, n)| format!("{name} {n:.2}"))
                    .collect();
                format!("{total:.2} ({})", each.join(", "))
            }
        }
    };
    let rows = vec![
        row("L0 load → sandbox", &|i| runs[i].l0_sandbox.range()),
        row("L1 load → nginx → sandbox", &|i| {
            runs[i].l1_nginx.range()
        }),
        row("L3 load → Switchboard → sandbox", &|i| {
            runs[i].l3_switchboard.range()
        }),
        row("L3 / L1", &|i| num(summaries[i].l3_over_l1, 2)),
        row("replay (same clientCorrelator) → Switchboard", &|i| {
            runs[i].l3_replay.range()
        }),
        row("replay / fresh L3", &|i| {
            num(summaries[i].replay_over_fresh, 2)
        }),
        row("fixed rate (req/s, tool)", &|i| {
            fixed(i, &|f| format!("{:.0} ({})", f.target_rps, f.tool))
        }),
        row("L0 p50 / p99 (ms)", &|i| fixed(i, &|f| latency(&f.l0))),
        row("L3 p50 / p99 (ms)", &|i| fixed(i, &|f| latency(&f.l3))),
        row("added by Switchboard p50 / p99 (ms)", &|i| {
            fixed(i, &|f| {
                format!("{} / {}", ms(f.added_p50_us()), ms(f.added_p99_us()))
            })
        }),
        row("gateway CPU per payment (µs)", &|i| {
            num(summaries[i].gateway_cpu_us_per_request, 0)
        }),
        row("gateway RSS at the end (MB)", &|i| {
            num(runs[i].gateway_rss_kb_end.map(|kb| kb as f64 / 1024.0), 0)
        }),
        row("Redis commands per payment", &redis),
        row("failed requests (non-2xx + socket errors)", &|i| {
            let r = &runs[i];
            let total = r.l0_sandbox.failures()
                + r.l1_nginx.failures()
                + r.l3_switchboard.failures()
                + r.l3_replay.failures();
            total.to_string()
        }),
    ];
    table::render(&header, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrk(rps: f64, non_2xx: u64) -> WrkRun {
        WrkRun {
            requests: (rps * 8.0) as u64,
            seconds: 8.0,
            rps,
            non_2xx,
            socket_errors: 0,
            p50_us: None,
            p99_us: None,
        }
    }

    fn layer(rps: &[f64]) -> Layer {
        Layer {
            rounds: rps.iter().map(|&r| wrk(r, 0)).collect(),
        }
    }

    fn run() -> StoreRun {
        StoreRun {
            store: "redis".into(),
            l0_sandbox: layer(&[30_000.0, 20_000.0, 31_000.0]),
            l1_nginx: layer(&[20_000.0, 22_000.0, 21_000.0]),
            l3_switchboard: Layer {
                rounds: vec![wrk(10_000.0, 3), wrk(11_000.0, 0), wrk(9_000.0, 0)],
            },
            l3_replay: layer(&[15_000.0]),
            fixed_rate: Some(FixedRate {
                tool: "oha".into(),
                target_rps: 5_000.0,
                l0: Latency {
                    rps: 5_000.0,
                    p50_us: 400.0,
                    p99_us: 1_500.0,
                    failures: 0,
                },
                l3: Latency {
                    rps: 4_990.0,
                    p50_us: 900.0,
                    p99_us: 2_250.0,
                    failures: 0,
                },
            }),
            gateway_cpu_us_per_request: vec![80.0, 70.0, 90.0],
            gateway_rss_kb_end: Some(65_536),
            redis_commands_per_payment: [("evalsha", 2.0), ("xadd", 0.5), ("total", 2.5)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            notes: vec![],
        }
    }

    #[test]
    fn summary_takes_medians_and_ratios_of_medians() {
        let s = run().summary();
        assert_eq!(s.l0_rps, Some(30_000.0));
        assert_eq!(s.l1_rps, Some(21_000.0));
        assert_eq!(s.l3_rps, Some(10_000.0));
        assert_eq!(s.l3_over_l1, Some(10_000.0 / 21_000.0));
        assert_eq!(s.replay_over_fresh, Some(1.5));
        assert_eq!(s.added_p50_us, Some(500.0));
        assert_eq!(s.added_p99_us, Some(750.0));
        assert_eq!(s.gateway_cpu_us_per_request, Some(80.0));
    }

    #[test]
    fn the_table_shows_each_number_under_its_store() {
        let out = render(&[run()]);
        let line = |label: &str| {
            out.lines()
                .find(|l| l.starts_with(&format!("| {label}")))
                .unwrap_or_else(|| panic!("no {label} row in\n{out}"))
                .to_string()
        };
        assert!(out.lines().next().unwrap().contains("redis store"));
        assert!(line("L0 load").contains("30000 (20000–31000)"));
        assert!(line("L3 / L1").contains("0.48"));
        assert!(line("L3 p50 / p99").contains("0.90 / 2.25"));
        assert!(line("added by Switchboard").contains("0.50 / 0.75"));
        assert!(line("gateway CPU").contains("| 80 "));
        assert!(line("gateway RSS").contains("| 64 "));
        assert!(line("Redis commands").contains("2.50 (evalsha 2.00, xadd 0.50)"));
        assert!(line("failed requests").contains("| 3 "));
    }

    #[test]
    fn missing_measurements_show_a_dash() {
        let empty = StoreRun {
            store: "memory".into(),
            ..StoreRun::default()
        };
        let out = render(&[empty]);
        assert!(out.contains("| L3 / L1 "));
        assert!(out
            .lines()
            .filter(|l| l.starts_with("| L3 / L1") || l.starts_with("| Redis"))
            .all(|l| l.contains('–')));
    }
}
