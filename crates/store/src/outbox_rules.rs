//! Outbox rules both backends apply the same way: which registered endpoints an event fans out
//! to, how a fan-out delivery is addressed, and how lists are ordered.

use crate::{DeadLetter, Endpoint, ReviewList, WebhookEndpoint};

/// Whether a registered endpoint takes events of `event_type` (an empty filter takes all).
pub(crate) fn wants(endpoint: &WebhookEndpoint, event_type: &str) -> bool {
    endpoint.events.is_empty() || endpoint.events.iter().any(|t| t == event_type)
}

/// The subject of one fan-out delivery: each endpoint keeps its own order.
pub(crate) fn fan_out_subject(subject: &str, endpoint_id: &str) -> String {
    format!("{subject}|{endpoint_id}")
}

/// The address a fan-out delivery carries for a registered endpoint (no bearer token).
pub(crate) fn delivery_endpoint(endpoint: &WebhookEndpoint) -> Endpoint {
    Endpoint {
        id: endpoint.id.clone(),
        url: endpoint.url.clone(),
        bearer: None,
        bearer_expires_at: None,
    }
}

/// A delivery id `<n>-<m>` as its pair of numbers; `None` for anything else.
pub(crate) fn parse_delivery_id(id: &str) -> Option<(u64, u64)> {
    let (high, low) = id.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(high) || !digits(low) {
        return None;
    }
    Some((high.parse().ok()?, low.parse().ok()?))
}

/// Write order of delivery ids (numeric, so `10-0` comes after `9-0`); odd ids sort last.
fn id_order(id: &str) -> (u64, u64) {
    parse_delivery_id(id).unwrap_or((u64::MAX, u64::MAX))
}

/// Dead letters oldest first: `failed_at`, then write order.
pub(crate) fn sort_dead_letters(letters: &mut [DeadLetter]) {
    letters.sort_by(|a, b| {
        (a.failed_at, id_order(&a.delivery.id), &a.delivery.id).cmp(&(
            b.failed_at,
            id_order(&b.delivery.id),
            &b.delivery.id,
        ))
    });
}

/// Registered endpoints oldest first: `created_at`, then id.
pub(crate) fn sort_endpoints(endpoints: &mut [WebhookEndpoint]) {
    endpoints.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
}

/// Each kind oldest first (`created_at`, then merchant and id), at most `limit` of each.
pub(crate) fn order_review(list: &mut ReviewList, limit: usize) {
    list.payments.sort_by(|a, b| {
        (a.created_at, &a.merchant_id, &a.id).cmp(&(b.created_at, &b.merchant_id, &b.id))
    });
    list.refunds.sort_by(|a, b| {
        (a.created_at, &a.merchant_id, &a.id).cmp(&(b.created_at, &b.merchant_id, &b.id))
    });
    list.topups.sort_by(|a, b| {
        (a.created_at, &a.merchant_id, &a.id).cmp(&(b.created_at, &b.merchant_id, &b.id))
    });
    list.payments.truncate(limit);
    list.refunds.truncate(limit);
    list.topups.truncate(limit);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_ids_parse_only_in_their_shape() {
        assert_eq!(
            parse_delivery_id("1700000000000-3"),
            Some((1_700_000_000_000, 3))
        );
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "1",
            "a-1",
            "1-1-1",
            "+1-1",
            "1- 1",
            "99999999999999999999-0",
        ] {
            assert_eq!(parse_delivery_id(bad), None, "{bad}");
        }
        assert!(id_order("9-0") < id_order("10-0"));
        assert!(id_order("10-2") < id_order("10-10"));
    }
}
