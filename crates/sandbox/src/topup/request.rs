//! Request bodies and query strings, parsed by hand so that every problem is a 400.

use std::collections::HashMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::catalogue::Kind;
use super::error::TopUpError;
use crate::phone;

/// Longest `external_tx_id`, `external_order_id` or `product_id` accepted.
const MAX_ID_LEN: usize = 128;

/// `POST /telecom/topup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUpRequest {
    /// Digits only (`79161234567`), whichever form was sent.
    pub phone: String,
    pub product_id: String,
    pub external_tx_id: String,
    pub amount: Option<Decimal>,
}

/// `POST /esim/orders`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EsimRequest {
    pub product_id: String,
    pub external_order_id: String,
}

fn object(body: &[u8]) -> Result<Map<String, Value>, TopUpError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(TopUpError::invalid("the body must be a JSON object")),
        Err(e) => Err(TopUpError::invalid(format!("malformed JSON: {e}"))),
    }
}

fn id(map: &Map<String, Value>, field: &str) -> Result<String, TopUpError> {
    match map.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= MAX_ID_LEN => {
            Ok(s.clone())
        }
        Some(Value::String(_)) => Err(TopUpError::invalid(format!(
            "{field} must be 1 to {MAX_ID_LEN} characters"
        ))),
        None | Some(Value::Null) => Err(TopUpError::invalid(format!("{field} is required"))),
        Some(_) => Err(TopUpError::invalid(format!("{field} must be a string"))),
    }
}

/// The digits of an international number sent with or without `+`.
pub fn phone_digits(map: &Map<String, Value>) -> Result<String, TopUpError> {
    let text = match map.get("phone") {
        Some(Value::String(s)) => s.trim(),
        None | Some(Value::Null) => return Err(TopUpError::invalid("phone is required")),
        Some(_) => return Err(TopUpError::invalid("phone must be a string")),
    };
    let digits = text.strip_prefix('+').unwrap_or(text);
    if phone::is_valid(&format!("+{digits}")) {
        Ok(digits.to_owned())
    } else {
        Err(TopUpError::invalid(
            "phone must be an international number: 5 to 15 digits, with or without a leading +",
        ))
    }
}

/// A positive amount with at most 3 decimals, as a JSON number or a decimal string.
fn amount(map: &Map<String, Value>) -> Result<Option<Decimal>, TopUpError> {
    let text = match map.get("amount") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(_) => return Err(TopUpError::invalid("amount must be a number")),
    };
    let value = Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| TopUpError::invalid("amount must be a number"))?
        .normalize();
    if value <= Decimal::ZERO || value.scale() > 3 {
        return Err(TopUpError::invalid(
            "amount must be above 0 with at most 3 decimals",
        ));
    }
    Ok(Some(value))
}

/// `{"phone"}` → digits.
pub fn parse_lookup(body: &[u8]) -> Result<String, TopUpError> {
    phone_digits(&object(body)?)
}

pub fn parse_topup(body: &[u8]) -> Result<TopUpRequest, TopUpError> {
    let map = object(body)?;
    Ok(TopUpRequest {
        phone: phone_digits(&map)?,
        product_id: id(&map, "product_id")?,
        external_tx_id: id(&map, "external_tx_id")?,
        amount: amount(&map)?,
    })
}

pub fn parse_esim(body: &[u8]) -> Result<EsimRequest, TopUpError> {
    let map = object(body)?;
    Ok(EsimRequest {
        product_id: id(&map, "product_id")?,
        external_order_id: id(&map, "external_order_id")?,
    })
}

/// `?operator_id=…&type=…` (both optional; empty values are ignored).
pub fn parse_products_query(query: &str) -> Result<(Option<String>, Option<Kind>), TopUpError> {
    let params: HashMap<String, String> = serde_urlencoded::from_str(query)
        .map_err(|_| TopUpError::invalid("malformed query string"))?;
    let operator = params.get("operator_id").filter(|v| !v.is_empty()).cloned();
    let kind =
        match params.get("type").filter(|v| !v.is_empty()) {
            None => None,
            Some(t) => Some(Kind::parse(t).ok_or_else(|| {
                TopUpError::invalid("type must be prepaid, bundle or plan_change")
            })?),
        };
    Ok((operator, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_with_or_without_plus() {
        assert_eq!(
            parse_lookup(br#"{"phone":"+79161234567"}"#),
            Ok("79161234567".into())
        );
        assert_eq!(
            parse_lookup(br#"{"phone":"79161234567"}"#),
            Ok("79161234567".into())
        );
        for bad in [
            r#"{"phone":"0791"}"#,
            r#"{"phone":"+7 916"}"#,
            r#"{"phone":7916}"#,
            r#"{}"#,
            "[]",
            "x",
        ] {
            assert_eq!(
                parse_lookup(bad.as_bytes()).map_err(|e| e.status),
                Err(400),
                "{bad}"
            );
        }
    }

    #[test]
    fn topup_bodies() {
        let r = parse_topup(
            br#"{"phone":"79161234567","product_id":"p","external_tx_id":"x","amount":19.99}"#,
        );
        assert_eq!(r.map(|r| r.amount), Ok(Some(Decimal::new(1999, 2))));
        let r = parse_topup(
            br#"{"phone":"79161234567","product_id":"p","external_tx_id":"x","amount":"100"}"#,
        );
        assert_eq!(r.map(|r| r.amount), Ok(Some(Decimal::new(100, 0))));
        for bad in [
            r#"{"phone":"79161234567","product_id":"p","external_tx_id":"x","amount":0}"#,
            r#"{"phone":"79161234567","product_id":"p","external_tx_id":"x","amount":1.0001}"#,
            r#"{"phone":"79161234567","product_id":"p","external_tx_id":"x","amount":true}"#,
            r#"{"phone":"79161234567","product_id":"p"}"#,
            r#"{"phone":"79161234567","product_id":"","external_tx_id":"x"}"#,
        ] {
            assert_eq!(
                parse_topup(bad.as_bytes()).map_err(|e| e.status),
                Err(400),
                "{bad}"
            );
        }
    }

    #[test]
    fn product_filters() {
        assert_eq!(parse_products_query(""), Ok((None, None)));
        assert_eq!(
            parse_products_query("operator_id=mts-ru&type=plan_change"),
            Ok((Some("mts-ru".into()), Some(Kind::PlanChange)))
        );
        assert_eq!(parse_products_query("type=").map(|q| q.1), Ok(None));
        assert!(parse_products_query("type=topup").is_err());
    }
}
