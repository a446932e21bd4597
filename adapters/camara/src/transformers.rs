//! Conversions between Switchboard's types and the upstream CAMARA Carrier Billing v0.5 JSON.
//!
//! Requests are built from the stored [`PaymentRecord`]; answers are read leniently (unknown fields
//! are ignored) but every field we use must make sense, or the answer counts as unreadable.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_adapter::{AdapterError, UpstreamPayment};
use switchboard_core::{Msisdn, PaymentAmount, PaymentRecord, PaymentStatus, ValidationInfo};

use crate::callback::{Sink, SinkCredential};

/// `amountTransaction` of `CreatePayment` and `BodyAmountReservationTransactionForReserveInput`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmountTransactionRequest<'a> {
    /// Always sent: Switchboard holds a 2-legged token.
    pub phone_number: &'a Msisdn,
    /// Always the record's `upstream_correlator`, so a replay finds the same upstream payment.
    pub client_correlator: &'a str,
    pub payment_amount: &'a PaymentAmount,
    pub reference_code: &'a str,
}

/// Body of `POST /payments` and `POST /payments/prepare`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest<'a> {
    pub amount_transaction: AmountTransactionRequest<'a>,
    /// Switchboard's callback address for this payment (see `callback.rs`), when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sink: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sink_credential: Option<SinkCredential>,
}

impl<'a> From<&'a PaymentRecord> for PaymentRequest<'a> {
    fn from(record: &'a PaymentRecord) -> Self {
        PaymentRequest {
            amount_transaction: AmountTransactionRequest {
                phone_number: &record.msisdn,
                client_correlator: &record.upstream_correlator,
                payment_amount: &record.payment_amount,
                reference_code: &record.reference_code,
            },
            sink: None,
            sink_credential: None,
        }
    }
}

impl PaymentRequest<'_> {
    /// Asks the operator to notify `sink` (nothing changes for `None`).
    pub fn with_sink(mut self, sink: Option<Sink>) -> Self {
        if let Some(sink) = sink {
            self.sink = Some(sink.url);
            self.sink_credential = Some(sink.credential);
        }
        self
    }
}

/// Body of `POST /payments/{id}/confirm` and `/cancel` (`PhoneNumber`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumberBody<'a> {
    pub phone_number: &'a Msisdn,
}

impl<'a> From<&'a PaymentRecord> for PhoneNumberBody<'a> {
    fn from(record: &'a PaymentRecord) -> Self {
        PhoneNumberBody {
            phone_number: &record.msisdn,
        }
    }
}

/// Body of `POST /payments/{id}/validate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateBody<'a> {
    pub authorization_id: &'a str,
    pub code: &'a str,
}

/// The fields we read from `Payment`, `PaymentCreated` and `BodyAmountReservationTransactionForReserve`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentResponse {
    #[serde(default)]
    pub payment_id: Option<String>,
    #[serde(default)]
    pub payment_status: Option<String>,
    #[serde(default)]
    pub amount_transaction: Option<AmountTransactionResponse>,
    #[serde(default)]
    pub validation_info: Option<serde_json::Value>,
    #[serde(default)]
    pub payment_date: Option<String>,
    /// Not in the `Payment` schema (only in `payment-denied` events); taken when an operator adds it.
    #[serde(default)]
    pub denial_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmountTransactionResponse {
    #[serde(default)]
    pub client_correlator: Option<String>,
    #[serde(default)]
    pub server_reference_code: Option<String>,
}

