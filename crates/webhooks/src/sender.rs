//! One HTTP attempt at one delivery: `POST {endpoint.url}` with the exact stored body, the Standard
//! Webhooks headers and the sink's bearer, through a client that never follows redirects and whose
//! resolver refuses forbidden addresses (see [`crate::ssrf`]). The request goes to the URL exactly as
//! the guard parsed and judged it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use switchboard_store::Delivery;

use crate::cloudevents;
use crate::resolver::{normalise_host, GuardedResolver, Refused};
use crate::retry::{parse_retry_after, Attempt};
use crate::signing::{self, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use crate::ssrf::{check_url, AllowList, SsrfError};

/// At most this much of a response body is read (and then ignored).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024;
/// The header that carries the request's correlator.
pub const HEADER_CORRELATOR: &str = "x-correlator";

/// How the [`Sender`] reaches merchants.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Whole attempt: connect, TLS, request, response headers (and the capped body read).
    pub timeout: Duration,
    /// TCP connect alone.
    pub connect_timeout: Duration,
    /// Hosts and networks exempt from the SSRF guard (they may also use plain `http`).
    pub allow: AllowList,
    /// A PEM bundle of extra trusted roots (a test or private CA), added to the built-in web roots.
    /// Certificate checks stay on.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Static host entries, consulted before DNS (like `/etc/hosts`). Their addresses go through the
    /// SSRF guard like DNS answers do.
    pub hosts: BTreeMap<String, Vec<IpAddr>>,
    /// The `User-Agent` of every delivery.
    pub user_agent: String,
}

impl SenderConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_USER_AGENT: &'static str =
        concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION"));
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            allow: AllowList::default(),
            extra_ca_pem: None,
            hosts: BTreeMap::new(),
            user_agent: Self::DEFAULT_USER_AGENT.to_string(),
        }
    }
}

/// Why a [`Sender`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SenderError {
    #[error("the extra CA bundle is not usable PEM: {0}")]
    BadCa(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// What one attempt came back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReport {
    pub attempt: Attempt,
    /// The response's `Retry-After`, when readable.
    pub retry_after: Option<Duration>,
    /// Why the attempt failed (`None` on 2xx). Never holds the URL's path or query, nor secrets.
    pub error: Option<String>,
}

impl SendReport {
    fn failed(attempt: Attempt, error: String) -> SendReport {
        SendReport {
            attempt,
            retry_after: None,
            error: Some(error),
        }
    }

    /// A 2xx answer.
    pub fn delivered(&self) -> bool {
        matches!(self.attempt, Attempt::Status(s) if (200..300).contains(&s))
    }
}

/// The webhook HTTP client: one connection pool for every merchant. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow: Arc<AllowList>,
    timeout: Duration,
}

impl Sender {
    pub fn new(config: SenderConfig) -> Result<Sender, SenderError> {
        let allow = Arc::new(config.allow);
        let hosts = config
            .hosts
            .into_iter()
            .map(|(host, ips)| (normalise_host(&host), ips))
            .collect();
        let resolver = GuardedResolver {
            allow: allow.clone(),
            hosts: Arc::new(hosts),
        };
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent)
            .dns_resolver(Arc::new(resolver))
            .https_only(false);
        if let Some(pem) = &config.extra_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| SenderError::BadCa(e.to_string()))?;
            if certs.is_empty() {
                return Err(SenderError::BadCa("no certificate in the bundle".into()));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| SenderError::Client(error_chain(&e)))?;
        Ok(Sender {
            client,
            allow,
            timeout: config.timeout,
        })
    }

    /// The whole-attempt timeout (a worker's lease must be longer).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// One attempt at `delivery`, signed with the merchant's `secret` (`whsec_…`; `None`: unsigned,
    /// with a warning) at `now`. Never panics; every failure is in the report.
    #[tracing::instrument(name = "webhook.attempt", skip_all, fields(
        event_id = %delivery.event_id, merchant = %delivery.merchant_id, status = tracing::field::Empty,
    ))]
    pub async fn send(
        &self,
        delivery: &Delivery,
        secret: Option<&str>,
        now: DateTime<Utc>,
    ) -> SendReport {
        let url = delivery.endpoint.url.as_str();
        // The URL is parsed once, here, by the guard; the request goes to that parsed URL, so an IP
        // literal in any spelling is the address judged, and a name goes through the guarded resolver.
        let guarded = match check_url(url, &self.allow) {
            Ok(guarded) => guarded,
            Err(err) => {
                let report = refused_url(url, err);
                tracing::warn!(
                    host = %log_host(url),
                    error = report.error.as_deref().unwrap_or_default(),
                    "delivery refused before sending"
                );
                return report;
            }
        };
        let timestamp = now.timestamp();
        let signature = match secret {
            Some(secret) => {
                match signing::sign(
                    secret,
                    &delivery.event_id,
                    timestamp,
                    delivery.body.as_bytes(),
                ) {
                    Ok(sig) => Some(sig),
                    Err(err) => {
                        return SendReport::failed(
                            Attempt::Network,
                            format!("cannot sign the delivery: {err}"),
                        )
                    }
                }
            }
            None => {
                tracing::warn!(
                    merchant = %delivery.merchant_id,
                    "the merchant has no webhook secret: sending unsigned"
                );
                None
            }
        };

        let mut request = self
            .client
            .post(guarded.url().clone())
            .header(CONTENT_TYPE, cloudevents::CONTENT_TYPE)
            .header(HEADER_ID, delivery.event_id.as_str())
            .header(HEADER_TIMESTAMP, timestamp.to_string());
        if let Some(sig) = signature {
            request = request.header(HEADER_SIGNATURE, sig);
        }
        if let Some(bearer) = &delivery.endpoint.bearer {
            match HeaderValue::from_str(&format!("Bearer {bearer}")) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    request = request.header(AUTHORIZATION, value);
                }
                Err(_) => {
                    return SendReport::failed(
                        Attempt::Network,
                        "the sink credential is not a valid header value".into(),
                    )
                }
            }
        }
        if let Some(correlator) = &delivery.correlator {
            match HeaderValue::from_str(correlator) {
                Ok(value) => request = request.header(HEADER_CORRELATOR, value),
                Err(_) => tracing::warn!("x-correlator is not a valid header value: not sent"),
            }
        }

        for (name, value) in switchboard_core::trace_context::headers() {
            request = request.header(name, value);
        }
        let response = match request.body(delivery.body.clone()).send().await {
            Ok(response) => response,
            Err(err) => {
                let report = client_failure(&err, guarded.host(), self.timeout);
                tracing::debug!(
                    host = %guarded.host(),
                    error = report.error.as_deref().unwrap_or_default(),
                    "delivery attempt failed"
                );
                return report;
            }
        };
        let status = response.status().as_u16();
        tracing::Span::current().record("status", i64::from(status));
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        drain(response).await;
        let host = guarded.host();
        let error = match status {
            200..=299 => None,
            300..=399 => Some(format!(
                "HTTP {status} from {host} (redirects are not followed)"
            )),
            _ => Some(format!("HTTP {status} from {host}")),
        };
        tracing::debug!(host = %host, status, "delivery attempt answered");
        SendReport {
            attempt: Attempt::Status(status),
            retry_after,
            error,
        }
    }
}

