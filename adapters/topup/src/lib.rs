//! Adapter for top-up aggregators: operator lookup, the product catalogue, idempotent top-ups
//! and eSIM orders, over a REST API with a static API key (the GlobalTopUp-style API).
//!
//! The upstream `external_tx_id` is always the record's `upstream_reference` (derived from
//! Switchboard's top-up id): repeating a top-up finds the same upstream transaction and credits
//! nothing more, which is how a status query settles a call whose answer was lost.
//!
//! - `settings.rs`: the channel configuration this adapter needs;
//! - `client.rs`: HTTP with the API key;
//! - `transformers.rs`: our types ↔ the provider's JSON;
//! - `errors.rs`: the table from provider errors to [`AdapterError`]s;
//! - `webhooks.rs` / `callback.rs`: Switchboard's webhook registered with the provider at start,
//!   and the provider's signed events read back (when the gateway configured callbacks).

mod callback;
mod client;
mod errors;
mod settings;
mod transformers;
mod webhooks;

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use switchboard_adapter::{
    Adapter, AdapterBuildError, AdapterError, CallbackError, CallbackNotice, CallbackRequest,
    CallbackSettings, Capabilities, Capability, ChannelSettings, UpstreamHttp, UpstreamTopUp,
};
use switchboard_core::{EsimOrder, LookupResult, Msisdn, Product, ProductType, TopUpRecord};

use crate::client::{Reply, TopUpClient};
use crate::errors::Op;
use crate::settings::{OperatorIds, PhoneFormat, Settings};
use crate::transformers::{EsimBody, LookupBody, TopUpBody, TransactionAnswer};

/// The adapter kind, as written in channel configuration.
pub const KIND: &str = "topup";

/// Builds the adapter for one channel (an [`switchboard_adapter::AdapterFactory`]).
pub fn factory(
    settings: &ChannelSettings,
    http: &UpstreamHttp,
) -> Result<Arc<dyn Adapter>, AdapterBuildError> {
    Ok(Arc::new(TopUpAdapter::new(settings, http)?))
}

/// One channel to one top-up provider.
pub struct TopUpAdapter {
    channel: String,
    client: TopUpClient,
    phone_format: PhoneFormat,
    operator_ids: OperatorIds,
    /// Where the provider's webhook delivers events; `None`: nothing is registered.
    callback: Option<CallbackSettings>,
}

impl TopUpAdapter {
    pub fn new(
        settings: &ChannelSettings,
        http: &UpstreamHttp,
    ) -> Result<TopUpAdapter, AdapterBuildError> {
        let checked = Settings::from_channel(settings)?;
        let reqwest = http
            .client(settings.timeouts)
            .map_err(|reason| AdapterBuildError {
                channel: settings.id.clone(),
                reason,
            })?;
        Ok(TopUpAdapter {
            channel: settings.id.clone(),
            client: TopUpClient::new(reqwest, checked.api_root, checked.api_key),
            phone_format: checked.phone_format,
            operator_ids: checked.operator_ids,
            callback: settings.callback.clone(),
        })
    }

    /// The catalogue filtered by the provider (`?operator_id=&type=`); `operator_id` is
    /// Switchboard's id. [`Adapter::products`] is this without filters.
    #[tracing::instrument(skip_all, fields(channel = %self.channel, op = "products"))]
    pub async fn products_filtered(
        &self,
        operator_id: Option<&str>,
        product_type: Option<ProductType>,
    ) -> Result<Vec<Product>, AdapterError> {
        let theirs = operator_id.map(|o| self.operator_ids.theirs(o));
        let mut query = Vec::new();
        if let Some(o) = theirs.as_deref() {
            query.push(("operator_id", o));
        }
        if let Some(t) = product_type {
            query.push(("type", t.as_str()));
        }
        let result = async {
            let reply = self
                .client
                .send::<()>(Method::GET, &["telecom", "products"], &query, None)
                .await?;
            let body = success(Op::Products, reply)?;
            let catalogue = transformers::products(&body, &self.operator_ids)?;
            for (id, reason) in &catalogue.skipped {
                tracing::warn!(product = %id, %reason, "catalogue entry skipped");
            }
            tracing::debug!(
                products = catalogue.products.len(),
                skipped = catalogue.skipped.len(),
                "catalogue read"
            );
            Ok(catalogue.products)
        }
        .await;
        log_failure(result)
    }

    fn phone(&self, msisdn: &Msisdn) -> String {
        self.phone_format.render(msisdn)
    }

    /// `POST /telecom/topup` with the record's reference: a first request or an idempotent repeat.
    async fn submit(&self, topup: &TopUpRecord) -> Result<UpstreamTopUp, AdapterError> {
        if topup.upstream_reference.trim().is_empty() {
            return Err(AdapterError::NotSent(
                "the top-up has no upstream reference".into(),
            ));
        }
        let body = TopUpBody {
            phone: self.phone(&topup.msisdn),
            product_id: &topup.product_id,
            external_tx_id: &topup.upstream_reference,
            amount: topup.amount,
        };
        let reply = self
            .client
            .send(Method::POST, &["telecom", "topup"], &[], Some(&body))
            .await?;
        let answer = TransactionAnswer::parse(&success(Op::TopUp, reply)?)?;
        answer.check_identity(None, &topup.upstream_reference)?;
        UpstreamTopUp::try_from(answer)
    }

    /// `GET /telecom/topup/{tx_id}`.
    async fn retrieve(
        &self,
        topup: &TopUpRecord,
        tx_id: &str,
    ) -> Result<UpstreamTopUp, AdapterError> {
        let reply = self
            .client
            .send::<()>(Method::GET, &["telecom", "topup", tx_id], &[], None)
            .await?;
        let answer = TransactionAnswer::parse(&success(Op::Status, reply)?)?;
        answer.check_identity(Some(tx_id), &topup.upstream_reference)?;
        UpstreamTopUp::try_from(answer)
    }
}

