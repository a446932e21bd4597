//! The review list on Redis: per merchant, one sorted set per kind of the records marked
//! `needs_review` (kept by the insert and update scripts), read with one script per merchant.

use std::sync::LazyLock;

use redis::{Script, Value};

use super::codec::{self, array};
use super::RedisStore;
use crate::{ReviewList, StoreError};

static REVIEW: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/review.lua")));

impl RedisStore {
    pub(super) async fn review_list_impl(
        &self,
        merchant_ids: &[String],
        limit: usize,
    ) -> Result<ReviewList, StoreError> {
        if limit == 0 {
            return Ok(ReviewList::default());
        }
        let found = Self::for_each_merchant(merchant_ids, |m| async move {
            let mk = self.keys.merchant(m);
            let mut call = REVIEW.key(mk.review_payments());
            call.key(mk.review_refunds())
                .key(mk.review_topups())
                .arg(mk.payment_base())
                .arg(mk.refund_base())
                .arg(mk.topup_base())
                .arg(limit.min(1 << 50));
            let mut conn = self.conn.clone();
            let reply: Value = self
                .call("review_list", call.invoke_async(&mut conn))
                .await?;
            let mut kinds = array(reply)?.into_iter();
            let mut next = || {
                kinds
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("short reply from review.lua".into()))
            };
            Ok(vec![ReviewList {
                payments: codec::records(next()?)?,
                refunds: codec::records(next()?)?,
                topups: codec::records(next()?)?,
            }])
        })
        .await?;
        let mut list = ReviewList::default();
        for part in found {
            list.payments.extend(part.payments);
            list.refunds.extend(part.refunds);
            list.topups.extend(part.topups);
        }
        crate::outbox_rules::order_review(&mut list, limit);
        Ok(list)
    }
}
