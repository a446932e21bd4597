//! Conformance for the limit calls: spending reservations and rate limits.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::Msisdn;

use crate::{RateDecision, RateQuota, SpendOutcome, SpendPeriod, Store};

fn period(msisdn: &str, month: &str, currency: &str) -> SpendPeriod {
    SpendPeriod {
        msisdn: Msisdn::parse(msisdn).expect("valid sample"),
        month: month.into(),
        currency: currency.into(),
    }
}

/// Every limit check, each on a fresh store.
pub(super) async fn run_all<S, F, Fut>(fresh: &F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    reservations_are_exact_idempotent_and_released(&fresh().await).await;
    periods_are_independent(&fresh().await).await;
    concurrent_reservations_never_overshoot(Arc::new(fresh().await)).await;
    rate_limits_allow_a_burst_then_refuse_then_recover(&fresh().await).await;
}

async fn reservations_are_exact_idempotent_and_released(store: &dyn Store) {
    let p = period("+34600000001", "2026-01", "EUR");
    let limit = 300_000;
    let reserve = |id: &'static str, amount| {
        let p = p.clone();
        async move { store.reserve_spend(&p, id, amount, limit).await.unwrap() }
    };
    assert_eq!(
        reserve("p1", 20_001).await,
        SpendOutcome::Reserved { total: 20_001 }
    );
    assert_eq!(
        reserve("p1", 20_001).await,
        SpendOutcome::Reserved { total: 20_001 },
        "reserving again for one payment counts it once"
    );
    assert_eq!(store.spent(&p).await.unwrap(), 20_001);
    assert_eq!(
        reserve("p2", 280_000).await,
        SpendOutcome::OverLimit { total: 20_001 }
    );
    assert_eq!(
        store.spent(&p).await.unwrap(),
        20_001,
        "a refusal writes nothing"
    );
    assert_eq!(
        reserve("p2", 279_999).await,
        SpendOutcome::Reserved { total: 300_000 },
        "exactly the limit is allowed"
    );
    assert_eq!(
        reserve("p3", 1).await,
        SpendOutcome::OverLimit { total: 300_000 }
    );
    assert!(store.release_spend(&p, "p1").await.unwrap());
    assert!(
        !store.release_spend(&p, "p1").await.unwrap(),
        "a second release is harmless"
    );
    assert!(!store.release_spend(&p, "never").await.unwrap());
    assert_eq!(store.spent(&p).await.unwrap(), 279_999);
    assert_eq!(
        reserve("p3", 20_001).await,
        SpendOutcome::Reserved { total: 300_000 }
    );
    assert!(store.release_spend(&p, "p2").await.unwrap());
    assert!(store.release_spend(&p, "p3").await.unwrap());
    assert_eq!(store.spent(&p).await.unwrap(), 0);
    // An emptied period starts afresh.
    assert_eq!(
        reserve("p4", 300_000).await,
        SpendOutcome::Reserved { total: 300_000 }
    );
}

async fn periods_are_independent(store: &dyn Store) {
    let base = period("+34600000001", "2026-01", "EUR");
    let others = [
        period("+34600000002", "2026-01", "EUR"),
        period("+34600000001", "2026-02", "EUR"),
        period("+34600000001", "2026-01", "LKR"),
    ];
    assert_eq!(
        store
            .reserve_spend(&base, "p", 50_000, 50_000)
            .await
            .unwrap(),
        SpendOutcome::Reserved { total: 50_000 }
    );
    for (i, other) in others.iter().enumerate() {
        assert_eq!(store.spent(other).await.unwrap(), 0);
        assert_eq!(
            store
                .reserve_spend(other, &format!("q{i}"), 50_000, 50_000)
                .await
                .unwrap(),
            SpendOutcome::Reserved { total: 50_000 }
        );
        assert!(!store.release_spend(other, "p").await.unwrap());
    }
    assert_eq!(store.spent(&base).await.unwrap(), 50_000);
    // Ids that look like the running total or need encoding stay apart.
    for id in ["#total", "a:b{c}", "p%"] {
        let weird = period("+34600000009", "2026-01", "EUR");
        assert!(matches!(
            store.reserve_spend(&weird, id, 7, 1_000).await.unwrap(),
            SpendOutcome::Reserved { .. }
        ));
    }
    let weird = period("+34600000009", "2026-01", "EUR");
    assert_eq!(store.spent(&weird).await.unwrap(), 21);
    assert!(store.release_spend(&weird, "#total").await.unwrap());
    assert_eq!(store.spent(&weird).await.unwrap(), 14);
}

async fn concurrent_reservations_never_overshoot<S: Store>(store: Arc<S>) {
    let p = period("+34600000003", "2026-01", "EUR");
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            store
                .reserve_spend(&p, &format!("p{i}"), 20_000, 300_000)
                .await
                .unwrap()
        }));
    }
    let mut reserved = 0;
    for t in tasks {
        if let SpendOutcome::Reserved { total } = t.await.unwrap() {
            assert!(total <= 300_000);
            reserved += 1;
        }
    }
    assert_eq!(reserved, 15);
    assert_eq!(store.spent(&p).await.unwrap(), 300_000);
}

async fn rate_limits_allow_a_burst_then_refuse_then_recover(store: &dyn Store) {
    let slow = RateQuota {
        requests: 3,
        per: Duration::from_secs(60),
    };
    for _ in 0..3 {
        assert_eq!(
            store.rate_limit("m1", slow).await.unwrap(),
            RateDecision::Allowed
        );
    }
    match store.rate_limit("m1", slow).await.unwrap() {
        RateDecision::Limited { retry_after } => {
            assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(60))
        }
        RateDecision::Allowed => panic!("the fourth request in the window must be limited"),
    }
    assert_eq!(
        store.rate_limit("m2", slow).await.unwrap(),
        RateDecision::Allowed,
        "merchants have their own quota"
    );
    let fast = RateQuota {
        requests: 2,
        per: Duration::from_millis(200),
    };
    assert_eq!(
        store.rate_limit("m3", fast).await.unwrap(),
        RateDecision::Allowed
    );
    assert_eq!(
        store.rate_limit("m3", fast).await.unwrap(),
        RateDecision::Allowed
    );
    assert!(matches!(
        store.rate_limit("m3", fast).await.unwrap(),
        RateDecision::Limited { .. }
    ));
    let mut recovered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if store.rate_limit("m3", fast).await.unwrap() == RateDecision::Allowed {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "the quota comes back after the window");
}
