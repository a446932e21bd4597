//! Adapter for Ideabiz-style operator platforms (Dialog LK's Ideabiz and its kind): Carrier
//! Billing v1, 1-step charges only, behind a WSO2 API gateway with OAuth2 password grants.
//!
//! - **Auth**: password grant (platform user from the channel's `options`) with the consumer
//!   key/secret as HTTP Basic; the answer is an access token plus a refresh token, and the pair
//!   rotates on every refresh. See `token.rs` for the single-flight slot.
//! - **Charge**: `POST {base_url}/carrier-billing/v1/payments`, subscriber as `tel:94…` (no `+`),
//!   `clientCorrelator` = the record's `upstream_correlator` (derived from Switchboard's payment
//!   id). The platform **refuses** a repeated `clientCorrelator` (409) instead of replaying it, so
//!   a retry can never charge twice; the adapter answers such a duplicate by reading the existing
//!   payment right away.
//! - **Status**: `GET …/payments/{paymentId}` when the id is known, else
//!   `GET …/payments?clientCorrelator=…`. When the platform has no payment for our correlator
//!   (the charge never got through, e.g. its 502), the status query sends the original charge
//!   again with the same correlator, completing the request the merchant made; the platform's
//!   duplicate refusal makes that safe.
//!
//! - **Notifications**: with callbacks configured, each charge carries a `webhook` with
//!   Switchboard's address and a per-payment token; the platform's notification is verified and
//!   read in `callback.rs`.
//!
//! Files: `settings.rs` (channel settings and `options`), `client.rs` (HTTP, grants, 401 retry),
//! `token.rs` (the pair), `transformers.rs` (our types ↔ the platform's JSON), `errors.rs` (the
//! platform's error table as data), `callback.rs` (the webhook and its notifications).

mod callback;
mod client;
mod errors;
mod settings;
mod token;
mod transformers;

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use switchboard_adapter::{
    Adapter, AdapterBuildError, AdapterError, CallbackError, CallbackNotice, CallbackRequest,
    CallbackSettings, Capabilities, Capability, ChannelSettings, UpstreamHttp, UpstreamPayment,
};
use switchboard_core::{PaymentFlow, PaymentRecord};

use crate::client::{IdeabizClient, Reply};
use crate::errors::{Op, Outcome};
use crate::transformers::{ChargeRequest, PaymentResponse, WebhookRequest};

pub use crate::settings::{
    IdeabizSettings, IdeabizUser, API_PATH, OPTION_PASSWORD, OPTION_SCOPE, OPTION_SERVICE_ID,
    OPTION_USERNAME, TOKEN_PATH,
};
pub use crate::transformers::tel_uri;

/// The adapter kind, as written in channel configuration.
pub const KIND: &str = "ideabiz";

/// Builds the adapter for one channel (an [`switchboard_adapter::AdapterFactory`]). Fails when
/// `options.username` or `options.password` is missing (see [`IdeabizSettings`]).
pub fn factory(
    settings: &ChannelSettings,
    http: &UpstreamHttp,
) -> Result<Arc<dyn Adapter>, AdapterBuildError> {
    Ok(Arc::new(IdeabizAdapter::new(settings, http)?))
}

/// One channel to one Ideabiz platform.
pub struct IdeabizAdapter {
    channel: String,
    service_id: Option<String>,
    client: IdeabizClient,
    /// Where the platform notifies Switchboard; `None`: no webhook is sent.
    callback: Option<CallbackSettings>,
}

impl IdeabizAdapter {
    pub fn new(
        settings: &ChannelSettings,
        http: &UpstreamHttp,
    ) -> Result<IdeabizAdapter, AdapterBuildError> {
        IdeabizAdapter::from_settings(IdeabizSettings::from_channel(settings)?, http)
    }

    /// Builds from already checked settings.
    pub fn from_settings(
        settings: IdeabizSettings,
        http: &UpstreamHttp,
    ) -> Result<IdeabizAdapter, AdapterBuildError> {
        let reqwest = http
            .client(settings.timeouts)
            .map_err(|reason| AdapterBuildError {
                channel: settings.channel.clone(),
                reason,
            })?;
        Ok(IdeabizAdapter {
            client: IdeabizClient::new(reqwest, &settings),
            channel: settings.channel,
            service_id: settings.service_id,
            callback: settings.callback,
        })
    }

