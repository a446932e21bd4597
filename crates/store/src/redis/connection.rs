//! One connection type for both deployments, so every store method is written once:
//! a single node behind a [`ConnectionManager`] (reconnects by itself) or a Redis Cluster.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};

use super::settings::RedisSettings;
use crate::StoreError;

/// Cheap to clone: both variants are handles onto shared, multiplexed connections.
#[derive(Clone)]
pub(crate) enum Connection {
    Single(Arc<SingleNode>),
    Cluster(ClusterConnection),
}

/// A single node's [`ConnectionManager`], replaced by a fresh one when a command times out.
///
/// The manager reconnects when the connection breaks, but not when it goes silent: a flow that a
/// NAT or firewall drops without a reset (or a Redis host that vanished) leaves a socket on which
/// every command times out until TCP keepalive gives up, hours later. A timeout therefore opens a
/// new connection; commands already in flight on the old one finish or time out on their own.
pub(crate) struct SingleNode {
    /// The manager in use and its generation (how many times it was replaced).
    current: RwLock<(u64, ConnectionManager)>,
    client: redis::Client,
    config: ConnectionManagerConfig,
}

impl SingleNode {
    fn new(client: redis::Client, config: ConnectionManagerConfig) -> redis::RedisResult<Self> {
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?;
        Ok(SingleNode {
            current: RwLock::new((0, manager)),
            client,
            config,
        })
    }

    fn manager(&self) -> (u64, ConnectionManager) {
        self.current.read().expect("connection lock").clone()
    }

    /// After a timeout on generation `failed`: swaps in a new lazy manager, unless another
    /// caller already did.
    fn after_timeout(&self, failed: u64) {
        let mut current = self.current.write().expect("connection lock");
        if current.0 != failed {
            return;
        }
        if let Ok(fresh) =
            ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
        {
            *current = (failed + 1, fresh);
        }
    }

    fn checked<T>(&self, generation: u64, result: redis::RedisResult<T>) -> redis::RedisResult<T> {
        if matches!(&result, Err(e) if e.is_timeout()) {
            self.after_timeout(generation);
        }
        result
    }
}

impl Connection {
    /// Builds the connection without waiting for Redis: the first command connects, and a store
    /// created while Redis is down starts working when it comes up. Needs a Tokio runtime.
    pub(crate) fn open(settings: &RedisSettings) -> Result<Connection, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Unavailable(
                "redis store must be created inside a Tokio runtime".into(),
            ));
        }
        if settings.cluster {
            open_cluster(settings)
        } else {
            open_single(settings)
        }
    }
}

fn open_single(settings: &RedisSettings) -> Result<Connection, StoreError> {
    let client = redis::Client::open(settings.url.as_str()).map_err(|e| invalid_url(&e))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(settings.connect_timeout()))
        .set_response_timeout(Some(settings.response_timeout()))
        // One quick retry per reconnection; the next call starts another round, so a store never
        // waits long on a Redis that is down and never needs a restart when it is back.
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(200));
    let node = SingleNode::new(client, config).map_err(|e| unavailable("connect", &e))?;
    Ok(Connection::Single(Arc::new(node)))
}

fn open_cluster(settings: &RedisSettings) -> Result<Connection, StoreError> {
    let client = ClusterClientBuilder::new(settings.seeds())
        .connection_timeout(settings.connect_timeout())
        .response_timeout(settings.response_timeout())
        .overall_response_timeout(Some(settings.call_deadline()))
        .retries(2)
        .build()
        .map_err(|e| invalid_url(&e))?;
    let config = ClusterConfig::new()
        .set_connection_timeout(settings.connect_timeout())
        .set_response_timeout(settings.response_timeout());
    Ok(Connection::Cluster(
        client.get_pending_async_connection_with_config(config),
    ))
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(node) => Box::pin(async move {
                let (generation, mut manager) = node.manager();
                let result = manager.req_packed_command(cmd).await;
                node.checked(generation, result)
            }),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(node) => Box::pin(async move {
                let (generation, mut manager) = node.manager();
                let result = manager.req_packed_commands(pipeline, offset, count).await;
                node.checked(generation, result)
            }),
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(node) => node.manager().1.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

impl Connection {
    /// `WAIT replicas timeout` on the connection that wrote `key` (for a cluster: to the master of
    /// its slot), which covers every write made on that connection before. The replicas that
    /// acknowledged.
    pub(crate) async fn wait_for_replicas(
        &self,
        key: &str,
        replicas: u32,
        timeout: Duration,
    ) -> redis::RedisResult<u32> {
        let mut cmd = redis::cmd("WAIT");
        cmd.arg(replicas).arg(timeout.as_millis() as u64);
        let acked = match self {
            Connection::Single(_) => {
                let mut conn = self.clone();
                cmd.query_async::<i64>(&mut conn).await?
            }
            Connection::Cluster(c) => {
                use redis::cluster_routing::{
                    Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr,
                };
                let route = Route::with_slot(Slot::for_key(key), SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                let reply = c.clone().route_command(cmd, routing).await?;
                redis::from_redis_value::<i64>(reply)?
            }
        };
        Ok(u32::try_from(acked).unwrap_or(0))
    }
}

/// A Redis failure as callers see it. Only the error's category and server code are kept:
/// the driver's own text may name hosts or carry a URL.
pub(crate) fn unavailable(op: &str, err: &RedisError) -> StoreError {
    let what = if err.is_timeout() {
        "timed out".to_string()
    } else if err.is_connection_refusal() {
        "connection refused".to_string()
    } else if err.is_connection_dropped() {
        "connection dropped".to_string()
    } else {
        match err.code() {
            Some(code) => format!("{} ({code})", err.category()),
            None => err.category().to_string(),
        }
    };
    StoreError::Unavailable(format!("redis {op}: {what}"))
}

fn invalid_url(err: &RedisError) -> StoreError {
    StoreError::Unavailable(format!("redis settings: invalid url ({})", err.category()))
}
