//! The platform's payment notifications.
//!
//! - **Asking**: when the gateway gave the channel callback settings, every charge carries
//!   `webhook {notificationUrl: "{callback url}?ref=<reference>", notificationAuthToken: <token>}`,
//!   the token being the HMAC of that reference ([`CallbackSettings::target`]).
//! - **The notification**: when a charge settles later (`processing` → `Charged` / `Denied`), the
//!   platform calls `POST notificationUrl` with `Authorization: Bearer <notificationAuthToken>`
//!   and a JSON body shaped like its payment resource (the answer of a status query):
//!   `paymentId`, `amountTransaction {clientCorrelator, transactionOperationStatus, …}`,
//!   `paymentDate`, and `denialReason` when denied.
//! - **Reading**: the bearer must be the token of the `ref` in the query (checked first, before
//!   the body is looked at); the body is then read exactly like a status answer
//!   ([`PaymentResponse`]), and its `clientCorrelator`, when present, must be the one Switchboard
//!   sent for that payment.

use switchboard_adapter::{
    CallbackError, CallbackNotice, CallbackRef, CallbackRequest, CallbackSettings, UpstreamPayment,
};
use switchboard_core::PaymentRecord;

use crate::transformers::{PaymentResponse, WebhookRequest};

/// The `webhook` of a charge for `record`; `None` without callbacks.
pub fn webhook(
    settings: Option<&CallbackSettings>,
    record: &PaymentRecord,
) -> Option<WebhookRequest> {
    let target = settings?.target(&CallbackRef::Payment {
        merchant_id: record.merchant_id.clone(),
        payment_id: record.id.clone(),
    });
    Some(WebhookRequest {
        notification_url: target.url,
        notification_auth_token: Some(target.token),
    })
}

fn malformed(why: impl Into<String>) -> CallbackError {
    CallbackError::Malformed(why.into())
}

