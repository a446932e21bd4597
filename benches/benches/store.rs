//! A payment's store work (insert with its keys, then one update with an outbox event) on the
//! memory store and on the embedded store (the same, made durable: every call waits for its
//! fsync). `…/one` is one payment at a time (the latency of an insert + update); `…/concurrent_64`
//! is 64 payments at once (throughput: concurrent calls share one commit).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchboard_store::conformance::sample_payment;
use switchboard_store::testing::TempDir;
use switchboard_store::{
    EmbeddedStore, Endpoint, EventTarget, IdempotencyKey, MemoryStore, OutboxEvent, Store,
};

const CONCURRENT: u64 = 64;

async fn one_payment(store: &dyn Store, n: u64) {
    let id = format!("pay-{n}");
    let record = sample_payment(&id, "bench-merchant", 1);
    let keys = [
        IdempotencyKey::ClientCorrelator(format!("cc-{n}")),
        IdempotencyKey::ReferenceCode(record.reference_code.clone()),
    ];
    store.insert_payment(&record, &keys).await.expect("inserts");
    let mut paid = record.clone();
    paid.version += 1;
    let event = OutboxEvent {
        event_id: format!("ev-{n}"),
        event_type: "org.camaraproject.carrier-billing.v0.payment-completed".into(),
        merchant_id: record.merchant_id.clone(),
        subject: id,
        created_at: record.created_at,
        correlator: None,
        body: "{}".into(),
        target: EventTarget::Sink {
            endpoint: Endpoint {
                id: "sink".into(),
                url: "https://merchant.example/notify".into(),
                bearer: None,
                bearer_expires_at: None,
            },
        },
    };
    store
        .update_payment(&paid, record.version, &[], &[event])
        .await
        .expect("updates");
}

fn bench_store(c: &mut Criterion, name: &str, store: Arc<dyn Store>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let next = Arc::new(AtomicU64::new(0));
    let mut group = c.benchmark_group(format!("store/{name}"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("one", |b| {
        b.iter(|| {
            rt.block_on(one_payment(
                store.as_ref(),
                next.fetch_add(1, Ordering::Relaxed),
            ))
        })
    });
    group.throughput(Throughput::Elements(CONCURRENT));
    group.bench_function("concurrent_64", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                rt.block_on(async {
                    let tasks: Vec<_> = (0..CONCURRENT)
                        .map(|_| {
                            let (store, next) = (store.clone(), next.clone());
                            tokio::spawn(async move {
                                one_payment(store.as_ref(), next.fetch_add(1, Ordering::Relaxed))
                                    .await
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.expect("task");
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

fn store(c: &mut Criterion) {
    bench_store(c, "memory", Arc::new(MemoryStore::new()));
    // A temporary directory: on a tmpfs /tmp the fsync would cost nothing, so check where it is.
    let dir = TempDir::new("bench-embedded");
    let embedded = EmbeddedStore::open(dir.path()).expect("opens");
    bench_store(c, "embedded", Arc::new(embedded));
}

criterion_group!(benches, store);
criterion_main!(benches);
