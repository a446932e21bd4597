//! The Redis side of spending and rate limits: one script call (one round trip) each.
//!
//! A subscriber's month of reservations is the hash `{P:s:<msisdn>}:spend:<YYYY-MM>:<CUR>`: a hash
//! tag of its own (the subscriber), so concurrent payments of one subscriber through any merchant
//! meet in one slot, and one script checks and reserves atomically. A merchant's rate cell is
//! `{P:m:<merchant>}:rate`, in the merchant's slot.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{Script, Value};

use super::keys::member;
use super::RedisStore;
use crate::{
    Milli, RateDecision, RateQuota, SpendOutcome, SpendPeriod, StoreError, SPEND_RETENTION,
};

static RESERVE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/spend_reserve.lua")));
static RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/spend_release.lua")));
static RATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("scripts/gcra.lua"),
        include_str!("scripts/rate.lua")
    ))
});

fn int(value: &Value) -> Result<i64, StoreError> {
    match value {
        Value::Int(n) => Ok(*n),
        other => Err(StoreError::Corrupt(format!(
            "unexpected script reply {other:?}"
        ))),
    }
}

impl RedisStore {
    fn spend_key(&self, period: &SpendPeriod) -> String {
        self.keys
            .subscriber_spend(period.msisdn.as_str(), &period.month, &period.currency)
    }

    pub(super) async fn reserve_spend_impl(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
        amount: Milli,
        limit: Milli,
    ) -> Result<SpendOutcome, StoreError> {
        let mut call = RESERVE.key(self.spend_key(period));
        call.arg(member(payment_id))
            .arg(amount)
            .arg(limit)
            .arg(SPEND_RETENTION.as_millis() as u64);
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("reserve_spend", call.invoke_async(&mut conn))
            .await?;
        match reply {
            Value::Array(items) if items.len() == 2 => {
                let total = int(&items[1])?;
                Ok(if int(&items[0])? == 1 {
                    SpendOutcome::Reserved { total }
                } else {
                    SpendOutcome::OverLimit { total }
                })
            }
            other => Err(StoreError::Corrupt(format!(
                "unexpected reserve_spend reply {other:?}"
            ))),
        }
    }

    pub(super) async fn release_spend_impl(
        &self,
        period: &SpendPeriod,
        payment_id: &str,
    ) -> Result<bool, StoreError> {
        let mut call = RELEASE.key(self.spend_key(period));
        call.arg(member(payment_id));
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("release_spend", call.invoke_async(&mut conn))
            .await?;
        Ok(int(&reply)? == 1)
    }

    pub(super) async fn spent_impl(&self, period: &SpendPeriod) -> Result<Milli, StoreError> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.spend_key(period)).arg("#total");
        let mut conn = self.conn.clone();
        let reply: Option<i64> = self.call("spent", cmd.query_async(&mut conn)).await?;
        Ok(reply.unwrap_or(0))
    }

    pub(super) async fn rate_limit_impl(
        &self,
        merchant_id: &str,
        quota: RateQuota,
    ) -> Result<RateDecision, StoreError> {
        let mut call = RATE.key(self.keys.merchant(merchant_id).rate());
        call.arg(quota.interval_us()).arg(quota.tolerance_us());
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("rate_limit", call.invoke_async(&mut conn))
            .await?;
        let wait_us = int(&reply)?;
        Ok(if wait_us <= 0 {
            RateDecision::Allowed
        } else {
            RateDecision::Limited {
                retry_after: Duration::from_micros(wait_us as u64),
            }
        })
    }
}
