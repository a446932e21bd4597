//! `adapter = "declarative"`: an upstream JSON API described by its channel file, no code.
//!
//! The channel's `[options]` say how requests are authenticated (`auth`), which operations the
//! upstream has and how each is sent (`operations.*`: method, path and body templates, headers,
//! where the idempotency key goes), how answers read (`response`: JSON pointers, `statuses`), what
//! failures mean (`errors`, first match wins) and how inbound callbacks are checked (`callbacks`).
//! Templates are data (`{amount.minor}`), parsed and checked at load; nothing is evaluated. The
//! channel's capabilities follow from the operations declared.
//!
//! Files: `spec.rs` (the options, compiled), `template.rs`, `vars.rs` (the normalised request),
//! `auth.rs`, `client.rs` (sending one operation), `mapping.rs` (answers), `callback.rs`.
//! See `adapters/README.md`, "Adding an upstream", for every key.

mod auth;
mod callback;
mod client;
mod mapping;
mod spec;
mod template;
mod vars;

use std::sync::Arc;

use async_trait::async_trait;
use switchboard_adapter::{
    Adapter, AdapterBuildError, AdapterError, CallbackError, CallbackNotice, CallbackRequest,
    CallbackSettings, Capabilities, ChannelSettings, UpstreamHttp, UpstreamPayment, UpstreamRefund,
};
use switchboard_core::{PaymentRecord, RefundRecord, Secret};

use crate::auth::{Auth, Credentials};
use crate::client::{CallError, Client};
use crate::mapping::Expected;
pub use crate::spec::{Spec, SpecError};
use crate::vars::Formats;

/// The adapter kind, as written in channel configuration.
pub const KIND: &str = "declarative";

/// Builds the adapter for one channel (an [`switchboard_adapter::AdapterFactory`]).
pub fn factory(
    settings: &ChannelSettings,
    http: &UpstreamHttp,
) -> Result<Arc<dyn Adapter>, AdapterBuildError> {
    Ok(Arc::new(DeclarativeAdapter::new(settings, http)?))
}

/// Reads and validates a channel file on its own (the whole file, then its `options`): every error
/// names the file and the field.
pub fn check_file(path: &std::path::Path) -> Result<Spec, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
    let value = serde_json::to_value(table).map_err(|e| format!("{name}: {e}"))?;
    let settings: ChannelSettings = serde_path_to_error::deserialize(value)
        .map_err(|e| format!("{name}: {}: {}", e.path(), e.inner()))?;
    if settings.adapter != KIND {
        return Err(format!(
            "{name}: adapter: is '{}', not '{KIND}'",
            settings.adapter
        ));
    }
    Spec::from_options(&settings.options).map_err(|e| format!("{name}: {e}"))
}

/// One channel described by its file.
pub struct DeclarativeAdapter {
    channel: String,
    spec: Spec,
    client: Client,
    formats: Formats,
    secret: Secret,
    callback: Option<CallbackSettings>,
}

impl DeclarativeAdapter {
    pub fn new(
        settings: &ChannelSettings,
        http: &UpstreamHttp,
    ) -> Result<DeclarativeAdapter, AdapterBuildError> {
        let fail = |reason: String| AdapterBuildError {
            channel: settings.id.clone(),
            reason,
        };
        // Channel files are `channels/<id>.toml` unless the file sets its own id.
        let spec = Spec::from_options(&settings.options)
            .map_err(|e| fail(format!("channels/{}.toml: {e}", settings.id)))?;
        reqwest::Url::parse(&settings.base_url).map_err(|e| fail(format!("base_url: {e}")))?;
        let base = settings.base_url.trim_end_matches('/');
        // `token_url`, else `base_url` + `options.auth.token_path`.
        let token_url = match (
            settings.token_url.as_deref(),
            spec.options.auth.token_path(),
        ) {
            (Some(url), _) => Some(url.to_owned()),
            (None, Some(path)) => Some(format!("{base}{path}")),
            (None, None) => None,
        }
        .map(|url| reqwest::Url::parse(&url))
        .transpose()
        .map_err(|e| fail(format!("token_url: {e}")))?;
        if spec.options.auth.uses_tokens() && token_url.is_none() {
            return Err(fail(format!(
                "channels/{}.toml: token_url: OAuth2 needs a token endpoint (token_url, or options.auth.token_path below base_url)",
                settings.id
            )));
        }
        let client = Client {
            base: base.to_owned(),
            http: http.client(settings.timeouts).map_err(fail)?,
            auth: Auth::new(
                spec.options.auth.clone(),
                spec.canonical.clone(),
                Credentials {
                    client_id: settings.credentials.client_id.clone(),
                    client_secret: settings.credentials.client_secret.clone(),
                    token_url,
                },
            ),
            errors: spec.options.errors.clone(),
            error_fields: spec.options.error_fields.clone(),
        };
        Ok(DeclarativeAdapter {
            channel: settings.id.clone(),
            formats: Formats {
                minor_unit_digits: spec.options.minor_unit_digits,
                country_code: spec.options.phone_country_code.clone(),
            },
            spec,
            client,
            secret: settings.credentials.client_secret.clone(),
            callback: settings.callback.clone(),
        })
    }

