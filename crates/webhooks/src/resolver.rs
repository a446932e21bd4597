//! The DNS resolver of the [`Sender`](crate::Sender)'s HTTP client: static host entries first (like
//! `/etc/hosts`), then the system resolver; a name is refused when ANY address it resolved to is
//! forbidden by the SSRF guard ([`check_resolved`]). The addresses checked are the ones the client
//! connects to, so a name that re-resolves to a private address (DNS rebinding) is caught too.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::ssrf::{check_resolved, AllowList, SsrfError};

/// The error the resolver fails with when the guard refuses a name; the sender finds it in the
/// client error's source chain and reports "address not allowed: …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("address not allowed: {host}: {error}")]
pub(crate) struct Refused {
    pub host: String,
    pub error: SsrfError,
}

pub(crate) fn normalise_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    pub allow: Arc<AllowList>,
    /// Keys normalised with [`normalise_host`].
    pub hosts: Arc<BTreeMap<String, Vec<IpAddr>>>,
}

impl GuardedResolver {
    /// Static entries first, then DNS; then the guard (skipped for an allow-listed host name).
    pub async fn lookup(
        &self,
        name: &str,
    ) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let host = normalise_host(name);
        let addrs: Vec<SocketAddr> = match self.hosts.get(&host) {
            Some(ips) => ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect(),
            None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
        };
        if !self.allow.allows_host(&host) {
            check_resolved(&addrs, &self.allow).map_err(|error| Refused {
                host: host.clone(),
                error,
            })?;
        }
        Ok(addrs)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs = this.lookup(&name).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(allow: &[&str], hosts: &[(&str, &str)]) -> GuardedResolver {
        GuardedResolver {
            allow: Arc::new(AllowList::parse(allow).unwrap()),
            hosts: Arc::new(
                hosts
                    .iter()
                    .map(|(h, ip)| (normalise_host(h), vec![ip.parse().unwrap()]))
                    .collect(),
            ),
        }
    }

    fn refused(err: Box<dyn std::error::Error + Send + Sync>) -> Refused {
        err.downcast_ref::<Refused>().expect("a Refused").clone()
    }

    #[tokio::test]
    async fn static_entries_are_checked_like_dns_answers() {
        let r = resolver(
            &[],
            &[("merchant.test", "10.0.0.5"), ("public.test", "8.8.8.8")],
        );
        let err = refused(r.lookup("Merchant.Test.").await.unwrap_err());
        assert_eq!(err.host, "merchant.test");
        assert!(matches!(err.error, SsrfError::Forbidden { .. }));
        assert_eq!(
            r.lookup("public.test").await.unwrap(),
            vec!["8.8.8.8:0".parse::<SocketAddr>().unwrap()]
        );
    }

    #[tokio::test]
    async fn localhost_is_refused_unless_allow_listed() {
        let r = resolver(&[], &[]);
        assert!(matches!(
            refused(r.lookup("localhost").await.unwrap_err()).error,
            SsrfError::Forbidden { .. }
        ));
        let by_net = resolver(&["127.0.0.0/8", "::1"], &[]);
        assert!(!by_net.lookup("localhost").await.unwrap().is_empty());
        let by_name = resolver(&["sandbox.internal"], &[("sandbox.internal", "10.1.2.3")]);
        assert_eq!(by_name.lookup("sandbox.internal").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_empty_static_entry_is_refused() {
        let mut r = resolver(&[], &[]);
        r.hosts = Arc::new([("nothing.test".to_string(), vec![])].into_iter().collect());
        assert_eq!(
            refused(r.lookup("nothing.test").await.unwrap_err()).error,
            SsrfError::NoAddress
        );
    }
}
