//! The channel file's `[options]` for `adapter = "declarative"`: typed, `deny_unknown_fields`, and
//! compiled once at load (templates parsed, patterns compiled, operations checked against each
//! other). Every problem names its field (`options.operations.create.body.amount: …`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use switchboard_adapter::signing::Encoding;
use switchboard_adapter::{Capabilities, Capability, ErrorRules, RuleOutcome};
use switchboard_core::{PaymentStatus, RefundStatus, Secret};

use crate::client::MONEY_MOVING;
use crate::template::{BodyTemplate, Template};
use crate::vars::{PAYMENT_VARS, REFUND_VARS, VALIDATE_VARS};

/// Names an HMAC canonical string may use.
pub const CANONICAL_VARS: &[&str] = &["method", "path", "timestamp", "body.sha256", "key_id"];
/// Names a callback's canonical string may use.
pub const CALLBACK_CANONICAL_VARS: &[&str] = &["timestamp", "body.sha256"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub auth: AuthSpec,
    /// Decimal digits of the currency's minor unit (`amount.minor`); 2 unless said.
    #[serde(default = "two")]
    pub minor_unit_digits: u32,
    /// The country calling code (`"39"`) `phone.national` strips.
    #[serde(default)]
    pub phone_country_code: Option<String>,
    pub operations: Operations,
    /// Upstream payment status words → Switchboard's (`SUCCESS = "succeeded"`).
    #[serde(default)]
    pub statuses: BTreeMap<String, PaymentStatus>,
    /// Upstream refund status words → Switchboard's.
    #[serde(default)]
    pub refund_statuses: BTreeMap<String, RefundStatus>,
    /// How an answer's status word is compared with the keys of the status maps.
    #[serde(default)]
    pub status_match: StatusMatching,
    /// Where a failed answer carries the upstream's error code and message.
    #[serde(default)]
    pub error_fields: ErrorFields,
    /// The error table (all operations; each operation's own `errors` come first).
    #[serde(default)]
    pub errors: ErrorRules,
    #[serde(default)]
    pub callbacks: Option<CallbackSpec>,
}

fn two() -> u32 {
    2
}

/// `status_match`: `exact` (the default), or `loose`: ASCII case, `_`, `-` and spaces ignored
/// (`"IN_PROGRESS"` = `"inProgress"`), for upstreams that spell one word several ways.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusMatching {
    #[default]
    Exact,
    Loose,
}

impl StatusMatching {
    fn key(self, word: &str) -> String {
        match self {
            StatusMatching::Exact => word.to_owned(),
            StatusMatching::Loose => word
                .chars()
                .filter(|c| !matches!(c, '_' | '-' | ' '))
                .map(|c| c.to_ascii_lowercase())
                .collect(),
        }
    }
}

/// A status map, compiled: its keys as `status_match` compares them.
#[derive(Debug, Clone)]
pub struct StatusMap<S> {
    words: BTreeMap<String, S>,
    matching: StatusMatching,
}

impl<S: Copy + PartialEq> StatusMap<S> {
    /// Fails (naming the key) when two words mean the same under `matching` but map differently.
    pub(crate) fn compile(
        field: &str,
        words: &BTreeMap<String, S>,
        matching: StatusMatching,
    ) -> Result<Self, SpecError> {
        let mut compiled: BTreeMap<String, S> = BTreeMap::new();
        for (word, status) in words {
            let key = matching.key(word);
            if key.is_empty() {
                return Err(err(format!("{field}.{word}"), "an empty status word"));
            }
            match compiled.insert(key, *status) {
                Some(other) if other != *status => {
                    return Err(err(
                        format!("{field}.{word}"),
                        "under status_match = \"loose\" this is the same word as another key, mapped differently",
                    ))
                }
                _ => {}
            }
        }
        Ok(StatusMap {
            words: compiled,
            matching,
        })
    }