/// Reads at most [`MAX_RESPONSE_BYTES`] of the body (so the connection can be reused when small),
/// then drops the rest.
async fn drain(mut response: reqwest::Response) {
    let mut read = 0;
    while read < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
}

/// The host of a URL for logs and errors (never the path or query); IPv6 without brackets.
pub(crate) fn log_host(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
        })
        .unwrap_or_else(|| "?".into())
}

fn refused_url(url: &str, err: SsrfError) -> SendReport {
    let error = match err {
        SsrfError::Forbidden { .. } | SsrfError::NoAddress => Refused {
            host: log_host(url),
            error: err,
        }
        .to_string(),
        SsrfError::NotHttps => "sink URL refused: only https sinks are allowed".into(),
        // BadUrl holds the whole URL; keep the query string out of errors and logs.
        SsrfError::BadUrl(_) | SsrfError::BadAllowEntry(_) => "sink URL is not usable".into(),
    };
    SendReport::failed(Attempt::Network, error)
}

fn client_failure(err: &reqwest::Error, host: &str, timeout: Duration) -> SendReport {
    if let Some(refused) = find_source::<Refused>(err) {
        return SendReport::failed(Attempt::Network, refused.to_string());
    }
    if err.is_timeout() {
        return SendReport::failed(
            Attempt::Timeout,
            format!("no answer from {host} within {timeout:?}"),
        );
    }
    SendReport::failed(
        Attempt::Network,
        format!("{host}: {}", error_chain(&WithoutUrl(err))),
    )
}

fn find_source<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// An error and its sources, `a: b: c`, skipping repeats.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut current = err.source();
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// A reqwest error displayed without its URL (which may hold a query string or a token).
struct WithoutUrl<'a>(&'a reqwest::Error);

impl std::fmt::Debug for WithoutUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for WithoutUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.0.is_connect() {
            "cannot connect"
        } else if self.0.is_request() {
            "request failed"
        } else if self.0.is_body() {
            "body error"
        } else {
            "HTTP error"
        };
        f.write_str(kind)
    }
}

impl std::error::Error for WithoutUrl<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_ca_bundle_is_refused() {
        let config = SenderConfig {
            extra_ca_pem: Some(b"not a certificate".to_vec()),
            ..SenderConfig::default()
        };
        assert!(matches!(Sender::new(config), Err(SenderError::BadCa(_))));
        let defaults = SenderConfig::default();
        assert_eq!(defaults.timeout, Duration::from_secs(15));
        assert!(Sender::new(defaults).is_ok());
    }

    #[test]
    fn refusals_never_echo_the_url() {
        let url = "https://10.0.0.1/cb?token=secret";
        let report = refused_url(url, check_url(url, &AllowList::default()).unwrap_err());
        assert_eq!(report.attempt, Attempt::Network);
        let error = report.error.unwrap();
        assert!(
            error.starts_with("address not allowed: 10.0.0.1"),
            "{error}"
        );
        assert!(!error.contains("token"));
        let bad = "https://user:token@host/";
        let error = refused_url(bad, check_url(bad, &AllowList::default()).unwrap_err())
            .error
            .unwrap();
        assert!(!error.contains("token"), "{error}");
    }
}
