//! What one Ideabiz channel needs, read from its [`ChannelSettings`].
//!
//! | setting | use |
//! |---|---|
//! | `base_url` | the platform's API root; charges go to `{base_url}/carrier-billing/v1/payments` |
//! | `token_url` | optional; defaults to `{base_url}/token` |
//! | `credentials.client_id` / `client_secret` | the application's consumer key / secret (HTTP Basic at the token endpoint) |
//! | `options.username` | **required**: the platform user of the password grant |
//! | `options.password` | **required**: that user's password (a secret; may come from the environment) |
//! | `options.scope` | optional: the `scope` asked for in token grants |
//! | `options.service_id` | optional: `chargingMetaData.serviceId` sent when the merchant gave none |
//!
//! Any other key under `options` is refused, so a typo does not silently drop a setting.

use std::collections::BTreeMap;

use reqwest::Url;
use serde_json::Value;
use switchboard_adapter::{AdapterBuildError, CallbackSettings, ChannelSettings, Timeouts};
use switchboard_core::Secret;

/// The API root below `base_url`.
pub const API_PATH: &str = "carrier-billing/v1";
/// The default token endpoint below `base_url`.
pub const TOKEN_PATH: &str = "token";

/// `options` key: platform user name (required).
pub const OPTION_USERNAME: &str = "username";
/// `options` key: platform user password (required, secret).
pub const OPTION_PASSWORD: &str = "password";
/// `options` key: OAuth2 scope for the grants (optional).
pub const OPTION_SCOPE: &str = "scope";
/// `options` key: default `chargingMetaData.serviceId` (optional).
pub const OPTION_SERVICE_ID: &str = "service_id";

const KNOWN_OPTIONS: &[&str] = &[
    OPTION_USERNAME,
    OPTION_PASSWORD,
    OPTION_SCOPE,
    OPTION_SERVICE_ID,
];

/// The platform user the channel logs in as (OAuth2 password grant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdeabizUser {
    pub username: String,
    pub password: Secret,
    pub scope: Option<String>,
}

/// Everything the adapter needs for one channel, checked.
#[derive(Debug, Clone)]
pub struct IdeabizSettings {
    /// The channel id, for logs and build errors.
    pub channel: String,
    /// `{base_url}/carrier-billing/v1`.
    pub api_root: Url,
    pub token_url: Url,
    /// The application's consumer key.
    pub consumer_key: String,
    /// The application's consumer secret.
    pub consumer_secret: Secret,
    pub user: IdeabizUser,
    /// Sent as `chargingMetaData.serviceId` when the merchant gave none.
    pub service_id: Option<String>,
    pub timeouts: Timeouts,
    /// Where the platform notifies Switchboard (set by the gateway); `None`: no webhook is sent.
    pub callback: Option<CallbackSettings>,
}

impl IdeabizSettings {
    /// Reads and checks a channel's settings; every problem is named in the error.
    pub fn from_channel(settings: &ChannelSettings) -> Result<Self, AdapterBuildError> {
        let fail = |reason: String| AdapterBuildError {
            channel: settings.id.clone(),
            reason,
        };
        let base = http_url("base_url", &settings.base_url).map_err(fail)?;
        let token_url = match settings.token_url.as_deref() {
            Some(url) => http_url("token_url", url).map_err(fail)?,
            None => below(&base, TOKEN_PATH),
        };
        if settings.credentials.client_id.trim().is_empty() {
            return Err(fail(
                "credentials.client_id (the consumer key) must not be empty".into(),
            ));
        }
        if settings.credentials.client_secret.is_empty() {
            return Err(fail(
                "credentials.client_secret (the consumer secret) must not be empty".into(),
            ));
        }
        if settings.timeouts.request_ms == 0 || settings.timeouts.connect_ms == 0 {
            return Err(fail("timeouts must be above zero".into()));
        }
        let options = Options(&settings.options);
        options.check_keys().map_err(fail)?;
        let user = IdeabizUser {
            username: options.required(OPTION_USERNAME).map_err(fail)?,
            password: Secret::new(options.required(OPTION_PASSWORD).map_err(fail)?),
            scope: options.optional(OPTION_SCOPE).map_err(fail)?,
        };
        Ok(IdeabizSettings {
            channel: settings.id.clone(),
            api_root: below(&base, API_PATH),
            token_url,
            consumer_key: settings.credentials.client_id.clone(),
            consumer_secret: settings.credentials.client_secret.clone(),
            user,
            service_id: options.optional(OPTION_SERVICE_ID).map_err(fail)?,
            timeouts: settings.timeouts,
            callback: settings.callback.clone(),
        })
    }
}

/// The channel's `options` table.
struct Options<'a>(&'a BTreeMap<String, Value>);

