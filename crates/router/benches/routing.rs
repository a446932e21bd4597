//! Number-plan lookup, MNP lookup and routing at 6 and at 700 operators (100k prefixes), with 0 and
//! 10 million ported numbers, and applying a sync of 1k changes. `cargo bench -p switchboard-router`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use switchboard_adapter::{Adapter, Capabilities, Capability};
use switchboard_core::Msisdn;
use switchboard_router::{
    Channel, Health, NumberPlan, OperatorInfo, PortedBuilder, PortedNumbers, Router,
};

struct Dummy;

#[async_trait]
impl Adapter for Dummy {
    fn kind(&self) -> &'static str {
        "dummy"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&[Capability::Payment])
    }
}

/// `operators` operators sharing `prefixes` prefixes of 5 to 8 digits under country codes 30..99,
/// each with one payment channel.
fn router(operators: usize, prefixes: usize) -> Router {
    let mut ops: Vec<OperatorInfo> = (0..operators)
        .map(|i| OperatorInfo::new(&format!("op-{i}"), "ES", &[], &["EUR"]))
        .collect();
    for p in 0..prefixes {
        let country = 30 + p % 70;
        let len = 3 + p % 4;
        let body = p / 140;
        let prefix = format!("+{country}{body:0len$}");
        ops[p % operators].prefixes.push(prefix);
    }
    let plan = NumberPlan::new(ops).expect("valid plan");
    let channels = (0..operators)
        .map(|i| Channel {
            id: format!("ch-{i}"),
            adapter: Arc::new(Dummy),
            capabilities: Capabilities::of(&[Capability::Payment]),
            priority: 100,
            weight: 1,
            operators: vec![format!("op-{i}")],
            health: Health::default(),
            control: Default::default(),
        })
        .collect();
    Router::new(plan, channels)
}

fn number(i: u64) -> Msisdn {
    Msisdn::parse(&format!("+34{}", 600_000_000 + i)).expect("valid number")
}

/// Every other number of `count` from +34600000000 ported, to operators round robin.
fn ported(router: &Router, count: u64) -> PortedNumbers {
    let plan = router.plan();
    let mut builder = PortedBuilder::new(plan);
    for i in 0..count {
        let op = &plan.operators()[(i as usize) % plan.operators().len()].id;
        builder.push(&number(i * 2), op).expect("few operators");
    }
    builder.finish(1)
}

fn bench(c: &mut Criterion) {
    let probe_home = number(1_000_001); // odd: never ported
    let probe_ported = number(1_000_002);
    for (operators, prefixes) in [(6, 60), (700, 100_000)] {
        let r = router(operators, prefixes);
        for count in [0u64, 10_000_000] {
            let table = ported(&r, count);
            eprintln!(
                "{operators} operators, {count} overrides: {} bytes of MNP table ({:.1} per override)",
                table.heap_bytes(),
                table.heap_bytes() as f64 / count.max(1) as f64
            );
            let name = format!("{operators}ops/{count}ported");
            c.bench_function(&format!("plan_lookup/{name}"), |b| {
                b.iter(|| r.plan().lookup(black_box(&probe_home)))
            });
            c.bench_function(&format!("operator_now/{name}/home"), |b| {
                b.iter(|| r.operator_now(black_box(&probe_home), &table).is_ok())
            });
            c.bench_function(&format!("operator_now/{name}/ported"), |b| {
                b.iter(|| r.operator_now(black_box(&probe_ported), &table).is_ok())
            });
            c.bench_function(&format!("route_now/{name}"), |b| {
                b.iter(|| {
                    r.route_now(black_box(&probe_ported), &table, Capability::Payment)
                        .map(|route| route.channels.len())
                })
            });
            if count > 0 {
                let plan = r.plan();
                let changes: Vec<(Msisdn, Option<&str>)> = (0..1000u64)
                    .map(|i| {
                        let op = (i % 3 != 0).then_some(plan.operators()[0].id.as_str());
                        (number(i * 7_919), op)
                    })
                    .collect();
                c.bench_function(&format!("sync_1k_changes/{name}"), |b| {
                    b.iter_batched_ref(
                        || table.clone(),
                        |t| {
                            for (m, op) in &changes {
                                t.set(plan, m, *op).expect("known operator");
                            }
                        },
                        BatchSize::LargeInput,
                    )
                });
            }
        }
    }
}

criterion_group! {
    name = routing;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(routing);
