//! Pure checks of a refund request against its payment (CAMARA refund 422s and 400s).

use rust_decimal::Decimal;
use switchboard_core::{
    Amount, ApiError, ChargingInformation, ErrorCode, PaymentRecord, PaymentStatus, RefundItem,
    RefundRecord, RefundType,
};

/// The request parts the payment decides on.
pub struct RefundAsk<'a> {
    pub kind: RefundType,
    pub charging_information: Option<&'a ChargingInformation>,
    pub refund_details: Option<&'a [RefundItem]>,
}

/// Status, currency, taxes and details of a refund request against `payment`.
pub fn check_against_payment(payment: &PaymentRecord, ask: &RefundAsk<'_>) -> Result<(), ApiError> {
    if payment.status != PaymentStatus::Succeeded {
        return Err(ApiError::of(ErrorCode::InvalidPaymentStatus));
    }
    let paid = &payment.payment_amount.charging_information;
    let Some(info) = ask.charging_information else {
        return match ask.kind {
            RefundType::Total => Ok(()),
            RefundType::Partial => Err(ApiError::invalid_argument(
                "amountTransaction.refundAmount.chargingInformation is required for a partial refund",
            )),
        };
    };
    if info.currency != paid.currency {
        return Err(ApiError::invalid_argument(format!(
            "Currency is unknown or not authorized: the payment is in {}",
            paid.currency
        )));
    }
    if info.is_tax_included.unwrap_or(false) != paid.is_tax_included.unwrap_or(false) {
        return Err(ApiError::of(ErrorCode::TaxesManagementMismatch));
    }
    if let Some(details) = ask.refund_details {
        check_details(payment, info, details)?;
    }
    Ok(())
}

/// Every item names a payment item, in its currency, for no more than it cost, each item once, and
/// the items add up to the refund's amount.
fn check_details(
    payment: &PaymentRecord,
    info: &ChargingInformation,
    details: &[RefundItem],
) -> Result<(), ApiError> {
    let mismatch = || ApiError::of(ErrorCode::RefundDetailsMismatch);
    let items = payment
        .payment_amount
        .payment_details
        .as_deref()
        .unwrap_or(&[]);
    let mut seen = Vec::new();
    let mut sum = Decimal::ZERO;
    for d in details {
        let item = items
            .iter()
            .find(|i| i.id == d.payment_item_id)
            .ok_or_else(mismatch)?;
        if seen.contains(&&d.payment_item_id)
            || d.currency != item.currency
            || d.amount > item.amount
            || d.is_tax_included.unwrap_or(false) != item.is_tax_included.unwrap_or(false)
        {
            return Err(mismatch());
        }
        seen.push(&d.payment_item_id);
        sum += d.amount.value();
    }
    if sum != info.amount.value() {
        return Err(mismatch());
    }
    Ok(())
}

/// What is left of `payment` after `refunds`.
pub fn remaining_of(payment: &PaymentRecord, refunds: &[RefundRecord]) -> Amount {
    switchboard_core::refund::remaining_amount(
        payment.payment_amount.charging_information.amount,
        refunds,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(status: PaymentStatus) -> PaymentRecord {
        let mut p: PaymentRecord = serde_json::from_value(serde_json::json!({
            "id": "p", "merchant_id": "m", "flow": "one_step", "phase": {"phase": "live"},
            "status": "succeeded", "version": 1, "msisdn": "+34600000001", "operator_id": "o",
            "channel_id": "c", "client_correlator": null, "reference_code": "r",
            "payment_amount": {"chargingInformation": {"amount": 80, "currency": "EUR", "description": "d"},
                "paymentDetails": [
                    {"id": "i1", "amount": 50, "currency": "EUR", "description": "a"},
                    {"id": "i2", "amount": 30, "currency": "EUR", "description": "b"}]},
            "upstream_correlator": "sb-p", "upstream_id": "u", "server_reference_code": null,
            "validation_info": null, "validation_attempts": 0, "pending_action": null, "sink": null,
            "sink_credential": null, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "payment_date": null, "denial_reason": null, "fingerprint": "f", "needs_review": false
        }))
        .unwrap();
        p.status = status;
        p
    }

    fn info(json: serde_json::Value) -> ChargingInformation {
        serde_json::from_value(json).unwrap()
    }

    fn items(json: serde_json::Value) -> Vec<RefundItem> {
        serde_json::from_value(json).unwrap()
    }

    fn code(
        p: &PaymentRecord,
        i: &ChargingInformation,
        d: Option<&[RefundItem]>,
    ) -> Option<ErrorCode> {
        let ask = RefundAsk {
            kind: RefundType::Partial,
            charging_information: Some(i),
            refund_details: d,
        };
        check_against_payment(p, &ask).err().map(|e| e.code)
    }

    #[test]
    fn payment_must_be_succeeded() {
        let i = info(serde_json::json!({"amount": 10, "currency": "EUR", "description": "x"}));
        for st in [
            PaymentStatus::Processing,
            PaymentStatus::Reserved,
            PaymentStatus::Denied,
        ] {
            assert_eq!(
                code(&payment(st), &i, None),
                Some(ErrorCode::InvalidPaymentStatus)
            );
        }
        assert_eq!(code(&payment(PaymentStatus::Succeeded), &i, None), None);
    }

    #[test]
    fn currency_and_taxes_must_match() {
        let p = payment(PaymentStatus::Succeeded);
        let usd = info(serde_json::json!({"amount": 10, "currency": "USD", "description": "x"}));
        assert_eq!(code(&p, &usd, None), Some(ErrorCode::InvalidArgument));
        let taxed = info(
            serde_json::json!({"amount": 10, "currency": "EUR", "description": "x", "isTaxIncluded": true}),
        );
        assert_eq!(
            code(&p, &taxed, None),
            Some(ErrorCode::TaxesManagementMismatch)
        );
    }

    #[test]
    fn details_must_reference_items_and_add_up() {
        let p = payment(PaymentStatus::Succeeded);
        let i = info(serde_json::json!({"amount": 40, "currency": "EUR", "description": "x"}));
        let good = items(serde_json::json!([
            {"paymentItemId": "i1", "amount": 20, "currency": "EUR", "description": "a"},
            {"paymentItemId": "i2", "amount": 20, "currency": "EUR", "description": "b"}]));
        assert_eq!(code(&p, &i, Some(&good)), None);
        for bad in [
            serde_json::json!([{"paymentItemId": "nope", "amount": 40, "currency": "EUR", "description": "a"}]),
            serde_json::json!([{"paymentItemId": "i2", "amount": 40, "currency": "EUR", "description": "a"}]),
            serde_json::json!([{"paymentItemId": "i1", "amount": 30, "currency": "EUR", "description": "a"}]),
            serde_json::json!([{"paymentItemId": "i1", "amount": 20, "currency": "EUR", "description": "a"},
                               {"paymentItemId": "i1", "amount": 20, "currency": "EUR", "description": "a"}]),
        ] {
            assert_eq!(
                code(&p, &i, Some(&items(bad.clone()))),
                Some(ErrorCode::RefundDetailsMismatch),
                "{bad}"
            );
        }
    }
}
