//! The notifications Switchboard sends, as CloudEvents 1.0 (`application/cloudevents+json`).
//!
//! Payment and refund events are CAMARA's, exactly as the Carrier Billing (v0.5) and Refund (v0.3)
//! documents define them: `data.status` is the outcome of the procedure (`succeeded` | `failed`),
//! not the payment status. Top-up events are Switchboard's own: `type` is `topup.<status>` and
//! `data` is the top-up exactly as `GET /telecom/topup/{tx_id}` answers it (schema `TopUp` of
//! `topup.yaml`):
//!
//! ```json
//! {"tx_id": "…", "external_tx_id": "…", "status": "completed", "phone": "+94…",
//!  "product_id": "…", "operator_id": "…", "amount": 100, "currency": "LKR",
//!  "operator_tx_id": "…", "credited": {…}, "failure_reason": "…",
//!  "created_at": "…Z", "completed_at": "…Z"}
//! ```
//! (`operator_tx_id`, `credited`, `failure_reason` and `completed_at` only when known.)

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Map, Value};
use switchboard_core::{PaymentRecord, PaymentStatus, RefundRecord, RefundStatus, TopUpRecord};

/// The `Content-Type` of a delivery.
pub const CONTENT_TYPE: &str = "application/cloudevents+json";
pub const PAYMENT_TYPE_PREFIX: &str = "org.camaraproject.carrier-billing.v0.";
pub const REFUND_TYPE_PREFIX: &str = "org.camaraproject.carrier-billing-refund.v0.";

/// One CloudEvent 1.0 in its JSON form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    /// Unique within `source` (a UUID v4); also the Standard Webhooks `webhook-id`.
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub specversion: String,
    #[serde(serialize_with = "rfc3339_millis")]
    pub time: DateTime<Utc>,
    pub datacontenttype: String,
    pub data: Value,
}

fn rfc3339_millis<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl CloudEvent {
    /// A new event with a fresh id, `specversion` 1.0 and JSON data.
    pub fn new(kind: impl Into<String>, source: &str, time: DateTime<Utc>, data: Value) -> Self {
        CloudEvent {
            id: uuid::Uuid::new_v4().to_string(),
            source: source.to_string(),
            kind: kind.into(),
            specversion: "1.0".into(),
            time,
            datacontenttype: "application/json".into(),
            data,
        }
    }

    /// The body of the delivery (what is signed and sent).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a CloudEvent always serialises")
    }
}

/// The event a merchant is told about when a payment reaches its current status; `None` while it
/// is `processing` or was never visible (refused before it existed).
pub fn payment_event(p: &PaymentRecord, now: DateTime<Utc>, source: &str) -> Option<CloudEvent> {
    if !p.is_visible() {
        return None;
    }
    let (name, ok, description) = match p.status {
        PaymentStatus::Processing => return None,
        PaymentStatus::PendingValidation => (
            "payment-pending-validation",
            true,
            "Payment pending validation",
        ),
        PaymentStatus::Reserved => ("payment-reserved", true, "Payment reserved"),
        PaymentStatus::Succeeded => ("payment-completed", true, "Payment completed"),
        PaymentStatus::Cancelled => ("payment-cancelled", true, "Payment cancelled"),
        PaymentStatus::Denied => ("payment-denied", false, "Payment denied"),
    };
    let mut data = json!({
        "paymentId": p.id,
        "status": if ok { "succeeded" } else { "failed" },
        "description": p.denial_reason.as_deref().filter(|_| !ok).unwrap_or(description),
    });
    match p.status {
        PaymentStatus::Succeeded => {
            data["paymentDate"] = rfc3339(p.payment_date.unwrap_or(p.updated_at)).into();
        }
        PaymentStatus::Denied => {
            if let Some(reason) = &p.denial_reason {
                data["denialReason"] = reason.as_str().into();
            }
        }
        _ => {}
    }
    Some(CloudEvent::new(
        format!("{PAYMENT_TYPE_PREFIX}{name}"),
        source,
        now,
        data,
    ))
}

