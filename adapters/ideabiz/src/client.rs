//! HTTP to one Ideabiz platform: the token pair (password and refresh grants), bearer calls, and
//! one renewal plus one retry after a 401.

use std::time::Duration;

use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use switchboard_adapter::{classify_send_error, AdapterError};
use switchboard_core::Secret;
use tracing::Instrument;

use crate::errors::Op;
use crate::settings::{IdeabizSettings, IdeabizUser};
use crate::token::{TokenPair, TokenSlot};

/// Used when a token answer has no (readable) `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Where and how to reach one platform.
pub struct IdeabizClient {
    http: reqwest::Client,
    token_url: Url,
    /// `{base_url}/carrier-billing/v1`.
    api_root: Url,
    consumer_key: String,
    consumer_secret: Secret,
    user: IdeabizUser,
    tokens: TokenSlot,
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
    refresh_token: Option<String>,
    /// A number, though some gateways send it as a string.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl IdeabizClient {
    pub fn new(http: reqwest::Client, settings: &IdeabizSettings) -> Self {
        IdeabizClient {
            http,
            token_url: settings.token_url.clone(),
            api_root: settings.api_root.clone(),
            consumer_key: settings.consumer_key.clone(),
            consumer_secret: settings.consumer_secret.clone(),
            user: settings.user.clone(),
            tokens: TokenSlot::new(),
        }
    }

    /// `{api_root}/{segments…}`, each segment percent-encoded (payment ids are the platform's).
    pub fn url(&self, segments: &[&str]) -> Url {
        switchboard_adapter::join_path(&self.api_root, segments)
    }

    /// Sends one API call with the bearer token. A 401 proves the call was not processed (the API
    /// gateway refused it before the billing system saw it): the pair is renewed and the call sent
    /// once more. Any other answer is returned as is.
    ///
    /// Errors: [`AdapterError::NotSent`] when no token could be had or the platform was
    /// unreachable; [`AdapterError::Unknown`] when the call was sent and no answer was read.
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        op: Op,
        method: Method,
        segments: &[&str],
        query: Option<(&str, &str)>,
        body: Option<&B>,
    ) -> Result<Reply, AdapterError> {
        let mut url = self.url(segments);
        if let Some((key, value)) = query {
            url.query_pairs_mut().append_pair(key, value);
        }
        let token = self.token().await?;
        let reply = self.send_once(op, 1, &method, &url, body, &token).await?;
        if reply.status != StatusCode::UNAUTHORIZED {
            return Ok(reply);
        }
        tracing::info!(
            op = op.as_str(),
            "platform rejected the access token; renewing the pair and retrying once"
        );
        self.tokens.invalidate(&token).await;
        let token = self.token().await?;
        self.send_once(op, 2, &method, &url, body, &token).await
    }

    async fn send_once<B: Serialize + ?Sized>(
        &self,
        op: Op,
        attempt: u8,
        method: &Method,
        url: &Url,
        body: Option<&B>,
        token: &str,
    ) -> Result<Reply, AdapterError> {
        let span = tracing::info_span!(
            "ideabiz_call",
            op = op.as_str(),
            method = %method,
            attempt,
            status = tracing::field::Empty,
        );
        async {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token)
                .header(ACCEPT, "application/json");
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = switchboard_adapter::send_upstream(request).await?;
            let status = response.status();
            tracing::Span::current().record("status", status.as_u16());
            // The status is known, but a charge answer is only useful with its body: a failure
            // here leaves the outcome unknown.
            let body = response
                .bytes()
                .await
                .map_err(|e| classify_send_error(&e))?;
            tracing::debug!(status = status.as_u16(), "platform answered");
            Ok(Reply {
                status,
                body: body.to_vec(),
            })
        }
        .instrument(span)
        .await
    }

    /// The current access token, or a renewed pair (single flight; see [`TokenSlot`]).
    pub async fn token(&self) -> Result<String, AdapterError> {
        let (token, grant) = self
            .tokens
            .get(
                |refresh| self.refresh_grant(refresh),
                || self.password_grant(),
            )
            .await?;
        if let Some(grant) = grant {
            tracing::debug!(?grant, "new token pair");
        }
        Ok(token)
    }

    async fn password_grant(&self) -> Result<TokenPair, AdapterError> {
        let mut form = vec![
            ("grant_type", "password"),
            ("username", self.user.username.as_str()),
            ("password", self.user.password.expose()),
        ];
        if let Some(scope) = &self.user.scope {
            form.push(("scope", scope));
        }
        self.grant("password", &form).await
    }

    async fn refresh_grant(&self, refresh_token: Secret) -> Result<TokenPair, AdapterError> {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        if let Some(scope) = &self.user.scope {
            form.push(("scope", scope));
        }
        self.grant("refresh_token", &form).await
    }

    /// One grant at the token endpoint, the application authenticated with HTTP Basic. Every
    /// failure is `NotSent`: no payment call has been made with it. Messages carry no secrets.
    async fn grant(
        &self,
        grant: &'static str,
        form: &[(&str, &str)],
    ) -> Result<TokenPair, AdapterError> {
        let span = tracing::info_span!("ideabiz_token", grant, status = tracing::field::Empty);
        async {
            let not_sent = |why: String| {
                AdapterError::NotSent(format!("no access token ({grant} grant): {why}"))
            };
            let response = self
                .http
                .post(self.token_url.clone())
                .basic_auth(&self.consumer_key, Some(self.consumer_secret.expose()))
                .header(ACCEPT, "application/json")
                .form(form)
                .send()
                .await
                .map_err(|e| not_sent(send_failure(&e)))?;
            let status = response.status();
            tracing::Span::current().record("status", status.as_u16());
            if !status.is_success() {
                let body = response.bytes().await.unwrap_or_default();
                let error = oauth_error_code(&body);
                tracing::warn!(
                    status = status.as_u16(),
                    error,
                    "token endpoint refused the grant"
                );
                return Err(not_sent(format!(
                    "token endpoint answered {} {error}",
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
                .as_ref()
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_TOKEN_LIFETIME);
            let refresh = answer
                .refresh_token
                .filter(|r| !r.is_empty())
                .map(Secret::new);
            if refresh.is_none() {
                tracing::info!("token answer has no refresh_token; renewals will log in again");
            }
            tracing::debug!(expires_in = lifetime.as_secs(), "token pair granted");
            Ok(TokenPair::new(answer.access_token, refresh, lifetime))
        }
        .instrument(span)
        .await
    }
}

/// The OAuth2 `error` code of a token endpoint refusal (`invalid_grant`), when it looks like one.
fn oauth_error_code(body: &[u8]) -> &'static str {
    const KNOWN: &[&str] = &[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ];
    let code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_owned));
    code.and_then(|c| KNOWN.iter().find(|k| **k == c).copied())
        .unwrap_or("")
}

