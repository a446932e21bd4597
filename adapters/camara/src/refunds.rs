//! Refunds against the operator's CAMARA Carrier Billing Refund v0.3 API:
//! `{base_url}/carrier-billing-refund/v0.3/payments/{upstreamPaymentId}/refunds`.
//!
//! The upstream `clientCorrelator` is the refund's `upstream_correlator` (`sb-<refund id>`), so a
//! replay of the create after a lost answer finds the same upstream refund and refunds nothing more.

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_adapter::{AdapterError, CallbackRef, CallbackSettings, UpstreamRefund};
use switchboard_core::{PaymentRecord, RefundRecord, RefundStatus, RefundType};

use crate::callback::{self, Sink, SinkCredential};
use crate::client::CamaraClient;
use crate::errors::{self, Op, Outcome};

/// The refund API root below `base_url`.
pub const REFUND_API_PATH: &str = "carrier-billing-refund/v0.3";

/// Body of `POST /payments/{id}/refunds` (`CreateTotalRefund` / `CreatePartialRefund`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    #[serde(rename = "type")]
    kind: RefundType,
    amount_transaction: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Switchboard's callback address for this refund, when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    sink: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sink_credential: Option<SinkCredential>,
}

impl RefundRequest {
    /// Asks the operator to notify `sink` (nothing changes for `None`).
    fn with_sink(mut self, sink: Option<Sink>) -> Self {
        if let Some(sink) = sink {
            self.sink = Some(sink.url);
            self.sink_credential = Some(sink.credential);
        }
        self
    }
}

impl From<&RefundRecord> for RefundRequest {
    fn from(r: &RefundRecord) -> Self {
        let mut refund_amount = json!({});
        if let Some(info) = &r.charging_information {
            refund_amount["chargingInformation"] = json!(info);
        }
        if let Some(mi) = &r.merchant_identifier {
            refund_amount["chargingMetaData"] = json!({ "merchantIdentifier": mi });
        }
        if let Some(details) = &r.refund_details {
            refund_amount["refundDetails"] = json!(details);
        }
        RefundRequest {
            kind: r.refund_type,
            amount_transaction: json!({
                "clientCorrelator": r.upstream_correlator,
                "referenceCode": r.reference_code,
                "refundAmount": refund_amount,
            }),
            reason: r.reason.clone(),
            sink: None,
            sink_credential: None,
        }
    }
}

/// The operator's `Refund` answer (only what Switchboard reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefundResponse {
    refund_id: Option<String>,
    refund_status: Option<String>,
    refund_date: Option<String>,
}

fn parse(body: &[u8]) -> Result<UpstreamRefund, AdapterError> {
    let answer: RefundResponse = serde_json::from_slice(body)
        .map_err(|_| AdapterError::Unknown("the operator's refund answer is unreadable".into()))?;
    let status = match answer.refund_status.as_deref() {
        Some("processing") => RefundStatus::Processing,
        Some("succeeded") => RefundStatus::Succeeded,
        Some("denied") => RefundStatus::Denied,
        _ => {
            return Err(AdapterError::Unknown(
                "the operator's refund answer has no known refundStatus".into(),
            ))
        }
    };
    Ok(UpstreamRefund {
        upstream_id: answer.refund_id.filter(|id| !id.is_empty()),
        status,
        refund_date: answer
            .refund_date
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d).ok())
            .map(|d| d.with_timezone(&chrono::Utc)),
        denial_reason: None,
    })
}

fn refunds_url(root: &Url, upstream_payment_id: &str, refund_id: Option<&str>) -> Url {
    let mut url = root.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty()
            .extend(["payments", upstream_payment_id, "refunds"]);
        if let Some(id) = refund_id {
            path.push(id);
        }
    }
    url
}

fn upstream_payment_id(payment: &PaymentRecord) -> Result<&str, AdapterError> {
    payment
        .upstream_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| AdapterError::NotSent("the operator's payment id is not known".into()))
}

/// `POST …/refunds`, with Switchboard's sink for the refund when `callback` is set.
pub async fn create(
    client: &CamaraClient,
    root: &Url,
    callback: Option<&CallbackSettings>,
    payment: &PaymentRecord,
    refund: &RefundRecord,
) -> Result<UpstreamRefund, AdapterError> {
    let url = refunds_url(root, upstream_payment_id(payment)?, None);
    let reference = CallbackRef::Refund {
        merchant_id: refund.merchant_id.clone(),
        payment_id: refund.payment_id.clone(),
        refund_id: refund.id.clone(),
    };
    let body = RefundRequest::from(refund).with_sink(callback::sink(
        callback,
        &reference,
        refund.created_at,
    ));
    let reply = client
        .send_to(Method::POST, url, Some(&body), &refund.upstream_correlator)
        .await?;
    if !reply.is_success() {
        return Err(failure(
            Op::CreateRefund,
            reply.status.as_u16(),
            &reply.body,
            payment,
        ));
    }
    parse(&reply.body)
}

