//! Request bodies, parsed by hand so that every problem is a CAMARA 400.

use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};

use crate::error::ApiError;
use crate::notify::{sink_allowed, Subscription};
use crate::phone;

/// What a create or prepare request asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct PaymentRequest {
    pub phone_number: String,
    pub client_correlator: Option<String>,
    /// Echoed as received; the sandbox never computes on amounts.
    pub payment_amount: Value,
    pub reference_code: String,
    /// `sink` and the bearer of `sinkCredential`, when given.
    pub subscription: Option<Subscription>,
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_argument("The body must be a JSON object")),
        Err(e) => Err(ApiError::invalid_argument(format!("Malformed JSON: {e}"))),
    }
}

fn optional_string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid_argument(format!(
            "{field} must be a string"
        ))),
    }
}

fn required_string(map: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    optional_string(map, field)?
        .ok_or_else(|| ApiError::invalid_argument(format!("{field} is required")))
}

fn checked_phone(phone: String) -> Result<String, ApiError> {
    if phone::is_valid(&phone) {
        Ok(phone)
    } else {
        Err(ApiError::invalid_argument(
            "phoneNumber must match ^\\+[1-9][0-9]{4,14}$",
        ))
    }
}

fn is_positive(n: &Number) -> bool {
    let text = n.to_string();
    !text.starts_with('-')
        && text
            .bytes()
            .take_while(|b| !matches!(b, b'e' | b'E'))
            .any(|b| (b'1'..=b'9').contains(&b))
}

fn check_payment_amount(amount: &Value) -> Result<(), ApiError> {
    let charging = amount
        .get("chargingInformation")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ApiError::invalid_argument("paymentAmount.chargingInformation is required")
        })?;
    match charging.get("amount") {
        Some(Value::Number(n)) if is_positive(n) => {}
        _ => {
            return Err(ApiError::invalid_argument(
                "chargingInformation.amount must be a positive number",
            ))
        }
    }
    required_string(charging, "currency")?;
    required_string(charging, "description")?;
    Ok(())
}

/// `sink` and `sinkCredential` of a create, prepare or refund request (CAMARA's implicit
/// subscription). The sink must be `https://` (or `http://` on a loopback host: see
/// [`sink_allowed`]); the only credential is `ACCESSTOKEN` of type `bearer`. A credential without
/// a sink subscribes nobody and is ignored.
pub fn parse_subscription(root: &Map<String, Value>) -> Result<Option<Subscription>, ApiError> {
    let Some(sink) = optional_string(root, "sink")? else {
        return Ok(None);
    };
    if !sink_allowed(&sink) {
        return Err(ApiError::new(
            400,
            "INVALID_SINK",
            "sink not valid for the specified protocol",
        ));
    }
    let credential = match root.get("sinkCredential") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            return Err(ApiError::invalid_argument(
                "sinkCredential must be an object",
            ))
        }
    };
    let Some(credential) = credential else {
        return Ok(Some(Subscription {
            url: sink,
            bearer: None,
            expires: None,
        }));
    };
    if optional_string(credential, "credentialType")?.as_deref() != Some("ACCESSTOKEN") {
        return Err(ApiError::new(
            400,
            "INVALID_CREDENTIAL",
            "Only Access token is supported",
        ));
    }
    let token_type = optional_string(credential, "accessTokenType")?;
    if !token_type.is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
        return Err(ApiError::new(
            400,
            "INVALID_TOKEN",
            "Only bearer token is supported",
        ));
    }
    let token = required_string(credential, "accessToken")?;
    if token.trim().is_empty() {
        return Err(ApiError::invalid_argument("accessToken must not be empty"));
    }
    let expires =
        DateTime::parse_from_rfc3339(&required_string(credential, "accessTokenExpiresUtc")?)
            .map_err(|_| {
                ApiError::invalid_argument("accessTokenExpiresUtc must be an RFC 3339 date-time")
            })?
            .with_timezone(&Utc);
    Ok(Some(Subscription {
        url: sink,
        bearer: Some(token),
        expires: Some(expires),
    }))
}

/// Parses a `CreatePayment` / `BodyAmountReservationTransactionForReserveInput`.
pub fn parse_payment(body: &[u8]) -> Result<PaymentRequest, ApiError> {
    let root = parse_object(body)?;
    let subscription = parse_subscription(&root)?;
    let transaction = root
        .get("amountTransaction")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::invalid_argument("amountTransaction is required"))?;
    let phone_number = checked_phone(required_string(transaction, "phoneNumber")?)?;
    let payment_amount = transaction
        .get("paymentAmount")
        .filter(|v| v.is_object())
        .cloned()
        .ok_or_else(|| ApiError::invalid_argument("paymentAmount is required"))?;
    check_payment_amount(&payment_amount)?;
    Ok(PaymentRequest {
        phone_number,
        client_correlator: optional_string(transaction, "clientCorrelator")?,
        payment_amount,
        reference_code: required_string(transaction, "referenceCode")?,
        subscription,
    })
}

