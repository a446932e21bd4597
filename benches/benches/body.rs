//! Parsing a CAMARA 1-step payment body the way the create handler does
//! (crates/gateway/src/api/carrier_billing/create.rs): JSON value, sink rules, typed parse, checks.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use switchboard_gateway::api::carrier_billing::model::{notification_target, PaymentInput};
use switchboard_gateway::http::{from_value, json_value};
use switchboard_webhooks::ssrf::AllowList;

const BODY: &[u8] = br#"{"amountTransaction":{"phoneNumber":"+34612345601","clientCorrelator":"bench-1-1","referenceCode":"bench-1-1","paymentAmount":{"chargingInformation":{"amount":1,"currency":"EUR","description":"Benchmark"}}}}"#;

fn parse(body: &[u8]) -> PaymentInput {
    let raw = json_value(body).expect("json");
    notification_target(&raw, &AllowList::parse::<&str>(&[]).expect("empty")).expect("no sink");
    let input: PaymentInput = from_value(raw).expect("a payment");
    input.amount_transaction.validate().expect("valid");
    input
}

fn body_parsing(c: &mut Criterion) {
    c.bench_function("body/payment_create_parse_and_validate", |b| {
        b.iter(|| parse(black_box(BODY)))
    });
}

criterion_group!(benches, body_parsing);
criterion_main!(benches);
