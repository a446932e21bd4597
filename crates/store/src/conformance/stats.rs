//! Rolling stats buckets: adds from several replicas merge per `(series, period)`; reads are
//! scoped to the series and the periods asked for.

use std::collections::BTreeMap;
use std::future::Future;

use crate::{StatsBucket, Store};

fn bucket(series: &str, period: u64, counts: &[(&str, u64)]) -> StatsBucket {
    StatsBucket {
        series: series.to_string(),
        period,
        counts: counts
            .iter()
            .map(|(f, n)| (f.to_string(), *n))
            .collect::<BTreeMap<_, _>>(),
    }
}

pub async fn run<S, F, Fut>(fresh: &F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    adds_merge_per_series_and_period(&fresh().await).await;
}

async fn adds_merge_per_series_and_period(store: &dyn Store) {
    let now = 180_000_000;
    // Two replicas add into the same buckets.
    store
        .add_stats(&[
            bucket("channel:a", now, &[("a", 2), ("s", 1)]),
            bucket("channel:a", now - 1, &[("a", 1)]),
            bucket("operator:x{y}:z", now, &[("a", 5)]),
        ])
        .await
        .unwrap();
    store
        .add_stats(&[bucket("channel:a", now, &[("a", 3), ("e:CODE", 1)])])
        .await
        .unwrap();
    let got = store
        .stats(&["channel:a".to_string()], now - 10, now)
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            bucket("channel:a", now - 1, &[("a", 1)]),
            bucket("channel:a", now, &[("a", 5), ("e:CODE", 1), ("s", 1)]),
        ]
    );
    // Only the periods asked for; unusual series names stay apart.
    let got = store
        .stats(
            &["channel:a".to_string(), "operator:x{y}:z".to_string()],
            now,
            now,
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1], bucket("operator:x{y}:z", now, &[("a", 5)]));
    assert!(store
        .stats(&["channel:b".to_string()], now - 10, now)
        .await
        .unwrap()
        .is_empty());
}