/// Verifies and reads one notification sent to `{callback url}?ref=…`.
pub fn parse(
    settings: Option<&CallbackSettings>,
    request: &CallbackRequest,
) -> Result<CallbackNotice, CallbackError> {
    let settings = settings.ok_or(CallbackError::Unsupported)?;
    let encoded = request
        .query_param("ref")
        .ok_or(CallbackError::Unauthenticated)?;
    let token = request.bearer().ok_or(CallbackError::Unauthenticated)?;
    if !settings.verify(&encoded, token) {
        return Err(CallbackError::Unauthenticated);
    }
    let Some(CallbackRef::Payment {
        merchant_id,
        payment_id,
    }) = CallbackRef::decode(&encoded)
    else {
        return Err(malformed("not a payment reference"));
    };
    let answer = PaymentResponse::parse(&request.body).map_err(|e| malformed(e.to_string()))?;
    let ours = PaymentRecord::upstream_correlator_for(&payment_id);
    let theirs = answer
        .amount_transaction
        .as_ref()
        .and_then(|t| t.client_correlator.as_deref());
    if theirs.is_some_and(|cc| cc != ours) {
        return Err(malformed("the notification names another clientCorrelator"));
    }
    let update = UpstreamPayment::try_from(answer).map_err(|e| malformed(e.to_string()))?;
    Ok(CallbackNotice::Payment {
        merchant_id,
        payment_id,
        update,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use switchboard_core::PaymentStatus;

    fn settings() -> CallbackSettings {
        CallbackSettings {
            url: "https://sb.example/callbacks/dialog".into(),
            key: b"callback-key".to_vec(),
        }
    }

    fn request_for(payment_id: &str, body: Value) -> CallbackRequest {
        let target = settings().target(&CallbackRef::Payment {
            merchant_id: "m".into(),
            payment_id: payment_id.into(),
        });
        CallbackRequest {
            headers: vec![("authorization".into(), format!("Bearer {}", target.token))],
            query: target
                .url
                .split_once('?')
                .map(|(_, q)| q.to_string())
                .unwrap_or_default(),
            body: serde_json::to_vec(&body).unwrap(),
        }
    }

    fn body(status: &str, correlator: &str) -> Value {
        json!({
            "paymentId": "UP1",
            "amountTransaction": {"phoneNumber": "tel:94777123488", "clientCorrelator": correlator,
                "paymentAmount": {}, "referenceCode": "ref", "transactionOperationStatus": status,
                "resourceURL": "urn:payments:UP1", "serverReferenceCode": "ref-serv"},
            "paymentCreationDate": "2026-01-01T00:00:00.000Z", "paymentDate": "2026-01-01T00:00:01.000Z",
            "denialReason": "Declined for 94777123488"
        })
    }

    fn read(req: &CallbackRequest) -> Result<CallbackNotice, CallbackError> {
        parse(Some(&settings()), req)
    }

    #[test]
    fn the_webhook_names_the_payment_and_carries_its_token() {
        let record = crate::transformers::tests::record("86");
        let s = settings();
        let hook = webhook(Some(&s), &record).unwrap();
        let reference = CallbackRef::Payment {
            merchant_id: "m".into(),
            payment_id: "p1".into(),
        };
        assert_eq!(hook.notification_url, s.target(&reference).url);
        assert_eq!(
            hook.notification_auth_token.as_deref(),
            Some(s.target(&reference).token.as_str())
        );
        assert!(webhook(None, &record).is_none());
    }

    #[test]
    fn notification_statuses_map_like_status_answers() {
        let cases = [
            ("Charged", PaymentStatus::Succeeded),
            ("processing", PaymentStatus::Processing),
            ("Denied", PaymentStatus::Denied),
        ];
        for (text, status) in cases {
            let notice = read(&request_for("p1", body(text, "sb-p1"))).unwrap();
            let CallbackNotice::Payment {
                merchant_id,
                payment_id,
                update,
            } = notice
            else {
                panic!("{text}: not a payment notice")
            };
            assert_eq!((merchant_id.as_str(), payment_id.as_str()), ("m", "p1"));
            assert_eq!(update.status, status, "{text}");
            assert_eq!(update.upstream_id.as_deref(), Some("UP1"));
            assert_eq!(update.server_reference_code.as_deref(), Some("ref-serv"));
            assert_eq!(
                update.payment_date.is_some(),
                status == PaymentStatus::Succeeded
            );
            assert_eq!(
                update.denial_reason.as_deref(),
                (status == PaymentStatus::Denied).then_some("Declined for 94*******88"),
            );
        }
    }

    #[test]
    fn the_token_is_checked_first() {
        let good = request_for("a", body("Charged", "sb-a"));
        let mut missing = good.clone();
        missing.headers.clear();
        missing.body = b"<html>".to_vec();
        assert_eq!(read(&missing), Err(CallbackError::Unauthenticated));
        let mut wrong = good.clone();
        wrong.headers = vec![("authorization".into(), "Bearer nope".into())];
        assert_eq!(read(&wrong), Err(CallbackError::Unauthenticated));
        let mut other = request_for("b", body("Charged", "sb-b"));
        other.headers = good.headers.clone();
        assert_eq!(read(&other), Err(CallbackError::Unauthenticated));
        assert_eq!(parse(None, &good), Err(CallbackError::Unsupported));
    }

    #[test]
    fn authenticated_but_unreadable_is_malformed() {
        for req in [
            request_for("p1", body("Teleported", "sb-p1")),
            request_for("p1", body("Charged", "sb-other")),
            request_for(
                "p1",
                json!({"amountTransaction": {"transactionOperationStatus": "Charged"}}),
            ),
            request_for("p1", json!([])),
        ] {
            assert!(
                matches!(read(&req), Err(CallbackError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(&req.body)
            );
        }
        // A refund reference (this style has no refunds), properly signed.
        let s = settings();
        let target = s.target(&CallbackRef::Refund {
            merchant_id: "m".into(),
            payment_id: "p".into(),
            refund_id: "r".into(),
        });
        let req = CallbackRequest {
            headers: vec![("authorization".into(), format!("Bearer {}", target.token))],
            query: target
                .url
                .split_once('?')
                .map(|(_, q)| q.to_string())
                .unwrap_or_default(),
            body: serde_json::to_vec(&body("Charged", "sb-p")).unwrap(),
        };
        assert!(matches!(read(&req), Err(CallbackError::Malformed(_))));
    }
}
