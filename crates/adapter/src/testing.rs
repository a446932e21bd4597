//! Scaffolding for adapter tests against the sandbox (feature `test-support`, never in production
//! builds): stored records as the gateway would hand them to an adapter, and bounded waits.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use switchboard_core::{ErrorCode, PaymentRecord, PaymentStatus, RefundRecord};

use crate::{Adapter, AdapterError, ChannelSettings, UpstreamPayment};

/// The channel file at `path` (a shipped `config/channels/*.toml` or an example) as the channel
/// `id`, pointed at `base_url` (a sandbox's address for the file's upstream).
pub fn channel_file(path: &str, id: &str, base_url: String) -> ChannelSettings {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let table: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut settings: ChannelSettings =
        serde_json::from_value(serde_json::to_value(table).expect("TOML is JSON"))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    settings.id = id.into();
    settings.base_url = base_url;
    settings
}

/// A stored 1-step payment `id` of `amount` (`"2.5"`) `currency` for `msisdn`, about to be sent:
/// merchant `m`, reference `ref-{id}`, upstream key `sb-{id}`.
pub fn payment_record(id: &str, msisdn: &str, amount: &str, currency: &str) -> PaymentRecord {
    let amount: serde_json::Value = serde_json::from_str(amount).expect("a JSON number");
    serde_json::from_value(json!({
        "id": id, "merchant_id": "m", "flow": "one_step", "phase": {"phase": "submitting"},
        "status": "processing", "version": 1, "msisdn": msisdn, "operator_id": "test-operator",
        "channel_id": "test-channel", "client_correlator": "merchant-cc", "reference_code": format!("ref-{id}"),
        "payment_amount": {"chargingInformation": {"amount": amount, "currency": currency, "description": "Game credits"}},
        "upstream_correlator": PaymentRecord::upstream_correlator_for(id), "upstream_id": null,
        "server_reference_code": null, "validation_info": null, "validation_attempts": 0,
        "pending_action": null, "sink": null, "sink_credential": null,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "payment_date": null, "denial_reason": null, "fingerprint": "f", "needs_review": false
    }))
    .expect("valid payment record")
}

/// A stored partial refund `id` of `amount` `currency` of payment `payment_id`, about to be sent
/// (upstream key `sb-{id}`).
pub fn refund_record(payment_id: &str, id: &str, amount: &str, currency: &str) -> RefundRecord {
    let amount: serde_json::Value = serde_json::from_str(amount).expect("a JSON number");
    serde_json::from_value(json!({
        "id": id, "merchant_id": "m", "payment_id": payment_id, "refund_type": "partial",
        "amount": amount, "currency": currency,
        "charging_information": {"amount": amount, "currency": currency, "description": "refund"},
        "merchant_identifier": null, "refund_details": null, "reason": null, "client_correlator": null,
        "reference_code": format!("ref-{id}"), "phase": {"phase": "submitting"}, "status": "processing",
        "channel_id": "test-channel", "upstream_correlator": RefundRecord::upstream_correlator_for(id),
        "upstream_id": null, "sink": null, "sink_credential": null, "created_at": chrono::Utc::now(),
        "updated_at": chrono::Utc::now(), "refund_date": null, "denial_reason": null, "version": 1,
        "next_check_at": null, "reconcile_attempts": 0, "needs_review": false, "fingerprint": "f"
    }))
    .expect("valid refund record")
}

/// The record as the gateway stores it after `answer`.
pub fn learned(mut record: PaymentRecord, answer: &UpstreamPayment) -> PaymentRecord {
    record.upstream_id = answer.upstream_id.clone();
    record.status = answer.status;
    record
}

/// Polls the payment's status until it is `want` (bounded: 100 polls 50 ms apart), else panics
/// naming the last status seen.
pub async fn settle(
    adapter: &Arc<dyn Adapter>,
    record: &PaymentRecord,
    want: PaymentStatus,
) -> UpstreamPayment {
    let mut last = None;
    for _ in 0..100 {
        let answer = adapter
            .payment_status(record)
            .await
            .expect("status query works");
        if answer.status == want {
            return answer;
        }
        last = Some(answer.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "payment {} never reached {want}; last seen {last:?}",
        record.id
    );
}

/// The CAMARA code and message of a refusal; panics on anything else.
pub fn refused<T: std::fmt::Debug>(result: Result<T, AdapterError>) -> (ErrorCode, String) {
    match result {
        Err(AdapterError::Refused(e)) => (e.code, e.message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
