//! One simulated eSIM order: a new profile preloaded with a data bundle, fulfilled at once.
//!
//! The QR code's content is an LPA activation code (GSMA SGP.22):
//! `LPA:1$<SM-DP+ address>$<matching id>`.

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub struct EsimOrder {
    pub order_id: String,
    pub external_order_id: String,
    pub product_id: String,
    iccid: String,
    smdp_address: String,
    matching_id: String,
    created_at: String,
}

impl EsimOrder {
    /// A fulfilled order; `sequence` numbers the ICCID.
    pub fn create(
        provider_id: &str,
        external_order_id: String,
        product_id: String,
        sequence: u64,
    ) -> Self {
        let code = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        let matching_id = [&code[0..5], &code[5..10], &code[10..15], &code[15..20]].join("-");
        let host: String = provider_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        Self {
            order_id: format!("esim_{}", &code[20..32].to_lowercase()),
            external_order_id,
            product_id,
            iccid: iccid(sequence),
            smdp_address: format!("smdp.{host}.sandbox.test"),
            matching_id,
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }

    pub fn qr_code(&self) -> String {
        format!("LPA:1${}${}", self.smdp_address, self.matching_id)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "order_id": self.order_id,
            "external_order_id": self.external_order_id,
            "status": "completed",
            "product_id": self.product_id,
            "iccid": self.iccid,
            "qr_code": self.qr_code(),
            "smdp_address": self.smdp_address,
            "matching_id": self.matching_id,
            "created_at": self.created_at,
        })
    }
}

/// A 19-digit ICCID (`89` telecom, `882` international, issuer `47`, serial, Luhn check digit).
fn iccid(sequence: u64) -> String {
    let body = format!("8988247{:011}", sequence % 100_000_000_000);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iccid_has_a_valid_luhn_digit() {
        let id = iccid(42);
        assert_eq!(id.len(), 19);
        let sum: u32 = id
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 1 {
                    (d * 2) / 10 + (d * 2) % 10
                } else {
                    d
                }
            })
            .sum();
        assert_eq!(sum % 10, 0, "{id}");
    }

    #[test]
    fn qr_code_is_an_lpa_activation_code() {
        let o = EsimOrder::create("globaltopup", "o-1".into(), "p".into(), 1);
        let qr = o.qr_code();
        assert!(
            qr.starts_with("LPA:1$smdp.globaltopup.sandbox.test$"),
            "{qr}"
        );
        let matching = qr.rsplit('$').next().unwrap_or_default();
        assert_eq!(matching.len(), 23);
        assert!(matching
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'));
        assert_eq!(o.to_json()["status"], "completed");
    }
}
