//! Which store a suite runs on. Every scenario takes an [`Env`] and starts its gateways through it, so
//! the same scenarios run on memory, a single Redis and a Redis Cluster.

use std::sync::Arc;

use switchboard_gateway::config::{Config, StoreBackend};

use crate::gateway::{TestGateway, Timing};

#[derive(Debug)]
enum StoreChoice {
    Memory,
    Redis { url: String },
    Cluster { nodes: Vec<String> },
}

/// A suite's environment: cheap to clone, one per scenario.
#[derive(Debug, Clone)]
pub struct Env {
    store: Arc<StoreChoice>,
}

impl Env {
    pub fn memory() -> Env {
        Env {
            store: Arc::new(StoreChoice::Memory),
        }
    }

    pub fn redis(url: String) -> Env {
        Env {
            store: Arc::new(StoreChoice::Redis { url }),
        }
    }

    pub fn cluster(nodes: Vec<String>) -> Env {
        Env {
            store: Arc::new(StoreChoice::Cluster { nodes }),
        }
    }

    pub fn name(&self) -> &'static str {
        match *self.store {
            StoreChoice::Memory => "memory",
            StoreChoice::Redis { .. } => "redis",
            StoreChoice::Cluster { .. } => "cluster",
        }
    }

    /// Points `config` at this environment's store, in a key namespace of its own so scenarios
    /// sharing one Redis never see each other's data.
    pub fn apply(&self, config: &mut Config) {
        // Scenarios that run several replicas configure shared keys themselves.
        config.auth.allow_ephemeral_keys = true;
        let store = &mut config.store;
        store.prefix = format!("t-{}", uuid::Uuid::new_v4().simple());
        match &*self.store {
            StoreChoice::Memory => store.backend = StoreBackend::Memory,
            StoreChoice::Redis { url } => {
                store.backend = StoreBackend::Redis;
                store.url = switchboard_core::Secret::new(url.clone());
                store.cluster = false;
            }
            StoreChoice::Cluster { nodes } => {
                store.backend = StoreBackend::Redis;
                store.url =
                    switchboard_core::Secret::new(nodes.first().cloned().unwrap_or_default());
                store.cluster = true;
                store.nodes.clone_from(nodes);
            }
        }
    }

    pub async fn start(&self) -> TestGateway {
        self.start_with(Timing::default(), |_| {}).await
    }

    pub async fn start_with(
        &self,
        timing: Timing,
        customize: impl FnOnce(&mut Config),
    ) -> TestGateway {
        TestGateway::start_with(timing, |config| {
            self.apply(config);
            customize(config);
        })
        .await
    }
}