/// What went wrong with a send, without the URL.
fn send_failure(err: &reqwest::Error) -> String {
    match classify_send_error(err) {
        AdapterError::NotSent(m) | AdapterError::Unknown(m) => m,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::channel;
    use serde_json::json;
    use switchboard_adapter::{Timeouts, UpstreamHttp};

    fn client(base: &str) -> IdeabizClient {
        let settings = IdeabizSettings::from_channel(&channel(
            base,
            json!({"username": "u", "password": "hunter2"}),
        ))
        .unwrap();
        let http = UpstreamHttp::new()
            .client(Timeouts {
                connect_ms: 200,
                request_ms: 500,
            })
            .unwrap();
        IdeabizClient::new(http, &settings)
    }

    #[test]
    fn path_segments_are_encoded() {
        let c = client("http://h:1/dialog-lk");
        assert_eq!(
            c.url(&["payments"]).as_str(),
            "http://h:1/dialog-lk/carrier-billing/v1/payments"
        );
        assert_eq!(
            c.url(&["payments", "a/b?c"]).as_str(),
            "http://h:1/dialog-lk/carrier-billing/v1/payments/a%2Fb%3Fc"
        );
    }

    #[test]
    fn oauth_errors_are_named_only_when_standard() {
        assert_eq!(
            oauth_error_code(br#"{"error":"invalid_grant"}"#),
            "invalid_grant"
        );
        assert_eq!(oauth_error_code(br#"{"error":"hunter2"}"#), "");
        assert_eq!(oauth_error_code(b"<html>"), "");
    }

    #[tokio::test]
    async fn unreachable_token_endpoint_is_not_sent() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = client(&format!("http://127.0.0.1:{port}"));
        let err = c
            .send::<()>(Op::Retrieve, Method::GET, &["payments", "x"], None, None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AdapterError::NotSent(m) if m.contains("no access token (password grant)")),
            "{err:?}"
        );
        assert!(!err.to_string().contains("hunter2"));
    }
}