/// The body of a 2xx answer, or the classified failure.
fn success(op: Op, reply: Reply) -> Result<Vec<u8>, AdapterError> {
    if reply.is_success() {
        Ok(reply.body)
    } else {
        Err(errors::classify(op, reply.status.as_u16(), &reply.body))
    }
}

fn log_failure<T>(result: Result<T, AdapterError>) -> Result<T, AdapterError> {
    match &result {
        Ok(_) => {}
        Err(AdapterError::Refused(e)) => tracing::info!(code = e.code.as_str(), "provider refused"),
        Err(e) => tracing::warn!(error = %e, "provider call failed"),
    }
    result
}

fn log_topup(result: Result<UpstreamTopUp, AdapterError>) -> Result<UpstreamTopUp, AdapterError> {
    if let Ok(t) = &result {
        tracing::debug!(status = %t.status, "provider answered");
    }
    log_failure(result)
}

#[async_trait]
impl Adapter for TopUpAdapter {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&[Capability::Topup, Capability::Lookup])
    }

    /// A signed event from the provider's webhook: the Standard Webhooks signature and timestamp
    /// are checked first, then `data` is read like a status answer (see `callback.rs`).
    fn parse_callback(&self, request: &CallbackRequest) -> Result<CallbackNotice, CallbackError> {
        let now = chrono::Utc::now().timestamp();
        let result = callback::parse(self.callback.as_ref(), request, now);
        match &result {
            Ok(_) => tracing::debug!(channel = %self.channel, "provider event accepted"),
            Err(e) => tracing::info!(channel = %self.channel, error = %e, "provider event refused"),
        }
        result
    }

    /// `POST /webhooks` with Switchboard's callback URL and the derived secret (idempotent per
    /// URL at the provider); nothing without callbacks.
    #[tracing::instrument(skip_all, fields(channel = %self.channel, op = "register_webhook"))]
    async fn register_callbacks(&self) -> Result<(), AdapterError> {
        let Some(callback) = &self.callback else {
            return Ok(());
        };
        let result = webhooks::register(&self.client, callback).await;
        if result.is_ok() {
            tracing::info!("webhook registered with the provider");
        }
        log_failure(result)
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, op = "lookup", msisdn = %msisdn.masked()))]
    async fn lookup(&self, msisdn: &Msisdn) -> Result<LookupResult, AdapterError> {
        let result = async {
            let body = LookupBody {
                phone: self.phone(msisdn),
            };
            let reply = self
                .client
                .send(Method::POST, &["telecom", "lookup"], &[], Some(&body))
                .await?;
            transformers::lookup(&success(Op::Lookup, reply)?, &self.operator_ids)
        }
        .await;
        log_failure(result)
    }

    async fn products(&self) -> Result<Vec<Product>, AdapterError> {
        self.products_filtered(None, None).await
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, op = "topup", topup_id = %topup.id, msisdn = %topup.msisdn.masked()))]
    async fn topup(&self, topup: &TopUpRecord) -> Result<UpstreamTopUp, AdapterError> {
        log_topup(self.submit(topup).await)
    }

    /// With an upstream id: `GET /telecom/topup/{tx_id}`. Without one (the top-up's answer was
    /// lost): repeat the top-up with the same `external_tx_id`; the provider answers a repeat with
    /// the original transaction and credits nothing more.
    #[tracing::instrument(skip_all, fields(channel = %self.channel, op = "topup_status", topup_id = %topup.id, msisdn = %topup.msisdn.masked()))]
    async fn topup_status(&self, topup: &TopUpRecord) -> Result<UpstreamTopUp, AdapterError> {
        let result = match topup.upstream_tx_id.as_deref().filter(|id| !id.is_empty()) {
            Some(tx_id) => self.retrieve(topup, tx_id).await,
            None => {
                tracing::info!(
                    "no upstream tx_id yet; repeating the top-up with the same external_tx_id"
                );
                self.submit(topup).await
            }
        };
        log_topup(result)
    }

    #[tracing::instrument(skip_all, fields(channel = %self.channel, op = "esim_order", product_id = %product_id))]
    async fn esim_order(
        &self,
        product_id: &str,
        reference: &str,
    ) -> Result<EsimOrder, AdapterError> {
        let result = async {
            let body = EsimBody {
                product_id,
                external_order_id: reference,
            };
            let reply = self
                .client
                .send(Method::POST, &["esim", "orders"], &[], Some(&body))
                .await?;
            transformers::esim_order(&success(Op::Esim, reply)?, product_id, reference)
        }
        .await;
        log_failure(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base_url: &str) -> ChannelSettings {
        serde_json::from_value(serde_json::json!({
            "id": "globaltopup", "adapter": KIND, "base_url": base_url,
            "credentials": {"client_secret": "k"}, "operators": ["mts-ru"],
            "capabilities": ["topup", "lookup"]
        }))
        .unwrap()
    }

    #[test]
    fn builds_with_topup_and_lookup_capabilities() {
        let adapter = factory(
            &settings("http://127.0.0.1:9/globaltopup"),
            &UpstreamHttp::new(),
        )
        .unwrap();
        assert_eq!(adapter.kind(), "topup");
        let caps = adapter.capabilities();
        assert!(caps.contains(Capability::Topup) && caps.contains(Capability::Lookup));
        assert!(!caps.contains(Capability::Payment));
        let err = factory(&settings("nope"), &UpstreamHttp::new())
            .err()
            .unwrap();
        assert_eq!(err.channel, "globaltopup");
    }
}
