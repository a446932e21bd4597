//! Notification `sink` and `sinkCredential` of the CAMARA implicit subscription.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};

/// An `https://` URL where the merchant wants notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sink(String);

impl Sink {
    /// Applies the spec's `^https:\/\/.+$` pattern plus a URL sanity check (a host is required).
    pub fn parse(text: &str) -> Result<Sink, ApiError> {
        let rest = text
            .strip_prefix("https://")
            .ok_or_else(|| ApiError::of(ErrorCode::InvalidSink))?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_ok =
            !host.is_empty() && !host.contains(char::is_whitespace) && !host.starts_with(':');
        if !host_ok || text.contains(char::is_whitespace) {
            return Err(ApiError::of(ErrorCode::InvalidSink));
        }
        Ok(Sink(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The only credential CAMARA allows: an access token of type bearer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkCredential {
    pub access_token: String,
    pub access_token_expires_utc: DateTime<Utc>,
}

impl fmt::Debug for SinkCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkCredential")
            .field("access_token", &"***")
            .field("access_token_expires_utc", &self.access_token_expires_utc)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_with_a_host() {
        assert!(Sink::parse("https://merchant.example.com/notify").is_ok());
        assert!(Sink::parse("https://127.0.0.1:9443/x").is_ok());
        for bad in [
            "http://merchant.example.com",
            "https://",
            "ftp://x",
            "merchant",
            "https:// x",
            "https:///path",
        ] {
            assert_eq!(
                Sink::parse(bad).unwrap_err().code,
                ErrorCode::InvalidSink,
                "{bad}"
            );
        }
    }

    #[test]
    fn credential_debug_hides_the_token() {
        let c = SinkCredential {
            access_token: "secret-token".into(),
            access_token_expires_utc: Utc::now(),
        };
        assert!(!format!("{c:?}").contains("secret-token"));
    }
}
