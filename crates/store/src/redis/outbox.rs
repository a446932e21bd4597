//! The Redis backend's outbox: deliveries in a stream per merchant, read through the consumer
//! group `workers` (a worker is a consumer), plus the hashes and sets the scripts keep beside it.
//! Events join the stream inside the update scripts (outbox.lua); this file holds the worker,
//! dead-letter and webhook-endpoint calls, one script (one round trip) each. Layout: crate README.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use redis::{Script, Value};

use super::{outbox_codec, RedisStore};
use crate::outbox_rules::{self, parse_delivery_id};
use crate::{
    DeadLetter, Delivery, DeliveryResult, StoreError, WebhookEndpoint, EXPIRED_REASON,
    STOPPED_REASON,
};

struct OutboxScripts {
    claim: Script,
    finish: Script,
    replay: Script,
    put: Script,
    remove: Script,
    list: Script,
}

static SCRIPTS: LazyLock<OutboxScripts> = LazyLock::new(|| OutboxScripts {
    claim: Script::new(concat!(
        include_str!("scripts/outbox_work.lua"),
        include_str!("scripts/outbox_claim.lua")
    )),
    finish: Script::new(concat!(
        include_str!("scripts/outbox_work.lua"),
        include_str!("scripts/outbox_finish.lua")
    )),
    replay: Script::new(concat!(
        include_str!("scripts/outbox.lua"),
        include_str!("scripts/outbox_replay.lua")
    )),
    put: Script::new(include_str!("scripts/webhook_put.lua")),
    remove: Script::new(include_str!("scripts/webhook_remove.lua")),
    list: Script::new(include_str!("scripts/webhook_list.lua")),
});

fn micros(at: DateTime<Utc>) -> String {
    super::codec::score(at).to_string()
}

impl RedisStore {
    pub(super) async fn outbox_claim(
        &self,
        merchant_id: &str,
        worker: &str,
        now: DateTime<Utc>,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mk = self.keys.merchant(merchant_id);
        let mut call = SCRIPTS.claim.key(mk.outbox_work());
        call.arg(worker)
            .arg(micros(now))
            .arg(now.timestamp_millis())
            // Lua numbers are doubles: keep both far below 2^53.
            .arg(lease_ms.min(1 << 50))
            .arg(limit.min(1 << 50))
            .arg(STOPPED_REASON)
            .arg(EXPIRED_REASON);
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("claim_deliveries", call.invoke_async(&mut conn))
            .await?;
        outbox_codec::claimed(reply)
    }

    pub(super) async fn outbox_finish(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // Not a stream entry id: no such delivery (and XRANGE would refuse it).
        if parse_delivery_id(delivery_id).is_none() {
            return Ok(false);
        }
        let (kind, next, text) = match result {
            DeliveryResult::Delivered => ("delivered", String::new(), ""),
            DeliveryResult::Retry {
                next_attempt_at,
                error,
            } => ("retry", micros(*next_attempt_at), error.as_str()),
            DeliveryResult::DeadLetter { reason } => ("dead", String::new(), reason.as_str()),
            DeliveryResult::Gone { reason } => ("gone", String::new(), reason.as_str()),
        };
        let mk = self.keys.merchant(merchant_id);
        let mut call = SCRIPTS.finish.key(mk.outbox_work());
        call.arg(delivery_id)
            .arg(kind)
            .arg(micros(now))
            .arg(next)
            .arg(text);
        let mut conn = self.conn.clone();
        let done: i64 = self
            .call("finish_delivery", call.invoke_async(&mut conn))
            .await?;
        Ok(done == 1)
    }

    /// `XLEN` of the merchant's outbox stream: finished and buried deliveries are deleted from it.
    pub(super) async fn outbox_pending_impl(&self, merchant_id: &str) -> Result<u64, StoreError> {
        let mut cmd = redis::cmd("XLEN");
        cmd.arg(self.keys.merchant(merchant_id).outbox());
        let mut conn = self.conn.clone();
        self.call("outbox_pending", cmd.query_async(&mut conn))
            .await
    }

    pub(super) async fn outbox_dead_letters(
        &self,
        merchant_id: &str,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let mut cmd = redis::cmd("HVALS");
        cmd.arg(self.keys.merchant(merchant_id).dead_letters());
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("dead_letters", cmd.query_async(&mut conn))
            .await?;
        let mut letters = outbox_codec::dead_letters(reply)?;
        outbox_rules::sort_dead_letters(&mut letters);
        Ok(letters)
    }

    pub(super) async fn outbox_replay(
        &self,
        merchant_id: &str,
        delivery_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mk = self.keys.merchant(merchant_id);
        let mut call = SCRIPTS.replay.key(mk.outbox());
        call.key(mk.outbox_queues())
            .key(mk.dead_letters())
            .key(mk.stopped_endpoints());
        call.arg(delivery_id).arg(micros(now));
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("replay_dead_letter", call.invoke_async(&mut conn))
            .await?;
        // The new delivery id, or 0 when there was no such dead letter.
        Ok(!matches!(reply, Value::Int(0)))
    }

    /// The keys of the webhook scripts, in their order.
    fn webhook_keys(&self, merchant_id: &str) -> Vec<String> {
        let mk = self.keys.merchant(merchant_id);
        vec![
            mk.webhooks(),
            mk.webhook_order(),
            mk.webhook_targets(),
            mk.webhook_filters(),
        ]
    }

    pub(super) async fn webhook_put(
        &self,
        merchant_id: &str,
        endpoint: &WebhookEndpoint,
    ) -> Result<(), StoreError> {
        let mut call = SCRIPTS.put.key(self.webhook_keys(merchant_id));
        call.arg(outbox_codec::endpoint_argv(endpoint)?);
        let mut conn = self.conn.clone();
        let _: Value = self
            .call("put_webhook_endpoint", call.invoke_async(&mut conn))
            .await?;
        Ok(())
    }

    pub(super) async fn webhook_list(
        &self,
        merchant_id: &str,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let mk = self.keys.merchant(merchant_id);
        let mut call = SCRIPTS.list.key(mk.webhooks());
        call.key(mk.webhook_order()).key(mk.stopped_endpoints());
        let mut conn = self.conn.clone();
        let reply: Value = self
            .call("webhook_endpoints", call.invoke_async(&mut conn))
            .await?;
        let mut all = outbox_codec::endpoints(reply)?;
        // The order index is exact to the µs; this keeps ties and sub-µs times like memory.
        outbox_rules::sort_endpoints(&mut all);
        Ok(all)
    }

    pub(super) async fn webhook_remove(
        &self,
        merchant_id: &str,
        endpoint_id: &str,
    ) -> Result<bool, StoreError> {
        let mut call = SCRIPTS.remove.key(self.webhook_keys(merchant_id));
        call.arg(endpoint_id);
        let mut conn = self.conn.clone();
        let removed: i64 = self
            .call("remove_webhook_endpoint", call.invoke_async(&mut conn))
            .await?;
        Ok(removed == 1)
    }
}
