//! How to reach Redis: `[store.redis]` in the configuration.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Connection settings of the Redis backend. Every field has a default, so a configuration file
/// may set only what differs.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct RedisSettings {
    /// Single node: `redis://[user:password@]host:port[/db]` (`rediss://` is not compiled in).
    pub url: String,
    /// Use Redis Cluster with `cluster_nodes` as the seed nodes.
    pub cluster: bool,
    /// Seed node URLs when `cluster` is set (empty: `url` alone).
    pub cluster_nodes: Vec<String>,
    /// Namespace of every key (no `{` or `}`).
    pub prefix: String,
    /// Keys the hash that stands for a phone number in key names (the same on every replica).
    /// Empty: the prefix keys it, which hides numbers from a glance but not from a search.
    pub subscriber_key_secret: String,
    /// How long an idempotency key (`clientCorrelator`, `referenceCode`) stays claimed.
    pub idempotency_ttl_secs: u64,
    /// How long one command may wait for its answer.
    pub response_timeout_ms: u64,
    /// How long one connection attempt may take.
    pub connect_timeout_ms: u64,
    /// Replicas that must hold a new claim (payment, refund, top-up) before it is acknowledged,
    /// and so before the operator is called (`WAIT`). 0: the master's word is enough; a master that
    /// dies before replicating may then lose a claim whose charge went through.
    pub claim_replicas: u32,
}

impl RedisSettings {
    pub const DEFAULT_URL: &'static str = "redis://127.0.0.1:6379";
    pub const DEFAULT_PREFIX: &'static str = "sb";
    pub const DEFAULT_IDEMPOTENCY_TTL_SECS: u64 = 30 * 24 * 3600;
    pub const DEFAULT_RESPONSE_TIMEOUT_MS: u64 = 1000;
    pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 1000;

    pub(crate) fn response_timeout(&self) -> Duration {
        Duration::from_millis(self.response_timeout_ms)
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// The longest a store call may take before it answers `Unavailable`: one connection attempt
    /// plus one answer.
    pub(crate) fn call_deadline(&self) -> Duration {
        self.connect_timeout() + self.response_timeout()
    }

    pub(crate) fn subscriber_secret(&self) -> &[u8] {
        if self.subscriber_key_secret.is_empty() {
            self.prefix.as_bytes()
        } else {
            self.subscriber_key_secret.as_bytes()
        }
    }

    pub(crate) fn idempotency_ttl_ms(&self) -> u64 {
        self.idempotency_ttl_secs.saturating_mul(1000)
    }

    /// Seed nodes of a cluster.
    pub(crate) fn seeds(&self) -> Vec<&str> {
        if self.cluster_nodes.is_empty() {
            vec![self.url.as_str()]
        } else {
            self.cluster_nodes.iter().map(String::as_str).collect()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let invalid = |what: &str| Err(StoreError::Unavailable(format!("redis settings: {what}")));
        if self.prefix.is_empty() || self.prefix.contains(['{', '}']) {
            return invalid("prefix must be non-empty and hold no '{' or '}'");
        }
        if self.idempotency_ttl_secs == 0 {
            return invalid("idempotency_ttl_secs must be above 0");
        }
        if self.response_timeout_ms == 0 || self.connect_timeout_ms == 0 {
            return invalid("timeouts must be above 0 ms");
        }
        Ok(())
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings {
            url: Self::DEFAULT_URL.into(),
            cluster: false,
            cluster_nodes: Vec::new(),
            prefix: Self::DEFAULT_PREFIX.into(),
            subscriber_key_secret: String::new(),
            idempotency_ttl_secs: Self::DEFAULT_IDEMPOTENCY_TTL_SECS,
            response_timeout_ms: Self::DEFAULT_RESPONSE_TIMEOUT_MS,
            connect_timeout_ms: Self::DEFAULT_CONNECT_TIMEOUT_MS,
            claim_replicas: 0,
        }
    }
}

/// URLs may carry a password: `Debug` shows them with the user information masked.
impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: Vec<String> = self.cluster_nodes.iter().map(|u| redact(u)).collect();
        f.debug_struct("RedisSettings")
            .field("url", &redact(&self.url))
            .field("cluster", &self.cluster)
            .field("cluster_nodes", &nodes)
            .field("prefix", &self.prefix)
            .field("idempotency_ttl_secs", &self.idempotency_ttl_secs)
            .field("response_timeout_ms", &self.response_timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .finish()
    }
}

/// `redis://user:pw@host:port/0` → `redis://***@host:port/0`.
pub(crate) fn redact(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_partial_configuration() {
        let s = RedisSettings::default();
        assert_eq!(s.url, "redis://127.0.0.1:6379");
        assert_eq!((s.prefix.as_str(), s.cluster), ("sb", false));
        assert_eq!(s.idempotency_ttl_secs, 2_592_000);
        assert_eq!((s.response_timeout_ms, s.connect_timeout_ms), (1000, 1000));
        let partial: RedisSettings =
            serde_json::from_str(r#"{"url": "redis://cache:6380", "prefix": "x"}"#).unwrap();
        assert_eq!(partial.url, "redis://cache:6380");
        assert_eq!(partial.idempotency_ttl_secs, 2_592_000);
        s.validate().unwrap();
    }

    #[test]
    fn debug_masks_passwords() {
        let s = RedisSettings {
            url: "redis://user:hunter2@cache:6379/0".into(),
            cluster_nodes: vec!["redis://:hunter2@node1:7000".into()],
            ..Default::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redis://***@cache:6379/0"), "{shown}");
        assert_eq!(redact("redis://cache:6379"), "redis://cache:6379");
    }

    #[test]
    fn refuses_settings_that_would_break_the_layout() {
        for bad in [
            RedisSettings {
                prefix: "a{b".into(),
                ..Default::default()
            },
            RedisSettings {
                prefix: String::new(),
                ..Default::default()
            },
            RedisSettings {
                idempotency_ttl_secs: 0,
                ..Default::default()
            },
            RedisSettings {
                response_timeout_ms: 0,
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
