//! Adapter for CAMARA-native operators: Carrier Billing v0.5 upstream, OAuth2 client credentials.
//!
//! Switchboard holds a 2-legged token for the operator, so every request names the subscriber with
//! `phoneNumber`. The upstream `clientCorrelator` is always the record's `upstream_correlator`
//! (derived from Switchboard's payment id): replaying a create or prepare finds the same upstream
//! payment, which is how a status query settles a call whose answer was lost.
//!
//! - `client.rs`: HTTP, the token cache and the one retry after a 401;
//! - `transformers.rs`: our types ↔ the upstream JSON;
//! - `errors.rs`: the table from upstream errors to [`AdapterError`]s;
//! - `callback.rs`: the `sink` asked for with each payment and refund, and the operator's
//!   CloudEvents read back (when the gateway configured callbacks).

mod callback;
mod client;
mod consent;
mod errors;
mod refunds;
mod transformers;

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::{Method, Url};
use switchboard_adapter::{
    Adapter, AdapterBuildError, AdapterError, CallbackError, CallbackNotice, CallbackRef,
    CallbackRequest, CallbackSettings, Capabilities, Capability, ChannelSettings, UpstreamHttp,
    UpstreamPayment, UpstreamRefund,
};
use switchboard_core::{PaymentFlow, PaymentRecord, RefundRecord};

use crate::client::{CamaraClient, Reply};
use crate::errors::{Op, Outcome};
use crate::transformers::{PaymentRequest, PaymentResponse, PhoneNumberBody, ValidateBody};

/// The adapter kind, as written in channel configuration.
pub const KIND: &str = "camara";

/// The API root below `base_url`.
pub const API_PATH: &str = "carrier-billing/v0.5";
/// The default token endpoint below `base_url`.
pub const TOKEN_PATH: &str = "oauth2/token";

/// Builds the adapter for one channel (an [`switchboard_adapter::AdapterFactory`]).
pub fn factory(
    settings: &ChannelSettings,
    http: &UpstreamHttp,
) -> Result<Arc<dyn Adapter>, AdapterBuildError> {
    Ok(Arc::new(CamaraAdapter::new(settings, http)?))
}

/// One channel to one CAMARA operator.
pub struct CamaraAdapter {
    channel: String,
    client: CamaraClient,
    /// `{base_url}/carrier-billing-refund/v0.3`.
    refund_root: Url,
    /// `{base_url}/consent/v1`.
    consent_root: Url,
    /// Where the operator notifies Switchboard; `None`: no sink is sent.
    callback: Option<CallbackSettings>,
}

impl CamaraAdapter {
    pub fn new(
        settings: &ChannelSettings,
        http: &UpstreamHttp,
    ) -> Result<CamaraAdapter, AdapterBuildError> {
        let fail = |reason: String| AdapterBuildError {
            channel: settings.id.clone(),
            reason,
        };
        let base = http_url("base_url", &settings.base_url).map_err(fail)?;
        let token_url = match settings.token_url.as_deref() {
            Some(url) => http_url("token_url", url).map_err(fail)?,
            None => below(&base, TOKEN_PATH),
        };
        if settings.credentials.client_id.trim().is_empty() {
            return Err(fail("credentials.client_id must not be empty".into()));
        }
        if settings.credentials.client_secret.is_empty() {
            return Err(fail("credentials.client_secret must not be empty".into()));
        }
        if settings.timeouts.request_ms == 0 || settings.timeouts.connect_ms == 0 {
            return Err(fail("timeouts must be above zero".into()));
        }
        let reqwest = http.client(settings.timeouts).map_err(fail)?;
        Ok(CamaraAdapter {
            channel: settings.id.clone(),
            refund_root: below(&base, refunds::REFUND_API_PATH),
            consent_root: below(&base, consent::CONSENT_API_PATH),
            callback: settings.callback.clone(),
            client: CamaraClient::new(
                reqwest,
                token_url,
                below(&base, API_PATH),
                settings.credentials.client_id.clone(),
                settings.credentials.client_secret.clone(),
            ),
        })
    }

