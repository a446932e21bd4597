//! The store codec's per-payment work (crates/store/src/redis/codec.rs): a payment record to the
//! JSON kept in Redis, and back.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use switchboard_core::PaymentRecord;
use switchboard_store::conformance::sample_payment;

fn codec(c: &mut Criterion) {
    let record = sample_payment("pay_0123456789abcdef", "demo-merchant", 7);
    let json = serde_json::to_string(&record).expect("encodes");
    c.bench_function("codec/payment_record_encode", |b| {
        b.iter(|| serde_json::to_string(black_box(&record)).expect("encodes"))
    });
    c.bench_function("codec/payment_record_decode", |b| {
        b.iter(|| {
            serde_json::from_slice::<PaymentRecord>(black_box(json.as_bytes())).expect("decodes")
        })
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
