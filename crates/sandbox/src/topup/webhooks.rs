//! The provider's webhooks: `POST /{p}/webhooks {"url","secret"}` registers (or replaces) one per
//! URL, and every registered webhook gets the provider's events, signed per Standard Webhooks
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`) with its
//! secret.
//!
//! Events: `topup.pending` when a top-up is created pending, then `topup.completed` or
//! `topup.failed` when it settles on its own. Body:
//! `{"id","type","created_at","data": <the transaction, as GET /telecom/topup/{tx_id} answers>}`.

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::error::TopUpError;
use super::signature::{self, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use super::transaction::Status;
use crate::notify::{sink_allowed, Delivery, Notice};

/// One registered webhook.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    /// `whsec_<base64 key>`.
    pub secret: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("secret", &"***")
            .finish()
    }
}

/// The event `type` announcing a transaction's status.
pub fn event_type(status: Status) -> &'static str {
    match status {
        Status::Pending => "topup.pending",
        Status::Completed => "topup.completed",
        Status::Failed(_) => "topup.failed",
    }
}

/// Parses `{"url","secret"}`: the URL must be `https://` (or `http://` on a loopback host), the
/// secret `whsec_` and a non-empty base64 key.
pub fn parse_registration(body: &[u8]) -> Result<Webhook, TopUpError> {
    let map: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        _ => return Err(TopUpError::invalid("the body must be a JSON object")),
    };
    let text = |field: &str| match map.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        _ => Err(TopUpError::invalid(format!("{field} is required"))),
    };
    let url = text("url")?;
    if url.len() > 2048 || !sink_allowed(&url) {
        return Err(TopUpError::invalid(
            "url must be https (or http on a loopback host)",
        ));
    }
    let secret = text("secret")?;
    if signature::key(&secret).is_none() {
        return Err(TopUpError::invalid("secret must be whsec_<base64 key>"));
    }
    Ok(Webhook { url, secret })
}

/// The signed deliveries of `notices` to every webhook in `hooks`.
pub fn deliveries(notices: Vec<Notice>, hooks: &[Webhook]) -> Vec<Delivery> {
    let mut out = Vec::new();
    for notice in notices {
        let id = uuid::Uuid::new_v4().to_string();
        let now = Utc::now();
        let body = json!({
            "id": id,
            "type": notice.event_type,
            "created_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
            "data": notice.data,
        })
        .to_string()
        .into_bytes();
        let timestamp = now.timestamp();
        for hook in hooks {
            match signature::sign(&hook.secret, &id, timestamp, &body) {
                Some(signature) => out.push(Delivery {
                    kind: "topup",
                    url: hook.url.clone(),
                    bearer: None,
                    content_type: "application/json",
                    headers: vec![
                        (HEADER_ID, id.clone()),
                        (HEADER_TIMESTAMP, timestamp.to_string()),
                        (HEADER_SIGNATURE, signature),
                    ],
                    body: body.clone(),
                }),
                None => tracing::warn!("webhook secret unusable; event not sent"),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn registrations_need_a_safe_url_and_a_whsec_secret() {
        let ok = parse_registration(
            br#"{"url":"http://127.0.0.1:8080/callbacks/globaltopup","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#,
        );
        assert_eq!(
            ok.map(|w| w.url),
            Ok("http://127.0.0.1:8080/callbacks/globaltopup".to_owned())
        );
        for bad in [
            r#"{"url":"http://gateway.example/cb","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#,
            r#"{"url":"https://gateway.example/cb","secret":"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#,
            r#"{"url":"https://gateway.example/cb","secret":"whsec_"}"#,
            r#"{"url":"https://gateway.example/cb","secret":"whsec_!!"}"#,
            r#"{"url":"https://gateway.example/cb"}"#,
            r#"[]"#,
        ] {
            let err = parse_registration(bad.as_bytes()).map(|_| ());
            assert_eq!(err.map_err(|e| e.status), Err(400), "{bad}");
        }
    }

    #[test]
    fn events_are_signed_per_webhook() {
        let hooks = [
            Webhook {
                url: "https://a.example/cb".into(),
                secret: SECRET.into(),
            },
            Webhook {
                url: "https://b.example/cb".into(),
                secret: "whsec_c2Vjb25k".into(),
            },
        ];
        let notice = Notice {
            event_type: "topup.completed",
            data: json!({"tx_id": "tel_1", "status": "completed"}),
        };
        let sent = deliveries(vec![notice], &hooks);
        assert_eq!(sent.len(), 2);
        for (d, hook) in sent.iter().zip(&hooks) {
            let header = |name: &str| {
                d.headers
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let (id, ts) = (header(HEADER_ID), header(HEADER_TIMESTAMP));
            let ts: i64 = ts.parse().unwrap_or_default();
            assert!((Utc::now().timestamp() - ts).abs() < 60);
            assert_eq!(
                Some(header(HEADER_SIGNATURE)),
                signature::sign(&hook.secret, &id, ts, &d.body)
            );
            let event: Value = serde_json::from_slice(&d.body).unwrap_or_default();
            assert_eq!(event["id"], id.as_str());
            assert_eq!(event["type"], "topup.completed");
            assert_eq!(event["data"]["tx_id"], "tel_1");
        }
        assert_eq!(event_type(Status::Failed("x")), "topup.failed");
    }
}
