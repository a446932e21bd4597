//! A payment as Switchboard keeps it, and the CAMARA pieces it is made of.
//!
//! The component types (`PaymentAmount`, `ChargingInformation`, …) use CAMARA's JSON names, so the same
//! value travels from the merchant's request to the store, to the upstream operator and back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::money::{Amount, Currency, Fee};
use crate::msisdn::Msisdn;
use crate::sink::{Sink, SinkCredential};
use crate::state::PaymentStatus;

/// Longest `description` Switchboard accepts (operators' billing texts are short; CAMARA sets no limit).
pub const MAX_DESCRIPTION_LEN: usize = 256;
/// Longest `referenceCode`, `clientCorrelator` and other free-text identifiers Switchboard accepts.
pub const MAX_REFERENCE_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingInformation {
    pub amount: Amount,
    pub currency: Currency,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_tax_included: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_amount: Option<Amount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingMetaData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Fee>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_category_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentItem {
    pub id: String,
    pub amount: Amount,
    pub currency: Currency,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_tax_included: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_amount: Option<Amount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAmount {
    pub charging_information: ChargingInformation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_meta_data: Option<ChargingMetaData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_details: Option<Vec<PaymentItem>>,
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid_argument(format!(
            "{field} must not be empty"
        )));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid_argument(format!(
            "{field} must be at most {max} characters"
        )));
    }
    Ok(())
}

fn check_positive(field: &str, amount: Amount) -> Result<(), ApiError> {
    if amount.is_zero() {
        return Err(ApiError::invalid_argument(format!(
            "{field} must be at least 0.001"
        )));
    }
    Ok(())
}

/// Checks an optional free-text identifier's length.
pub fn check_reference(field: &str, value: &str) -> Result<(), ApiError> {
    check_text(field, value, MAX_REFERENCE_LEN)
}

impl PaymentAmount {
    /// The rules serde alone cannot express: amounts above zero, text lengths, non-empty item list.
    pub fn validate(&self) -> Result<(), ApiError> {
        let prefix = "amountTransaction.paymentAmount";
        let info = &self.charging_information;
        check_positive(&format!("{prefix}.chargingInformation.amount"), info.amount)?;
        check_text(
            &format!("{prefix}.chargingInformation.description"),
            &info.description,
            MAX_DESCRIPTION_LEN,
        )?;
        if let Some(items) = &self.payment_details {
            if items.is_empty() {
                return Err(ApiError::invalid_argument(format!(
                    "{prefix}.paymentDetails must have at least one item"
                )));
            }
            for (i, item) in items.iter().enumerate() {
                let p = format!("{prefix}.paymentDetails[{i}]");
                check_text(&format!("{p}.id"), &item.id, MAX_REFERENCE_LEN)?;
                check_positive(&format!("{p}.amount"), item.amount)?;
                check_text(
                    &format!("{p}.description"),
                    &item.description,
                    MAX_DESCRIPTION_LEN,
                )?;
            }
        }
        if let Some(meta) = &self.charging_meta_data {
            let texts = [
                ("merchantName", &meta.merchant_name),
                ("merchantIdentifier", &meta.merchant_identifier),
                ("purchaseCategoryCode", &meta.purchase_category_code),
                ("channel", &meta.channel),
                ("serviceId", &meta.service_id),
                ("productId", &meta.product_id),
            ];
            for (name, value) in texts {
                if let Some(v) = value {
                    check_text(
                        &format!("{prefix}.chargingMetaData.{name}"),
                        v,
                        MAX_REFERENCE_LEN,
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// The `amountTransaction` of a payment as answered to the merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmountTransaction {
    pub phone_number: Msisdn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_correlator: Option<String>,
    pub payment_amount: PaymentAmount,
    pub reference_code: String,
    #[serde(
        default,
        rename = "resourceURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_reference_code: Option<String>,
}

/// How the subscriber proves a reservation (`validationInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum ValidationInfo {
    Open {
        #[serde(rename = "validationURL")]
        validation_url: String,
    },
    Validate {
        #[serde(rename = "authorizationId")]
        authorization_id: String,
    },
}

/// 1-step (`POST /payments`) or 2-step (`prepare` → `confirm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentFlow {
    OneStep,
    TwoStep,
}

/// Where a payment is in Switchboard's own life cycle, apart from its CAMARA status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "phase", content = "error")]
pub enum Phase {
    /// Claimed and being sent upstream; not yet visible to reads.
    Submitting,
    /// Accepted by the operator (or outcome unknown, then `processing`): visible.
    Live,
    /// Definitely refused upstream: never visible; an identical retry replays this error.
    Rejected(ApiError),
}

/// A confirm or cancel that was sent upstream and whose outcome is not known yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingAction {
    Confirm,
    Cancel,
}

/// Everything Switchboard stores about one payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub id: String,
    pub merchant_id: String,
    pub flow: PaymentFlow,
    pub phase: Phase,
    pub status: PaymentStatus,
    /// Bumped by every write; the store's compare-and-set checks it.
    pub version: u64,
    pub msisdn: Msisdn,
    pub operator_id: String,
    pub channel_id: Option<String>,
    pub client_correlator: Option<String>,
    pub reference_code: String,
    pub payment_amount: PaymentAmount,
    /// The `clientCorrelator` sent upstream, derived from our id so retries find the same payment.
    pub upstream_correlator: String,
    pub upstream_id: Option<String>,
    pub server_reference_code: Option<String>,
    pub validation_info: Option<ValidationInfo>,
    pub validation_attempts: u32,
    pub pending_action: Option<PendingAction>,
    pub sink: Option<Sink>,
    pub sink_credential: Option<SinkCredential>,
    /// The `x-correlator` of the request that created it, passed on with its notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlator: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub payment_date: Option<DateTime<Utc>>,
    pub denial_reason: Option<String>,
    /// Hash of the request that created it; a retry with another body is refused.
    pub fingerprint: String,
    /// Set when reconciliation gave up: the outcome needs a human.
    pub needs_review: bool,
    /// Status queries made so far to settle this payment; drives the backoff.
    #[serde(default)]
    pub reconcile_attempts: u32,
    /// When reconciliation should look at this payment next (None: not waiting on anything).
    #[serde(default)]
    pub next_check_at: Option<DateTime<Utc>>,
}

impl PaymentRecord {
    /// The upstream `clientCorrelator` for a Switchboard payment id.
    pub fn upstream_correlator_for(payment_id: &str) -> String {
        format!("sb-{payment_id}")
    }

