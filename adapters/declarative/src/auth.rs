//! Request authentication: static API key, HTTP Basic, OAuth2 client credentials, OAuth2 password
//! grant with a rotating refresh token, or an HMAC-SHA256 signature over a canonical string.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use serde::Deserialize;
use switchboard_adapter::signing::{hmac_sha256, sha256_hex};
use switchboard_adapter::{send_upstream, AdapterError, CachedToken, TokenCache};
use switchboard_core::Secret;
use tokio::sync::Mutex;

use crate::spec::AuthSpec;
use crate::template::{Template, Vars};

/// The channel's secrets and token endpoint.
pub struct Credentials {
    pub client_id: String,
    pub client_secret: Secret,
    pub token_url: Option<reqwest::Url>,
}

/// One channel's authenticator.
pub struct Auth {
    spec: AuthSpec,
    canonical: Option<Template>,
    creds: Credentials,
    tokens: TokenCache,
    /// The current refresh token of a password-grant channel (rotates on every refresh).
    refresh: Mutex<Option<String>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// What is being sent, as the signature sees it.
pub struct Outgoing<'a> {
    pub method: &'a str,
    /// Path and `?query`, as on the wire.
    pub path: &'a str,
    pub body: &'a [u8],
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), AdapterError> {
    let bad = || AdapterError::NotSent(format!("header {name} cannot carry its value"));
    Ok((
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?,
        HeaderValue::from_str(value).map_err(|_| bad())?,
    ))
}

impl Auth {
    pub fn new(spec: AuthSpec, canonical: Option<Template>, creds: Credentials) -> Auth {
        Auth {
            spec,
            canonical,
            creds,
            tokens: TokenCache::new(),
            refresh: Mutex::new(None),
        }
    }

    fn basic(&self) -> String {
        let pair = format!(
            "{}:{}",
            self.creds.client_id,
            self.creds.client_secret.expose()
        );
        format!("Basic {}", STANDARD.encode(pair))
    }

    /// Headers that authenticate `out`. The bearer token used, if any, is returned so a 401 can
    /// invalidate exactly it.
    pub async fn headers(
        &self,
        http: &reqwest::Client,
        out: &Outgoing<'_>,
    ) -> Result<(Vec<(HeaderName, HeaderValue)>, Option<String>), AdapterError> {
        Ok(match &self.spec {
            AuthSpec::None => (Vec::new(), None),
            AuthSpec::ApiKey { header: h, prefix } => (
                vec![header(
                    h,
                    &format!("{prefix}{}", self.creds.client_secret.expose()),
                )?],
                None,
            ),
            AuthSpec::Basic => (vec![header(AUTHORIZATION.as_str(), &self.basic())?], None),
            AuthSpec::ClientCredentials { .. } | AuthSpec::Password { .. } => {
                let token = self.tokens.get(|| self.fetch(http)).await?;
                (
                    vec![header(AUTHORIZATION.as_str(), &format!("Bearer {token}"))?],
                    Some(token),
                )
            }
            AuthSpec::Hmac {
                key_id_header,
                timestamp_header,
                signature_header,
                encoding,
                signature_prefix,
                ..
            } => {
                let timestamp = chrono::Utc::now().timestamp().to_string();
                let signature = self.sign(out, &timestamp)?;
                let mut headers = vec![
                    header(timestamp_header, &timestamp)?,
                    header(
                        signature_header,
                        &format!("{signature_prefix}{}", encoding.encode(&signature)),
                    )?,
                ];
                if let Some(h) = key_id_header {
                    headers.push(header(h, &self.creds.client_id)?);
                }
                (headers, None)
            }
        })
    }

    /// The HMAC of the canonical string of `out` at `timestamp`.
    pub fn sign(&self, out: &Outgoing<'_>, timestamp: &str) -> Result<Vec<u8>, AdapterError> {
        let canonical = self
            .canonical
            .as_ref()
            .ok_or_else(|| AdapterError::NotSent("no canonical string configured".into()))?;
        let vars = Vars::from([
            ("method", out.method.to_ascii_uppercase()),
            ("path", out.path.to_owned()),
            ("timestamp", timestamp.to_owned()),
            ("body.sha256", sha256_hex(out.body)),
            ("key_id", self.creds.client_id.clone()),
        ]);
        let text = canonical
            .render(&vars)
            .map_err(|n| AdapterError::NotSent(format!("canonical string lacks {n}")))?;
        Ok(hmac_sha256(
            self.creds.client_secret.expose().as_bytes(),
            text.as_bytes(),
        ))
    }

    /// A token for an OAuth2 auth type (fetched, or the cached one); `Unsupported` for the others.
    pub async fn token(&self, http: &reqwest::Client) -> Result<(), AdapterError> {
        match &self.spec {
            AuthSpec::ClientCredentials { .. } | AuthSpec::Password { .. } => {
                self.tokens.get(|| self.fetch(http)).await.map(drop)
            }
            _ => Err(AdapterError::Unsupported("access token")),
        }
    }

