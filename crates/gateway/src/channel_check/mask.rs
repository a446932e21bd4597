//! What a failed step shows of the upstream's answer: secrets and phone numbers masked.

use serde_json::Value;
use switchboard_adapter::record::Exchange;
use switchboard_adapter::sanitize::scrub_text;
use switchboard_adapter::ChannelSettings;

const MASK: &str = "***";
/// Longest text shown per answer.
const MAX_ANSWER_CHARS: usize = 1024;

/// Whether a JSON key or option name holds a secret (`access_token`, `client_secret`, `password`,
/// `api_key`, `signature`, …).
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "signature",
        "authorization",
    ]
    .iter()
    .any(|s| name.contains(s))
        || name.ends_with("api_key")
        || name.ends_with("apikey")
}

/// The channel's own secret values (client secret, secret-named options), to be masked wherever
/// an upstream echoes them.
pub fn secrets_of(settings: &ChannelSettings) -> Vec<String> {
    fn walk(name: &str, value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) if secret_name(name) => out.push(s.clone()),
            Value::Object(map) => map.iter().for_each(|(k, v)| walk(k, v, out)),
            Value::Array(items) => items.iter().for_each(|v| walk(name, v, out)),
            _ => {}
        }
    }
    let mut out = vec![settings.credentials.client_secret.expose().to_owned()];
    for (name, value) in &settings.options {
        walk(name, value, &mut out);
    }
    // Short values would mask ordinary text; an empty one everything.
    out.retain(|s| s.len() >= 4);
    out
}

fn mask_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if secret_name(k) && !v.is_null() {
                    *v = Value::String(MASK.into());
                } else {
                    mask_keys(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_keys),
        _ => {}
    }
}

/// `text` with the channel's secrets and digit runs of 7 or more (phone numbers) masked, control
/// characters dropped, bounded in length (the adapters' own scrubbing).
fn scrub(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    for s in secrets {
        text = text.replace(s.as_str(), MASK);
    }
    scrub_text(&text, MAX_ANSWER_CHARS).unwrap_or_default()
}

/// One exchange as a report line: `POST /path -> 401 {body}`, masked.
pub fn exchange(x: &Exchange, secrets: &[String]) -> String {
    let body = match serde_json::from_str::<Value>(&x.body) {
        Ok(mut json) => {
            mask_keys(&mut json);
            json.to_string()
        }
        Err(_) => x.body.clone(),
    };
    let body = if body.trim().is_empty() {
        "(empty body)".to_owned()
    } else {
        scrub(&body, secrets)
    };
    format!(
        "{} {} -> {} {body}",
        x.method,
        scrub(&x.target, secrets),
        x.status
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(body: &str, target: &str) -> Exchange {
        Exchange {
            method: "POST".into(),
            target: target.into(),
            status: 401,
            body: body.into(),
        }
    }

    #[test]
    fn tokens_secrets_and_numbers_never_reach_the_report() {
        let secrets = vec!["sandbox-dcb-secret".to_owned()];
        let line = exchange(
            &x(
                r#"{"access_token":"eyJhbGciOi","refresh_token":"r-1","error":{"message":"bad key sandbox-dcb-secret for 393401234567"}}"#,
                "/charges?msisdn=393401234567",
            ),
            &secrets,
        );
        assert!(
            line.starts_with("POST /charges?msisdn=39********67 -> 401 "),
            "{line}"
        );
        for leaked in ["eyJhbGciOi", "r-1", "sandbox-dcb-secret", "3401234"] {
            assert!(!line.contains(leaked), "{leaked} in {line}");
        }
        assert!(line.contains("bad key *** for"), "{line}");
    }

    #[test]
    fn non_json_and_empty_answers_read_plainly() {
        assert_eq!(exchange(&x("", "/t"), &[]), "POST /t -> 401 (empty body)");
        assert_eq!(
            exchange(&x("<html>Bad Gateway</html>", "/t"), &[]),
            "POST /t -> 401 <html>Bad Gateway</html>"
        );
    }

    #[test]
    fn the_channels_secret_options_are_collected() {
        let settings: ChannelSettings = serde_json::from_value(serde_json::json!({
            "adapter": "ideabiz", "base_url": "http://x", "operators": ["o"], "capabilities": ["payment"],
            "credentials": {"client_id": "id", "client_secret": "the-secret"},
            "options": {"username": "user", "password": "the-password", "auth": {"api_key": "k"}}
        }))
        .unwrap();
        assert_eq!(secrets_of(&settings), ["the-secret", "the-password"]);
    }
}