/// Parses a `ValidatePayment`: `(authorizationId, code)`.
pub fn parse_validate(body: &[u8]) -> Result<(String, String), ApiError> {
    let root = parse_object(body)?;
    Ok((
        required_string(&root, "authorizationId")?,
        required_string(&root, "code")?,
    ))
}

/// Parses a confirm/cancel `PhoneNumber` body (`{}` and an empty body are fine).
pub fn parse_phone_body(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let root = parse_object(body)?;
    optional_string(&root, "phoneNumber")?
        .map(checked_phone)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"amountTransaction":{"phoneNumber":"+34600000001","clientCorrelator":"c1",
        "paymentAmount":{"chargingInformation":{"amount":19.99,"currency":"EUR","description":"x"}},
        "referenceCode":"r1"}}"#;

    #[test]
    fn parses_a_good_body() {
        let req = parse_payment(GOOD.as_bytes()).map_err(|e| e.to_string());
        let req = req
            .as_ref()
            .map(|r| (r.phone_number.as_str(), r.client_correlator.as_deref()));
        assert_eq!(req, Ok(("+34600000001", Some("c1"))));
    }

    #[test]
    fn rejects_bad_bodies() {
        for body in [
            "",
            "[]",
            "{}",
            r#"{"amountTransaction":{"referenceCode":"r","paymentAmount":{"chargingInformation":{"amount":1,"currency":"EUR","description":"x"}}}}"#,
            r#"{"amountTransaction":{"phoneNumber":"600","referenceCode":"r","paymentAmount":{"chargingInformation":{"amount":1,"currency":"EUR","description":"x"}}}}"#,
            r#"{"amountTransaction":{"phoneNumber":"+34600000001","referenceCode":"r","paymentAmount":{"chargingInformation":{"amount":0,"currency":"EUR","description":"x"}}}}"#,
            r#"{"amountTransaction":{"phoneNumber":"+34600000001","paymentAmount":{"chargingInformation":{"amount":1,"currency":"EUR","description":"x"}}}}"#,
        ] {
            let err = parse_payment(body.as_bytes()).err().map(|e| e.code);
            assert_eq!(err, Some("INVALID_ARGUMENT"), "{body}");
        }
    }

    fn with_sink(extra: &str) -> Result<Option<Subscription>, &'static str> {
        let body = format!(
            r#"{{{extra}"amountTransaction":{{"phoneNumber":"+34600000001","referenceCode":"r",
            "paymentAmount":{{"chargingInformation":{{"amount":1,"currency":"EUR","description":"x"}}}}}}}}"#
        );
        parse_payment(body.as_bytes())
            .map(|r| r.subscription)
            .map_err(|e| e.code)
    }

    #[test]
    fn sinks_and_credentials() {
        assert_eq!(with_sink(""), Ok(None));
        let plain = with_sink(r#""sink":"https://m.example/n","#)
            .unwrap()
            .unwrap();
        assert_eq!(
            (plain.url.as_str(), plain.bearer),
            ("https://m.example/n", None)
        );
        let cred = with_sink(
            r#""sink":"http://127.0.0.1:8080/cb?ref=p.a.b","sinkCredential":{"credentialType":"ACCESSTOKEN",
            "accessToken":"tok","accessTokenType":"Bearer","accessTokenExpiresUtc":"2099-01-01T00:00:00Z"},"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(cred.bearer.as_deref(), Some("tok"));
        assert!(cred.expires.is_some());
        let cases = [
            (r#""sink":"http://merchant.example/n","#, "INVALID_SINK"),
            (r#""sink":"ftp://127.0.0.1/n","#, "INVALID_SINK"),
            (
                r#""sink":"https://m.example","sinkCredential":{"credentialType":"PLAIN","identifier":"a","secret":"b"},"#,
                "INVALID_CREDENTIAL",
            ),
            (
                r#""sink":"https://m.example","sinkCredential":{"credentialType":"ACCESSTOKEN","accessToken":"t","accessTokenType":"mac","accessTokenExpiresUtc":"2099-01-01T00:00:00Z"},"#,
                "INVALID_TOKEN",
            ),
            (
                r#""sink":"https://m.example","sinkCredential":{"credentialType":"ACCESSTOKEN","accessToken":"t","accessTokenType":"bearer","accessTokenExpiresUtc":"soon"},"#,
                "INVALID_ARGUMENT",
            ),
            (
                r#""sink":"https://m.example","sinkCredential":{"credentialType":"ACCESSTOKEN","accessTokenType":"bearer","accessTokenExpiresUtc":"2099-01-01T00:00:00Z"},"#,
                "INVALID_ARGUMENT",
            ),
        ];
        for (extra, code) in cases {
            assert_eq!(with_sink(extra), Err(code), "{extra}");
        }
    }

    #[test]
    fn phone_bodies() {
        assert_eq!(parse_phone_body(b""), Ok(None));
        assert_eq!(parse_phone_body(b"{}"), Ok(None));
        assert_eq!(
            parse_phone_body(br#"{"phoneNumber":"+34600000001"}"#),
            Ok(Some("+34600000001".into()))
        );
        assert!(parse_phone_body(br#"{"phoneNumber":"x"}"#).is_err());
    }
}