impl PaymentResponse {
    /// Parses a success body; anything unreadable is an unknown outcome.
    pub fn parse(body: &[u8]) -> Result<PaymentResponse, AdapterError> {
        serde_json::from_slice(body).map_err(|e| {
            AdapterError::Unknown(format!(
                "unreadable payment in the operator's answer (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    /// Checks that the answer is about the payment we asked for.
    pub fn check_identity(
        &self,
        upstream_id: Option<&str>,
        client_correlator: Option<&str>,
    ) -> Result<(), AdapterError> {
        if let (Some(expected), Some(got)) = (upstream_id, self.payment_id.as_deref()) {
            if expected != got {
                return Err(AdapterError::Unknown(
                    "the operator answered about another paymentId".into(),
                ));
            }
        }
        let got = self
            .amount_transaction
            .as_ref()
            .and_then(|a| a.client_correlator.as_deref());
        if let (Some(expected), Some(got)) = (client_correlator, got) {
            if expected != got {
                return Err(AdapterError::Unknown(
                    "the operator answered about another clientCorrelator".into(),
                ));
            }
        }
        Ok(())
    }
}

fn unreadable(what: &str) -> AdapterError {
    AdapterError::Unknown(format!("the operator's answer has {what}"))
}

impl TryFrom<PaymentResponse> for UpstreamPayment {
    type Error = AdapterError;

    fn try_from(answer: PaymentResponse) -> Result<Self, Self::Error> {
        let upstream_id = match answer.payment_id {
            Some(id) if !id.trim().is_empty() => id,
            _ => return Err(unreadable("no paymentId")),
        };
        let status = match answer.payment_status.as_deref() {
            Some(s) => s
                .parse::<PaymentStatus>()
                .map_err(|_| unreadable("an unknown paymentStatus"))?,
            None => return Err(unreadable("no paymentStatus")),
        };
        let validation_info = answer
            .validation_info
            .map(serde_json::from_value::<ValidationInfo>)
            .transpose()
            .map_err(|_| unreadable("an unreadable validationInfo"))?;
        let payment_date = answer
            .payment_date
            .as_deref()
            .map(DateTime::parse_from_rfc3339)
            .transpose()
            .map_err(|_| unreadable("a paymentDate that is not RFC 3339"))?
            .map(|d| d.with_timezone(&Utc));
        let denial_reason = if status == PaymentStatus::Denied {
            answer.denial_reason.filter(|r| !r.trim().is_empty())
        } else {
            None
        };
        Ok(UpstreamPayment {
            upstream_id: Some(upstream_id),
            status,
            server_reference_code: answer
                .amount_transaction
                .and_then(|a| a.server_reference_code)
                .filter(|s| !s.trim().is_empty()),
            validation_info,
            payment_date,
            denial_reason,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn record(flow: &str, digits: &str) -> PaymentRecord {
        serde_json::from_value(json!({
            "id": "p1", "merchant_id": "m", "flow": flow, "phase": {"phase": "live"},
            "status": "processing", "version": 1, "msisdn": format!("+346001234{digits}"), "operator_id": "op",
            "channel_id": "ch", "client_correlator": "merchant-cc", "reference_code": "ref-1",
            "payment_amount": {"chargingInformation": {"amount": 19.99, "currency": "EUR", "description": "Game"}},
            "upstream_correlator": "sb-p1", "upstream_id": null, "server_reference_code": null,
            "validation_info": null, "validation_attempts": 0, "pending_action": null, "sink": null,
            "sink_credential": null, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "payment_date": null, "denial_reason": null, "fingerprint": "f", "needs_review": false
        }))
        .unwrap()
    }

    fn convert(v: serde_json::Value) -> Result<UpstreamPayment, AdapterError> {
        UpstreamPayment::try_from(PaymentResponse::parse(&serde_json::to_vec(&v).unwrap())?)
    }

    #[test]
    fn create_body_uses_our_correlator_not_the_merchants() {
        let r = record("one_step", "00");
        let body = serde_json::to_value(PaymentRequest::from(&r)).unwrap();
        assert_eq!(
            body,
            json!({"amountTransaction": {
                "phoneNumber": "+34600123400",
                "clientCorrelator": "sb-p1",
                "paymentAmount": {"chargingInformation": {"amount": 19.99, "currency": "EUR", "description": "Game"}},
                "referenceCode": "ref-1"
            }})
        );
    }

    #[test]
    fn create_body_carries_the_sink_when_asked() {
        let r = record("one_step", "00");
        let sink = Sink {
            url: "https://sb.example/callbacks/op?ref=p.bQ.cDE".into(),
            credential: SinkCredential {
                credential_type: "ACCESSTOKEN",
                access_token: "tok".into(),
                access_token_type: "bearer",
                access_token_expires_utc: "2026-01-31T00:00:00Z".into(),
            },
        };
        let body = serde_json::to_value(PaymentRequest::from(&r).with_sink(Some(sink))).unwrap();
        assert_eq!(body["sink"], "https://sb.example/callbacks/op?ref=p.bQ.cDE");
        assert_eq!(
            body["sinkCredential"],
            json!({"credentialType": "ACCESSTOKEN", "accessToken": "tok", "accessTokenType": "bearer",
                "accessTokenExpiresUtc": "2026-01-31T00:00:00Z"})
        );
        let plain = serde_json::to_value(PaymentRequest::from(&r).with_sink(None)).unwrap();
        assert!(plain.get("sink").is_none() && plain.get("sinkCredential").is_none());
    }

    #[test]
    fn confirm_and_validate_bodies() {
        let r = record("two_step", "00");
        assert_eq!(
            serde_json::to_value(PhoneNumberBody::from(&r)).unwrap(),
            json!({"phoneNumber": "+34600123400"})
        );
        let v = ValidateBody {
            authorization_id: "a1",
            code: "123456",
        };
        assert_eq!(
            serde_json::to_value(v).unwrap(),
            json!({"authorizationId": "a1", "code": "123456"})
        );
    }

    #[test]
    fn reads_a_full_payment() {
        let p = convert(json!({
            "paymentId": "up-1", "paymentStatus": "succeeded", "paymentCreationDate": "2026-01-01T00:00:00Z",
            "paymentDate": "2026-01-01T01:00:00+01:00",
            "amountTransaction": {"phoneNumber": "+34600123400", "clientCorrelator": "sb-p1", "serverReferenceCode": "srv-9",
                "referenceCode": "ref-1", "paymentAmount": {}},
            "extra": true
        }))
        .unwrap();
        assert_eq!(p.upstream_id.as_deref(), Some("up-1"));
        assert_eq!(p.status, PaymentStatus::Succeeded);
        assert_eq!(p.server_reference_code.as_deref(), Some("srv-9"));
        assert_eq!(
            p.payment_date,
            Some("2026-01-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(p.denial_reason, None);
    }

    #[test]
    fn reads_validation_info_and_denial_reason() {
        let p = convert(
            json!({"paymentId": "up-2", "paymentStatus": "pending_validation",
            "validationInfo": {"action": "validate", "authorizationId": "auth-1"}}),
        )
        .unwrap();
        assert_eq!(
            p.validation_info,
            Some(ValidationInfo::Validate {
                authorization_id: "auth-1".into()
            })
        );
        let d = convert(
            json!({"paymentId": "up-3", "paymentStatus": "denied", "denialReason": "no credit"}),
        )
        .unwrap();
        assert_eq!(d.denial_reason.as_deref(), Some("no credit"));
        let s = convert(
            json!({"paymentId": "up-3", "paymentStatus": "succeeded", "denialReason": "stray"}),
        )
        .unwrap();
        assert_eq!(s.denial_reason, None);
    }

    #[test]
    fn unreadable_answers_are_unknown_outcomes() {
        let bad = [
            json!({"paymentStatus": "succeeded"}),
            json!({"paymentId": "", "paymentStatus": "succeeded"}),
            json!({"paymentId": "x"}),
            json!({"paymentId": "x", "paymentStatus": "charged"}),
            json!({"paymentId": "x", "paymentStatus": "succeeded", "paymentDate": "yesterday"}),
            json!({"paymentId": "x", "paymentStatus": "pending_validation", "validationInfo": {"action": "sing"}}),
            json!({"paymentId": 7, "paymentStatus": "succeeded"}),
            json!([]),
        ];
        for v in bad {
            assert!(
                matches!(convert(v.clone()), Err(AdapterError::Unknown(_))),
                "{v}"
            );
        }
        assert!(matches!(
            PaymentResponse::parse(b"<html>"),
            Err(AdapterError::Unknown(_))
        ));
    }

    #[test]
    fn identity_checks() {
        let answer = PaymentResponse {
            payment_id: Some("up-1".into()),
            amount_transaction: Some(AmountTransactionResponse {
                client_correlator: Some("sb-p1".into()),
                server_reference_code: None,
            }),
            ..PaymentResponse::default()
        };
        assert!(answer.check_identity(Some("up-1"), Some("sb-p1")).is_ok());
        assert!(answer.check_identity(None, None).is_ok());
        assert!(answer.check_identity(Some("up-2"), None).is_err());
        assert!(answer.check_identity(None, Some("sb-p2")).is_err());
    }
}
