//! Bodies of the top-up API (Switchboard's own; documented in `openapi/topup.yaml`).

use serde::{Deserialize, Serialize};
use switchboard_core::topup::TopUpRecord;
use switchboard_core::{Amount, ApiError, EsimOrderRecord, Msisdn};

use crate::api::carrier_billing::model::format_time;

/// Numbers are E.164; the leading `+` may be left out, as the provider API allows.
pub fn phone(text: &str) -> Result<Msisdn, ApiError> {
    let normalised = if text.starts_with('+') {
        text.to_string()
    } else {
        format!("+{text}")
    };
    Msisdn::parse(&normalised).ok_or_else(|| {
        ApiError::invalid_argument("phone must be an E.164 number (+ and 5 to 15 digits)")
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupInput {
    pub phone: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopUpInput {
    pub phone: String,
    pub product_id: String,
    pub external_tx_id: String,
    #[serde(default)]
    pub amount: Option<Amount>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsimOrderInput {
    pub product_id: String,
    #[serde(default)]
    pub external_order_id: Option<String>,
}

/// An eSIM order as the merchant sees it (only once the provider made it: otherwise the merchant is
/// answered with the error). `order_id` is Switchboard's, for `GET /esim/orders/{order_id}`.
#[derive(Debug, Serialize)]
pub struct EsimOrderView<'a> {
    pub order_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_order_id: Option<&'a str>,
    /// The provider's order status (`completed`, `pending`, …), passed on as is.
    pub status: &'a str,
    pub product_id: &'a str,
    pub operator_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iccid: Option<&'a str>,
    pub qr_code: &'a str,
    pub created_at: String,
}

impl<'a> EsimOrderView<'a> {
    pub fn of(record: &'a EsimOrderRecord) -> Result<Self, ApiError> {
        let order = record.answer()?;
        Ok(EsimOrderView {
            order_id: &record.id,
            external_order_id: record.external_order_id.as_deref(),
            status: &order.status,
            product_id: &record.product_id,
            operator_id: &record.operator_id,
            iccid: order.iccid.as_deref(),
            qr_code: &order.qr_code,
            created_at: format_time(record.created_at),
        })
    }
}

/// A top-up transaction as the merchant sees it.
#[derive(Debug, Serialize)]
pub struct TopUpView {
    pub tx_id: String,
    pub external_tx_id: String,
    pub status: &'static str,
    pub phone: Msisdn,
    pub product_id: String,
    pub operator_id: String,
    pub amount: Amount,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_tx_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credited: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

impl From<&TopUpRecord> for TopUpView {
    fn from(r: &TopUpRecord) -> Self {
        TopUpView {
            tx_id: r.id.clone(),
            external_tx_id: r.external_tx_id.clone(),
            status: r.status.as_str(),
            phone: r.msisdn.clone(),
            product_id: r.product_id.clone(),
            operator_id: r.operator_id.clone(),
            amount: r.amount,
            currency: r.currency.to_string(),
            operator_tx_id: r.operator_tx_id.clone(),
            credited: r.credited.clone(),
            failure_reason: r.failure_reason.clone(),
            created_at: format_time(r.created_at),
            completed_at: r.completed_at.map(format_time),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_with_or_without_plus() {
        assert_eq!(phone("79161234567").unwrap().as_str(), "+79161234567");
        assert_eq!(phone("+79161234567").unwrap().as_str(), "+79161234567");
        assert!(phone("tel:79161234567").is_err());
        assert!(phone("0791").is_err());
    }
}