    /// `POST /payments` or `/payments/prepare`, and the answer read as a payment.
    async fn submit(
        &self,
        record: &PaymentRecord,
        op: Op,
    ) -> Result<UpstreamPayment, AdapterError> {
        let path: &[&str] = match op {
            Op::Prepare => &["payments", "prepare"],
            _ => &["payments"],
        };
        let reference = CallbackRef::Payment {
            merchant_id: record.merchant_id.clone(),
            payment_id: record.id.clone(),
        };
        let sink = callback::sink(self.callback.as_ref(), &reference, record.created_at);
        let body = PaymentRequest::from(record).with_sink(sink);
        let reply = self
            .client
            .send(Method::POST, path, Some(&body), &record.upstream_correlator)
            .await?;
        if !reply.is_success() {
            return Err(failure(op, &reply, record));
        }
        let answer = PaymentResponse::parse(&reply.body)?;
        answer.check_identity(None, Some(&record.upstream_correlator))?;
        UpstreamPayment::try_from(answer)
    }

    /// `GET /payments/{id}`.
    async fn retrieve(
        &self,
        record: &PaymentRecord,
        upstream_id: &str,
    ) -> Result<UpstreamPayment, AdapterError> {
        let reply = self
            .client
            .send::<()>(
                Method::GET,
                &["payments", upstream_id],
                None,
                &record.upstream_correlator,
            )
            .await?;
        if !reply.is_success() {
            return Err(failure(Op::Retrieve, &reply, record));
        }
        let answer = PaymentResponse::parse(&reply.body)?;
        answer.check_identity(Some(upstream_id), None)?;
        UpstreamPayment::try_from(answer)
    }

    /// validate / confirm / cancel: `POST /payments/{id}/{verb}`, then read the payment. Once the
    /// operator accepted the call, failing to read the payment leaves the outcome unknown.
    async fn act<B: serde::Serialize>(
        &self,
        record: &PaymentRecord,
        op: Op,
        body: &B,
    ) -> Result<UpstreamPayment, AdapterError> {
        let upstream_id = upstream_id(record)?;
        let reply = self
            .client
            .send(
                Method::POST,
                &["payments", upstream_id, op.as_str()],
                Some(body),
                &record.upstream_correlator,
            )
            .await?;
        if !reply.is_success() {
            match errors::classify(op, reply.status.as_u16(), &reply.body, &record.msisdn) {
                Outcome::AlreadyApplied => {
                    tracing::info!(
                        "operator says the {} was already applied; reading the payment",
                        op.as_str()
                    )
                }
                Outcome::Failed(e) => return Err(e),
            }
        }
        self.retrieve(record, upstream_id)
            .await
            .map_err(|e| match e {
                AdapterError::Unknown(m) => {
                    AdapterError::Unknown(format!("{} accepted; {m}", op.as_str()))
                }
                other => AdapterError::Unknown(format!(
                    "{} accepted; reading the payment failed: {other}",
                    op.as_str()
                )),
            })
    }
}

/// A parsed `http(s)://host…` URL, without a trailing slash.
fn http_url(field: &str, text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("{field} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{field} must be http or https, not '{}'",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{field} has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{field} must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{field} must not carry credentials; use [credentials]"
        ));
    }
    Ok(url)
}

/// `base` with `path` appended below it.
fn below(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(path.split('/'));
    }
    url
}

fn upstream_id(record: &PaymentRecord) -> Result<&str, AdapterError> {
    record
        .upstream_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            AdapterError::NotSent(
                "the operator's payment id is not known yet; settle the payment's status first"
                    .into(),
            )
        })
}

/// A non-2xx answer to a call where "already applied" cannot happen.
fn failure(op: Op, reply: &Reply, record: &PaymentRecord) -> AdapterError {
    match errors::classify(op, reply.status.as_u16(), &reply.body, &record.msisdn) {
        Outcome::Failed(e) => e,
        Outcome::AlreadyApplied => {
            AdapterError::Unknown(format!("unexpected conflict on {}", op.as_str()))
        }
    }
}

