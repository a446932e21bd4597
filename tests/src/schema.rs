//! Holds JSON bodies against the schemas of an OpenAPI 3.0 document.

use std::sync::LazyLock;

use serde_json::{json, Value};

/// Switchboard's own Carrier Billing document, exactly as the gateway serves it.
pub static CARRIER_BILLING: LazyLock<OpenApi> =
    LazyLock::new(|| OpenApi::parse(switchboard_gateway::CARRIER_BILLING_OPENAPI));

/// The admin API document (`/openapi/admin.yaml`), exactly as the gateway serves it.
pub static ADMIN: LazyLock<OpenApi> =
    LazyLock::new(|| OpenApi::parse(switchboard_gateway::ADMIN_OPENAPI));

pub struct OpenApi {
    schemas: Value,
    doc: Value,
}

impl OpenApi {
    pub fn parse(yaml: &str) -> OpenApi {
        let mut doc: Value = serde_yaml::from_str(yaml).expect("OpenAPI YAML parses");
        nullable_to_json_schema(&mut doc);
        let schemas = doc["components"]["schemas"].clone();
        assert!(schemas.is_object(), "document has components.schemas");
        OpenApi { schemas, doc }
    }

    /// Checks `body` against what the document says the operation at `url_path` answers with `status`:
    /// the status must be documented for that path and the body must match its schema (for errors that
    /// includes the list of allowed codes). Where a path has several methods (`GET` and `POST
    /// /payments`), one of them must document it.
    pub fn check_response(&self, url_path: &str, status: u16, body: &Value) {
        let base = self.doc["servers"][0]["url"]
            .as_str()
            .unwrap_or_default()
            .replace("{apiRoot}", "");
        let Some(rest) = url_path.strip_prefix(base.as_str()) else {
            panic!("{url_path} is not under {base}");
        };
        let template = self
            .template_for(rest)
            .unwrap_or_else(|| panic!("no path in the document matches {rest}"));
        let mut failures = Vec::new();
        for (method, operation) in self.doc["paths"][&template]
            .as_object()
            .into_iter()
            .flatten()
        {
            let Some(mut response) = operation["responses"].get(status.to_string()).cloned() else {
                failures.push(format!(
                    "{method} {template}: status {status} not documented"
                ));
                continue;
            };
            if let Some(reference) = response.get("$ref").and_then(Value::as_str) {
                let name = reference.trim_start_matches("#/components/responses/");
                response = self.doc["components"]["responses"][name].clone();
            }
            let schema = response["content"]["application/json"]["schema"].clone();
            if schema.is_null() {
                failures.push(format!("{method} {template}: {status} has no JSON body"));
                continue;
            }
            match self.violations(&schema, body) {
                errors if errors.is_empty() => return,
                errors => failures.push(format!("{method} {template} {status}: {errors:?}")),
            }
        }
        panic!("response does not match the document: {failures:#?}\nbody: {body:#}");
    }

    /// The document's path for a concrete path; static segments win over `{parameters}`.
    fn template_for(&self, path: &str) -> Option<String> {
        let parts: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, String)> = None;
        for template in self.doc["paths"].as_object()?.keys() {
            let t: Vec<&str> = template.split('/').collect();
            if t.len() != parts.len() {
                continue;
            }
            let fits = t
                .iter()
                .zip(&parts)
                .all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')));
            let statics = t.iter().filter(|a| !a.starts_with('{')).count();
            if fits && best.as_ref().is_none_or(|(n, _)| statics > *n) {
                best = Some((statics, template.clone()));
            }
        }
        best.map(|(_, t)| t)
    }

    /// The document as parsed (paths, methods, components).
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    fn violations(&self, schema: &Value, body: &Value) -> Vec<String> {
        let root = json!({"components": {"schemas": self.schemas}, "allOf": [schema]});
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&root)
            .unwrap_or_else(|e| panic!("response schema compiles: {e}"));
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
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

/// OpenAPI 3.0's `nullable: true` as JSON Schema says it (`type: [T, "null"]`), so the validator
/// accepts the `null` the document allows.
fn nullable_to_json_schema(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([t, "null"]));
                }
            }
            map.values_mut().for_each(nullable_to_json_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_json_schema),
        _ => {}
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
    fn error_codes_are_held_to_the_operation() {
        let conflict =
            json!({"status": 409, "code": "CARRIER_BILLING.PAYMENT_CONFIRMED", "message": "m"});
        CARRIER_BILLING.check_response(
            "/carrier-billing/v0.5/payments/abc/confirm",
            409,
            &conflict,
        );
        let range = json!({"status": 400, "code": "OUT_OF_RANGE", "message": "m"});
        CARRIER_BILLING.check_response("/carrier-billing/v0.5/payments", 400, &range);
    }

    #[test]
    #[should_panic(expected = "does not match the document")]
    fn an_undocumented_code_fails() {
        // validate has no PAYMENT_CONFIRMED conflict
        let conflict =
            json!({"status": 409, "code": "CARRIER_BILLING.PAYMENT_CONFIRMED", "message": "m"});
        CARRIER_BILLING.check_response(
            "/carrier-billing/v0.5/payments/abc/validate",
            409,
            &conflict,
        );
    }

    #[test]
    #[should_panic(expected = "not documented")]
    fn an_undocumented_status_fails() {
        let body = json!({"status": 422, "code": "SERVICE_NOT_APPLICABLE", "message": "m"});
        CARRIER_BILLING.check_response("/carrier-billing/v0.5/payments/abc", 422, &body);
    }

    #[test]
    #[should_panic(expected = "does not match Payment")]
    fn rejects_more_than_three_decimals() {
        CARRIER_BILLING.check("Payment", &payment(json!(1.0001)));
    }
}