    fn expected<'a>(&self, key: &'a str, amount: rust_decimal::Decimal) -> Expected<'a> {
        Expected {
            idempotency_key: key,
            amount,
            minor_unit_digits: self.formats.minor_unit_digits,
        }
    }

    /// Runs payment operation `name` (answering `Unsupported` when the file does not declare it).
    /// A duplicate refusal of a money-moving request is answered by reading the transaction back.
    async fn payment_op(
        &self,
        name: &'static str,
        unsupported: &'static str,
        p: &PaymentRecord,
        extra: &[(&'static str, &str)],
    ) -> Result<UpstreamPayment, AdapterError> {
        match self.payment_call(name, unsupported, p, extra).await {
            Ok(answer) => Ok(answer),
            Err(CallError::Failed(e)) => Err(e),
            Err(CallError::Duplicate) => {
                let read = self.payment_call("status", "payment status", p, &[]).await;
                read_back(read)
            }
        }
    }

    /// One payment operation, without the duplicate read-back.
    async fn payment_call(
        &self,
        name: &'static str,
        unsupported: &'static str,
        p: &PaymentRecord,
        extra: &[(&'static str, &str)],
    ) -> Result<UpstreamPayment, CallError> {
        let op = self
            .spec
            .ops
            .get(name)
            .ok_or(AdapterError::Unsupported(unsupported))?;
        let mut vars = vars::for_payment(p, &self.formats, self.callback.as_ref())
            .map_err(AdapterError::Refused)?;
        for (k, v) in extra {
            vars.insert(k, (*v).to_owned());
        }
        let body = self.client.call(op, &vars, &p.msisdn).await?;
        let amount = p.payment_amount.charging_information.amount.value();
        Ok(mapping::payment(
            &body,
            &op.response,
            &self.spec.statuses,
            Some(&self.expected(&p.upstream_correlator, amount)),
        )?)
    }

    async fn refund_op(
        &self,
        name: &'static str,
        p: &PaymentRecord,
        r: &RefundRecord,
    ) -> Result<UpstreamRefund, AdapterError> {
        match self.refund_call(name, p, r).await {
            Ok(answer) => Ok(answer),
            Err(CallError::Failed(e)) => Err(e),
            Err(CallError::Duplicate) => read_back(self.refund_call("refund_status", p, r).await),
        }
    }

    async fn refund_call(
        &self,
        name: &'static str,
        p: &PaymentRecord,
        r: &RefundRecord,
    ) -> Result<UpstreamRefund, CallError> {
        let op = self
            .spec
            .ops
            .get(name)
            .ok_or(AdapterError::Unsupported("refund"))?;
        let vars = vars::for_refund(p, r, &self.formats, self.callback.as_ref())
            .map_err(AdapterError::Refused)?;
        let body = self.client.call(op, &vars, &p.msisdn).await?;
        Ok(mapping::refund(
            &body,
            &op.response,
            &self.spec.refund_statuses,
            Some(&self.expected(&r.upstream_correlator, r.amount.value())),
        )?)
    }
}

/// The answer of the status query that follows a duplicate refusal. The upstream said it has the
/// transaction, so a failed read can never mean "not sent": the outcome is unknown.
fn read_back<T>(read: Result<T, CallError>) -> Result<T, AdapterError> {
    match read {
        Ok(answer) => Ok(answer),
        Err(CallError::Failed(e)) => Err(AdapterError::Unknown(format!(
            "the upstream has this transaction, but reading it back failed: {e}"
        ))),
        Err(CallError::Duplicate) => Err(AdapterError::Unknown(
            "the upstream has this transaction, but reading it back failed".into(),
        )),
    }
}

fn logged<T>(channel: &str, op: &str, result: Result<T, AdapterError>) -> Result<T, AdapterError> {
    match &result {
        Ok(_) => tracing::debug!(%channel, op, "upstream answered"),
        Err(AdapterError::Refused(e)) => {
            tracing::info!(%channel, op, code = e.code.as_str(), "upstream refused")
        }
        Err(e) => tracing::warn!(%channel, op, error = %e, "upstream call failed"),
    }
    result
}

#[async_trait]
impl Adapter for DeclarativeAdapter {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        self.spec.capabilities()
    }

    async fn fetch_token(&self) -> Result<(), AdapterError> {
        self.client.auth.token(&self.client.http).await
    }

    fn parse_callback(&self, request: &CallbackRequest) -> Result<CallbackNotice, CallbackError> {
        let result = callback::parse(
            &self.spec,
            self.callback.as_ref(),
            self.secret.expose(),
            request,
        );
        if let Err(e) = &result {
            tracing::info!(channel = %self.channel, error = %e, "callback refused");
        }
        result
    }

    async fn create_payment(&self, p: &PaymentRecord) -> Result<UpstreamPayment, AdapterError> {
        logged(
            &self.channel,
            "create",
            self.payment_op("create", "one-step payment", p, &[]).await,
        )
    }

    async fn prepare_payment(&self, p: &PaymentRecord) -> Result<UpstreamPayment, AdapterError> {
        logged(
            &self.channel,
            "prepare",
            self.payment_op("prepare", "two-step payment", p, &[]).await,
        )
    }

    async fn validate_payment(
        &self,
        p: &PaymentRecord,
        authorization_id: &str,
        code: &str,
    ) -> Result<UpstreamPayment, AdapterError> {
        let extra = [("authorization_id", authorization_id), ("otp", code)];
        logged(
            &self.channel,
            "validate",
            self.payment_op("validate", "payment validation", p, &extra)
                .await,
        )
    }

    async fn confirm_payment(&self, p: &PaymentRecord) -> Result<UpstreamPayment, AdapterError> {
        logged(
            &self.channel,
            "confirm",
            self.payment_op("confirm", "payment confirmation", p, &[])
                .await,
        )
    }

    async fn cancel_payment(&self, p: &PaymentRecord) -> Result<UpstreamPayment, AdapterError> {
        logged(
            &self.channel,
            "cancel",
            self.payment_op("cancel", "payment cancellation", p, &[])
                .await,
        )
    }

    /// The `status` operation; when the upstream has no record and the file allows it
    /// (`replay_when_not_found`), the original request is sent again with the same key.
    async fn payment_status(&self, p: &PaymentRecord) -> Result<UpstreamPayment, AdapterError> {
        let result = match self.payment_op("status", "payment status", p, &[]).await {
            Err(AdapterError::NotFound)
                if self
                    .spec
                    .ops
                    .get("status")
                    .is_some_and(|o| o.replay_when_not_found) =>
            {
                let original = match p.flow {
                    switchboard_core::PaymentFlow::OneStep => "create",
                    switchboard_core::PaymentFlow::TwoStep => "prepare",
                };
                tracing::info!(channel = %self.channel, "no upstream record; replaying the original request");
                self.payment_op(original, "payment status", p, &[]).await
            }
            other => other,
        };
        logged(&self.channel, "status", result)
    }

    async fn create_refund(
        &self,
        p: &PaymentRecord,
        r: &RefundRecord,
    ) -> Result<UpstreamRefund, AdapterError> {
        logged(
            &self.channel,
            "refund",
            self.refund_op("refund", p, r).await,
        )
    }

    async fn refund_status(
        &self,
        p: &PaymentRecord,
        r: &RefundRecord,
    ) -> Result<UpstreamRefund, AdapterError> {
        let result = match self.refund_op("refund_status", p, r).await {
            Err(AdapterError::NotFound)
                if self
                    .spec
                    .ops
                    .get("refund_status")
                    .is_some_and(|o| o.replay_when_not_found) =>
            {
                self.refund_op("refund", p, r).await
            }
            Err(AdapterError::Unsupported(_)) if !self.spec.ops.contains_key("refund_status") => {
                Err(AdapterError::Unsupported("refund status"))
            }
            other => other,
        };
        logged(&self.channel, "refund_status", result)
    }
}