#[async_trait]
impl Adapter for CamaraAdapter {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&[
            Capability::Payment,
            Capability::TwoStepPayment,
            Capability::PaymentStatus,
            Capability::Refund,
        ])
    }

    async fn fetch_token(&self) -> Result<(), AdapterError> {
        self.client.token().await.map(drop)
    }

    /// A CloudEvent at `{callback url}?ref=…`: the bearer must be that reference's token (checked
    /// first), then the event `type` gives the status (see `callback.rs`).
    fn parse_callback(&self, request: &CallbackRequest) -> Result<CallbackNotice, CallbackError> {
        let result = callback::parse(self.callback.as_ref(), request);
        match &result {
            Ok(_) => tracing::debug!(channel = %self.channel, "operator notification accepted"),
            Err(e) => {
                tracing::info!(channel = %self.channel, error = %e, "operator notification refused")
            }
        }
        result
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, payment_id = %payment.id, op = "create"))]
    async fn create_payment(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        log_result(self.submit(payment, Op::Create).await)
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, payment_id = %payment.id, op = "prepare"))]
    async fn prepare_payment(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        log_result(self.submit(payment, Op::Prepare).await)
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, payment_id = %payment.id, op = "validate"))]
    async fn validate_payment(
        &self,
        payment: &PaymentRecord,
        authorization_id: &str,
        code: &str,
    ) -> Result<UpstreamPayment, AdapterError> {
        let body = ValidateBody {
            authorization_id,
            code,
        };
        log_result(self.act(payment, Op::Validate, &body).await)
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, payment_id = %payment.id, op = "confirm"))]
    async fn confirm_payment(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        log_result(
            self.act(payment, Op::Confirm, &PhoneNumberBody::from(payment))
                .await,
        )
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, payment_id = %payment.id, op = "cancel"))]
    async fn cancel_payment(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        log_result(
            self.act(payment, Op::Cancel, &PhoneNumberBody::from(payment))
                .await,
        )
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, payment_id = %payment.id, refund_id = %refund.id, op = "refund"))]
    async fn create_refund(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<UpstreamRefund, AdapterError> {
        refunds::create(
            &self.client,
            &self.refund_root,
            self.callback.as_ref(),
            payment,
            refund,
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, payment_id = %payment.id, refund_id = %refund.id, op = "refund_status"))]
    async fn refund_status(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<UpstreamRefund, AdapterError> {
        refunds::status(
            &self.client,
            &self.refund_root,
            self.callback.as_ref(),
            payment,
            refund,
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, op = "consent"))]
    async fn request_consent(
        &self,
        msisdn: &switchboard_core::Msisdn,
        scopes: &[String],
    ) -> Result<switchboard_adapter::ConsentTicket, AdapterError> {
        consent::request(&self.client, &self.consent_root, msisdn, scopes).await
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, op = "consent_status"))]
    async fn consent_status(
        &self,
        ticket: &switchboard_adapter::ConsentTicket,
    ) -> Result<switchboard_adapter::ConsentState, AdapterError> {
        consent::status(&self.client, &self.consent_root, ticket).await
    }

    /// With an upstream id: `GET /payments/{id}`. Without one (the create or prepare timed out before
    /// the operator's answer arrived): replay that request with the same `clientCorrelator`; a CAMARA
    /// operator answers an identical replay with the original payment and never charges twice.
    #[tracing::instrument(skip_all, fields(channel = %self.channel, payment_id = %payment.id, op = "status"))]
    async fn payment_status(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        let result = match payment.upstream_id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => self.retrieve(payment, id).await,
            None => {
                let op = match payment.flow {
                    PaymentFlow::OneStep => Op::Create,
                    PaymentFlow::TwoStep => Op::Prepare,
                };
                tracing::info!(
                    replay = op.as_str(),
                    "no upstream id yet; replaying the original request"
                );
                self.submit(payment, op).await
            }
        };
        log_result(result)
    }
}

