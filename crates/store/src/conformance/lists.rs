//! Status-filtered lists follow every status change (the Redis backend keeps an index per status).

use switchboard_core::{PaymentRecord, PaymentStatus, Phase};

use super::sample_payment;
use crate::{PaymentQuery, SortOrder, Store};

pub(super) async fn run<S, F, Fut>(fresh: &F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    status_filters_follow_transitions(&fresh().await).await;
}

fn with_status(id: &str, minute: u32, status: PaymentStatus) -> PaymentRecord {
    let mut p = sample_payment(id, "m1", minute);
    p.status = status;
    p
}

async fn ids(
    store: &dyn Store,
    statuses: &[PaymentStatus],
    order: SortOrder,
    page: u32,
    per_page: u32,
) -> (Vec<String>, usize) {
    let query = PaymentQuery {
        statuses: statuses.to_vec(),
        order,
        page,
        per_page,
        ..Default::default()
    };
    let got = store.list_payments("m1", &query).await.unwrap();
    (got.items.into_iter().map(|p| p.id).collect(), got.total)
}

async fn status_filters_follow_transitions(store: &dyn Store) {
    use PaymentStatus::{Denied, Processing, Succeeded};
    let p1 = with_status("p1", 1, Processing);
    let p2 = with_status("p2", 2, Succeeded);
    let p3 = with_status("p3", 3, Succeeded);
    let p4 = with_status("p4", 3, Denied);
    for p in [&p1, &p2, &p3, &p4] {
        store.insert_payment(p, &[]).await.unwrap();
    }
    let asc = SortOrder::Asc;
    let desc = SortOrder::Desc;
    assert_eq!(
        ids(store, &[Succeeded], asc, 1, 10).await,
        (vec!["p2".into(), "p3".into()], 2)
    );
    assert_eq!(
        ids(store, &[Processing], asc, 1, 10).await,
        (vec!["p1".into()], 1)
    );
    // Several statuses merge in creation order (ties by id), paged.
    assert_eq!(
        ids(store, &[Denied, Processing, Succeeded], asc, 2, 2).await,
        (vec!["p3".into(), "p4".into()], 4)
    );
    assert_eq!(
        ids(store, &[Succeeded, Denied], desc, 1, 2).await,
        (vec!["p4".into(), "p3".into()], 3)
    );
    assert_eq!(
        ids(store, &[Succeeded, Succeeded], asc, 1, 10).await.1,
        2,
        "a status asked twice counts once"
    );
    // p1 settles: it leaves `processing` and joins `succeeded`.
    let mut settled = p1.clone();
    settled.status = Succeeded;
    settled.version = 2;
    store.update_payment(&settled, 1, &[], &[]).await.unwrap();
    assert_eq!(ids(store, &[Processing], asc, 1, 10).await, (vec![], 0));
    assert_eq!(
        ids(store, &[Succeeded], asc, 1, 10).await,
        (vec!["p1".into(), "p2".into(), "p3".into()], 3)
    );
    // A payment that is no longer visible leaves every list.
    let mut hidden = p2.clone();
    hidden.phase = Phase::Rejected(switchboard_core::ApiError::of(
        switchboard_core::ErrorCode::Internal,
    ));
    hidden.status = Denied;
    hidden.version = 2;
    store.update_payment(&hidden, 1, &[], &[]).await.unwrap();
    assert_eq!(
        ids(store, &[Succeeded, Denied], asc, 1, 10).await,
        (vec!["p1".into(), "p3".into(), "p4".into()], 3)
    );
    // A page past the end is empty but still counts every match.
    assert_eq!(ids(store, &[Succeeded], asc, 3, 2).await, (vec![], 2));
}
