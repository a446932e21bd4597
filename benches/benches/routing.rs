//! Routing (crates/router): number plan lookup, and number → operator → ordered channels.

use std::sync::Arc;

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use switchboard_adapter::{Adapter, Capabilities, Capability};
use switchboard_core::Msisdn;
use switchboard_router::{Channel, Health, NumberPlan, OperatorInfo, Router};

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
    Channel {
        id: id.into(),
        adapter: Arc::new(Idle),
        capabilities: Capabilities::of(&[Capability::Payment]),
        priority,
        weight: 1,
        operators: vec!["movistar-es".into()],
        health: Health::default(),
    }
}

/// The default number plan's shape: six operators.
fn router() -> Router {
    let plan = NumberPlan::new(vec![
        OperatorInfo::new("movistar-es", "ES", &["+346", "+347"], &["EUR"]),
        OperatorInfo::new("telekom-de", "DE", &["+4915", "+4916", "+4917"], &["EUR"]),
        OperatorInfo::new("dialog-lk", "LK", &["+9476", "+9477"], &["LKR"]),
        OperatorInfo::new("mts-ru", "RU", &["+79"], &["RUB"]),
        OperatorInfo::new("turkcell-tr", "TR", &["+9053"], &["TRY"]),
        OperatorInfo::new("orange-fr", "FR", &["+336", "+337"], &["EUR"]),
    ])
    .expect("a plan");
    Router::new(plan, vec![channel("primary", 100), channel("backup", 200)])
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

criterion_group!(benches, routing);
criterion_main!(benches);
