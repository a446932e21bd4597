//! The request fingerprint (crates/core/src/fingerprint.rs): SHA-256 of the JSON form.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use switchboard_core::fingerprint::fingerprint;

fn fingerprints(c: &mut Criterion) {
    let request: serde_json::Value = serde_json::from_str(
        r#"{"amountTransaction":{"phoneNumber":"+34612345601","clientCorrelator":"bench-1-1","referenceCode":"bench-1-1","paymentAmount":{"chargingInformation":{"amount":"1","currency":"EUR","description":"Benchmark"}}}}"#,
    )
    .expect("json");
    c.bench_function("fingerprint/payment_request", |b| {
        b.iter(|| fingerprint(black_box(&request)))
    });
}

criterion_group!(benches, fingerprints);
criterion_main!(benches);