/// `GET …/refunds/{id}` when the operator's id is known, else an idempotent replay of the create.
pub async fn status(
    client: &CamaraClient,
    root: &Url,
    callback: Option<&CallbackSettings>,
    payment: &PaymentRecord,
    refund: &RefundRecord,
) -> Result<UpstreamRefund, AdapterError> {
    let Some(id) = refund.upstream_id.as_deref().filter(|id| !id.is_empty()) else {
        return create(client, root, callback, payment, refund).await;
    };
    let url = refunds_url(root, upstream_payment_id(payment)?, Some(id));
    let reply = client
        .send_to::<()>(Method::GET, url, None, &refund.upstream_correlator)
        .await?;
    if !reply.is_success() {
        return Err(failure(
            Op::RetrieveRefund,
            reply.status.as_u16(),
            &reply.body,
            payment,
        ));
    }
    parse(&reply.body)
}

/// The refund rows in front of the shared table ([`errors::classify`]) for a create: a 409 means
/// the first request with our clientCorrelator was applied (learn it by status); a 404 means the
/// operator does not know the payment or serve the refund path (nothing done); a 403 or 422 with a
/// code we do not know is a business denial of the refund.
fn refund_row(op: Op, status: u16, body: &[u8]) -> Option<AdapterError> {
    if op != Op::CreateRefund {
        return None;
    }
    let known = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("code")?.as_str().map(str::to_string))
        .and_then(|c| switchboard_core::ErrorCode::from_code(&c))
        .is_some();
    match status {
        409 => Some(AdapterError::Unknown(
            "the operator reports a duplicate refund".into(),
        )),
        404 => Some(AdapterError::NotSent(
            "the operator does not know the payment or serve the refund path".into(),
        )),
        403 | 422 if !known => Some(AdapterError::Refused(switchboard_core::ApiError::of(
            switchboard_core::ErrorCode::RefundDenied,
        ))),
        _ => None,
    }
}

fn failure(op: Op, status: u16, body: &[u8], payment: &PaymentRecord) -> AdapterError {
    if let Some(e) = refund_row(op, status, body) {
        return e;
    }
    match errors::classify(op, status, body, &payment.msisdn) {
        Outcome::Failed(e) => e,
        Outcome::AlreadyApplied => {
            AdapterError::Unknown(format!("unexpected conflict on {}", op.as_str()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::ErrorCode;

    #[test]
    fn refund_urls_encode_ids() {
        let root = Url::parse("http://op.example/x/carrier-billing-refund/v0.3").unwrap();
        assert_eq!(
            refunds_url(&root, "p/1", Some("r 1")).as_str(),
            "http://op.example/x/carrier-billing-refund/v0.3/payments/p%2F1/refunds/r%201"
        );
    }

    #[test]
    fn answers_and_refusals_map_to_refund_outcomes() {
        let up = parse(br#"{"refundId":"u1","refundStatus":"processing","type":"total","refundCreationDate":"2026-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(
            (up.upstream_id.as_deref(), up.status),
            (Some("u1"), RefundStatus::Processing)
        );
        assert!(matches!(parse(b"{}"), Err(AdapterError::Unknown(_))));
        let msisdn = switchboard_core::Msisdn::parse("+34600000001").unwrap();
        let refused = |status: u16, body: &[u8]| match refund_row(Op::CreateRefund, status, body) {
            Some(e) => Outcome::Failed(e),
            None => errors::classify(Op::CreateRefund, status, body, &msisdn),
        };
        assert_eq!(
            refused(422, br#"{"status":422,"code":"CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT","message":"no"}"#),
            Outcome::Failed(AdapterError::Refused(switchboard_core::ApiError::new(ErrorCode::RefundUnauthorizedAmount, "no")))
        );
        assert!(matches!(
            refused(403, br#"{"status":403,"code":"SOMETHING_ELSE","message":"x"}"#),
            Outcome::Failed(AdapterError::Refused(e)) if e.code == ErrorCode::RefundDenied
        ));
        assert!(matches!(
            refused(409, b"{}"),
            Outcome::Failed(AdapterError::Unknown(_))
        ));
        assert!(matches!(
            refused(503, b""),
            Outcome::Failed(AdapterError::Unknown(_))
        ));
        assert!(matches!(
            errors::classify(Op::RetrieveRefund, 404, b"{}", &msisdn),
            Outcome::Failed(AdapterError::NotFound)
        ));
    }
}