impl Options<'_> {
    fn check_keys(&self) -> Result<(), String> {
        match self.0.keys().find(|k| !KNOWN_OPTIONS.contains(&k.as_str())) {
            Some(unknown) => Err(format!(
                "options.{unknown} is not an ideabiz option (known: {})",
                KNOWN_OPTIONS.join(", ")
            )),
            None => Ok(()),
        }
    }

    /// A text value. Numbers are taken as their text: a password of digits set through the
    /// environment arrives as a number. The value itself never appears in an error.
    fn optional(&self, key: &str) -> Result<Option<String>, String> {
        let text = match self.0.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => return Err(format!("options.{key} must be a string")),
        };
        if text.trim().is_empty() {
            return Err(format!("options.{key} must not be empty"));
        }
        Ok(Some(text))
    }

    fn required(&self, key: &str) -> Result<String, String> {
        self.optional(key)?.ok_or_else(|| {
            format!("options.{key} is required for an ideabiz channel (the platform user of the password grant)")
        })
    }
}

/// A parsed `http(s)://host…` URL, without query, fragment or credentials.
fn http_url(field: &str, text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("{field} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{field} must be http or https, not '{}'",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{field} has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{field} must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{field} must not carry credentials; use [credentials] and [options]"
        ));
    }
    Ok(url)
}

/// `base` with `path` appended below it.
fn below(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(path.split('/'));
    }
    url
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn channel(base_url: &str, options: Value) -> ChannelSettings {
        serde_json::from_value(json!({
            "id": "dialog-ideabiz", "adapter": "ideabiz", "base_url": base_url,
            "credentials": {"client_id": "key", "client_secret": "secret"},
            "operators": ["dialog-lk"], "capabilities": ["payment", "payment_status"],
            "options": options
        }))
        .unwrap()
    }

    fn user() -> Value {
        json!({"username": "app-user", "password": "hunter2"})
    }

    #[test]
    fn reads_urls_credentials_and_options() {
        let s = IdeabizSettings::from_channel(&channel("http://127.0.0.1:9/dialog-lk/", user()))
            .unwrap();
        assert_eq!(
            s.api_root.as_str(),
            "http://127.0.0.1:9/dialog-lk/carrier-billing/v1"
        );
        assert_eq!(s.token_url.as_str(), "http://127.0.0.1:9/dialog-lk/token");
        assert_eq!(s.consumer_key, "key");
        assert_eq!(s.user.username, "app-user");
        assert_eq!(s.user.password.expose(), "hunter2");
        assert_eq!((s.user.scope, s.service_id), (None, None));

        let mut c = channel(
            "https://ideabiz.lk/apicall",
            json!({"username": "u", "password": 123456, "scope": "PRODUCTION", "service_id": "games-online"}),
        );
        c.token_url = Some("https://ideabiz.lk/apicall/token".into());
        let s = IdeabizSettings::from_channel(&c).unwrap();
        assert_eq!(
            s.api_root.as_str(),
            "https://ideabiz.lk/apicall/carrier-billing/v1"
        );
        assert_eq!(s.user.password.expose(), "123456");
        assert_eq!(s.user.scope.as_deref(), Some("PRODUCTION"));
        assert_eq!(s.service_id.as_deref(), Some("games-online"));
    }

    #[test]
    fn refuses_missing_or_bad_settings_with_clear_reasons() {
        let cases = [
            (
                channel("http://h", json!({"password": "p"})),
                "options.username is required",
            ),
            (
                channel("http://h", json!({"username": "u"})),
                "options.password is required",
            ),
            (
                channel("http://h", json!({"username": "u", "password": ""})),
                "options.password must not be empty",
            ),
            (
                channel("http://h", json!({"username": ["u"], "password": "p"})),
                "options.username must be a string",
            ),
            (
                channel(
                    "http://h",
                    json!({"username": "u", "password": "p", "usename": "x"}),
                ),
                "options.usename is not an ideabiz option",
            ),
            (channel("ftp://h", user()), "base_url must be http or https"),
            (
                channel("https://u:hunter2@h", user()),
                "must not carry credentials",
            ),
        ];
        for (c, expected) in cases {
            let err = IdeabizSettings::from_channel(&c).expect_err(expected);
            assert!(
                err.reason.contains(expected),
                "{} vs {expected}",
                err.reason
            );
            assert_eq!(err.channel, "dialog-ideabiz");
            assert!(!err.to_string().contains("hunter2"));
        }
        let mut c = channel("http://h", user());
        c.credentials.client_id = " ".into();
        assert!(IdeabizSettings::from_channel(&c)
            .unwrap_err()
            .reason
            .contains("consumer key"));
        let mut c = channel("http://h", user());
        c.credentials.client_secret = Secret::default();
        assert!(IdeabizSettings::from_channel(&c)
            .unwrap_err()
            .reason
            .contains("consumer secret"));
    }

    #[test]
    fn secrets_do_not_print() {
        let s = IdeabizSettings::from_channel(&channel("http://h", user())).unwrap();
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("hunter2") && !printed.contains("\"secret\""),
            "{printed}"
        );
    }
}