    /// The `webhook` registered with a charge, so the platform notifies Switchboard itself:
    /// Switchboard's callback address for this payment and its token. `None` (outcomes learned by
    /// status queries only) when the gateway configured no callbacks.
    fn notification_webhook(&self, payment: &PaymentRecord) -> Option<WebhookRequest> {
        callback::webhook(self.callback.as_ref(), payment)
    }

    /// `POST /payments`. A duplicate refusal means our charge exists: it is read by
    /// `clientCorrelator` and returned; if it cannot be read, the outcome is unknown (never
    /// `NotSent`: the charge may well be applied).
    async fn submit(&self, record: &PaymentRecord) -> Result<UpstreamPayment, AdapterError> {
        let body = ChargeRequest::new(
            record,
            self.service_id.as_deref(),
            self.notification_webhook(record),
        );
        let reply = self
            .client
            .send(Op::Create, Method::POST, &["payments"], None, Some(&body))
            .await?;
        if reply.is_success() {
            return read(&reply, record, None);
        }
        match errors::classify(
            Op::Create,
            reply.status.as_u16(),
            &reply.body,
            &record.msisdn,
        ) {
            Outcome::Failed(e) => Err(e),
            Outcome::Duplicate => {
                tracing::info!("platform refused a duplicate charge; reading the existing one");
                self.lookup(record).await.map_err(|e| match e {
                    AdapterError::NotFound => AdapterError::Unknown(
                        "the platform reports a duplicate but has no payment for our clientCorrelator"
                            .into(),
                    ),
                    AdapterError::Unknown(m) => AdapterError::Unknown(format!("duplicate charge; {m}")),
                    other => AdapterError::Unknown(format!(
                        "duplicate charge; reading it failed: {other}"
                    )),
                })
            }
        }
    }

    /// `GET /payments/{paymentId}`.
    async fn retrieve(
        &self,
        record: &PaymentRecord,
        upstream_id: &str,
    ) -> Result<UpstreamPayment, AdapterError> {
        let reply = self
            .client
            .send::<()>(
                Op::Retrieve,
                Method::GET,
                &["payments", upstream_id],
                None,
                None,
            )
            .await?;
        if !reply.is_success() {
            return Err(failure(Op::Retrieve, &reply, record));
        }
        read(&reply, record, Some(upstream_id))
    }

    /// `GET /payments?clientCorrelator=…`.
    async fn lookup(&self, record: &PaymentRecord) -> Result<UpstreamPayment, AdapterError> {
        let reply = self
            .client
            .send::<()>(
                Op::Lookup,
                Method::GET,
                &["payments"],
                Some(("clientCorrelator", &record.upstream_correlator)),
                None,
            )
            .await?;
        if !reply.is_success() {
            return Err(failure(Op::Lookup, &reply, record));
        }
        read(&reply, record, None)
    }
}

/// A 2xx answer read as a payment about `record`.
fn read(
    reply: &Reply,
    record: &PaymentRecord,
    upstream_id: Option<&str>,
) -> Result<UpstreamPayment, AdapterError> {
    let answer = PaymentResponse::parse(&reply.body)?;
    answer.check_identity(upstream_id, &record.upstream_correlator, &record.msisdn)?;
    UpstreamPayment::try_from(answer)
}

/// A non-2xx answer to a status query (a duplicate cannot happen there).
fn failure(op: Op, reply: &Reply, record: &PaymentRecord) -> AdapterError {
    match errors::classify(op, reply.status.as_u16(), &reply.body, &record.msisdn) {
        Outcome::Failed(e) => e,
        Outcome::Duplicate => {
            AdapterError::Unknown(format!("unexpected conflict on {}", op.as_str()))
        }
    }
}

