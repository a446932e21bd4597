//! Holds JSON bodies against the schemas of an OpenAPI 3.0 document.

use std::sync::LazyLock;

use serde_json::{json, Value};

/// Switchboard's own Carrier Billing document, exactly as the gateway serves it.
pub static CARRIER_BILLING: LazyLock<OpenApi> =
    LazyLock::new(|| OpenApi::parse(switchboard_gateway::CARRIER_BILLING_OPENAPI));

pub struct OpenApi {
    schemas: Value,
}

impl OpenApi {
    pub fn parse(yaml: &str) -> OpenApi {
        let doc: Value = serde_yaml::from_str(yaml).expect("OpenAPI YAML parses");
        let schemas = doc["components"]["schemas"].clone();
        assert!(schemas.is_object(), "document has components.schemas");
        OpenApi { schemas }
    }

    /// Panics with every violation when `body` does not match `components.schemas.<name>`.
    pub fn check(&self, name: &str, body: &Value) {
        assert!(self.schemas.get(name).is_some(), "no schema {name}");
        let root = json!({
            "components": {"schemas": self.schemas},
            "$ref": format!("#/components/schemas/{name}"),
        });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema {name} compiles: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "body does not match {name}: {errors:#?}\nbody: {body:#}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(amount: Value) -> Value {
        json!({
            "paymentId": "p1",
            "paymentStatus": "succeeded",
            "paymentCreationDate": "2026-01-01T00:00:00.000Z",
            "amountTransaction": {
                "phoneNumber": "+34600000001",
                "referenceCode": "r",
                "paymentAmount": {"chargingInformation": {"amount": amount, "currency": "EUR", "description": "d"}}
            }
        })
    }

    #[test]
    fn accepts_a_valid_payment_including_19_99() {
        CARRIER_BILLING.check("Payment", &payment(json!(19.99)));
    }

    #[test]
    #[should_panic(expected = "does not match Payment")]
    fn rejects_a_missing_required_field() {
        let mut p = payment(json!(1));
        p.as_object_mut().unwrap().remove("paymentId");
        CARRIER_BILLING.check("Payment", &p);
    }

    #[test]
    #[should_panic(expected = "does not match Payment")]
    fn rejects_a_bad_phone_number_in_a_nested_ref() {
        let mut p = payment(json!(1));
        p["amountTransaction"]["phoneNumber"] = json!("34600000001");
        CARRIER_BILLING.check("Payment", &p);
    }

    #[test]
    #[should_panic(expected = "does not match Payment")]
    fn rejects_more_than_three_decimals() {
        CARRIER_BILLING.check("Payment", &payment(json!(1.0001)));
    }
}