fn log_result(
    result: Result<UpstreamPayment, AdapterError>,
) -> Result<UpstreamPayment, AdapterError> {
    match &result {
        Ok(p) => tracing::debug!(status = %p.status, "operator answered"),
        Err(AdapterError::Refused(e)) => tracing::info!(code = e.code.as_str(), "operator refused"),
        Err(e) => tracing::warn!(error = %e, "upstream call failed"),
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(
        base_url: &str,
        token_url: Option<&str>,
        id: &str,
        secret: &str,
    ) -> ChannelSettings {
        serde_json::from_value(serde_json::json!({
            "id": "movistar-camara", "adapter": "camara", "base_url": base_url, "token_url": token_url,
            "credentials": {"client_id": id, "client_secret": secret},
            "operators": ["movistar-es"], "capabilities": ["payment"]
        }))
        .unwrap()
    }

    fn build(s: &ChannelSettings) -> Result<CamaraAdapter, AdapterBuildError> {
        CamaraAdapter::new(s, &UpstreamHttp::new())
    }

    #[test]
    fn builds_urls_from_base_url() {
        let a = build(&settings("http://127.0.0.1:9/movistar-es/", None, "c", "s")).unwrap();
        assert_eq!(
            a.client.url(&["payments"]).as_str(),
            "http://127.0.0.1:9/movistar-es/carrier-billing/v0.5/payments"
        );
        let a = build(&settings(
            "https://op.example",
            Some("https://auth.example/token"),
            "c",
            "s",
        ))
        .unwrap();
        assert_eq!(
            a.client.url(&["payments", "prepare"]).as_str(),
            "https://op.example/carrier-billing/v0.5/payments/prepare"
        );
        let adapter = factory(
            &settings("https://op.example", None, "c", "s"),
            &UpstreamHttp::new(),
        )
        .unwrap();
        assert_eq!(adapter.kind(), KIND);
        for c in [
            Capability::Payment,
            Capability::TwoStepPayment,
            Capability::PaymentStatus,
            Capability::Refund,
        ] {
            assert!(adapter.capabilities().contains(c));
        }
        assert!(!adapter.capabilities().contains(Capability::Topup));
    }

    #[test]
    fn below_appends_path() {
        let base = Url::parse("http://h/a/").unwrap();
        assert_eq!(below(&base, TOKEN_PATH).as_str(), "http://h/a/oauth2/token");
        let root = Url::parse("http://h").unwrap();
        assert_eq!(
            below(&root, API_PATH).as_str(),
            "http://h/carrier-billing/v0.5"
        );
    }

    #[test]
    fn rejects_bad_settings_with_clear_reasons() {
        let cases = [
            (
                settings("ftp://op.example", None, "c", "s"),
                "base_url must be http or https",
            ),
            (
                settings("op.example", None, "c", "s"),
                "base_url is not a URL",
            ),
            (
                settings("https://op.example", Some("mailto:x@y"), "c", "s"),
                "token_url must be http or https",
            ),
            (
                settings("https://op.example", None, " ", "s"),
                "client_id must not be empty",
            ),
            (
                settings("https://op.example", None, "c", ""),
                "client_secret must not be empty",
            ),
            (
                settings("https://u:p@op.example", None, "c", "s"),
                "must not carry credentials",
            ),
        ];
        for (s, expected) in cases {
            let err = build(&s)
                .err()
                .unwrap_or_else(|| panic!("{expected}: built"));
            assert!(
                err.reason.contains(expected),
                "{} does not contain {expected}",
                err.reason
            );
            assert_eq!(err.channel, "movistar-camara");
            assert!(!err.to_string().contains(":p@"));
        }
    }

    #[tokio::test]
    async fn actions_without_an_upstream_id_are_not_sent() {
        let a = build(&settings("http://127.0.0.1:9", None, "c", "s")).unwrap();
        let record = transformers::tests::record("two_step", "00");
        for result in [
            a.confirm_payment(&record).await,
            a.cancel_payment(&record).await,
            a.validate_payment(&record, "a", "1").await,
        ] {
            assert!(
                matches!(result, Err(AdapterError::NotSent(_))),
                "{result:?}"
            );
        }
    }
}