#[async_trait]
impl Adapter for IdeabizAdapter {
    fn kind(&self) -> &'static str {
        KIND
    }

    /// 1-step charges and status queries only: prepare/validate/confirm/cancel keep the trait's
    /// `Unsupported` answer.
    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&[Capability::Payment, Capability::PaymentStatus])
    }

    /// The platform's notification at `{callback url}?ref=…`: the bearer must be that reference's
    /// token (checked first), then the body is read like a status answer (see `callback.rs`).
    fn parse_callback(&self, request: &CallbackRequest) -> Result<CallbackNotice, CallbackError> {
        let result = callback::parse(self.callback.as_ref(), request);
        match &result {
            Ok(_) => tracing::debug!(channel = %self.channel, "platform notification accepted"),
            Err(e) => {
                tracing::info!(channel = %self.channel, error = %e, "platform notification refused")
            }
        }
        result
    }

    /// The platform's password grant (or the cached pair, renewed when due): what a contract check
    /// tries before any charge.
    async fn fetch_token(&self) -> Result<(), AdapterError> {
        self.client.token().await.map(|_| ())
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, payment_id = %payment.id, op = "create"))]
    async fn create_payment(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        log_result(self.submit(payment).await)
    }

    /// With an upstream id: `GET /payments/{id}` (404 → [`AdapterError::NotFound`]). Without one:
    /// `GET /payments?clientCorrelator=…`; when the platform has no such payment the charge never
    /// got through, so it is sent again with the same `clientCorrelator` (the platform refuses
    /// duplicates, so this cannot charge twice) and its answer returned.
    #[tracing::instrument(skip_all, fields(channel = %self.channel, payment_id = %payment.id, op = "status"))]
    async fn payment_status(
        &self,
        payment: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        if payment.flow == PaymentFlow::TwoStep {
            return Err(AdapterError::Unsupported("two-step payment"));
        }
        let result = match payment.upstream_id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => self.retrieve(payment, id).await,
            None => match self.lookup(payment).await {
                Err(AdapterError::NotFound) => {
                    tracing::info!(
                        "no payment for our clientCorrelator; sending the original charge again"
                    );
                    self.submit(payment).await
                }
                other => other,
            },
        };
        log_result(result)
    }
}

fn log_result(
    result: Result<UpstreamPayment, AdapterError>,
) -> Result<UpstreamPayment, AdapterError> {
    match &result {
        Ok(p) => tracing::debug!(status = %p.status, "platform answered"),
        Err(AdapterError::Refused(e)) => tracing::info!(code = e.code.as_str(), "platform refused"),
        Err(e) => tracing::warn!(error = %e, "upstream call failed"),
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::channel;
    use serde_json::json;

    #[test]
    fn factory_builds_a_one_step_adapter() {
        let adapter = factory(
            &channel(
                "https://ideabiz.lk/apicall",
                json!({"username": "u", "password": "p"}),
            ),
            &UpstreamHttp::new(),
        )
        .unwrap();
        assert_eq!(adapter.kind(), KIND);
        let caps = adapter.capabilities();
        assert!(caps.contains(Capability::Payment) && caps.contains(Capability::PaymentStatus));
        assert!(!caps.contains(Capability::TwoStepPayment) && !caps.contains(Capability::Refund));
    }

    #[test]
    fn factory_names_missing_options() {
        let err = factory(
            &channel("https://ideabiz.lk", json!({})),
            &UpstreamHttp::new(),
        )
        .err()
        .unwrap();
        assert!(err.reason.contains("options.username is required"), "{err}");
    }

    #[tokio::test]
    async fn two_step_operations_are_unsupported_without_a_call() {
        // Nothing listens on port 9: any upstream call would be NotSent, not Unsupported.
        let a = IdeabizAdapter::new(
            &channel(
                "http://127.0.0.1:9",
                json!({"username": "u", "password": "p"}),
            ),
            &UpstreamHttp::new(),
        )
        .unwrap();
        let record = transformers::tests::record("00");
        for result in [
            a.prepare_payment(&record).await,
            a.confirm_payment(&record).await,
            a.cancel_payment(&record).await,
            a.validate_payment(&record, "a", "1").await,
        ] {
            assert!(
                matches!(result, Err(AdapterError::Unsupported(_))),
                "{result:?}"
            );
        }
        let mut two_step = record;
        two_step.flow = PaymentFlow::TwoStep;
        assert!(matches!(
            a.payment_status(&two_step).await,
            Err(AdapterError::Unsupported(_))
        ));
    }
}
