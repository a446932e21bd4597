//! Switchboard's normalised request, as the variables templates may use.
//!
//! | name | value |
//! |---|---|
//! | `idempotency_key` | the upstream idempotency key derived from Switchboard's own id (`sb-…`): the payment's, or in refund operations the refund's |
//! | `payment.id`, `merchant_id`, `reference_code`, `description` | the payment's |
//! | `amount.major`, `amount.minor` | the payment's amount (`2.5`, `250`); in refund operations the refund's |
//! | `currency` | ISO 4217 code |
//! | `phone.e164`, `phone.tel`, `phone.digits`, `phone.national` | `+393401234567`, `tel:+393401234567`, `393401234567`, `3401234567` (needs `phone_country_code`) |
//! | `upstream_id` | the upstream's id of the payment (status, confirm, cancel, refund) |
//! | `refund.id`, `refund.upstream_id` | refund operations |
//! | `callback.url`, `callback.token` | Switchboard's callback address for this resource and its token (absent without `server.public_url`) |
//! | `authorization_id`, `otp` | `validate` only |
//! | `timestamp` | Unix seconds of this request |

use rust_decimal::Decimal;
use switchboard_adapter::{CallbackRef, CallbackSettings};
use switchboard_core::{ApiError, Msisdn, PaymentRecord, RefundRecord};

use crate::template::Vars;

/// Names every payment operation knows.
pub const PAYMENT_VARS: &[&str] = &[
    "idempotency_key",
    "payment.id",
    "merchant_id",
    "reference_code",
    "description",
    "amount.major",
    "amount.minor",
    "currency",
    "phone.e164",
    "phone.tel",
    "phone.digits",
    "phone.national",
    "upstream_id",
    "callback.url",
    "callback.token",
    "timestamp",
];

/// `validate` adds these.
pub const VALIDATE_VARS: &[&str] = &["authorization_id", "otp"];

/// Refund operations add these (and rebind `idempotency_key`, `amount.*`).
pub const REFUND_VARS: &[&str] = &["refund.id", "refund.upstream_id"];

/// How amounts and numbers are written for this upstream.
#[derive(Debug, Clone)]
pub struct Formats {
    /// Decimal digits of the minor unit (2: cents).
    pub minor_unit_digits: u32,
    /// The country calling code stripped for `phone.national`.
    pub country_code: Option<String>,
}

fn minor(amount: Decimal, digits: u32) -> Result<String, ApiError> {
    let scaled = amount * Decimal::from(10u64.pow(digits));
    if scaled.fract() != Decimal::ZERO {
        return Err(ApiError::invalid_argument(format!(
            "amount has more than {digits} decimals, which this operator does not take"
        )));
    }
    Ok(scaled.trunc().normalize().to_string())
}

fn phone(vars: &mut Vars, msisdn: &Msisdn, country_code: Option<&str>) {
    vars.insert("phone.e164", msisdn.as_str().to_owned());
    vars.insert("phone.tel", format!("tel:{}", msisdn.as_str()));
    vars.insert("phone.digits", msisdn.digits().to_owned());
    if let Some(national) = country_code.and_then(|cc| msisdn.digits().strip_prefix(cc)) {
        vars.insert("phone.national", national.to_owned());
    }
}

fn amounts(vars: &mut Vars, amount: Decimal, formats: &Formats) -> Result<(), ApiError> {
    vars.insert("amount.major", amount.normalize().to_string());
    vars.insert("amount.minor", minor(amount, formats.minor_unit_digits)?);
    Ok(())
}

/// The variables of a payment operation. Fails (nothing sent) when the amount cannot be written in
/// the upstream's units.
pub fn for_payment(
    p: &PaymentRecord,
    formats: &Formats,
    callback: Option<&CallbackSettings>,
) -> Result<Vars, ApiError> {
    let info = &p.payment_amount.charging_information;
    let mut vars = Vars::new();
    vars.insert("idempotency_key", p.upstream_correlator.clone());
    vars.insert("payment.id", p.id.clone());
    vars.insert("merchant_id", p.merchant_id.clone());
    vars.insert("reference_code", p.reference_code.clone());
    vars.insert("description", info.description.clone());
    vars.insert("currency", info.currency.as_str().to_owned());
    vars.insert("timestamp", chrono::Utc::now().timestamp().to_string());
    amounts(&mut vars, info.amount.value(), formats)?;
    phone(&mut vars, &p.msisdn, formats.country_code.as_deref());
    if let Some(id) = p.upstream_id.as_deref().filter(|id| !id.is_empty()) {
        vars.insert("upstream_id", id.to_owned());
    }
    if let Some(cb) = callback {
        let target = cb.target(&CallbackRef::Payment {
            merchant_id: p.merchant_id.clone(),
            payment_id: p.id.clone(),
        });
        vars.insert("callback.url", target.url);
        vars.insert("callback.token", target.token);
    }
    Ok(vars)
}

/// The variables of a refund operation: the payment's, with the refund's key, amount and callback.
pub fn for_refund(
    p: &PaymentRecord,
    r: &RefundRecord,
    formats: &Formats,
    callback: Option<&CallbackSettings>,
) -> Result<Vars, ApiError> {
    let mut vars = for_payment(p, formats, None)?;
    vars.insert("idempotency_key", r.upstream_correlator.clone());
    vars.insert("refund.id", r.id.clone());
    vars.insert("currency", r.currency.as_str().to_owned());
    amounts(&mut vars, r.amount.value(), formats)?;
    if let Some(id) = r.upstream_id.as_deref().filter(|id| !id.is_empty()) {
        vars.insert("refund.upstream_id", id.to_owned());
    }
    if let Some(cb) = callback {
        let target = cb.target(&CallbackRef::Refund {
            merchant_id: p.merchant_id.clone(),
            payment_id: p.id.clone(),
            refund_id: r.id.clone(),
        });
        vars.insert("callback.url", target.url);
        vars.insert("callback.token", target.token);
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn minor_units_refuse_fractions_they_cannot_write() {
        assert_eq!(minor(Decimal::from_str("2.5").unwrap(), 2).unwrap(), "250");
        assert_eq!(minor(Decimal::from_str("7").unwrap(), 0).unwrap(), "7");
        assert!(minor(Decimal::from_str("2.505").unwrap(), 2).is_err());
    }

    #[test]
    fn phone_forms() {
        let mut vars = Vars::new();
        phone(
            &mut vars,
            &Msisdn::parse("+393401234567").unwrap(),
            Some("39"),
        );
        assert_eq!(vars["phone.tel"], "tel:+393401234567");
        assert_eq!(vars["phone.digits"], "393401234567");
        assert_eq!(vars["phone.national"], "3401234567");
        let mut other = Vars::new();
        phone(
            &mut other,
            &Msisdn::parse("+34600000001").unwrap(),
            Some("39"),
        );
        assert!(
            !other.contains_key("phone.national"),
            "another country has no national form here"
        );
    }
}
