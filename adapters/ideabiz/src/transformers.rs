//! Conversions between Switchboard's types and the Ideabiz Carrier Billing v1 JSON.
//!
//! Requests are built from the stored [`PaymentRecord`]. Answers are read leniently (unknown
//! fields ignored), but every field we use must make sense, or the answer counts as unreadable
//! (an unknown outcome).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_adapter::sanitize::scrub_reason;
use switchboard_adapter::{AdapterError, UpstreamPayment};
use switchboard_core::{
    Amount, ChargingInformation, ChargingMetaData, Currency, Msisdn, PaymentRecord, PaymentStatus,
};

/// `tel:` followed by the number's digits, country code first and **no** `+`
/// (`+94777123456` → `tel:94777123456`), as the platform's examples write it.
pub fn tel_uri(msisdn: &Msisdn) -> String {
    format!("tel:{}", msisdn.digits())
}

/// Reads a platform phone number back (`tel:94…`, tolerating `tel:+94…` and bare digits).
pub fn msisdn_from_tel(text: &str) -> Option<Msisdn> {
    let text = text.trim();
    let rest = text.strip_prefix("tel:").unwrap_or(text);
    let digits = rest.strip_prefix('+').unwrap_or(rest);
    Msisdn::parse(&format!("+{digits}"))
}

/// `transactionOperationStatus` values (compared ignoring case, `_`, `-` and spaces) → our status.
/// Anything else is unreadable.
const STATUSES: &[(&str, PaymentStatus)] = &[
    ("charged", PaymentStatus::Succeeded),
    ("completed", PaymentStatus::Succeeded),
    ("processing", PaymentStatus::Processing),
    ("pending", PaymentStatus::Processing),
    ("inprogress", PaymentStatus::Processing),
    ("denied", PaymentStatus::Denied),
    ("refused", PaymentStatus::Denied),
    ("rejected", PaymentStatus::Denied),
];

/// The status an operation-status text means, if we know it.
pub fn payment_status(text: &str) -> Option<PaymentStatus> {
    let key: String = text
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    STATUSES
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, status)| *status)
}

/// Body of `POST /payments`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeRequest<'a> {
    pub amount_transaction: AmountTransactionRequest<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookRequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmountTransactionRequest<'a> {
    /// [`tel_uri`] of the subscriber.
    pub phone_number: String,
    /// Always the record's `upstream_correlator`: the platform refuses a second request with it,
    /// so nothing is ever charged twice.
    pub client_correlator: &'a str,
    pub payment_amount: PaymentAmountRequest<'a>,
    pub reference_code: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAmountRequest<'a> {
    pub charging_information: &'a ChargingInformation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charging_meta_data: Option<ChargingMetaData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_details: Option<Vec<PaymentDetail<'a>>>,
}

/// A `paymentDetails` item as the platform takes it (CAMARA's item `id` has no place there).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDetail<'a> {
    pub amount: Amount,
    pub currency: &'a Currency,
    pub description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_tax_included: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_amount: Option<Amount>,
}

/// The optional `webhook` of a charge (the platform's own notifications).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookRequest {
    pub notification_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_auth_token: Option<String>,
}

impl<'a> ChargeRequest<'a> {
    /// The charge for `record`. `service_id` fills `chargingMetaData.serviceId` when the merchant
    /// gave none.
    pub fn new(
        record: &'a PaymentRecord,
        service_id: Option<&str>,
        webhook: Option<WebhookRequest>,
    ) -> Self {
        let amount = &record.payment_amount;
        let mut meta = amount.charging_meta_data.clone();
        if let Some(service_id) = service_id {
            let meta = meta.get_or_insert_with(ChargingMetaData::default);
            if meta.service_id.is_none() {
                meta.service_id = Some(service_id.to_string());
            }
        }
        let details = amount.payment_details.as_ref().map(|items| {
            items
                .iter()
                .map(|item| PaymentDetail {
                    amount: item.amount,
                    currency: &item.currency,
                    description: &item.description,
                    is_tax_included: item.is_tax_included,
                    tax_amount: item.tax_amount,
                })
                .collect()
        });
        ChargeRequest {
            amount_transaction: AmountTransactionRequest {
                phone_number: tel_uri(&record.msisdn),
                client_correlator: &record.upstream_correlator,
                payment_amount: PaymentAmountRequest {
                    charging_information: &amount.charging_information,
                    charging_meta_data: meta,
                    payment_details: details,
                },
                reference_code: &record.reference_code,
            },
            webhook,
        }
    }
}