/// The event of a refund that reached `succeeded` (`refund-completed`) or `denied`; `None` while it
/// is `processing` or was never visible.
pub fn refund_event(r: &RefundRecord, now: DateTime<Utc>, source: &str) -> Option<CloudEvent> {
    if !r.is_visible() {
        return None;
    }
    let mut data = json!({"refundId": r.id, "paymentId": r.payment_id});
    let name = match r.status {
        RefundStatus::Processing => return None,
        RefundStatus::Succeeded => {
            data["status"] = "succeeded".into();
            data["description"] = "Refund completed".into();
            data["refundDate"] = rfc3339(r.refund_date.unwrap_or(r.updated_at)).into();
            "refund-completed"
        }
        RefundStatus::Denied => {
            data["status"] = "failed".into();
            data["description"] = r.denial_reason.as_deref().unwrap_or("Refund denied").into();
            if let Some(reason) = &r.denial_reason {
                data["denialReason"] = reason.as_str().into();
            }
            "refund-denied"
        }
    };
    Some(CloudEvent::new(
        format!("{REFUND_TYPE_PREFIX}{name}"),
        source,
        now,
        data,
    ))
}

/// `topup.pending`, `topup.completed` or `topup.failed`, with the top-up as `data` (see the module
/// documentation).
pub fn topup_event(t: &TopUpRecord, now: DateTime<Utc>, source: &str) -> CloudEvent {
    let mut data = Map::new();
    data.insert("tx_id".into(), t.id.as_str().into());
    data.insert("external_tx_id".into(), t.external_tx_id.as_str().into());
    data.insert("status".into(), t.status.as_str().into());
    data.insert("phone".into(), t.msisdn.as_str().into());
    data.insert("product_id".into(), t.product_id.as_str().into());
    data.insert("operator_id".into(), t.operator_id.as_str().into());
    data.insert("amount".into(), json!(t.amount));
    data.insert("currency".into(), t.currency.as_str().into());
    if let Some(v) = &t.operator_tx_id {
        data.insert("operator_tx_id".into(), v.as_str().into());
    }
    if let Some(v) = &t.credited {
        data.insert("credited".into(), v.clone());
    }
    if let Some(v) = &t.failure_reason {
        data.insert("failure_reason".into(), v.as_str().into());
    }
    data.insert("created_at".into(), rfc3339(t.created_at).into());
    if let Some(v) = t.completed_at {
        data.insert("completed_at".into(), rfc3339(v).into());
    }
    CloudEvent::new(
        format!("topup.{}", t.status),
        source,
        now,
        Value::Object(data),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use switchboard_core::{
        Amount, ChargingInformation, Currency, Msisdn, PaymentAmount, PaymentFlow, Phase,
        RefundType, TopUpStatus,
    };

    use super::*;

    const CB: &str = include_str!("../../gateway/openapi/carrier-billing.yaml");
    const REFUND: &str = include_str!("../../gateway/openapi/carrier-billing-refund.yaml");
    const TOPUP: &str = include_str!("../../gateway/openapi/topup.yaml");
    const SOURCE: &str = "https://switchboard.example.com/carrier-billing/v0.5";

    /// Panics unless `body` matches `components.schemas.<name>` of `yaml` (OpenAPI 3.0 → Draft 4).
    fn check(yaml: &str, name: &str, body: &Value) {
        let doc: Value = serde_yaml::from_str(yaml).unwrap();
        let schemas = doc["components"]["schemas"].clone();
        assert!(schemas.get(name).is_some(), "no schema {name}");
        let root = json!({
            "components": {"schemas": schemas},
            "$ref": format!("#/components/schemas/{name}"),
        });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema {name} compiles: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{body:#}");
    }

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, h, 0, 0).unwrap()
    }

    fn payment(status: PaymentStatus) -> PaymentRecord {
        PaymentRecord {
            id: "pay-1".into(),
            merchant_id: "m".into(),
            flow: PaymentFlow::TwoStep,
            phase: Phase::Live,
            status,
            version: 1,
            msisdn: Msisdn::parse("+34600000001").unwrap(),
            operator_id: "movistar_es".into(),
            channel_id: None,
            client_correlator: None,
            reference_code: "ref-1".into(),
            payment_amount: PaymentAmount {
                charging_information: ChargingInformation {
                    amount: "19.99".parse().unwrap(),
                    currency: Currency::parse("EUR").unwrap(),
                    description: "Game".into(),
                    is_tax_included: None,
                    tax_amount: None,
                },
                charging_meta_data: None,
                payment_details: None,
            },
            upstream_correlator: PaymentRecord::upstream_correlator_for("pay-1"),
            upstream_id: None,
            server_reference_code: None,
            validation_info: None,
            validation_attempts: 0,
            pending_action: None,
            sink: None,
            sink_credential: None,
            correlator: None,
            created_at: at(1),
            updated_at: at(2),
            payment_date: None,
            denial_reason: None,
            fingerprint: "f".into(),
            needs_review: false,
            reconcile_attempts: 0,
            next_check_at: None,
        }
    }

    fn refund(status: RefundStatus) -> RefundRecord {
        RefundRecord {
            id: "ref-1".into(),
            merchant_id: "m".into(),
            payment_id: "pay-1".into(),
            refund_type: RefundType::Total,
            amount: "19.99".parse().unwrap(),
            currency: Currency::parse("EUR").unwrap(),
            charging_information: None,
            merchant_identifier: None,
            refund_details: None,
            reason: None,
            client_correlator: None,
            reference_code: "r".into(),
            phase: Phase::Live,
            status,
            channel_id: None,
            upstream_correlator: RefundRecord::upstream_correlator_for("ref-1"),
            upstream_id: None,
            sink: None,
            sink_credential: None,
            correlator: None,
            created_at: at(1),
            updated_at: at(2),
            refund_date: None,
            denial_reason: None,
            version: 1,
            next_check_at: None,
            reconcile_attempts: 0,
            needs_review: false,
            fingerprint: "f".into(),
        }
    }

    fn json_of(e: &CloudEvent) -> Value {
        serde_json::from_slice(&e.to_json()).unwrap()
    }

    #[test]
    fn every_payment_status_maps_to_its_camara_event() {
        let cases = [
            (
                PaymentStatus::PendingValidation,
                "payment-pending-validation",
                "EventPaymentPendingValidation",
                "succeeded",
            ),
            (
                PaymentStatus::Reserved,
                "payment-reserved",
                "EventPaymentReserved",
                "succeeded",
            ),
            (
                PaymentStatus::Succeeded,
                "payment-completed",
                "EventPaymentCompleted",
                "succeeded",
            ),
            (
                PaymentStatus::Cancelled,
                "payment-cancelled",
                "EventPaymentCancelled",
                "succeeded",
            ),
            (
                PaymentStatus::Denied,
                "payment-denied",
                "EventPaymentDenied",
                "failed",
            ),
        ];
        for (status, name, schema, outcome) in cases {
            let event = payment_event(&payment(status), at(3), SOURCE).unwrap();
            let body = json_of(&event);
            check(CB, schema, &body);
            check(CB, "CloudEvent", &body);
            assert_eq!(
                body["type"],
                format!("org.camaraproject.carrier-billing.v0.{name}")
            );
            assert_eq!(body["specversion"], "1.0");
            assert_eq!(body["datacontenttype"], "application/json");
            assert_eq!(body["time"], "2026-01-02T03:00:00.000Z");
            assert_eq!(body["source"], SOURCE);
            assert_eq!(body["data"]["paymentId"], "pay-1");
            assert_eq!(body["data"]["status"], outcome, "{name}");
        }
    }

    #[test]
    fn completed_carries_the_payment_date_and_denied_the_reason() {
        let mut p = payment(PaymentStatus::Succeeded);
        p.payment_date = Some(Utc.with_ymd_and_hms(2023, 11, 3, 12, 27, 8).unwrap());
        let body = json_of(&payment_event(&p, at(3), SOURCE).unwrap());
        assert_eq!(body["data"]["paymentDate"], "2023-11-03T12:27:08.000Z");
        check(CB, "EventPaymentCompleted", &body);

        let mut d = payment(PaymentStatus::Denied);
        d.denial_reason = Some("User is blocked due to pending debt".into());
        let body = json_of(&payment_event(&d, at(3), SOURCE).unwrap());
        assert_eq!(
            body["data"]["denialReason"],
            "User is blocked due to pending debt"
        );
        assert_eq!(
            body["data"]["description"],
            "User is blocked due to pending debt"
        );
        check(CB, "EventPaymentDenied", &body);
        let bare = json_of(&payment_event(&payment(PaymentStatus::Denied), at(3), SOURCE).unwrap());
        assert!(bare["data"].get("denialReason").is_none());
    }

    #[test]
    fn the_schema_check_catches_a_missing_payment_date() {
        let mut body =
            json_of(&payment_event(&payment(PaymentStatus::Succeeded), at(3), SOURCE).unwrap());
        body["data"].as_object_mut().unwrap().remove("paymentDate");
        let caught = std::panic::catch_unwind(|| check(CB, "EventPaymentCompleted", &body));
        assert!(caught.is_err());
    }

    #[test]
    fn no_event_while_processing_or_never_visible() {
        assert!(payment_event(&payment(PaymentStatus::Processing), at(3), SOURCE).is_none());
        let mut hidden = payment(PaymentStatus::Succeeded);
        hidden.phase = Phase::Submitting;
        assert!(payment_event(&hidden, at(3), SOURCE).is_none());
        assert!(refund_event(&refund(RefundStatus::Processing), at(3), SOURCE).is_none());
    }

    #[test]
    fn ids_are_unique() {
        let p = payment(PaymentStatus::Reserved);
        let a = payment_event(&p, at(3), SOURCE).unwrap();
        let b = payment_event(&p, at(3), SOURCE).unwrap();
        assert_ne!(a.id, b.id);
        assert!(!a.id.is_empty());
    }

    #[test]
    fn refund_events_match_the_refund_document() {
        let mut r = refund(RefundStatus::Succeeded);
        r.refund_date = Some(at(2));
        let body = json_of(&refund_event(&r, at(3), SOURCE).unwrap());
        check(REFUND, "EventRefundCompleted", &body);
        check(REFUND, "CloudEvent", &body);
        assert_eq!(
            body["type"],
            "org.camaraproject.carrier-billing-refund.v0.refund-completed"
        );
        assert_eq!(body["data"]["refundId"], "ref-1");
        assert_eq!(body["data"]["paymentId"], "pay-1");
        assert_eq!(body["data"]["status"], "succeeded");
        assert_eq!(body["data"]["refundDate"], "2026-01-02T02:00:00.000Z");

        let mut d = refund(RefundStatus::Denied);
        d.denial_reason = Some("Operator refused".into());
        let body = json_of(&refund_event(&d, at(3), SOURCE).unwrap());
        check(REFUND, "EventRefundDenied", &body);
        assert_eq!(
            body["type"],
            "org.camaraproject.carrier-billing-refund.v0.refund-denied"
        );
        assert_eq!(body["data"]["status"], "failed");
        assert_eq!(body["data"]["denialReason"], "Operator refused");
    }

    #[test]
    fn topup_events_carry_the_topup_resource() {
        let mut t = TopUpRecord {
            id: "tx-1".into(),
            merchant_id: "m".into(),
            external_tx_id: "ext-1".into(),
            msisdn: Msisdn::parse("+94771234567").unwrap(),
            product_id: "dialog-100".into(),
            operator_id: "dialog_lk".into(),
            channel_id: None,
            amount: "100".parse::<Amount>().unwrap(),
            currency: Currency::parse("LKR").unwrap(),
            status: TopUpStatus::Pending,
            upstream_reference: TopUpRecord::upstream_reference_for("tx-1"),
            upstream_tx_id: None,
            operator_tx_id: None,
            credited: None,
            failure_reason: None,
            created_at: at(1),
            updated_at: at(1),
            completed_at: None,
            fingerprint: "f".into(),
            version: 1,
            reconcile_attempts: 0,
            next_check_at: None,
            needs_review: false,
        };
        let pending = json_of(&topup_event(&t, at(1), SOURCE));
        assert_eq!(pending["type"], "topup.pending");
        check(TOPUP, "TopUp", &pending["data"]);

        t.status = TopUpStatus::Completed;
        t.operator_tx_id = Some("op-9".into());
        t.credited = Some(json!({"amount": 100}));
        t.completed_at = Some(at(2));
        let done = json_of(&topup_event(&t, at(2), SOURCE));
        assert_eq!(done["type"], "topup.completed");
        assert_eq!(done["data"]["amount"], json!(100));
        assert_eq!(done["data"]["phone"], "+94771234567");
        assert_eq!(done["data"]["completed_at"], "2026-01-02T02:00:00.000Z");
        check(TOPUP, "TopUp", &done["data"]);

        t.status = TopUpStatus::Failed;
        t.failure_reason = Some("line barred".into());
        let failed = json_of(&topup_event(&t, at(2), SOURCE));
        assert_eq!(failed["type"], "topup.failed");
        assert_eq!(failed["data"]["failure_reason"], "line barred");
        check(TOPUP, "TopUp", &failed["data"]);
    }

    #[test]
    fn round_trips_through_serde() {
        let e = payment_event(&payment(PaymentStatus::Reserved), at(3), SOURCE).unwrap();
        let back: CloudEvent = serde_json::from_slice(&e.to_json()).unwrap();
        assert_eq!(back, e);
    }
}
