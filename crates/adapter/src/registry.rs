//! Adapter kind → constructor. Adding an adapter crate is one `register` line in the gateway.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::channel::ChannelSettings;
use crate::error::AdapterBuildError;
use crate::http::UpstreamHttp;
use crate::Adapter;

/// Builds an adapter for one channel.
pub type AdapterFactory =
    fn(&ChannelSettings, &UpstreamHttp) -> Result<Arc<dyn Adapter>, AdapterBuildError>;

#[derive(Default, Clone)]
pub struct AdapterRegistry {
    factories: BTreeMap<&'static str, AdapterFactory>,
}

impl AdapterRegistry {
    pub fn new() -> Self {
        AdapterRegistry::default()
    }

    /// Registers `kind`; a second registration of the same kind replaces the first.
    pub fn register(&mut self, kind: &'static str, factory: AdapterFactory) -> &mut Self {
        self.factories.insert(kind, factory);
        self
    }

    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.factories.keys().copied()
    }

    pub fn build(
        &self,
        settings: &ChannelSettings,
        http: &UpstreamHttp,
    ) -> Result<Arc<dyn Adapter>, AdapterBuildError> {
        let factory = self
            .factories
            .get(settings.adapter.as_str())
            .ok_or_else(|| AdapterBuildError {
                channel: settings.id.clone(),
                reason: format!(
                    "unknown adapter '{}' (known: {})",
                    settings.adapter,
                    self.kinds().collect::<Vec<_>>().join(", ")
                ),
            })?;
        factory(settings, http)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Capabilities, Capability};
    use async_trait::async_trait;

    struct Nothing;

    #[async_trait]
    impl Adapter for Nothing {
        fn kind(&self) -> &'static str {
            "nothing"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::of(&[Capability::Payment])
        }
    }

    fn nothing(
        _: &ChannelSettings,
        _: &UpstreamHttp,
    ) -> Result<Arc<dyn Adapter>, AdapterBuildError> {
        Ok(Arc::new(Nothing))
    }

    fn settings(adapter: &str) -> ChannelSettings {
        toml_like(adapter)
    }

    fn toml_like(adapter: &str) -> ChannelSettings {
        serde_json::from_value(serde_json::json!({
            "id": "ch", "adapter": adapter, "base_url": "http://x", "operators": ["op"],
            "capabilities": ["payment"]
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn builds_registered_kinds_and_names_unknown_ones() {
        let mut reg = AdapterRegistry::new();
        reg.register("nothing", nothing);
        let adapter = reg
            .build(&settings("nothing"), &UpstreamHttp::new())
            .unwrap();
        assert_eq!(adapter.kind(), "nothing");
        let err = reg
            .build(&settings("smoke-signals"), &UpstreamHttp::new())
            .err()
            .unwrap();
        assert!(err.reason.contains("smoke-signals") && err.reason.contains("nothing"));
    }

    #[tokio::test]
    async fn unoffered_operations_are_errors_not_panics() {
        let adapter = nothing(&settings("nothing"), &UpstreamHttp::new()).unwrap();
        let record: switchboard_core::PaymentRecord =
            serde_json::from_value(crate::token::tests_support::record_json()).unwrap();
        assert!(matches!(
            adapter.prepare_payment(&record).await,
            Err(crate::AdapterError::Unsupported(_))
        ));
        assert!(matches!(
            adapter.payment_status(&record).await,
            Err(crate::AdapterError::Unsupported(_))
        ));
    }
}
