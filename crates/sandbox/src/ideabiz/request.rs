//! The charge request body, parsed by hand so every problem is the platform's
//! `400 INVALID_ARGUMENT "Schema validation failed at <field>"`.

use serde_json::{Map, Number, Value};

use crate::error::ApiError;
use crate::notify::{sink_allowed, Subscription};

/// Longest `chargingInformation.description` the platform takes.
pub const MAX_DESCRIPTION_CHARS: usize = 190;

/// What `POST …/payments` asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct ChargeRequest {
    /// `tel:` followed by the number's digits, country code first, no `+`.
    pub phone_number: String,
    pub client_correlator: Option<String>,
    /// Echoed as received; the sandbox never computes on amounts.
    pub payment_amount: Value,
    pub reference_code: String,
    /// `{notificationUrl, notificationAuthToken}`: stored and echoed; a
    /// payment that settles later is announced there.
    pub webhook: Option<Value>,
}

impl ChargeRequest {
    /// Where and with which bearer to notify, when a webhook was given.
    pub fn subscription(&self) -> Option<Subscription> {
        let webhook = self.webhook.as_ref()?;
        Some(Subscription {
            url: webhook.get("notificationUrl")?.as_str()?.to_owned(),
            bearer: webhook
                .get("notificationAuthToken")
                .and_then(Value::as_str)
                .map(str::to_owned),
            expires: None,
        })
    }
}

fn schema(field: &str) -> ApiError {
    ApiError::invalid_argument(format!("Schema validation failed at {field}"))
}

fn object<'a>(
    map: &'a Map<String, Value>,
    field: &str,
) -> Result<&'a Map<String, Value>, ApiError> {
    map.get(field)
        .and_then(Value::as_object)
        .ok_or_else(|| schema(field))
}

fn optional_string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(schema(field)),
    }
}

fn required_string(map: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    optional_string(map, field)?.ok_or_else(|| schema(field))
}

/// `tel:` + 5 to 15 digits, not starting with 0, and no `+`.
pub fn is_tel_uri(phone: &str) -> bool {
    phone.strip_prefix("tel:").is_some_and(|digits| {
        (5..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

fn is_positive(n: &Number) -> bool {
    n.as_f64().is_some_and(|v| v > 0.0)
}

fn check_payment_amount(amount: &Map<String, Value>) -> Result<(), ApiError> {
    let charging = object(amount, "chargingInformation")?;
    match charging.get("amount") {
        Some(Value::Number(n)) if is_positive(n) => {}
        _ => return Err(schema("amount")),
    }
    required_string(charging, "currency")?;
    let description = required_string(charging, "description")?;
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(schema("description"));
    }
    if let Some(meta) = amount.get("chargingMetaData") {
        if !meta.is_object() {
            return Err(schema("chargingMetaData"));
        }
    }
    if let Some(details) = amount.get("paymentDetails") {
        if !details.is_array() {
            return Err(schema("paymentDetails"));
        }
    }
    Ok(())
}

fn check_webhook(webhook: &Value) -> Result<(), ApiError> {
    let webhook = webhook.as_object().ok_or_else(|| schema("webhook"))?;
    let url = required_string(webhook, "notificationUrl")?;
    // `https://`, or `http://` on a loopback host (a gateway on the same machine).
    if !sink_allowed(&url) {
        return Err(schema("notificationUrl"));
    }
    optional_string(webhook, "notificationAuthToken")?;
    Ok(())
}

/// Parses a charge request.
pub fn parse_charge(body: &[u8]) -> Result<ChargeRequest, ApiError> {
    let root = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        _ => return Err(schema("body")),
    };
    let transaction = object(&root, "amountTransaction")?;
    let phone_number = required_string(transaction, "phoneNumber")?;
    if !is_tel_uri(&phone_number) {
        return Err(schema("phoneNumber"));
    }
    let payment_amount = object(transaction, "paymentAmount")?;
    check_payment_amount(payment_amount)?;
    let webhook = match root.get("webhook") {
        None | Some(Value::Null) => None,
        Some(webhook) => {
            check_webhook(webhook)?;
            Some(webhook.clone())
        }
    };
    Ok(ChargeRequest {
        phone_number,
        client_correlator: optional_string(transaction, "clientCorrelator")?,
        payment_amount: Value::Object(payment_amount.clone()),
        reference_code: required_string(transaction, "referenceCode")?,
        webhook,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(phone: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({"amountTransaction": {
            "phoneNumber": phone, "clientCorrelator": "c1", "referenceCode": "r1",
            "paymentAmount": {"chargingInformation": {"amount": 100, "currency": "LKR", "description": "x"}}
        }}))
        .unwrap_or_default()
    }

    #[test]
    fn accepts_tel_uris_without_plus() {
        let request = parse_charge(&body(json!("tel:94777123456")));
        assert_eq!(
            request.map(|r| r.phone_number),
            Ok("tel:94777123456".to_owned())
        );
    }

    #[test]
    fn rejects_other_phone_forms() {
        for phone in [
            json!("tel:+94777123456"),
            json!("+94777123456"),
            json!("94777123456"),
            json!("tel:0777123456"),
            json!("tel:9477x123456"),
            json!(94777123456_u64),
            Value::Null,
        ] {
            let err = parse_charge(&body(phone.clone())).err();
            assert_eq!(
                err.map(|e| (e.status, e.code, e.message)),
                Some((
                    400,
                    "INVALID_ARGUMENT",
                    "Schema validation failed at phoneNumber".to_owned()
                )),
                "{phone}"
            );
        }
    }

    #[test]
    fn rejects_bad_amounts_and_webhooks() {
        let bad = [
            json!({"amountTransaction": {"phoneNumber": "tel:94777123456", "referenceCode": "r",
                "paymentAmount": {"chargingInformation": {"amount": 0, "currency": "LKR", "description": "x"}}}}),
            json!({"amountTransaction": {"phoneNumber": "tel:94777123456", "referenceCode": "r",
                "paymentAmount": {"chargingInformation": {"amount": 1, "currency": "LKR", "description": "x".repeat(191)}}}}),
            json!({"amountTransaction": {"phoneNumber": "tel:94777123456", "referenceCode": "r",
                "paymentAmount": {"chargingInformation": {"amount": 1, "currency": "LKR", "description": "x"}}},
                "webhook": {"notificationUrl": "ftp://x"}}),
            json!({"amountTransaction": {"phoneNumber": "tel:94777123456", "referenceCode": "r",
                "paymentAmount": {"chargingInformation": {"amount": 1, "currency": "LKR", "description": "x"}}},
                "webhook": {"notificationUrl": "http://merchant.example/events"}}),
            json!({"amountTransaction": {"phoneNumber": "tel:94777123456",
                "paymentAmount": {"chargingInformation": {"amount": 1, "currency": "LKR", "description": "x"}}}}),
            json!([]),
        ];
        for b in bad {
            let err = parse_charge(&serde_json::to_vec(&b).unwrap_or_default()).err();
            assert!(
                err.is_some_and(|e| e.message.starts_with("Schema validation failed at")),
                "{b}"
            );
        }
    }
}
