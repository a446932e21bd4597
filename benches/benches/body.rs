//! Parsing a CAMARA 1-step payment body the way the create handler does
//! (crates/gateway/src/api/carrier_billing/create.rs): JSON value, sink rules, typed parse, checks.
//! Beside it, in the same run, what the ops metrics cost that payment (issue 10: "must not get
//! slower by more than a few percent"): every recording one 1-step payment makes — the HTTP
//! counter and histogram by matched route, the upstream call histogram, the operation outcome with
//! its rolling windows, the two store calls' histograms.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;
use switchboard_gateway::api::carrier_billing::model::{notification_target, PaymentInput};
use switchboard_gateway::http::{from_value, json_value};
use switchboard_gateway::observe::{CallResult, Kind, Observer, Outcome, StoreOp};
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

fn record_one_payment(observer: &Observer) {
    const CHANNEL: &str = "movistar_es_sandbox";
    let took = Duration::from_micros(900);
    observer.store_call(StoreOp::InsertPayment, Duration::from_micros(40));
    let rec = observer.recorder(Kind::Payment, "movistar-es");
    rec.call(CHANNEL, CallResult::Ok, took);
    rec.done(Some(CHANNEL), Outcome::Succeeded, None, Some(took));
    observer.store_call(StoreOp::UpdatePayment, Duration::from_micros(40));
    observer.http.record(
        "/carrier-billing/v0.5/payments",
        "POST",
        201,
        Duration::from_micros(1_100),
    );
}

fn metrics_of_one_payment(c: &mut Criterion) {
    use switchboard_gateway::config::{load, ConfigSource};
    let config = load(&ConfigSource::EmbeddedOnly).expect("the embedded configuration");
    let observer = Observer::new(&config);
    c.bench_function("metrics/record_one_payment", |b| {
        b.iter(|| record_one_payment(black_box(&observer)))
    });
}

criterion_group!(benches, body_parsing, metrics_of_one_payment);
criterion_main!(benches);
