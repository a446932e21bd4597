//! HTTP to one CAMARA operator: OAuth2 client credentials, the token cache, and one retry after a 401.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use switchboard_adapter::{classify_send_error, AdapterError, CachedToken, TokenCache};
use switchboard_core::{correlator, Secret};

/// Used when a token answer has no `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Where and how to reach one operator.
pub struct CamaraClient {
    http: reqwest::Client,
    token_url: Url,
    /// `{base_url}/carrier-billing/v0.5`.
    api_root: Url,
    client_id: String,
    client_secret: Secret,
    tokens: TokenCache,
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

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Serialize)]
struct TokenRequest {
    grant_type: &'static str,
}

impl CamaraClient {
    pub fn new(
        http: reqwest::Client,
        token_url: Url,
        api_root: Url,
        client_id: String,
        client_secret: Secret,
    ) -> Self {
        CamaraClient {
            http,
            token_url,
            api_root,
            client_id,
            client_secret,
            tokens: TokenCache::new(),
        }
    }

    /// `{api_root}/{segments…}`, each segment percent-encoded (upstream ids are free text).
    pub fn url(&self, segments: &[&str]) -> Url {
        switchboard_adapter::join_path(&self.api_root, segments)
    }

    /// Sends one API call with a bearer token. A 401 proves the call was not processed: the token is
    /// dropped, a new one fetched, and the call sent once more. Any other answer is returned as is.
    ///
    /// Errors: [`AdapterError::NotSent`] when no token could be had or the operator was unreachable;
    /// [`AdapterError::Unknown`] when the call was sent and no answer was read.
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
        x_correlator: &str,
    ) -> Result<Reply, AdapterError> {
        self.send_to(method, self.url(segments), body, x_correlator)
            .await
    }

    /// [`CamaraClient::send`] to a full URL (another CAMARA API of the same operator).
    pub async fn send_to<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        x_correlator: &str,
    ) -> Result<Reply, AdapterError> {
        let token = self.token().await?;
        let reply = self
            .send_once(&method, &url, body, x_correlator, &token)
            .await?;
        if reply.status != StatusCode::UNAUTHORIZED {
            return Ok(reply);
        }
        tracing::info!("operator rejected the access token; fetching a new one and retrying once");
        self.tokens.invalidate(&token).await;
        let token = self.token().await?;
        self.send_once(&method, &url, body, x_correlator, &token)
            .await
    }

    async fn send_once<B: Serialize + ?Sized>(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&B>,
        x_correlator: &str,
        token: &str,
    ) -> Result<Reply, AdapterError> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token);
        if correlator::is_valid(x_correlator) && !x_correlator.is_empty() {
            request = request.header("x-correlator", x_correlator);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = switchboard_adapter::send_upstream(request).await?;
        let status = response.status();
        // The status is known, but a charge answer is only useful with its body: a failure here
        // leaves the outcome unknown.
        let body = response
            .bytes()
            .await
            .map_err(|e| classify_send_error(&e))?;
        tracing::debug!(status = status.as_u16(), "operator answered");
        Ok(Reply {
            status,
            body: body.to_vec(),
        })
    }

    /// The cached access token, or a new one (single flight).
    pub async fn token(&self) -> Result<String, AdapterError> {
        self.tokens.get(|| self.fetch_token()).await
    }

    /// OAuth2 client credentials with HTTP Basic client authentication. Every failure is `NotSent`:
    /// no payment call has been made yet.
    async fn fetch_token(&self) -> Result<CachedToken, AdapterError> {
        let not_sent = |why: String| AdapterError::NotSent(format!("no access token: {why}"));
        let request = self
            .http
            .post(self.token_url.clone())
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .form(&TokenRequest {
                grant_type: "client_credentials",
            });
        let response = switchboard_adapter::send_upstream(request)
            .await
            .map_err(|e| not_sent(failure_text(e)))?;
        let status = response.status();
        if !status.is_success() {
            tracing::warn!(
                status = status.as_u16(),
                "token endpoint refused the channel's credentials"
            );
            return Err(not_sent(format!(
                "token endpoint answered {}",
                status.as_u16()
            )));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| not_sent(send_failure(&e)))?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|_| not_sent("unreadable token endpoint answer".into()))?;
        if answer.access_token.is_empty() {
            return Err(not_sent("empty access_token".into()));
        }
        let lifetime = answer
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        tracing::debug!(expires_in = lifetime.as_secs(), "fetched an access token");
        Ok(CachedToken::new(answer.access_token, lifetime))
    }
}

/// What went wrong with a send, without the URL.
fn send_failure(err: &reqwest::Error) -> String {
    failure_text(classify_send_error(err))
}

fn failure_text(err: AdapterError) -> String {
    match err {
        AdapterError::NotSent(m) | AdapterError::Unknown(m) => m,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_adapter::{Timeouts, UpstreamHttp};

    fn client(base: &str) -> CamaraClient {
        let http = UpstreamHttp::new()
            .client(Timeouts {
                connect_ms: 200,
                request_ms: 500,
            })
            .unwrap();
        CamaraClient::new(
            http,
            Url::parse(&format!("{base}/oauth2/token")).unwrap(),
            Url::parse(&format!("{base}/carrier-billing/v0.5")).unwrap(),
            "id".into(),
            Secret::new("secret"),
        )
    }

    #[test]
    fn path_segments_are_encoded() {
        let c = client("http://h:1/op");
        assert_eq!(
            c.url(&["payments"]).as_str(),
            "http://h:1/op/carrier-billing/v0.5/payments"
        );
        assert_eq!(
            c.url(&["payments", "a/b?c", "confirm"]).as_str(),
            "http://h:1/op/carrier-billing/v0.5/payments/a%2Fb%3Fc/confirm"
        );
    }

    #[tokio::test]
    async fn unreachable_token_endpoint_is_not_sent() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = client(&format!("http://127.0.0.1:{port}"));
        let err = c
            .send::<()>(Method::GET, &["payments", "x"], None, "c")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AdapterError::NotSent(m) if m.contains("no access token")),
            "{err:?}"
        );
        assert!(!err.to_string().contains("secret"));
    }
}
