//! The Redis key layout. Every key of a merchant starts with the hash tag `{<prefix>:m:<merchant>}`,
//! so all of them live in one Cluster slot and one script may touch them together.
//!
//! User data (merchant ids, payment and top-up ids, idempotency values) is percent-encoded before
//! it goes into a key name: the encoding is injective and never produces `{`, `}` or `:`, so it can
//! neither break the hash tag nor make two different inputs share a key.
//!
//! The one tag outside the merchants' is the MNP override hash `{<prefix>:mnp}`, with its version
//! counter and change log under the same tag, so they live in one slot.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::IdempotencyKey;

/// Builds key names under one prefix (from the settings; checked to hold no braces).
#[derive(Clone)]
pub(crate) struct Keys {
    prefix: String,
    /// Keys the hash that names a subscriber in key names (see [`Keys::subscriber`]).
    subscriber_mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Keys {
    pub(crate) fn new(prefix: &str, subscriber_secret: &[u8]) -> Self {
        Keys {
            prefix: prefix.to_string(),
            subscriber_mac: Hmac::new_from_slice(subscriber_secret)
                .expect("HMAC-SHA256 takes a key of any length"),
        }
    }

    /// A subscriber in key names: 128 bits of HMAC-SHA256(secret, E.164) in hex, never the number
    /// itself, so `KEYS`, `MONITOR` or a dump of key names shows no phone number, and without the
    /// secret the ~10^10 numbers of a country cannot be tried against it.
    fn subscriber(&self, msisdn: &str) -> String {
        let mut mac = self.subscriber_mac.clone();
        mac.update(msisdn.as_bytes());
        let digest = mac.finalize().into_bytes();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn merchant(&self, merchant_id: &str) -> MerchantKeys {
        MerchantKeys {
            tag: format!("{{{}:m:{}}}", self.prefix, encode(merchant_id)),
        }
    }

    /// Hash `{<prefix>:s:<subscriber hash>}:spend:<YYYY-MM>:<currency>`: one subscriber's month of spending
    /// reservations (payment member → thousandths, plus `#total`). The subscriber's own tag, which
    /// no merchant tag (`{<prefix>:m:…}`) or the MNP tag can equal.
    pub(crate) fn subscriber_spend(&self, msisdn: &str, month: &str, currency: &str) -> String {
        format!(
            "{{{}:s:{}}}:spend:{}:{}",
            self.prefix,
            self.subscriber(msisdn),
            encode(month),
            encode(currency)
        )
    }

    /// Hash `{<prefix>:stats:<series>}:<period>`: one series' fleet counts of one 10 s period
    /// (field → count). The series' own tag (`stats:` cannot follow a merchant's `m:`).
    pub(crate) fn stats(&self, series: &str, period: u64) -> String {
        format!("{{{}:stats:{}}}:{period}", self.prefix, encode(series))
    }

    /// Hash `{<prefix>:mnp}`: MSISDN (E.164) → operator id. Its own tag, which no merchant tag
    /// (`{<prefix>:m:…}`) can equal.
    pub(crate) fn mnp(&self) -> String {
        format!("{{{}:mnp}}", self.prefix)
    }

    /// String `{<prefix>:mnp}:version`: the version of the newest MNP change (the hash's tag).
    pub(crate) fn mnp_version(&self) -> String {
        format!("{{{}:mnp}}:version", self.prefix)
    }

    /// Stream `{<prefix>:mnp}:log`: the MNP change log, entry id `<version>-0` (the hash's tag).
    pub(crate) fn mnp_log(&self) -> String {
        format!("{{{}:mnp}}:log", self.prefix)
    }

    /// Hash `{<prefix>:routing}`: fields `v` (version) and `doc` (the routing controls JSON).
    /// Its own tag, shared with the audit log so one script writes both.
    pub(crate) fn routing_controls(&self) -> String {
        format!("{{{}:routing}}", self.prefix)
    }

    /// List `{<prefix>:routing}:audit`: audit entries (JSON), newest first.
    pub(crate) fn audit_log(&self) -> String {
        format!("{{{}:routing}}:audit", self.prefix)
    }

    /// String `{<prefix>:once:<key>}`: a single-use marker, expiring with its token.
    pub(crate) fn once(&self, key: &str) -> String {
        format!("{{{}:once:{}}}", self.prefix, encode(key))
    }
}

/// The keys of one merchant; all share its hash tag.
#[derive(Debug, Clone)]
pub(crate) struct MerchantKeys {
    tag: String,
}

impl MerchantKeys {
    /// Hash `{tag}:p:<id>`: fields `json`, `v`, `st`, `ms`, `mi` (see README).
    pub(crate) fn payment(&self, payment_id: &str) -> String {
        format!("{}{}", self.payment_base(), member(payment_id))
    }

    /// What a payment's key starts with; scripts append an index member to it.
    pub(crate) fn payment_base(&self) -> String {
        format!("{}:p:", self.tag)
    }

    /// Sorted set of visible payments, scored by creation time (µs).
    pub(crate) fn list(&self) -> String {
        format!("{}:list", self.tag)
    }

    /// Sorted set of unsettled payments, scored by `next_check_at` (µs).
    pub(crate) fn due(&self) -> String {
        format!("{}:due", self.tag)
    }

    /// String `{tag}:rate`: the merchant's rate-limit cell (GCRA arrival time, µs).
    pub(crate) fn rate(&self) -> String {
        format!("{}:rate", self.tag)
    }

    /// Hash `{tag}:t:<id>`: fields `json` (the `TopUpRecord`), `v` (its version).
    pub(crate) fn topup(&self, tx_id: &str) -> String {
        format!("{}{}", self.topup_base(), member(tx_id))
    }

    /// What a top-up's key starts with; scripts append an index member to it.
    pub(crate) fn topup_base(&self) -> String {
        format!("{}:t:", self.tag)
    }

    /// Sorted set of unsettled top-ups, scored by `next_check_at` (µs).
    pub(crate) fn topup_due(&self) -> String {
        format!("{}:tdue", self.tag)
    }

    /// String `{tag}:k:tx:<external_tx_id>` holding the claiming top-up's member.
    pub(crate) fn topup_claim(&self, external_tx_id: &str) -> String {
        format!("{}:k:tx:{}", self.tag, encode(external_tx_id))
    }

    /// Hash `{tag}:e:<id>`: fields `json` (the `EsimOrderRecord`), `v` (its version).
    pub(crate) fn esim_order(&self, order_id: &str) -> String {
        format!("{}{}", self.esim_order_base(), member(order_id))
    }

    /// What an eSIM order's key starts with; the insert script appends the claim's member to it.
    pub(crate) fn esim_order_base(&self) -> String {
        format!("{}:e:", self.tag)
    }

    /// String `{tag}:k:eo:<key>` holding the claiming order's member.
    pub(crate) fn esim_claim(&self, key: &str) -> String {
        format!("{}:k:eo:{}", self.tag, encode(key))
    }

    /// Hash `{tag}:r:<id>`: fields `json` (the `RefundRecord`), `v`, `st`, `ms` (empty), `mi`.
    pub(crate) fn refund(&self, refund_id: &str) -> String {
        format!("{}{}", self.refund_base(), member(refund_id))
    }

    /// What a refund's key starts with; scripts append an index member to it.
    pub(crate) fn refund_base(&self) -> String {
        format!("{}:r:", self.tag)
    }

    /// Hash `{tag}:rl:<payment>`: refund member → amount it holds (thousandths).
    pub(crate) fn refund_ledger(&self, payment_id: &str) -> String {
        format!("{}:rl:{}", self.tag, member(payment_id))
    }

    /// Sorted set `{tag}:rx:<payment>` of the payment's visible refunds, scored by creation (µs).
    pub(crate) fn refund_list(&self, payment_id: &str) -> String {
        format!("{}:rx:{}", self.tag, member(payment_id))
    }

    /// Sorted set of unsettled refunds, scored by `next_check_at` (µs).
    pub(crate) fn refund_due(&self) -> String {
        format!("{}:rdue", self.tag)
    }

    /// String `{tag}:k:rcc:<value>` or `{tag}:k:rrc:<value>`: a refund's claim.
    pub(crate) fn refund_claim(&self, key: &IdempotencyKey) -> String {
        let (kind, value) = match key {
            IdempotencyKey::ClientCorrelator(v) => ("rcc", v),
            IdempotencyKey::ReferenceCode(v) => ("rrc", v),
        };
        format!("{}:k:{kind}:{}", self.tag, encode(value))
    }

    /// Sorted set of payments marked `needs_review`, scored by creation time (µs).
    pub(crate) fn review_payments(&self) -> String {
        format!("{}:rvp", self.tag)
    }

    /// Sorted set of refunds marked `needs_review`, scored by creation time (µs).
    pub(crate) fn review_refunds(&self) -> String {
        format!("{}:rvr", self.tag)
    }

    /// Sorted set of top-ups marked `needs_review`, scored by creation time (µs).
    pub(crate) fn review_topups(&self) -> String {
        format!("{}:rvt", self.tag)
    }

    /// Stream `{tag}:ob`: the outbox, read through the consumer group `workers`. An entry is one
    /// delivery; its entry id is the delivery id.
    pub(crate) fn outbox(&self) -> String {
        format!("{}:ob", self.tag)
    }

    /// Hash `{tag}:obq`: subject → its queued delivery ids, oldest first, separated by spaces.
    pub(crate) fn outbox_queues(&self) -> String {
        format!("{}:obq", self.tag)
    }

    /// Hash `{tag}:obr`: delivery id → `<attempts> <next attempt µs> <last error>` once retried.
    pub(crate) fn outbox_retries(&self) -> String {
        format!("{}:obr", self.tag)
    }

    /// Hash `{tag}:obd`: delivery id → dead letter (a flat JSON object of strings).
    pub(crate) fn dead_letters(&self) -> String {
        format!("{}:obd", self.tag)
    }

    /// Set `{tag}:obs`: endpoint ids stopped by a 410 Gone.
    pub(crate) fn stopped_endpoints(&self) -> String {
        format!("{}:obs", self.tag)
    }

    /// Hash `{tag}:wh`: endpoint id → the registered `WebhookEndpoint` (JSON).
    pub(crate) fn webhooks(&self) -> String {
        format!("{}:wh", self.tag)
    }

    /// Sorted set `{tag}:whz`: endpoint ids scored by creation time (µs): fan-out order.
    pub(crate) fn webhook_order(&self) -> String {
        format!("{}:whz", self.tag)
    }

    /// Hash `{tag}:whd`: endpoint id → the `Endpoint` (JSON) its deliveries carry.
    pub(crate) fn webhook_targets(&self) -> String {
        format!("{}:whd", self.tag)
    }

    /// Hash `{tag}:whf`: endpoint id → its event filter: `''` for every type, else the encoded
    /// types, each between spaces (` a b `).
    pub(crate) fn webhook_filters(&self) -> String {
        format!("{}:whf", self.tag)
    }

    /// The keys `outbox_append` (outbox.lua) uses, in its order.
    pub(crate) fn outbox_append(&self) -> Vec<String> {
        vec![
            self.outbox(),
            self.outbox_queues(),
            self.stopped_endpoints(),
            self.webhook_order(),
            self.webhook_targets(),
            self.webhook_filters(),
        ]
    }

    /// The keys of the worker scripts (outbox_work.lua), in their order.
    pub(crate) fn outbox_work(&self) -> Vec<String> {
        vec![
            self.outbox(),
            self.outbox_queues(),
            self.outbox_retries(),
            self.dead_letters(),
            self.stopped_endpoints(),
        ]
    }

    /// String `{tag}:k:cc:<value>` or `{tag}:k:rc:<value>` holding the claiming payment's member.
    pub(crate) fn idempotency(&self, key: &IdempotencyKey) -> String {
        let (kind, value) = match key {
            IdempotencyKey::ClientCorrelator(v) => ("cc", v),
            IdempotencyKey::ReferenceCode(v) => ("rc", v),
        };
        format!("{}:k:{kind}:{}", self.tag, encode(value))
    }
}

/// How a payment id appears in the indexes and in idempotency keys (and at the end of its key).
pub(crate) fn member(payment_id: &str) -> String {
    encode(payment_id)
}

/// Percent-encodes every byte outside `[A-Za-z0-9._~@+-]`. Injective; never emits `{`, `}`, `:`
/// (nor spaces, which the webhook filters rely on).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"._~@+-".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part of a key Redis Cluster hashes: the text between the first `{` and the next `}`.
    fn hash_tag(key: &str) -> &str {
        let Some(open) = key.find('{') else {
            return key;
        };
        match key[open + 1..].find('}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        }
    }

    #[test]
    fn every_key_of_a_merchant_carries_its_hash_tag() {
        let keys = Keys::new("sb", b"test secret");
        for merchant in ["m1", "we{ird}", "}{", "a:b", "ünï", ""] {
            let mk = keys.merchant(merchant);
            let all = [
                mk.payment("p{1}"),
                mk.list(),
                mk.due(),
                mk.idempotency(&IdempotencyKey::ClientCorrelator("}x{".into())),
                mk.idempotency(&IdempotencyKey::ReferenceCode("r:1".into())),
                mk.topup("t{1}"),
                mk.topup_due(),
                mk.topup_claim("}x{"),
                mk.esim_order("e{1}"),
                mk.esim_claim("}x{"),
                mk.review_payments(),
                mk.review_refunds(),
                mk.review_topups(),
                mk.outbox(),
                mk.outbox_queues(),
                mk.outbox_retries(),
                mk.dead_letters(),
                mk.stopped_endpoints(),
                mk.webhooks(),
                mk.webhook_order(),
                mk.webhook_targets(),
                mk.webhook_filters(),
            ];
            let tag = hash_tag(&all[0]).to_string();
            assert!(tag.starts_with("sb:m:"), "{tag}");
            for key in &all {
                assert_eq!(hash_tag(key), tag, "{key}");
            }
        }
    }

    #[test]
    fn encoding_is_injective_and_brace_free() {
        assert_eq!(encode("m-1_a.b"), "m-1_a.b");
        assert_eq!(encode("a:b{c}"), "a%3Ab%7Bc%7D");
        assert_ne!(encode("a%3A"), encode("a:"));
        assert_ne!(keys_of("a:b", "c"), keys_of("a", "b:c"));
        for text in ["{", "}", ":", "%", " ", "é"] {
            let e = encode(text);
            assert!(!e.contains(['{', '}', ':']), "{e}");
        }
    }

    fn keys_of(merchant: &str, value: &str) -> String {
        Keys::new("sb", b"test secret")
            .merchant(merchant)
            .idempotency(&IdempotencyKey::ClientCorrelator(value.into()))
    }

    #[test]
    fn the_key_kinds_never_collide() {
        let mk = Keys::new("sb", b"test secret").merchant("m1");
        let claims = [
            mk.idempotency(&IdempotencyKey::ClientCorrelator("x".into())),
            mk.idempotency(&IdempotencyKey::ReferenceCode("x".into())),
            mk.topup_claim("x"),
            mk.esim_claim("x"),
        ];
        for (i, a) in claims.iter().enumerate() {
            for b in &claims[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Records and indexes: an id is encoded, so it never turns one kind into another.
        for id in ["due", "list", "tdue", "ob", "wh", "x"] {
            let names = [
                mk.payment(id),
                mk.topup(id),
                mk.esim_order(id),
                mk.refund(id),
                mk.list(),
                mk.due(),
                mk.topup_due(),
                mk.refund_due(),
                mk.rate(),
                mk.review_payments(),
                mk.review_refunds(),
                mk.review_topups(),
                mk.outbox(),
                mk.outbox_queues(),
                mk.outbox_retries(),
                mk.dead_letters(),
                mk.stopped_endpoints(),
                mk.webhooks(),
                mk.webhook_order(),
                mk.webhook_targets(),
                mk.webhook_filters(),
            ];
            for (i, a) in names.iter().enumerate() {
                for b in &names[i + 1..] {
                    assert_ne!(a, b);
                }
            }
        }
    }

    #[test]
    fn the_mnp_hash_has_its_own_tag() {
        let keys = Keys::new("sb", b"test secret");
        assert_eq!(keys.mnp(), "{sb:mnp}");
        assert_eq!(hash_tag(&keys.mnp_version()), hash_tag(&keys.mnp()));
        assert_eq!(hash_tag(&keys.mnp_log()), hash_tag(&keys.mnp()));
        for merchant in ["", "np}", "mnp", "np"] {
            assert_ne!(
                hash_tag(&keys.merchant(merchant).list()),
                hash_tag(&keys.mnp())
            );
        }
    }

    #[test]
    fn a_subscriber_key_holds_no_digits_of_the_number_and_depends_on_the_secret() {
        let number = "+34600000001";
        let a = Keys::new("sb", b"one").subscriber_spend(number, "2026-12", "EUR");
        let b = Keys::new("sb", b"two").subscriber_spend(number, "2026-12", "EUR");
        assert!(!a.contains("600000001") && !a.contains("34600"), "{a}");
        assert_ne!(a, b, "another secret names another key");
        assert_eq!(
            a,
            Keys::new("sb", b"one").subscriber_spend(number, "2026-12", "EUR"),
            "every replica with the same secret finds the same key"
        );
        let other = Keys::new("sb", b"one").subscriber_spend("+34600000002", "2026-12", "EUR");
        assert_ne!(a, other);
    }
}
