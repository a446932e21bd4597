//! The shared upstream HTTP client: one connection pool per channel, always with deadlines.

use std::time::Duration;

use crate::channel::Timeouts;
use crate::error::AdapterError;

/// Builds HTTP clients for adapters. Every client has a connect timeout and a request deadline.
#[derive(Debug, Clone, Default)]
pub struct UpstreamHttp {
    user_agent: Option<String>,
}

impl UpstreamHttp {
    pub fn new() -> Self {
        UpstreamHttp {
            user_agent: Some(format!("switchboard/{}", env!("CARGO_PKG_VERSION"))),
        }
    }

    /// A client for one channel, with that channel's timeouts.
    pub fn client(&self, timeouts: Timeouts) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(timeouts.connect_ms))
            .timeout(Duration::from_millis(timeouts.request_ms))
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(ua) = &self.user_agent {
            builder = builder.user_agent(ua);
        }
        builder
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))
    }
}

/// Sends one upstream request with the current trace context (`traceparent`, when traces are on)
/// and classifies a failed send. Every adapter sends through here (so a contract check can record
/// the exchange: [`crate::record::recording`]).
pub async fn send_upstream(
    mut request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, AdapterError> {
    for (name, value) in switchboard_core::trace_context::headers() {
        request = request.header(name, value);
    }
    if crate::record::active() {
        return crate::record::send_recorded(request).await;
    }
    request.send().await.map_err(|e| classify_send_error(&e))
}

/// `{root}/{segments…}`, each segment percent-encoded (upstream ids are free text and must not be
/// able to change the path).
pub fn join_path(root: &reqwest::Url, segments: &[&str]) -> reqwest::Url {
    let mut url = root.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// Classifies a failed send: a failed connection proves nothing was sent; anything later does not.
pub fn classify_send_error(err: &reqwest::Error) -> AdapterError {
    if err.is_connect() {
        AdapterError::NotSent(format!("cannot connect to upstream: {}", without_url(err)))
    } else if err.is_timeout() {
        AdapterError::Unknown("upstream did not answer before the deadline".into())
    } else {
        AdapterError::Unknown(format!("upstream call failed: {}", without_url(err)))
    }
}

fn without_url(err: &reqwest::Error) -> String {
    // URLs may carry phone numbers or ids; keep them out of messages.
    let mut e = err.to_string();
    if let Some(url) = err.url() {
        e = e.replace(url.as_str(), "<upstream>");
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_segments_are_encoded_below_the_root() {
        let root = reqwest::Url::parse("http://h:1/api/v1/").unwrap();
        assert_eq!(
            join_path(&root, &["payments", "a/b?c"]).as_str(),
            "http://h:1/api/v1/payments/a%2Fb%3Fc"
        );
    }

    #[tokio::test]
    async fn connection_refused_means_not_sent() {
        // Bind then drop a listener so the port is (very likely) closed.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = UpstreamHttp::new()
            .client(Timeouts {
                connect_ms: 500,
                request_ms: 1000,
            })
            .unwrap();
        let err = client
            .get(format!("http://127.0.0.1:{port}/x"))
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(classify_send_error(&err), AdapterError::NotSent(_)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_means_unknown_outcome() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accept and hold the connection without answering.
        let holder = tokio::spawn(async move {
            let (_sock, _) = listener.accept().await.unwrap();
            std::future::pending::<()>().await;
        });
        let client = UpstreamHttp::new()
            .client(Timeouts {
                connect_ms: 500,
                request_ms: 200,
            })
            .unwrap();
        let err = client
            .post(format!("http://{addr}/charge"))
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(classify_send_error(&err), AdapterError::Unknown(_)),
            "{err:?}"
        );
        holder.abort();
    }
}
