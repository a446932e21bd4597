//! Notification addresses: what the simulators accept, and a subscription (address + bearer).

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use reqwest::Url;

/// Where a caller asked to be notified, and the bearer token to present there.
#[derive(Clone, PartialEq, Eq)]
pub struct Subscription {
    pub url: String,
    /// `Authorization: Bearer <token>` on every notification, when given.
    pub bearer: Option<String>,
    /// After this instant the token is dead and notifications stop (CAMARA `accessTokenExpiresUtc`).
    pub expires: Option<DateTime<Utc>>,
}

impl Subscription {
    /// Whether notifications may still be sent at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("url", &self.url)
            .field("bearer", &self.bearer.as_ref().map(|_| "***"))
            .field("expires", &self.expires)
            .finish()
    }
}

/// Real operators only call `https://` sinks. The sandbox also accepts `http://` when the host is
/// loopback (`127.0.0.1` and the rest of 127/8, `localhost`, `[::1]`), so a gateway running on the
/// same machine can take notifications without TLS.
pub fn sink_allowed(text: &str) -> bool {
    let Ok(url) = Url::parse(text) else {
        return false;
    };
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return false;
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return false;
    };
    match url.scheme() {
        "https" => true,
        "http" => is_loopback(host),
        _ => false,
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        for ok in [
            "https://merchant.example/notify",
            "https://10.0.0.1:8443/x?ref=p.a.b",
            "http://127.0.0.1:8080/callbacks/op?ref=p.a.b",
            "http://127.9.9.9/x",
            "http://localhost:9/x",
            "http://LOCALHOST/x",
            "http://[::1]:8080/x",
        ] {
            assert!(sink_allowed(ok), "{ok}");
        }
        for bad in [
            "http://merchant.example/notify",
            "http://10.0.0.1/x",
            "http://localhost.evil.example/x",
            "http://[::2]/x",
            "ftp://127.0.0.1/x",
            "https://user:pw@merchant.example/x",
            "https://merchant.example/x#frag",
            "not a url",
            "",
        ] {
            assert!(!sink_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_bearer() {
        let s = Subscription {
            url: "https://x".into(),
            bearer: Some("secret-token".into()),
            expires: None,
        };
        assert!(!format!("{s:?}").contains("secret-token"));
        assert!(s.is_live(Utc::now()));
    }
}