    /// Switchboard's status for the upstream's `word`, if the map has it.
    pub fn get(&self, word: &str) -> Option<S> {
        self.words.get(&self.matching.key(word)).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// How each request is authenticated. Secrets are the channel's `credentials`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthSpec {
    /// Nothing (a private network).
    None,
    /// `header: {prefix}{credentials.client_secret}`.
    ApiKey {
        header: String,
        #[serde(default)]
        prefix: String,
    },
    /// HTTP Basic with `credentials.client_id` / `client_secret`.
    Basic,
    /// OAuth2 client credentials at the channel's `token_url` (Basic client auth).
    #[serde(rename = "oauth2_client_credentials")]
    ClientCredentials {
        #[serde(default)]
        scope: Option<String>,
        /// The token endpoint below `base_url` (`"/token"`), when the channel sets no `token_url`.
        #[serde(default)]
        token_path: Option<String>,
    },
    /// OAuth2 password grant (client as Basic) whose refresh token rotates on every refresh.
    #[serde(rename = "oauth2_password")]
    Password {
        username: String,
        password: Secret,
        #[serde(default)]
        scope: Option<String>,
        /// As for client credentials.
        #[serde(default)]
        token_path: Option<String>,
    },
    /// HMAC-SHA256 under `credentials.client_secret` over `canonical`.
    Hmac {
        /// Carries `credentials.client_id`, when the upstream wants it.
        #[serde(default)]
        key_id_header: Option<String>,
        timestamp_header: String,
        signature_header: String,
        /// e.g. `"{method}\n{path}\n{timestamp}\n{body.sha256}"`.
        canonical: String,
        #[serde(default)]
        encoding: Encoding,
        /// Written before the signature (`"v1="`).
        #[serde(default)]
        signature_prefix: String,
    },
}

/// The operations the upstream has; which are present decides the channel's capabilities.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operations {
    pub create: Option<OperationSpec>,
    pub prepare: Option<OperationSpec>,
    pub confirm: Option<OperationSpec>,
    pub cancel: Option<OperationSpec>,
    pub validate: Option<OperationSpec>,
    pub status: Option<OperationSpec>,
    pub refund: Option<OperationSpec>,
    pub refund_status: Option<OperationSpec>,
    pub topup: Option<OperationSpec>,
    pub lookup: Option<OperationSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One upstream call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationSpec {
    pub method: Method,
    /// Below `base_url`, with placeholders (percent-encoded) and an optional `?query`.
    pub path: String,
    /// The JSON body; its strings are templates.
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A header that carries `{idempotency_key}`.
    #[serde(default)]
    pub idempotency_header: Option<String>,
    pub response: ResponseSpec,
    /// This operation's own rules, tried before the channel's `errors`.
    #[serde(default)]
    pub errors: ErrorRules,
    /// Status operations only: when the upstream has no record, send the original request again
    /// with the same idempotency key (safe only where the upstream charges once per key).
    #[serde(default)]
    pub replay_when_not_found: bool,
}

/// JSON pointers (RFC 6901) into a 2xx answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// The status word, looked up in `statuses` / `refund_statuses`.
    pub status: String,
    #[serde(default)]
    pub upstream_id: Option<String>,
    /// Must equal what was sent, else the answer is about something else (outcome unknown).
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Must equal the request's amount.
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub amount_units: AmountUnits,
    /// RFC 3339 date of the payment / refund.
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub denial_reason: Option<String>,
    #[serde(default)]
    pub server_reference: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmountUnits {
    #[default]
    Major,
    Minor,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFields {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// Inbound notifications at `/callbacks/{channel}?ref=…` (the address handed out as
/// `{callback.url}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackSpec {
    pub auth: CallbackAuth,
    /// How the body reads; the same pointers as an operation's `response`.
    pub response: ResponseSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CallbackAuth {
    /// `Authorization: Bearer {callback.token}` (the per-resource token Switchboard handed out).
    Token,
    /// HMAC-SHA256 under `credentials.client_secret` over `canonical`.
    Hmac {
        timestamp_header: String,
        signature_header: String,
        canonical: String,
        #[serde(default)]
        encoding: Encoding,
        #[serde(default)]
        signature_prefix: String,
        #[serde(default = "five_minutes")]
        max_skew_secs: i64,
    },
}

fn five_minutes() -> i64 {
    300
}

/// An operation, compiled.
#[derive(Debug, Clone)]
pub struct Operation {
    pub name: &'static str,
    pub method: Method,
    pub path: Template,
    pub body: Option<BodyTemplate>,
    pub headers: Vec<(reqwest::header::HeaderName, Template)>,
    pub idempotency_header: Option<reqwest::header::HeaderName>,
    pub response: ResponseSpec,
    pub errors: ErrorRules,
    pub replay_when_not_found: bool,
}

/// Everything compiled.
#[derive(Debug, Clone)]
pub struct Spec {
    pub options: Options,
    pub statuses: StatusMap<PaymentStatus>,
    pub refund_statuses: StatusMap<RefundStatus>,
    pub canonical: Option<Template>,
    pub callback_canonical: Option<Template>,
    pub ops: BTreeMap<&'static str, Operation>,
}

/// A load error: the field (below `options`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("options{}{field}: {reason}", if field.is_empty() { "" } else { "." })]
pub struct SpecError {
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> SpecError {
    SpecError {
        field: field.into(),
        reason: reason.into(),
    }
}

fn pointer_ok(field: &str, p: &str) -> Result<(), SpecError> {
    if p.is_empty() || p.starts_with('/') {
        Ok(())
    } else {
        Err(err(
            field,
            format!("\"{p}\" is not a JSON pointer (starts with '/')"),
        ))
    }
}

fn check_response(field: &str, r: &ResponseSpec) -> Result<(), SpecError> {
    let ptrs = [
        ("status", Some(&r.status)),
        ("upstream_id", r.upstream_id.as_ref()),
        ("idempotency_key", r.idempotency_key.as_ref()),
        ("amount", r.amount.as_ref()),
        ("date", r.date.as_ref()),
        ("denial_reason", r.denial_reason.as_ref()),
        ("server_reference", r.server_reference.as_ref()),
    ];
    for (name, p) in ptrs {
        if let Some(p) = p {
            pointer_ok(&format!("{field}.response.{name}"), p)?;
        }
    }
    Ok(())
}

fn header_name(field: &str, name: &str) -> Result<reqwest::header::HeaderName, SpecError> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| err(field, format!("\"{name}\" is not an HTTP header name")))
}

fn rules_ok(field: &str, rules: &ErrorRules) -> Result<(), SpecError> {
    rules
        .validate()
        .map_err(|(i, reason)| err(format!("{field}[{i}]"), reason))
}

fn compile_op(
    name: &'static str,
    spec: &OperationSpec,
    known: &[&str],
) -> Result<Operation, SpecError> {
    let at = format!("operations.{name}");
    let path = Template::parse(&spec.path, known).map_err(|e| err(format!("{at}.path"), e))?;
    if !spec.path.starts_with('/') {
        return Err(err(format!("{at}.path"), "must start with '/'"));
    }
    let body = spec
        .body
        .as_ref()
        .map(|b| BodyTemplate::parse(b, known))
        .transpose()
        .map_err(|(p, e)| err(format!("{at}.body{p}"), e))?;
    if body.is_some() && spec.method == Method::Get {
        return Err(err(format!("{at}.body"), "a GET request has no body"));
    }
    let mut headers = Vec::new();
    for (h, t) in &spec.headers {
        let field = format!("{at}.headers.{h}");
        headers.push((
            header_name(&field, h)?,
            Template::parse(t, known).map_err(|e| err(&field, e))?,
        ));
    }
    let idempotency_header = spec
        .idempotency_header
        .as_deref()
        .map(|h| header_name(&format!("{at}.idempotency_header"), h))
        .transpose()?;
    check_response(&at, &spec.response)?;
    rules_ok(&format!("{at}.errors"), &spec.errors)?;
    if spec.replay_when_not_found && !matches!(name, "status" | "refund_status") {
        return Err(err(
            format!("{at}.replay_when_not_found"),
            "only status and refund_status replay",
        ));
    }
    Ok(Operation {
        name,
        method: spec.method,
        path,
        body,
        headers,
        idempotency_header,
        response: spec.response.clone(),
        errors: spec.errors.clone(),
        replay_when_not_found: spec.replay_when_not_found,
    })
    .and_then(|op| {
        // Charge once: a money-moving request must carry the key a replay is recognised by.
        if matches!(name, "create" | "prepare" | "refund")
            && op.idempotency_header.is_none()
            && !op.uses("idempotency_key")
        {
            return Err(err(
                &at,
                "must send {idempotency_key} (path, body, a header or idempotency_header), so a replay after a timeout finds the same upstream transaction",
            ));
        }
        Ok(op)
    })
}

/// `outcome = "duplicate"` reads the transaction back, so it is only allowed where a read-back
/// exists: in the money-moving operations (or the channel's table) of a file with `status` (and
/// `refund_status` when `refund` is declared).
fn check_duplicates(
    channel_rules: &ErrorRules,
    ops: &BTreeMap<&'static str, Operation>,
) -> Result<(), SpecError> {
    let duplicate = |rules: &ErrorRules| {
        rules
            .iter()
            .position(|r| r.outcome == RuleOutcome::Duplicate)
    };
    let reader = |name: &str| match name {
        "refund" => "refund_status",
        _ => "status",
    };
    for (name, op) in ops {
        let Some(i) = duplicate(&op.errors) else {
            continue;
        };
        let field = format!("operations.{name}.errors[{i}]");
        if !MONEY_MOVING.contains(name) {
            return Err(err(
                field,
                "outcome \"duplicate\" is for create, prepare and refund (the requests that carry the idempotency key)",
            ));
        }
        if !ops.contains_key(reader(name)) {
            return Err(err(
                field,
                format!(
                    "outcome \"duplicate\" reads the transaction back and needs operations.{}",
                    reader(name)
                ),
            ));
        }
    }
    if let Some(i) = duplicate(channel_rules) {
        for name in MONEY_MOVING.iter().filter(|n| ops.contains_key(*n)) {
            if !ops.contains_key(reader(name)) {
                return Err(err(
                    format!("errors[{i}]"),
                    format!(
                        "outcome \"duplicate\" reads the transaction back; operations.{name} has no operations.{}",
                        reader(name)
                    ),
                ));
            }
        }
    }
    Ok(())
}

impl Operation {
    /// Whether the path, a header or the body uses placeholder `name`.
    pub fn uses(&self, name: &str) -> bool {
        self.path.names().any(|n| n == name)
            || self
                .headers
                .iter()
                .any(|(_, t)| t.names().any(|n| n == name))
            || self
                .body
                .as_ref()
                .is_some_and(|b| b.names().contains(&name))
    }
}

impl AuthSpec {
    /// Whether requests carry an OAuth2 bearer token (so a token endpoint is needed).
    pub fn uses_tokens(&self) -> bool {
        matches!(
            self,
            AuthSpec::ClientCredentials { .. } | AuthSpec::Password { .. }
        )
    }

    /// `token_path`, for the OAuth2 types.
    pub fn token_path(&self) -> Option<&str> {
        match self {
            AuthSpec::ClientCredentials { token_path, .. }
            | AuthSpec::Password { token_path, .. } => token_path.as_deref(),
            _ => None,
        }
    }
}

impl Spec {
    /// Reads `options` (serde errors name the field) and compiles it.
    pub fn from_options(options: &BTreeMap<String, Value>) -> Result<Spec, SpecError> {
        let value = Value::Object(options.clone().into_iter().collect());
        let options: Options = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            err(
                if path == "." { String::new() } else { path },
                e.inner().to_string(),
            )
        })?;
        Spec::compile(options)
    }