/// The fields we read from a payment answer (201 of a charge, 200 of a status query).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentResponse {
    #[serde(default)]
    pub payment_id: Option<String>,
    #[serde(default)]
    pub amount_transaction: Option<AmountTransactionResponse>,
    #[serde(default)]
    pub payment_date: Option<String>,
    /// Why a `Denied` payment was denied, when the platform says (notifications, status answers).
    #[serde(default)]
    pub denial_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmountTransactionResponse {
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub client_correlator: Option<String>,
    #[serde(default)]
    pub transaction_operation_status: Option<String>,
    #[serde(default, rename = "resourceURL")]
    pub resource_url: Option<String>,
    #[serde(default)]
    pub server_reference_code: Option<String>,
}

fn unreadable(what: &str) -> AdapterError {
    AdapterError::Unknown(format!("the platform's answer has {what}"))
}

impl PaymentResponse {
    /// Parses a success body; anything unreadable is an unknown outcome.
    pub fn parse(body: &[u8]) -> Result<PaymentResponse, AdapterError> {
        serde_json::from_slice(body).map_err(|e| {
            AdapterError::Unknown(format!(
                "unreadable payment in the platform's answer (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    /// `paymentId`, or the id at the end of `resourceURL` (`urn:payments:<id>`).
    pub fn upstream_id(&self) -> Option<String> {
        let from_url = || {
            let url = self.amount_transaction.as_ref()?.resource_url.as_deref()?;
            let id = url.rsplit([':', '/']).next()?;
            Some(id.to_string())
        };
        self.payment_id
            .clone()
            .or_else(from_url)
            .filter(|id| !id.trim().is_empty())
    }

    /// Checks that the answer is about the payment we asked for: the same id, clientCorrelator
    /// and subscriber, wherever the answer names them.
    pub fn check_identity(
        &self,
        upstream_id: Option<&str>,
        client_correlator: &str,
        msisdn: &Msisdn,
    ) -> Result<(), AdapterError> {
        if let (Some(expected), Some(got)) = (upstream_id, self.upstream_id()) {
            if expected != got {
                return Err(unreadable("another paymentId"));
            }
        }
        let tx = self.amount_transaction.as_ref();
        if let Some(got) = tx.and_then(|t| t.client_correlator.as_deref()) {
            if got != client_correlator {
                return Err(unreadable("another clientCorrelator"));
            }
        }
        if let Some(got) = tx.and_then(|t| t.phone_number.as_deref()) {
            if msisdn_from_tel(got).as_ref() != Some(msisdn) {
                return Err(unreadable("another phoneNumber"));
            }
        }
        Ok(())
    }
}

impl TryFrom<PaymentResponse> for UpstreamPayment {
    type Error = AdapterError;

    fn try_from(answer: PaymentResponse) -> Result<Self, Self::Error> {
        let upstream_id = answer
            .upstream_id()
            .ok_or_else(|| unreadable("no paymentId"))?;
        let tx = answer.amount_transaction.unwrap_or_default();
        let status = match tx.transaction_operation_status.as_deref() {
            Some(s) => payment_status(s)
                .ok_or_else(|| unreadable("an unknown transactionOperationStatus"))?,
            None => return Err(unreadable("no transactionOperationStatus")),
        };
        // The platform dates every answer; only a charge's date is a payment date.
        let payment_date = match (status, answer.payment_date.as_deref()) {
            (PaymentStatus::Succeeded, Some(date)) => Some(
                DateTime::parse_from_rfc3339(date)
                    .map_err(|_| unreadable("a paymentDate that is not RFC 3339"))?
                    .with_timezone(&Utc),
            ),
            _ => None,
        };
        let denial_reason = match status {
            PaymentStatus::Denied => answer.denial_reason.as_deref().and_then(scrub_reason),
            _ => None,
        };
        Ok(UpstreamPayment {
            upstream_id: Some(upstream_id),
            status,
            server_reference_code: tx.server_reference_code.filter(|s| !s.trim().is_empty()),
            validation_info: None,
            payment_date,
            denial_reason,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn record(digits: &str) -> PaymentRecord {
        serde_json::from_value(json!({
            "id": "p1", "merchant_id": "m", "flow": "one_step", "phase": {"phase": "live"},
            "status": "processing", "version": 1, "msisdn": format!("+947771234{digits}"), "operator_id": "dialog-lk",
            "channel_id": "ch", "client_correlator": "merchant-cc", "reference_code": "ref-1",
            "payment_amount": {"chargingInformation": {"amount": 100, "currency": "LKR", "description": "Game"}},
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
    fn tel_uris_have_no_plus() {
        let m = Msisdn::parse("+94777123456").unwrap();
        assert_eq!(tel_uri(&m), "tel:94777123456");
        for text in [
            "tel:94777123456",
            "tel:+94777123456",
            "94777123456",
            " tel:94777123456 ",
        ] {
            assert_eq!(msisdn_from_tel(text).as_ref(), Some(&m), "{text}");
        }
        assert_eq!(msisdn_from_tel("tel:0777"), None);
        assert_eq!(msisdn_from_tel("mailto:x"), None);
    }

    #[test]
    fn charge_body_uses_tel_and_our_correlator() {
        let r = record("00");
        let body = serde_json::to_value(ChargeRequest::new(&r, None, None)).unwrap();
        assert_eq!(
            body,
            json!({"amountTransaction": {
                "phoneNumber": "tel:94777123400",
                "clientCorrelator": "sb-p1",
                "paymentAmount": {"chargingInformation": {"amount": 100, "currency": "LKR", "description": "Game"}},
                "referenceCode": "ref-1"
            }})
        );
    }

    #[test]
    fn charge_body_carries_metadata_details_service_id_and_webhook() {
        let mut r = record("00");
        r.payment_amount = serde_json::from_value(json!({
            "chargingInformation": {"amount": 19.5, "currency": "LKR", "description": "Game", "isTaxIncluded": false, "taxAmount": 0},
            "chargingMetaData": {"merchantName": "EA Sports", "channel": "web"},
            "paymentDetails": [{"id": "item-1", "amount": 19.5, "currency": "LKR", "description": "Sword", "taxAmount": 0}]
        }))
        .unwrap();
        let hook = WebhookRequest {
            notification_url: "https://switchboard.example/ideabiz".into(),
            notification_auth_token: Some("t".into()),
        };
        let body =
            serde_json::to_value(ChargeRequest::new(&r, Some("games-online"), Some(hook))).unwrap();
        assert_eq!(
            body["amountTransaction"]["paymentAmount"],
            json!({
                "chargingInformation": {"amount": 19.5, "currency": "LKR", "description": "Game", "isTaxIncluded": false, "taxAmount": 0},
                "chargingMetaData": {"merchantName": "EA Sports", "channel": "web", "serviceId": "games-online"},
                "paymentDetails": [{"amount": 19.5, "currency": "LKR", "description": "Sword", "taxAmount": 0}]
            })
        );
        assert_eq!(
            body["webhook"],
            json!({"notificationUrl": "https://switchboard.example/ideabiz", "notificationAuthToken": "t"})
        );
        // The merchant's own serviceId wins; no metadata at all gets one with the default.
        r.payment_amount.charging_meta_data = Some(ChargingMetaData {
            service_id: Some("merchant-svc".into()),
            ..ChargingMetaData::default()
        });
        let body =
            serde_json::to_value(ChargeRequest::new(&r, Some("games-online"), None)).unwrap();
        assert_eq!(
            body["amountTransaction"]["paymentAmount"]["chargingMetaData"],
            json!({"serviceId": "merchant-svc"})
        );
        r.payment_amount.charging_meta_data = None;
        let body = serde_json::to_value(ChargeRequest::new(&r, Some("svc"), None)).unwrap();
        assert_eq!(
            body["amountTransaction"]["paymentAmount"]["chargingMetaData"],
            json!({"serviceId": "svc"})
        );
    }

    #[test]
    fn operation_statuses_map_to_camara_statuses() {
        let cases = [
            ("Charged", Some(PaymentStatus::Succeeded)),
            ("CHARGED", Some(PaymentStatus::Succeeded)),
            ("Completed", Some(PaymentStatus::Succeeded)),
            ("processing", Some(PaymentStatus::Processing)),
            ("Pending", Some(PaymentStatus::Processing)),
            ("in_progress", Some(PaymentStatus::Processing)),
            ("Denied", Some(PaymentStatus::Denied)),
            ("Refused", Some(PaymentStatus::Denied)),
            ("Refunded", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(payment_status(text), expected, "{text}");
        }
    }

    #[test]
    fn reads_the_seed_answer() {
        let p = convert(json!({
            "paymentId": "AK234rfweSBuWGFUEWFGWEVWRV",
            "amountTransaction": {"phoneNumber": "tel:94777123456", "clientCorrelator": "req-1",
                "paymentAmount": {}, "referenceCode": "ref-pay", "transactionOperationStatus": "processing",
                "resourceURL": "urn:payments:AK234rfweSBuWGFUEWFGWEVWRV", "serverReferenceCode": "ref-pay-serv"},
            "paymentCreationDate": "2024-07-01T11:06:08.952Z", "paymentDate": "2024-07-01T11:06:08.952Z",
            "webhook": {"notificationUrl": "https://x", "notificationAuthToken": "t"}
        }))
        .unwrap();
        assert_eq!(p.upstream_id.as_deref(), Some("AK234rfweSBuWGFUEWFGWEVWRV"));
        assert_eq!(p.status, PaymentStatus::Processing);
        assert_eq!(p.server_reference_code.as_deref(), Some("ref-pay-serv"));
        assert_eq!(p.payment_date, None, "not charged yet: no payment date");

        let p = convert(json!({
            "amountTransaction": {"transactionOperationStatus": "Charged", "resourceURL": "urn:payments:XYZ"},
            "paymentDate": "2024-07-01T12:06:08+01:00"
        }))
        .unwrap();
        assert_eq!(p.upstream_id.as_deref(), Some("XYZ"), "id from resourceURL");
        assert_eq!(p.status, PaymentStatus::Succeeded);
        assert_eq!(
            p.payment_date,
            Some("2024-07-01T11:06:08Z".parse().unwrap())
        );
    }

    #[test]
    fn unreadable_answers_are_unknown_outcomes() {
        let bad = [
            json!({"amountTransaction": {"transactionOperationStatus": "Charged"}}),
            json!({"paymentId": "", "amountTransaction": {"transactionOperationStatus": "Charged"}}),
            json!({"paymentId": "x"}),
            json!({"paymentId": "x", "amountTransaction": {"transactionOperationStatus": "Teleported"}}),
            json!({"paymentId": "x", "amountTransaction": {"transactionOperationStatus": "Charged"}, "paymentDate": "yesterday"}),
            json!({"paymentId": 7, "amountTransaction": {"transactionOperationStatus": "Charged"}}),
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
        let m = Msisdn::parse("+94777123400").unwrap();
        let answer = PaymentResponse {
            payment_id: Some("up-1".into()),
            amount_transaction: Some(AmountTransactionResponse {
                phone_number: Some("tel:94777123400".into()),
                client_correlator: Some("sb-p1".into()),
                ..AmountTransactionResponse::default()
            }),
            ..PaymentResponse::default()
        };
        assert!(answer.check_identity(Some("up-1"), "sb-p1", &m).is_ok());
        assert!(answer.check_identity(None, "sb-p1", &m).is_ok());
        assert!(answer.check_identity(Some("up-2"), "sb-p1", &m).is_err());
        assert!(answer.check_identity(None, "sb-p2", &m).is_err());
        let other = Msisdn::parse("+94777123401").unwrap();
        assert!(answer.check_identity(None, "sb-p1", &other).is_err());
    }
}
