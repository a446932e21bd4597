//! Whether the webhook sender could ever deliver to a URL: the one check shared by webhook endpoint
//! registration and CAMARA `sink`s, so nothing is stored that can only be dead-lettered later. It is
//! the sender's own SSRF guard ([`switchboard_webhooks::check_url`]) with the gateway's allow-list;
//! a host name is judged again, on its resolved addresses, at every delivery.

use switchboard_core::{ApiError, ErrorCode, Sink};
use switchboard_webhooks::{AllowList, SsrfError};

/// Why `url` can never be delivered to, in words safe to answer and log (never the URL itself,
/// whose query may hold a token).
pub fn deliverable(url: &str, allow: &AllowList) -> Result<(), String> {
    switchboard_webhooks::check_url(url, allow)
        .map(|_| ())
        .map_err(|e| match e {
            SsrfError::BadUrl(_) | SsrfError::BadAllowEntry(_) => {
                "not a usable URL (no user-info, whitespace or control characters)".to_string()
            }
            other => other.to_string(),
        })
}

/// A CAMARA `sink`: the spec's `https://` pattern, then [`deliverable`]; otherwise `INVALID_SINK`.
pub fn deliverable_sink(text: &str, allow: &AllowList) -> Result<Sink, ApiError> {
    let sink = Sink::parse(text)?;
    deliverable(sink.as_str(), allow).map_err(|why| {
        ApiError::new(
            ErrorCode::InvalidSink,
            format!("{}: {why}", ErrorCode::InvalidSink.default_message()),
        )
    })?;
    Ok(sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undeliverable_sinks_are_invalid_sinks() {
        let allow = AllowList::parse(&["127.0.0.1/32"]).unwrap();
        assert!(deliverable_sink("https://merchant.example.com/notify", &allow).is_ok());
        assert!(deliverable_sink("https://127.0.0.1:9443/n", &allow).is_ok());
        for bad in [
            "https://10.0.0.1/n",
            "https://169.254.169.254/latest/meta-data",
            "https://0x7f000002/n",
            "https://[fd00::1]/n",
            "https://user:pw@merchant.example.com/n",
            "http://127.0.0.1/n",
        ] {
            let err = deliverable_sink(bad, &allow).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidSink, "{bad}");
            assert!(
                err.message
                    .starts_with("sink not valid for the specified protocol"),
                "{bad}: {}",
                err.message
            );
            assert!(!err.message.contains("pw"), "{}", err.message);
        }
    }

    #[test]
    fn reasons_never_echo_the_url() {
        let why =
            deliverable("https://u:secret@x.example/?token=t", &AllowList::default()).unwrap_err();
        assert!(!why.contains("secret") && !why.contains("token"), "{why}");
        let why = deliverable("https://10.0.0.1/?token=t", &AllowList::default()).unwrap_err();
        assert_eq!(why, "10.0.0.1 is a private address");
    }
}