    pub fn is_visible(&self) -> bool {
        self.phase == Phase::Live
    }

    /// Whether Switchboard is still waiting to learn something from the operator about this payment.
    pub fn is_unsettled(&self) -> bool {
        match self.phase {
            Phase::Submitting => true,
            Phase::Rejected(_) => false,
            Phase::Live => {
                !self.needs_review
                    && (matches!(
                        self.status,
                        PaymentStatus::Processing | PaymentStatus::Reserved
                    ) || self.pending_action.is_some())
            }
        }
    }

    /// Moves to `to` if the state machine allows; a repeat of the current state is a no-op.
    pub fn move_to(&mut self, to: PaymentStatus, now: DateTime<Utc>) -> Result<bool, ApiError> {
        let moved = self
            .status
            .check_move(to)
            .map_err(|e| ApiError::new(ErrorCode::IncompatibleState, e.to_string()))?;
        if moved {
            self.status = to;
            self.updated_at = now;
            if to == PaymentStatus::Succeeded && self.payment_date.is_none() {
                self.payment_date = Some(now);
            }
        }
        Ok(moved)
    }

    /// The `amountTransaction` answered to the merchant.
    pub fn amount_transaction(&self, resource_url: Option<String>) -> AmountTransaction {
        AmountTransaction {
            phone_number: self.msisdn.clone(),
            client_correlator: self.client_correlator.clone(),
            payment_amount: self.payment_amount.clone(),
            reference_code: self.reference_code.clone(),
            resource_url,
            server_reference_code: self.server_reference_code.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(json: serde_json::Value) -> PaymentAmount {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn parses_camara_names_and_round_trips() {
        let json = serde_json::json!({
            "chargingInformation": {"amount": 19.99, "currency": "EUR", "description": "Game", "isTaxIncluded": true, "taxAmount": 3.47},
            "chargingMetaData": {"merchantIdentifier": "m-1", "fee": 1.5},
            "paymentDetails": [{"id": "item-1", "amount": 19.99, "currency": "EUR", "description": "Sword"}]
        });
        let pa = amount(json.clone());
        pa.validate().unwrap();
        assert_eq!(serde_json::to_value(&pa).unwrap(), json);
    }

    #[test]
    fn validation_rejects_zero_amounts_empty_lists_and_long_texts() {
        let zero = amount(
            serde_json::json!({"chargingInformation": {"amount": 0, "currency": "EUR", "description": "x"}}),
        );
        assert!(zero
            .validate()
            .unwrap_err()
            .message
            .contains("chargingInformation.amount"));
        let empty = amount(
            serde_json::json!({"chargingInformation": {"amount": 1, "currency": "EUR", "description": "x"}, "paymentDetails": []}),
        );
        assert!(empty
            .validate()
            .unwrap_err()
            .message
            .contains("paymentDetails"));
        let long = amount(
            serde_json::json!({"chargingInformation": {"amount": 1, "currency": "EUR", "description": "x".repeat(257)}}),
        );
        assert!(long.validate().unwrap_err().message.contains("description"));
    }

    #[test]
    fn validation_info_uses_the_action_discriminator() {
        let v: ValidationInfo =
            serde_json::from_str(r#"{"action":"validate","authorizationId":"a1"}"#).unwrap();
        assert_eq!(
            v,
            ValidationInfo::Validate {
                authorization_id: "a1".into()
            }
        );
        let o = ValidationInfo::Open {
            validation_url: "https://x/v".into(),
        };
        assert_eq!(
            serde_json::to_value(&o).unwrap(),
            serde_json::json!({"action":"open","validationURL":"https://x/v"})
        );
    }
}
