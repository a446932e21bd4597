//! Request and response bodies of the Refund API.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_core::payment::{check_reference, MAX_DESCRIPTION_LEN};
use switchboard_core::{
    Amount, ApiError, ChargingInformation, Currency, RefundItem, RefundRecord, RefundStatus,
    RefundType, Sink,
};

use crate::api::carrier_billing::model::{format_time, notification_target};
use crate::refunds::NewRefund;
use switchboard_webhooks::AllowList;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefundInput {
    #[serde(rename = "type")]
    kind: RefundType,
    amount_transaction: TxInput,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TxInput {
    #[serde(default)]
    client_correlator: Option<String>,
    reference_code: String,
    refund_amount: RefundAmountInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefundAmountInput {
    #[serde(default)]
    charging_information: Option<ChargingInformation>,
    #[serde(default)]
    charging_meta_data: Option<MetaInput>,
    #[serde(default)]
    refund_details: Option<Vec<RefundItem>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaInput {
    #[serde(default)]
    merchant_identifier: Option<String>,
}

fn positive(field: &str, a: Amount) -> Result<(), ApiError> {
    if a.is_zero() {
        return Err(ApiError::invalid_argument(format!(
            "{field} must be at least 0.001"
        )));
    }
    Ok(())
}

fn text(field: &str, v: &str) -> Result<(), ApiError> {
    if v.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(ApiError::invalid_argument(format!(
            "{field} must be at most {MAX_DESCRIPTION_LEN} characters"
        )));
    }
    Ok(())
}

/// Parses `CreateRefund`: sink rules first (their own codes), then the schema and Switchboard's limits.
pub fn new_refund(body: &[u8], allow: &AllowList) -> Result<NewRefund, ApiError> {
    let raw = crate::http::json_value(body)?;
    let (sink, sink_credential) = notification_target(&raw, allow)?;
    let input: RefundInput = crate::http::from_value(raw)?;
    let tx = input.amount_transaction;
    check_reference("amountTransaction.referenceCode", &tx.reference_code)?;
    if let Some(cc) = &tx.client_correlator {
        check_reference("amountTransaction.clientCorrelator", cc)?;
    }
    if let Some(r) = &input.reason {
        text("reason", r)?;
    }
    let amount = tx.refund_amount;
    let p = "amountTransaction.refundAmount";
    match input.kind {
        RefundType::Total
            if amount.charging_information.is_some() || amount.refund_details.is_some() =>
        {
            return Err(ApiError::invalid_argument(format!(
                "{p}: a total refund takes no chargingInformation or refundDetails"
            )))
        }
        RefundType::Partial if amount.charging_information.is_none() => {
            return Err(ApiError::invalid_argument(format!(
                "{p}.chargingInformation is required"
            )))
        }
        _ => {}
    }
    if let Some(info) = &amount.charging_information {
        positive(&format!("{p}.chargingInformation.amount"), info.amount)?;
        text(
            &format!("{p}.chargingInformation.description"),
            &info.description,
        )?;
    }
    if let Some(items) = &amount.refund_details {
        if items.is_empty() {
            return Err(ApiError::invalid_argument(format!(
                "{p}.refundDetails must have at least one item"
            )));
        }
        for (i, item) in items.iter().enumerate() {
            positive(&format!("{p}.refundDetails[{i}].amount"), item.amount)?;
            check_reference(
                &format!("{p}.refundDetails[{i}].paymentItemId"),
                &item.payment_item_id,
            )?;
        }
    }
    let merchant_identifier = amount
        .charging_meta_data
        .and_then(|m| m.merchant_identifier);
    if let Some(mi) = &merchant_identifier {
        check_reference(&format!("{p}.chargingMetaData.merchantIdentifier"), mi)?;
    }
    Ok(NewRefund {
        kind: input.kind,
        charging_information: amount.charging_information,
        merchant_identifier,
        refund_details: amount.refund_details,
        reason: input.reason,
        client_correlator: tx.client_correlator,
        reference_code: tx.reference_code,
        sink,
        sink_credential,
        correlator: None,
    })
}

/// `Refund` (`TotalRefund` / `PartialRefund`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundView {
    pub refund_id: String,
    pub refund_status: RefundStatus,
    #[serde(rename = "type")]
    pub kind: RefundType,
    pub refund_creation_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sink: Option<Sink>,
    pub amount_transaction: Value,
}

impl From<&RefundRecord> for RefundView {
    fn from(r: &RefundRecord) -> Self {
        let mut refund_amount = json!({});
        if let Some(info) = &r.charging_information {
            refund_amount["chargingInformation"] = json!(info);
        }
        if let Some(mi) = &r.merchant_identifier {
            refund_amount["chargingMetaData"] = json!({ "merchantIdentifier": mi });
        }
        if let Some(d) = &r.refund_details {
            refund_amount["refundDetails"] = json!(d);
        }
        let mut tx = json!({ "referenceCode": r.reference_code, "refundAmount": refund_amount });
        if let Some(cc) = &r.client_correlator {
            tx["clientCorrelator"] = json!(cc);
        }
        RefundView {
            refund_id: r.id.clone(),
            refund_status: r.status,
            kind: r.refund_type,
            refund_creation_date: format_time(r.created_at),
            refund_date: r.refund_date.map(format_time),
            reason: r.reason.clone(),
            sink: r.sink.clone(),
            amount_transaction: tx,
        }
    }
}

/// `PaymentRemainingAmount`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemainingView {
    pub amount: Amount,
    pub currency: Currency,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_tax_included: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::ErrorCode;

    fn code(v: Value) -> ErrorCode {
        new_refund(v.to_string().as_bytes(), &AllowList::default())
            .unwrap_err()
            .code
    }

    #[test]
    fn parses_total_and_partial_and_rejects_bad_shapes() {
        let total = new_refund(
            br#"{"type":"total","amountTransaction":{"referenceCode":"r","refundAmount":{}}}"#,
            &AllowList::default(),
        )
        .unwrap();
        assert_eq!(total.kind, RefundType::Total);
        let partial = new_refund(br#"{"type":"partial","amountTransaction":{"referenceCode":"r","clientCorrelator":"c",
            "refundAmount":{"chargingInformation":{"amount":1.5,"currency":"EUR","description":"x"}}}}"#, &AllowList::default()).unwrap();
        assert_eq!(
            partial.charging_information.unwrap().amount,
            "1.5".parse().unwrap()
        );
        assert_eq!(
            code(
                json!({"type":"partial","amountTransaction":{"referenceCode":"r","refundAmount":{}}})
            ),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(
                json!({"type":"half","amountTransaction":{"referenceCode":"r","refundAmount":{}}})
            ),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(
                json!({"type":"partial","amountTransaction":{"referenceCode":"r","refundAmount":{
            "chargingInformation":{"amount":0,"currency":"EUR","description":"x"}}}})
            ),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(
                json!({"type":"total","sink":"http://x","amountTransaction":{"referenceCode":"r","refundAmount":{}}})
            ),
            ErrorCode::InvalidSink
        );
    }
}
