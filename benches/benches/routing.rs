//! Routing (crates/router): number plan lookup, number → operator → ordered channels, and one routing
//! decision with the scoring (circuit states, success rate and p95 of each channel's window, weighted
//! draw, exploration) side by side with the priority pick it replaced (`priority_order`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use std::hint::black_box;
use switchboard_adapter::{Adapter, Capabilities, Capability};
use switchboard_core::Msisdn;
use switchboard_router::{
    now_ms, priority_order, CallHealth, Channel, Health, NumberPlan, OperatorInfo, Router,
};

struct Idle;

#[async_trait]
impl Adapter for Idle {
    fn kind(&self) -> &'static str {
        "idle"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&[Capability::Payment])
    }
}

fn channel(id: &str, priority: u32) -> Channel {
    channel_for(id, priority, "movistar-es")
}

fn channel_for(id: &str, priority: u32, operator: &str) -> Channel {
    Channel {
        id: id.into(),
        adapter: Arc::new(Idle),
        capabilities: Capabilities::of(&[Capability::Payment]),
        priority,
        weight: 1,
        operators: vec![operator.into()],
        health: Health::default(),
        control: Default::default(),
    }
}

/// The default number plan's shape: six operators.
fn plan() -> NumberPlan {
    NumberPlan::new(vec![
        OperatorInfo::new("movistar-es", "ES", &["+346", "+347"], &["EUR"]),
        OperatorInfo::new("telekom-de", "DE", &["+4915", "+4916", "+4917"], &["EUR"]),
        OperatorInfo::new("dialog-lk", "LK", &["+9476", "+9477"], &["LKR"]),
        OperatorInfo::new("mts-ru", "RU", &["+79"], &["RUB"]),
        OperatorInfo::new("turkcell-tr", "TR", &["+9053"], &["TRY"]),
        OperatorInfo::new("orange-fr", "FR", &["+336", "+337"], &["EUR"]),
    ])
    .expect("a plan")
}

fn router() -> Router {
    Router::new(
        plan(),
        vec![channel("primary", 100), channel("backup", 200)],
    )
}

/// Telekom DE with three channels: two of equal priority with a window full of history (so the
/// scoring runs: 1 000 calls each, 2 % and 10 % failed, different latencies) and a backup.
fn scored_router() -> Router {
    let channels = vec![
        channel_for("de-a", 100, "telekom-de"),
        channel_for("de-b", 100, "telekom-de"),
        channel_for("de-backup", 200, "telekom-de"),
    ];
    let router = Router::new(plan(), channels);
    for (id, failed_every, ms) in [
        ("de-a", 50, 40),
        ("de-b", 10, 180),
        ("de-backup", 1_000, 60),
    ] {
        let ch = router.channel(id).expect("configured");
        for i in 0..1_000u32 {
            let call = if i % failed_every == 0 {
                CallHealth::Failed
            } else {
                CallHealth::Answered(Duration::from_millis(ms + u64::from(i % 7) * 10))
            };
            // Spread so no run of failures opens a circuit.
            ch.health.record(Capability::Payment, call);
        }
    }
    router
}

fn routing(c: &mut Criterion) {
    let router = router();
    let msisdn = Msisdn::parse("+34612345601").expect("e164");
    c.bench_function("routing/number_plan_lookup", |b| {
        b.iter(|| router.plan().lookup(black_box(&msisdn)).expect("known"))
    });
    c.bench_function("routing/route_payment_two_channels", |b| {
        b.iter(|| {
            router
                .route(black_box(&msisdn), Capability::Payment)
                .expect("routed")
                .channels
                .len()
        })
    });
}

/// One decision over the same three channels: the scored order against the priority pick.
fn decision(c: &mut Criterion) {
    let router = scored_router();
    let channels = router
        .route_to("telekom-de", Capability::Payment)
        .expect("routed")
        .channels;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    c.bench_function("routing/decision_priority_pick_three_channels", |b| {
        b.iter(|| {
            let mut order = channels.clone();
            priority_order(black_box(&mut order), &mut rng);
            order.len()
        })
    });
    c.bench_function("routing/decision_scored_three_channels", |b| {
        b.iter(|| {
            let mut order = channels.clone();
            router.order_with(
                black_box(&mut order),
                Capability::Payment,
                now_ms(),
                &mut rng,
            );
            order.len()
        })
    });
    let msisdn = Msisdn::parse("+4915112345601").expect("e164");
    c.bench_function("routing/route_scored_three_channels", |b| {
        b.iter(|| {
            router
                .route(black_box(&msisdn), Capability::Payment)
                .expect("routed")
                .channels
                .len()
        })
    });
}

criterion_group!(benches, routing, decision);
criterion_main!(benches);