    /// The upstream refused `token` (401): forget it so the next call fetches a new one.
    pub async fn rejected(&self, token: &str) {
        self.tokens.invalidate(token).await;
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<CachedToken, AdapterError> {
        let url = self
            .creds
            .token_url
            .clone()
            .ok_or_else(|| AdapterError::NotSent("no token_url configured".into()))?;
        let mut form: Vec<(&str, String)> = Vec::new();
        let mut refresh = self.refresh.lock().await;
        match &self.spec {
            AuthSpec::ClientCredentials { scope, .. } => {
                form.push(("grant_type", "client_credentials".into()));
                form.extend(scope.clone().map(|s| ("scope", s)));
            }
            AuthSpec::Password {
                username,
                password,
                scope,
                ..
            } => {
                if let Some(rt) = refresh.take() {
                    match self
                        .grant(
                            http,
                            &url,
                            &[
                                ("grant_type", "refresh_token".into()),
                                ("refresh_token", rt),
                            ],
                        )
                        .await
                    {
                        Ok(answer) => return Ok(self.keep(answer, &mut refresh)),
                        // A dead refresh token: log in again below.
                        Err(AdapterError::NotSent(reason)) => {
                            tracing::info!(%reason, "refresh grant failed; using the password grant")
                        }
                        Err(other) => return Err(other),
                    }
                }
                form.push(("grant_type", "password".into()));
                form.push(("username", username.clone()));
                form.push(("password", password.expose().to_owned()));
                form.extend(scope.clone().map(|s| ("scope", s)));
            }
            _ => return Err(AdapterError::NotSent("this auth type has no token".into())),
        }
        let answer = self.grant(http, &url, &form).await?;
        Ok(self.keep(answer, &mut refresh))
    }

    fn keep(&self, answer: TokenAnswer, refresh: &mut Option<String>) -> CachedToken {
        if answer.refresh_token.is_some() {
            refresh.clone_from(&answer.refresh_token);
        }
        CachedToken::new(
            answer.access_token,
            Duration::from_secs(answer.expires_in.unwrap_or(300)),
        )
    }

    /// One token request. Every failure is `NotSent`: no business call was made.
    async fn grant(
        &self,
        http: &reqwest::Client,
        url: &reqwest::Url,
        form: &[(&str, String)],
    ) -> Result<TokenAnswer, AdapterError> {
        let request = http
            .post(url.clone())
            .header(AUTHORIZATION, self.basic())
            .form(form);
        let response = send_upstream(request).await.map_err(|e| match e {
            AdapterError::NotSent(m) | AdapterError::Unknown(m) => {
                AdapterError::NotSent(format!("token request failed: {m}"))
            }
            other => other,
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(AdapterError::NotSent(format!(
                "token endpoint answered {}",
                status.as_u16()
            )));
        }
        response
            .json::<TokenAnswer>()
            .await
            .map_err(|_| AdapterError::NotSent("token endpoint answered no token".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_adapter::signing::Encoding;

    fn hmac_auth(canonical: &str) -> Auth {
        let spec = AuthSpec::Hmac {
            key_id_header: Some("X-Key".into()),
            timestamp_header: "X-Ts".into(),
            signature_header: "X-Sig".into(),
            canonical: canonical.into(),
            encoding: Encoding::Hex,
            signature_prefix: "v1=".into(),
        };
        Auth::new(
            spec,
            Some(Template::parse(canonical, crate::spec::CANONICAL_VARS).unwrap()),
            Credentials {
                client_id: "merchant".into(),
                client_secret: Secret::new("k"),
                token_url: None,
            },
        )
    }

    #[test]
    fn signs_the_configured_canonical_string() {
        let auth = hmac_auth("{method}\n{path}\n{timestamp}\n{body.sha256}");
        let out = Outgoing {
            method: "post",
            path: "/dcb-it/dcb/v1/charges",
            body: b"{}",
        };
        let expected = hmac_sha256(
            b"k",
            b"POST\n/dcb-it/dcb/v1/charges\n1700000000\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        );
        assert_eq!(auth.sign(&out, "1700000000").unwrap(), expected);
        let other = hmac_auth("{key_id}:{timestamp}");
        assert_eq!(
            other.sign(&out, "1").unwrap(),
            hmac_sha256(b"k", b"merchant:1")
        );
    }

    #[tokio::test]
    async fn hmac_headers_carry_key_id_timestamp_and_prefixed_signature() {
        let auth = hmac_auth("{timestamp}");
        let out = Outgoing {
            method: "GET",
            path: "/x",
            body: b"",
        };
        let (headers, token) = auth.headers(&reqwest::Client::new(), &out).await.unwrap();
        assert!(token.is_none());
        let get = |n: &str| {
            headers
                .iter()
                .find(|(h, _)| h.as_str() == n)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        let ts = get("x-ts").unwrap();
        assert_eq!(get("x-key").as_deref(), Some("merchant"));
        assert_eq!(
            get("x-sig").unwrap(),
            format!(
                "v1={}",
                Encoding::Hex.encode(&hmac_sha256(b"k", ts.as_bytes()))
            )
        );
    }

    #[tokio::test]
    async fn static_schemes() {
        let creds = || Credentials {
            client_id: "id".into(),
            client_secret: Secret::new("s3"),
            token_url: None,
        };
        let out = Outgoing {
            method: "GET",
            path: "/",
            body: b"",
        };
        let http = reqwest::Client::new();
        let key = Auth::new(
            AuthSpec::ApiKey {
                header: "X-Api-Key".into(),
                prefix: "Key ".into(),
            },
            None,
            creds(),
        );
        let (h, _) = key.headers(&http, &out).await.unwrap();
        assert_eq!(h[0].1, "Key s3");
        let basic = Auth::new(AuthSpec::Basic, None, creds());
        let (h, _) = basic.headers(&http, &out).await.unwrap();
        assert_eq!(h[0].1, format!("Basic {}", STANDARD.encode("id:s3")));
        let oauth = Auth::new(
            AuthSpec::ClientCredentials {
                scope: None,
                token_path: None,
            },
            None,
            creds(),
        );
        assert!(matches!(
            oauth.headers(&http, &out).await,
            Err(AdapterError::NotSent(_))
        ));
    }
}
