//! Properties of request-body parsing, which every merchant request goes through: no input makes
//! it panic, a body without repeated keys means what serde_json says it means, and a key written
//! twice anywhere is refused (so what a signing layer saw is what is charged).

use proptest::prelude::*;
use serde_json::{Map, Value};
use switchboard_gateway::http::json_value;

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z0-9 .\\\\\"\u{e9}\u{1F600}]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Writes `value` with the first key of the first object (depth first) written twice.
fn with_a_duplicate(value: &Value) -> Option<String> {
    fn walk(value: &Value, done: &mut bool) -> String {
        match value {
            Value::Object(map) => {
                let mut parts: Vec<String> = map
                    .iter()
                    .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), walk(v, done)))
                    .collect();
                if !*done {
                    if let Some((k, v)) = map.iter().next() {
                        parts.push(format!("{}:{}", Value::from(k.as_str()), v));
                        *done = true;
                    }
                }
                format!("{{{}}}", parts.join(","))
            }
            Value::Array(items) => {
                let parts: Vec<String> = items.iter().map(|v| walk(v, done)).collect();
                format!("[{}]", parts.join(","))
            }
            other => other.to_string(),
        }
    }
    let mut done = false;
    let text = walk(value, &mut done);
    done.then_some(text)
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = json_value(&bytes);
    }

    #[test]
    fn a_body_without_repeats_parses_as_serde_json_does(value in json()) {
        let text = serde_json::to_string_pretty(&value).unwrap();
        prop_assert_eq!(json_value(text.as_bytes()).unwrap(), value);
    }

    #[test]
    fn a_key_written_twice_anywhere_is_refused(value in json()) {
        if let Some(text) = with_a_duplicate(&value) {
            let refused = json_value(text.as_bytes());
            prop_assert!(refused.is_err(), "accepted {}", text);
            prop_assert_eq!(refused.unwrap_err().status(), 400);
        }
    }
}
