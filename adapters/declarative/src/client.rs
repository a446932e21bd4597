//! Sending one configured operation: the URL, body and headers rendered from the templates, the
//! request authenticated, and a failed answer classified by the error table.

use reqwest::header::{HeaderValue, CONTENT_TYPE};
use serde_json::Value;
use switchboard_adapter::{
    classify_send_error, AdapterError, ErrorRules, FailedAnswer, RuleOutcome,
};
use switchboard_core::Msisdn;

use crate::auth::{Auth, Outgoing};
use crate::mapping::text_at;
use crate::spec::{ErrorFields, Operation};
use crate::template::Vars;

/// The upstream root and how to reach it.
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub auth: Auth,
    pub errors: ErrorRules,
    pub error_fields: ErrorFields,
}

/// Why a call gave no usable answer.
#[derive(Debug)]
pub enum CallError {
    Failed(AdapterError),
    /// A money-moving request met an `outcome = "duplicate"` rule: the upstream already has a
    /// transaction under this key. The caller reads it back.
    Duplicate,
}

impl From<AdapterError> for CallError {
    fn from(e: AdapterError) -> Self {
        CallError::Failed(e)
    }
}

/// The operations whose requests carry the idempotency key and can meet a duplicate refusal.
pub const MONEY_MOVING: &[&str] = &["create", "prepare", "refund"];

fn missing(op: &Operation, name: &str) -> AdapterError {
    AdapterError::NotSent(format!(
        "{} needs {{{name}}}, which is not known yet",
        op.name
    ))
}

impl Client {
    /// Sends `op` and answers the JSON body of a 2xx, or the classified failure.
    pub async fn call(
        &self,
        op: &Operation,
        vars: &Vars,
        msisdn: &Msisdn,
    ) -> Result<Value, CallError> {
        let path = op.path.render_encoded(vars).map_err(|n| missing(op, &n))?;
        let url = reqwest::Url::parse(&format!("{}{path}", self.base))
            .map_err(|_| AdapterError::NotSent(format!("{}: the path makes no URL", op.name)))?;
        let body = match &op.body {
            Some(t) => Some(
                t.render(vars)
                    .map_err(|n| missing(op, &n))?
                    .unwrap_or_else(|| Value::Object(Default::default()))
                    .to_string()
                    .into_bytes(),
            ),
            None => None,
        };
        let mut headers = reqwest::header::HeaderMap::new();
        if body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        for (name, t) in &op.headers {
            let value = t.render(vars).map_err(|n| missing(op, &n))?;
            let value = HeaderValue::from_str(&value).map_err(|_| {
                AdapterError::NotSent(format!("header {name} cannot carry its value"))
            })?;
            headers.insert(name.clone(), value);
        }
        if let Some(name) = &op.idempotency_header {
            let key = vars
                .get("idempotency_key")
                .ok_or_else(|| missing(op, "idempotency_key"))?;
            let value = HeaderValue::from_str(key)
                .map_err(|_| AdapterError::NotSent("idempotency key is not header-safe".into()))?;
            headers.insert(name.clone(), value);
        }
        let wire_path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let bytes = body.as_deref().unwrap_or_default();
        let method = op.method.as_reqwest();
        // A 401 with a bearer token proves nothing was processed: one retry with a fresh token.
        for attempt in 0..2 {
            let out = Outgoing {
                method: method.as_str(),
                path: &wire_path,
                body: bytes,
            };
            let (auth, token) = self.auth.headers(&self.http, &out).await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            for (name, value) in auth {
                request = request.header(name, value);
            }
            if let Some(b) = &body {
                request = request.body(b.clone());
            }
            let response = switchboard_adapter::send_upstream(request).await?;
            let status = response.status().as_u16();
            if status == 401 && attempt == 0 {
                if let Some(token) = token {
                    self.auth.rejected(&token).await;
                    continue;
                }
            }
            let raw = response.bytes().await.map_err(|e| {
                AdapterError::Unknown(format!("answer cut short: {}", classify_send_error(&e)))
            })?;
            let json: Option<Value> = serde_json::from_slice(&raw).ok();
            if (200..300).contains(&status) {
                return json.ok_or_else(|| {
                    AdapterError::Unknown(format!("{}: the answer is not JSON", op.name)).into()
                });
            }
            return Err(self.failure(op, status, json.as_ref(), msisdn));
        }
        Err(AdapterError::NotSent("the upstream rejected a fresh token too".into()).into())
    }

    fn failure(
        &self,
        op: &Operation,
        status: u16,
        json: Option<&Value>,
        msisdn: &Msisdn,
    ) -> CallError {
        let field = |p: &Option<String>| p.as_ref().and_then(|p| json.and_then(|j| text_at(j, p)));
        let code = field(&self.error_fields.code);
        let message = field(&self.error_fields.message);
        let answer = FailedAnswer {
            operation: Some(op.name),
            status,
            code: code.as_deref(),
            message: message.as_deref(),
        };
        let rule = op
            .errors
            .find(&answer)
            .or_else(|| self.errors.find(&answer));
        if rule.is_some_and(|r| r.outcome == RuleOutcome::Duplicate)
            && MONEY_MOVING.contains(&op.name)
        {
            tracing::info!(
                op = op.name,
                status,
                "upstream already has this transaction"
            );
            return CallError::Duplicate;
        }
        let result = match rule {
            Some(rule) => rule.apply(&answer, Some(msisdn)),
            None => self.errors.classify_or_default(&answer, Some(msisdn)),
        };
        // Only code-shaped upstream codes are logged, never free text.
        let logged_code = code
            .as_deref()
            .filter(|c| switchboard_adapter::sanitize::looks_like_a_code(c))
            .unwrap_or("-");
        tracing::info!(
            op = op.name,
            status,
            code = logged_code,
            outcome = %result,
            "upstream failed"
        );
        CallError::Failed(result)
    }
}