    fn compile(options: Options) -> Result<Spec, SpecError> {
        let o = &options.operations;
        let payment: Vec<&str> = PAYMENT_VARS.to_vec();
        let validate: Vec<&str> = PAYMENT_VARS.iter().chain(VALIDATE_VARS).copied().collect();
        let refund: Vec<&str> = PAYMENT_VARS.iter().chain(REFUND_VARS).copied().collect();
        let mut ops = BTreeMap::new();
        let table: [(&'static str, &Option<OperationSpec>, &[&str]); 8] = [
            ("create", &o.create, &payment),
            ("prepare", &o.prepare, &payment),
            ("confirm", &o.confirm, &payment),
            ("cancel", &o.cancel, &payment),
            ("validate", &o.validate, &validate),
            ("status", &o.status, &payment),
            ("refund", &o.refund, &refund),
            ("refund_status", &o.refund_status, &refund),
        ];
        for (name, spec, known) in table {
            if let Some(spec) = spec {
                ops.insert(name, compile_op(name, spec, known)?);
            }
        }
        for (name, present) in [("topup", o.topup.is_some()), ("lookup", o.lookup.is_some())] {
            if present {
                return Err(err(
                    format!("operations.{name}"),
                    "not yet expressible declaratively (top-up records have their own shape); use the topup adapter",
                ));
            }
        }
        let needs = |a: &str, b: &str| -> Result<(), SpecError> {
            if ops.contains_key(a) && !ops.contains_key(b) {
                return Err(err(
                    format!("operations.{a}"),
                    format!("needs operations.{b}"),
                ));
            }
            Ok(())
        };
        needs("prepare", "confirm")?;
        needs("confirm", "prepare")?;
        needs("cancel", "prepare")?;
        needs("validate", "prepare")?;
        needs("refund_status", "refund")?;
        if ops.is_empty() {
            return Err(err("operations", "declares no operation"));
        }
        let payment_ops = [
            "create", "prepare", "confirm", "cancel", "validate", "status",
        ];
        if payment_ops.iter().any(|n| ops.contains_key(n)) && options.statuses.is_empty() {
            return Err(err("statuses", "payment operations need a status map"));
        }
        if ops.contains_key("refund") && options.refund_statuses.is_empty() {
            return Err(err(
                "refund_statuses",
                "refund operations need a status map",
            ));
        }
        let uses_national = ops.values().any(|op| op.uses("phone.national"));
        if uses_national && options.phone_country_code.is_none() {
            return Err(err(
                "phone_country_code",
                "{phone.national} needs the country calling code",
            ));
        }
        if let Some(cc) = &options.phone_country_code {
            if cc.is_empty() || cc.len() > 3 || !cc.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("phone_country_code", "1 to 3 digits, without '+'"));
            }
        }
        if options.minor_unit_digits > 4 {
            return Err(err("minor_unit_digits", "at most 4"));
        }
        rules_ok("errors", &options.errors)?;
        if let Some(p) = &options.error_fields.code {
            pointer_ok("error_fields.code", p)?;
        }
        if let Some(p) = &options.error_fields.message {
            pointer_ok("error_fields.message", p)?;
        }
        let canonical = match &options.auth {
            AuthSpec::Hmac {
                canonical,
                key_id_header,
                timestamp_header,
                signature_header,
                ..
            } => {
                for (f, h) in [
                    ("auth.timestamp_header", Some(timestamp_header)),
                    ("auth.signature_header", Some(signature_header)),
                    ("auth.key_id_header", key_id_header.as_ref()),
                ] {
                    if let Some(h) = h {
                        header_name(f, h)?;
                    }
                }
                Some(
                    Template::parse(canonical, CANONICAL_VARS)
                        .map_err(|e| err("auth.canonical", e))?,
                )
            }
            AuthSpec::ApiKey { header, .. } => {
                header_name("auth.header", header)?;
                None
            }
            AuthSpec::ClientCredentials {
                token_path: Some(p),
                ..
            }
            | AuthSpec::Password {
                token_path: Some(p),
                ..
            } if !p.starts_with('/') => {
                return Err(err("auth.token_path", "must start with '/'"));
            }
            _ => None,
        };
        let callback_canonical = match &options.callbacks {
            Some(cb) => {
                check_response("callbacks", &cb.response)?;
                match &cb.auth {
                    CallbackAuth::Hmac {
                        canonical,
                        timestamp_header,
                        signature_header,
                        ..
                    } => {
                        header_name("callbacks.auth.timestamp_header", timestamp_header)?;
                        header_name("callbacks.auth.signature_header", signature_header)?;
                        Some(
                            Template::parse(canonical, CALLBACK_CANONICAL_VARS)
                                .map_err(|e| err("callbacks.auth.canonical", e))?,
                        )
                    }
                    CallbackAuth::Token => None,
                }
            }
            None => None,
        };
        check_duplicates(&options.errors, &ops)?;
        let statuses = StatusMap::compile("statuses", &options.statuses, options.status_match)?;
        let refund_statuses = StatusMap::compile(
            "refund_statuses",
            &options.refund_statuses,
            options.status_match,
        )?;
        Ok(Spec {
            statuses,
            refund_statuses,
            options,
            canonical,
            callback_canonical,
            ops,
        })
    }

    /// What the declared operations make possible.
    pub fn capabilities(&self) -> Capabilities {
        let has = |n: &str| self.ops.contains_key(n);
        let mut caps = Vec::new();
        if has("create") {
            caps.push(Capability::Payment);
        }
        if has("prepare") {
            caps.push(Capability::TwoStepPayment);
        }
        if has("status") {
            caps.push(Capability::PaymentStatus);
        }
        if has("refund") {
            caps.push(Capability::Refund);
        }
        Capabilities::of(&caps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn options(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    fn op(path: &str, body: Value) -> Value {
        json!({"method": "POST", "path": path, "body": body, "response": {"status": "/s"}})
    }

    fn base() -> Value {
        json!({
            "auth": {"type": "basic"},
            "statuses": {"OK": "succeeded"},
            "operations": {"create": op("/pay", json!({"key": "{idempotency_key}"}))}
        })
    }

    fn error_of(v: Value) -> SpecError {
        Spec::from_options(&options(v)).expect_err("refused")
    }

    #[test]
    fn a_minimal_file_compiles_and_capabilities_follow_operations() {
        let spec = Spec::from_options(&options(base())).unwrap();
        assert!(spec.capabilities().contains(Capability::Payment));
        assert!(!spec.capabilities().contains(Capability::PaymentStatus));
        let mut two = base();
        two["operations"]["prepare"] = op("/prep", json!({"k": "{idempotency_key}"}));
        two["operations"]["confirm"] = op("/pay/{upstream_id}/confirm", json!({}));
        let caps = Spec::from_options(&options(two)).unwrap().capabilities();
        assert!(caps.contains(Capability::TwoStepPayment));
    }

    #[test]
    fn structural_problems_name_their_field() {
        let mut no_key = base();
        no_key["operations"]["create"] = op("/pay", json!({"amount": "{amount.minor:number}"}));
        let e = error_of(no_key);
        assert_eq!(e.field, "operations.create");
        assert!(e.reason.contains("{idempotency_key}"), "{e}");

        let mut lonely = base();
        lonely["operations"]["confirm"] = op("/c", json!({}));
        assert_eq!(
            error_of(lonely).to_string(),
            "options.operations.confirm: needs operations.prepare"
        );

        let mut topup = base();
        topup["operations"]["topup"] = op("/t", json!({"k": "{idempotency_key}"}));
        assert_eq!(error_of(topup).field, "operations.topup");

        let mut rule = base();
        rule["errors"] =
            json!([{"status": 402, "outcome": "unknown"}, {"status": 403, "outcome": "refused"}]);
        assert_eq!(error_of(rule).field, "errors[1]");

        let mut national = base();
        national["operations"]["create"] = op(
            "/pay",
            json!({"k": "{idempotency_key}", "n": "{phone.national}"}),
        );
        assert_eq!(error_of(national).field, "phone_country_code");

        let mut get_body = base();
        get_body["operations"]["status"] =
            json!({"method": "GET", "path": "/s", "body": {}, "response": {"status": "/s"}});
        assert_eq!(error_of(get_body).field, "operations.status.body");

        let mut pointer = base();
        pointer["operations"]["create"]["response"]["status"] = json!("status");
        assert_eq!(error_of(pointer).field, "operations.create.response.status");
    }

    #[test]
    fn serde_problems_name_their_field_too() {
        let mut unknown = base();
        unknown["operations"]["create"]["mehtod"] = json!("POST");
        assert!(error_of(unknown).field.starts_with("operations.create"));
        let mut auth = base();
        auth["auth"] = json!({"type": "kerberos"});
        assert_eq!(error_of(auth).field, "auth.type");
        let e = error_of(json!({"operations": {}}));
        assert!(
            e.to_string().starts_with("options: missing field `auth`"),
            "{e}"
        );
        let mut canonical = base();
        canonical["auth"] = json!({"type": "hmac", "timestamp_header": "X-T", "signature_header": "X-S",
                                   "canonical": "{method}\n{url}"});
        assert_eq!(error_of(canonical).field, "auth.canonical");
    }

    #[test]
    fn duplicates_need_a_read_back_and_a_money_moving_request() {
        let dup = json!([{"status": 409, "outcome": "duplicate"}]);
        let mut no_status = base();
        no_status["operations"]["create"]["errors"] = dup.clone();
        let e = error_of(no_status);
        assert_eq!(e.field, "operations.create.errors[0]");
        assert!(e.reason.contains("operations.status"), "{e}");

        let status_op =
            json!({"method": "GET", "path": "/s/{idempotency_key}", "response": {"status": "/s"}});
        let mut in_status = base();
        in_status["operations"]["status"] = status_op.clone();
        in_status["operations"]["status"]["errors"] = dup.clone();
        assert_eq!(error_of(in_status).field, "operations.status.errors[0]");

        let mut channel_wide = base();
        channel_wide["errors"] =
            json!([{"status": 500, "outcome": "unknown"}, {"status": 409, "outcome": "duplicate"}]);
        assert_eq!(error_of(channel_wide.clone()).field, "errors[1]");
        channel_wide["operations"]["status"] = status_op;
        assert!(Spec::from_options(&options(channel_wide)).is_ok());
    }

    #[test]
    fn loose_status_words_must_not_collide_and_token_paths_are_paths() {
        let mut loose = base();
        loose["status_match"] = json!("loose");
        loose["statuses"] =
            json!({"IN_PROGRESS": "processing", "inprogress": "processing", "OK": "succeeded"});
        let spec = Spec::from_options(&options(loose.clone())).unwrap();
        assert_eq!(
            spec.statuses.get("In-Progress"),
            Some(PaymentStatus::Processing)
        );
        loose["statuses"]["in progress"] = json!("denied");
        let e = error_of(loose);
        assert!(e.field.starts_with("statuses."), "{e}");

        let mut grant = base();
        grant["auth"] = json!({"type": "oauth2_password", "username": "u", "password": "p",
                               "token_path": "token"});
        assert_eq!(error_of(grant).field, "auth.token_path");
    }
}
