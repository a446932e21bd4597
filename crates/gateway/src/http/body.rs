//! Request bodies and query strings, with errors that name the offending field.

use serde::de::DeserializeOwned;
use switchboard_core::ApiError;

use super::unique_keys::check_unique_keys;

/// Parses a JSON body into `T`; malformed JSON or a wrong type is 400 `INVALID_ARGUMENT` naming the
/// field (`amountTransaction.paymentAmount.chargingInformation.amount: …`).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    from_value(json_value(body)?)
}

/// The body as untyped JSON (some checks must run before the typed parse). Every request body is
/// read here, so a key written twice anywhere in it is refused once, for every operation.
pub fn json_value(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_argument(
            "A JSON request body is required.",
        ));
    }
    check_unique_keys(body).map_err(|why| ApiError::invalid_argument(strip_position(&why)))?;
    serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid_argument(format!(
            "Malformed JSON body: {}",
            strip_position(&e.to_string())
        ))
    })
}

/// Typed parse of a JSON value; errors name the field.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let detail = strip_position(&inner.to_string());
        if path.is_empty() || path == "." {
            ApiError::invalid_argument(format!("Invalid request body: {detail}"))
        } else {
            ApiError::invalid_argument(format!("{path}: {detail}"))
        }
    })
}

/// serde_json appends " at line 1 column 42", which helps nobody reading an API error.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// A query string as ordered pairs (repeated keys kept).
pub fn parse_query_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(query)
        .map_err(|_| ApiError::invalid_argument("Malformed query string."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Outer {
        #[allow(dead_code)]
        inner_value: Inner,
    }

    #[derive(Debug, Deserialize)]
    struct Inner {
        #[allow(dead_code)]
        amount: u32,
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse_json::<Outer>(br#"{"innerValue": {"amount": "x"}}"#).unwrap_err();
        assert!(
            err.message.starts_with("innerValue.amount:"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("line 1"), "{}", err.message);
        let err = parse_json::<Outer>(b"{not json").unwrap_err();
        assert_eq!(err.code, switchboard_core::ErrorCode::InvalidArgument);
        let err = parse_json::<Outer>(b"  ").unwrap_err();
        assert!(err.message.contains("required"));
    }

    #[test]
    fn query_pairs_keep_repeats() {
        let pairs = parse_query_pairs("a=1&a=2&b=x%2Cy").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("a".into(), "2".into()),
                ("b".into(), "x,y".into())
            ]
        );
    }
}
