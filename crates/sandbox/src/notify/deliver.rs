//! Sending one notification: a bounded request, retried a few times with short backoff.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::StatusCode;
use tracing::Instrument;

/// Whole-request deadline of one attempt.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Deadline to open the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts per notification (the first and three retries).
pub const ATTEMPTS: u32 = 4;
/// Wait before the first retry; doubled before each further one (200, 400, 800 ms).
pub const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// One notification to send.
#[derive(Clone)]
pub struct Delivery {
    /// What it is, for logs (`camara-payment`, `ideabiz-payment`, `topup`).
    pub kind: &'static str,
    pub url: String,
    /// `Authorization: Bearer <token>`.
    pub bearer: Option<String>,
    pub content_type: &'static str,
    /// Further headers (`x-correlator`, `webhook-*`).
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("bearer", &self.bearer.as_ref().map(|_| "***"))
            .field("bytes", &self.body.len())
            .finish()
    }
}

/// The outbound HTTP client of every simulator (cheap to clone).
#[derive(Clone)]
pub struct Notifier {
    http: reqwest::Client,
}

/// Whether an answer is worth another attempt: the receiver was busy or broken, not refusing.
fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

impl Notifier {
    pub fn new() -> std::io::Result<Notifier> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| std::io::Error::other(format!("notification client: {e}")))?;
        Ok(Notifier { http })
    }

    /// Sends `delivery` until it is accepted (2xx), refused (another 4xx), or [`ATTEMPTS`] are
    /// used up. Never fails: the outcome is logged (without the token or the body).
    pub async fn deliver(&self, delivery: Delivery) {
        let host = reqwest::Url::parse(&delivery.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let span = tracing::info_span!("sandbox_notify", kind = delivery.kind, %host);
        self.attempts(delivery).instrument(span).await;
    }

    async fn attempts(&self, delivery: Delivery) {
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            match self.send_once(&delivery).await {
                Ok(status) if status.is_success() => {
                    tracing::info!(status = status.as_u16(), attempt, "notification delivered");
                    return;
                }
                Ok(status) if !retryable(status) => {
                    tracing::warn!(
                        status = status.as_u16(),
                        attempt,
                        "notification refused; not retried"
                    );
                    return;
                }
                Ok(status) => {
                    tracing::info!(status = status.as_u16(), attempt, "notification failed")
                }
                Err(error) => tracing::info!(%error, attempt, "notification not delivered"),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        tracing::warn!(attempts = ATTEMPTS, "notification given up");
    }

    async fn send_once(&self, delivery: &Delivery) -> Result<StatusCode, reqwest::Error> {
        let mut request = self
            .http
            .post(&delivery.url)
            .header(CONTENT_TYPE, delivery.content_type)
            .body(delivery.body.clone());
        if let Some(token) = &delivery.bearer {
            request = request.bearer_auth(token);
        }
        for (name, value) in &delivery.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                request = request.header(name, value);
            }
        }
        // `without_url`: the error text must not carry the address (it may hold a reference).
        let response = request.send().await.map_err(|e| e.without_url())?;
        Ok(response.status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_busy_or_broken_receivers_are_retried() {
        assert!(retryable(StatusCode::SERVICE_UNAVAILABLE));
        assert!(retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(!retryable(StatusCode::UNAUTHORIZED));
        assert!(!retryable(StatusCode::GONE));
        assert!(!retryable(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn debug_hides_the_bearer() {
        let d = Delivery {
            kind: "t",
            url: "https://x".into(),
            bearer: Some("secret-token".into()),
            content_type: "application/json",
            headers: Vec::new(),
            body: Vec::new(),
        };
        assert!(!format!("{d:?}").contains("secret-token"));
    }
}
