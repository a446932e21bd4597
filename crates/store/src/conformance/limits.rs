//! Conformance for the limit calls: spending reservations and rate limits.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::Msisdn;

use super::sample_payment;
use crate::{
    IdempotencyKey, InsertOutcome, RateDecision, RateQuota, SpendOutcome, SpendPeriod, Store,
};

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
    rated_claims_count_fresh_payments_and_answer_replays(&fresh().await).await;
    rated_claims_share_the_merchant_cell(&fresh().await).await;
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

fn cc(value: &str) -> IdempotencyKey {
    IdempotencyKey::ClientCorrelator(value.into())
}

fn rc(value: &str) -> IdempotencyKey {
    IdempotencyKey::ReferenceCode(value.into())
}

const TWO_AN_HOUR: RateQuota = RateQuota {
    requests: 2,
    per: Duration::from_secs(3600),
};

async fn rated_claims_count_fresh_payments_and_answer_replays(store: &dyn Store) {
    let claim = |id: &str, correlator: &str| {
        let p = sample_payment(id, "m1", 1);
        let keys = [cc(correlator), rc(&format!("ref-{id}"))];
        async move {
            store
                .insert_payment_rated(&p, &keys, TWO_AN_HOUR)
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("p1", "c1").await, InsertOutcome::Inserted);
    // Replays are answered and do not count: the second fresh payment still fits.
    for _ in 0..5 {
        match claim("p1-again", "c1").await {
            InsertOutcome::Existing { key, existing } => {
                assert_eq!(key, cc("c1"));
                assert_eq!(existing.id, "p1");
            }
            other => panic!("a replay is answered, got {other:?}"),
        }
    }
    assert_eq!(claim("p2", "c2").await, InsertOutcome::Inserted);
    match claim("p3", "c3").await {
        InsertOutcome::RateLimited { retry_after } => assert!(
            retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1800),
            "{retry_after:?}"
        ),
        other => panic!("the third fresh payment is over the quota, got {other:?}"),
    }
    // The refused claim wrote nothing: no record, and its keys are still free.
    assert!(store.get_payment("m1", "p3").await.unwrap().is_none());
    let p3 = sample_payment("p3", "m1", 1);
    assert_eq!(
        store
            .insert_payment(&p3, &[cc("c3"), rc("ref-p3")])
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
    // With the quota used up, a replay is still answered.
    assert!(matches!(
        claim("p1-later", "c1").await,
        InsertOutcome::Existing { .. }
    ));
    // Another merchant has its own quota.
    let other = sample_payment("q1", "m2", 1);
    assert_eq!(
        store
            .insert_payment_rated(&other, &[cc("c3")], TWO_AN_HOUR)
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
}

async fn rated_claims_share_the_merchant_cell(store: &dyn Store) {
    // A rated claim and `rate_limit` count against one GCRA cell per merchant.
    assert_eq!(
        store.rate_limit("m1", TWO_AN_HOUR).await.unwrap(),
        RateDecision::Allowed
    );
    let p1 = sample_payment("p1", "m1", 1);
    assert_eq!(
        store
            .insert_payment_rated(&p1, &[cc("c1")], TWO_AN_HOUR)
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
    assert!(matches!(
        store.rate_limit("m1", TWO_AN_HOUR).await.unwrap(),
        RateDecision::Limited { .. }
    ));
    let p2 = sample_payment("p2", "m1", 1);
    assert!(matches!(
        store
            .insert_payment_rated(&p2, &[cc("c2")], TWO_AN_HOUR)
            .await
            .unwrap(),
        InsertOutcome::RateLimited { .. }
    ));
    assert!(store.get_payment("m1", "p2").await.unwrap().is_none());
}
