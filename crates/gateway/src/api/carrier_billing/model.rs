//! Request and response bodies of the Carrier Billing API, with the checks serde cannot express.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::payment::check_reference;
use switchboard_core::{
    AmountTransaction, ApiError, ErrorCode, Msisdn, PaymentAmount, PaymentRecord, PaymentStatus,
    Sink, SinkCredential, ValidationInfo,
};
use switchboard_webhooks::AllowList;

use crate::api::deliverable::deliverable_sink;

/// `CreatePayment` and `BodyAmountReservationTransactionForReserveInput` (same shape).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentInput {
    pub amount_transaction: AmountTransactionInput,
    // sink and sinkCredential are checked on the raw JSON first (see `notification_target`).
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmountTransactionInput {
    #[serde(default)]
    pub phone_number: Option<Msisdn>,
    #[serde(default)]
    pub client_correlator: Option<String>,
    pub payment_amount: PaymentAmount,
    pub reference_code: String,
}

impl AmountTransactionInput {
    pub fn validate(&self) -> Result<(), ApiError> {
        check_reference("amountTransaction.referenceCode", &self.reference_code)?;
        if let Some(cc) = &self.client_correlator {
            check_reference("amountTransaction.clientCorrelator", cc)?;
        }
        self.payment_amount.validate()
    }
}

/// `ValidatePayment`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateInput {
    pub authorization_id: String,
    pub code: String,
}

/// `PhoneNumber`: the confirm / cancel body, whose only property is optional.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumberInput {
    #[serde(default)]
    pub phone_number: Option<Msisdn>,
}

/// Checks `sink` and `sinkCredential` on the raw body, before the typed parse, so their specific codes
/// (`INVALID_SINK`, `INVALID_CREDENTIAL`, `INVALID_TOKEN`) win over a generic schema error. A sink the
/// webhook sender could never deliver to (`allow`: the gateway's SSRF allow-list) is `INVALID_SINK`.
pub fn notification_target(
    body: &Value,
    allow: &AllowList,
) -> Result<(Option<Sink>, Option<SinkCredential>), ApiError> {
    let sink = match body.get("sink") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(deliverable_sink(text, allow)?),
        Some(_) => return Err(ApiError::invalid_argument("sink: must be a string")),
    };
    let credential = match body.get("sinkCredential") {
        None | Some(Value::Null) => None,
        Some(Value::Object(fields)) => Some(sink_credential(fields)?),
        Some(_) => {
            return Err(ApiError::invalid_argument(
                "sinkCredential: must be an object",
            ))
        }
    };
    if credential.is_some() && sink.is_none() {
        return Err(ApiError::invalid_argument(
            "sinkCredential: requires a sink",
        ));
    }
    Ok((sink, credential))
}

fn sink_credential(fields: &serde_json::Map<String, Value>) -> Result<SinkCredential, ApiError> {
    match fields.get("credentialType").and_then(Value::as_str) {
        Some("ACCESSTOKEN") => {}
        Some(_) => return Err(ApiError::of(ErrorCode::InvalidCredential)),
        None => {
            return Err(ApiError::invalid_argument(
                "sinkCredential.credentialType: is required",
            ))
        }
    }
    match fields.get("accessTokenType").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("bearer") => {}
        _ => return Err(ApiError::of(ErrorCode::InvalidToken)),
    }
    let access_token = fields
        .get("accessToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid_argument("sinkCredential.accessToken: is required"))?;
    let expires = fields
        .get("accessTokenExpiresUtc")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| {
            ApiError::invalid_argument("sinkCredential.accessTokenExpiresUtc: must be an RFC 3339 date-time with time zone")
        })?;
    Ok(SinkCredential {
        access_token: access_token.to_string(),
        access_token_expires_utc: expires.with_timezone(&Utc),
    })
}

pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `Payment`, `PaymentCreated` and (with `validationInfo`) `BodyAmountReservationTransactionForReserve`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    pub payment_id: String,
    pub amount_transaction: AmountTransaction,
    pub payment_status: PaymentStatus,
    pub payment_creation_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_info: Option<ValidationInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sink: Option<Sink>,
}

impl PaymentView {
    /// The GET / list / 1-step shape. `base_url` builds `resourceURL`.
    pub fn payment(p: &PaymentRecord, base_url: &str) -> PaymentView {
        PaymentView {
            payment_id: p.id.clone(),
            amount_transaction: p.amount_transaction(Some(resource_url(base_url, &p.id))),
            payment_status: p.status,
            payment_creation_date: format_time(p.created_at),
            payment_date: p.payment_date.map(format_time),
            validation_info: None,
            sink: p.sink.clone(),
        }
    }

    /// The `preparePayment` answer: no `paymentDate`, `validationInfo` while it is pending.
    pub fn reservation(p: &PaymentRecord, base_url: &str) -> PaymentView {
        let mut view = PaymentView::payment(p, base_url);
        view.payment_date = None;
        if p.status == PaymentStatus::PendingValidation {
            view.validation_info = p.validation_info.clone();
        }
        view
    }
}

pub fn resource_url(base_url: &str, payment_id: &str) -> String {
    format!("{base_url}/carrier-billing/v0.5/payments/{payment_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sink_rules_come_with_their_own_codes() {
        let code = |v: Value| {
            notification_target(&v, &AllowList::default())
                .unwrap_err()
                .code
        };
        assert_eq!(
            code(json!({"sink": "http://x.example"})),
            ErrorCode::InvalidSink
        );
        assert_eq!(code(json!({"sink": 42})), ErrorCode::InvalidArgument);
        let cred = |c: Value| json!({"sink": "https://x.example/n", "sinkCredential": c});
        assert_eq!(
            code(cred(
                json!({"credentialType": "PLAIN", "identifier": "a", "secret": "b"})
            )),
            ErrorCode::InvalidCredential
        );
        assert_eq!(
            code(cred(
                json!({"credentialType": "ACCESSTOKEN", "accessToken": "t", "accessTokenType": "mac", "accessTokenExpiresUtc": "2030-01-01T00:00:00Z"})
            )),
            ErrorCode::InvalidToken
        );
        assert_eq!(
            code(cred(
                json!({"credentialType": "ACCESSTOKEN", "accessToken": "t", "accessTokenType": "bearer", "accessTokenExpiresUtc": "2030-01-01T00:00:00"})
            )),
            ErrorCode::InvalidArgument,
            "a date-time without zone"
        );
        let orphan = json!({"sinkCredential": {"credentialType": "ACCESSTOKEN", "accessToken": "t",
            "accessTokenType": "bearer", "accessTokenExpiresUtc": "2030-01-01T00:00:00Z"}});
        assert_eq!(
            code(orphan),
            ErrorCode::InvalidArgument,
            "a credential without a sink"
        );
    }

    #[test]
    fn accepts_a_bearer_credential_in_any_case() {
        let body = json!({"sink": "https://x.example/n", "sinkCredential": {
            "credentialType": "ACCESSTOKEN", "accessToken": "t", "accessTokenType": "Bearer",
            "accessTokenExpiresUtc": "2030-01-01T00:00:00+01:00"}});
        let (sink, cred) = notification_target(&body, &AllowList::default()).unwrap();
        assert_eq!(sink.unwrap().as_str(), "https://x.example/n");
        assert_eq!(
            cred.unwrap().access_token_expires_utc.to_rfc3339(),
            "2029-12-31T23:00:00+00:00"
        );
    }
}
