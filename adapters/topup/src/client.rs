//! HTTP to one top-up provider: the API key as a bearer token, JSON in and out, no retries.

use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use switchboard_adapter::{classify_send_error, AdapterError};
use switchboard_core::Secret;

/// Where and how to reach one provider.
pub struct TopUpClient {
    http: reqwest::Client,
    api_root: Url,
    api_key: Secret,
}

/// A status and a body, whatever they are.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

impl TopUpClient {
    pub fn new(http: reqwest::Client, api_root: Url, api_key: Secret) -> Self {
        TopUpClient {
            http,
            api_root,
            api_key,
        }
    }

    /// `{api_root}/{segments…}?{query}`, each segment percent-encoded (ids are free text).
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = switchboard_adapter::join_path(&self.api_root, segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends one call. Errors: [`AdapterError::NotSent`] when the provider was unreachable;
    /// [`AdapterError::Unknown`] when the call was sent and no whole answer was read.
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<Reply, AdapterError> {
        let mut request = self
            .http
            .request(method, self.url(segments, query))
            .bearer_auth(self.api_key.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = switchboard_adapter::send_upstream(request).await?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| classify_send_error(&e))?;
        tracing::debug!(status = status.as_u16(), "provider answered");
        Ok(Reply {
            status,
            body: body.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_adapter::{Timeouts, UpstreamHttp};

    fn client(base: &str) -> TopUpClient {
        let http = UpstreamHttp::new()
            .client(Timeouts {
                connect_ms: 200,
                request_ms: 500,
            })
            .unwrap();
        TopUpClient::new(http, Url::parse(base).unwrap(), Secret::new("key"))
    }

    #[test]
    fn urls_are_encoded_below_the_root() {
        let c = client("http://h:1/globaltopup/");
        assert_eq!(
            c.url(&["telecom", "topup"], &[]).as_str(),
            "http://h:1/globaltopup/telecom/topup"
        );
        assert_eq!(
            c.url(&["telecom", "topup", "a/b?c"], &[]).as_str(),
            "http://h:1/globaltopup/telecom/topup/a%2Fb%3Fc"
        );
        assert_eq!(
            c.url(
                &["telecom", "products"],
                &[("operator_id", "mts ru"), ("type", "bundle")]
            )
            .as_str(),
            "http://h:1/globaltopup/telecom/products?operator_id=mts+ru&type=bundle"
        );
        let root = client("https://api.example");
        assert_eq!(
            root.url(&["esim", "orders"], &[]).as_str(),
            "https://api.example/esim/orders"
        );
    }

    #[tokio::test]
    async fn unreachable_provider_is_not_sent() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = client(&format!("http://127.0.0.1:{port}/p"));
        let err = c
            .send::<()>(Method::GET, &["telecom", "products"], &[], None)
            .await
            .unwrap_err();
        assert!(matches!(err, AdapterError::NotSent(_)), "{err:?}");
    }
}
