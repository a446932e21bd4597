//! What a `topup` channel's configuration must say, checked once when the adapter is built.
//!
//! - `base_url`: the provider's API root (`https://api.provider.example`, or
//!   `http://127.0.0.1:PORT/globaltopup` for the sandbox); paths `telecom/…` and `esim/…` go below.
//! - `credentials.client_secret`: the API key, sent as `Authorization: Bearer <key>`.
//!   `credentials.client_id` is not used.
//! - `options.phone_format`: `"digits"` (default, `79161234567`) or `"e164"` (`+79161234567`).
//! - `options.operator_ids`: a table from the provider's operator ids to Switchboard's
//!   (`{ mts_ru = "mts-ru" }`); ids not listed are the same on both sides.

use std::collections::BTreeMap;

use reqwest::Url;
use switchboard_adapter::{AdapterBuildError, ChannelSettings};
use switchboard_core::{Msisdn, Secret};

/// How the provider writes phone numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneFormat {
    /// `79161234567`.
    Digits,
    /// `+79161234567`.
    E164,
}

impl PhoneFormat {
    pub fn render(self, msisdn: &Msisdn) -> String {
        match self {
            PhoneFormat::Digits => msisdn.digits().to_string(),
            PhoneFormat::E164 => msisdn.as_str().to_string(),
        }
    }
}

/// Provider operator ids ↔ Switchboard operator ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorIds {
    ours_by_theirs: BTreeMap<String, String>,
}

impl OperatorIds {
    /// From a table of provider id → Switchboard id.
    pub fn new(ours_by_theirs: BTreeMap<String, String>) -> Self {
        OperatorIds { ours_by_theirs }
    }

    /// Switchboard's id for the provider's `theirs`.
    pub fn ours(&self, theirs: &str) -> String {
        self.ours_by_theirs
            .get(theirs)
            .cloned()
            .unwrap_or_else(|| theirs.to_string())
    }

    /// The provider's id for Switchboard's `ours`.
    pub fn theirs(&self, ours: &str) -> String {
        self.ours_by_theirs
            .iter()
            .find(|(_, o)| o.as_str() == ours)
            .map(|(t, _)| t.clone())
            .unwrap_or_else(|| ours.to_string())
    }
}

/// The checked settings.
#[derive(Debug)]
pub struct Settings {
    pub api_root: Url,
    pub api_key: Secret,
    pub phone_format: PhoneFormat,
    pub operator_ids: OperatorIds,
}

const KNOWN_OPTIONS: &[&str] = &["phone_format", "operator_ids"];

impl Settings {
    pub fn from_channel(settings: &ChannelSettings) -> Result<Settings, AdapterBuildError> {
        let fail = |reason: String| AdapterBuildError {
            channel: settings.id.clone(),
            reason,
        };
        let api_root = http_url(&settings.base_url).map_err(fail)?;
        if settings.credentials.client_secret.is_empty() {
            return Err(fail(
                "credentials.client_secret (the provider's API key) must not be empty".into(),
            ));
        }
        if settings.timeouts.request_ms == 0 || settings.timeouts.connect_ms == 0 {
            return Err(fail("timeouts must be above zero".into()));
        }
        if let Some(unknown) = settings
            .options
            .keys()
            .find(|k| !KNOWN_OPTIONS.contains(&k.as_str()))
        {
            return Err(fail(format!(
                "unknown option '{unknown}' (known: {})",
                KNOWN_OPTIONS.join(", ")
            )));
        }
        let phone_format = match settings.options.get("phone_format") {
            None => PhoneFormat::Digits,
            Some(v) => match v.as_str() {
                Some("digits") => PhoneFormat::Digits,
                Some("e164") => PhoneFormat::E164,
                _ => {
                    return Err(fail(
                        "options.phone_format must be \"digits\" or \"e164\"".into(),
                    ))
                }
            },
        };
        let operator_ids = match settings.options.get("operator_ids") {
            None => OperatorIds::default(),
            Some(v) => OperatorIds::new(serde_json::from_value(v.clone()).map_err(|_| {
                fail("options.operator_ids must be a table of provider id = Switchboard id".into())
            })?),
        };
        Ok(Settings {
            api_root,
            api_key: settings.credentials.client_secret.clone(),
            phone_format,
            operator_ids,
        })
    }
}

/// A parsed `http(s)://host…` URL without query, fragment or credentials.
fn http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("base_url is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "base_url must be http or https, not '{}'",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("base_url has no host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("base_url must not have a query or fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("base_url must not carry credentials; use [credentials]".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn channel(base_url: &str, key: &str, options: serde_json::Value) -> ChannelSettings {
        serde_json::from_value(json!({
            "id": "globaltopup", "adapter": "topup", "base_url": base_url,
            "credentials": {"client_secret": key}, "operators": ["mts-ru"],
            "capabilities": ["topup", "lookup"], "options": options
        }))
        .unwrap()
    }

    #[test]
    fn reads_options() {
        let s = Settings::from_channel(&channel(
            "https://api.example/v1/",
            "k",
            json!({"phone_format": "e164", "operator_ids": {"mts_ru": "mts-ru"}}),
        ))
        .unwrap();
        assert_eq!(s.phone_format, PhoneFormat::E164);
        assert_eq!(s.operator_ids.ours("mts_ru"), "mts-ru");
        assert_eq!(s.operator_ids.ours("orange-fr"), "orange-fr");
        assert_eq!(s.operator_ids.theirs("mts-ru"), "mts_ru");
        assert_eq!(s.operator_ids.theirs("telekom-de"), "telekom-de");
        let d = Settings::from_channel(&channel("http://h/globaltopup", "k", json!({}))).unwrap();
        assert_eq!(d.phone_format, PhoneFormat::Digits);
        let m = Msisdn::parse("+79161234567").unwrap();
        assert_eq!(PhoneFormat::Digits.render(&m), "79161234567");
        assert_eq!(PhoneFormat::E164.render(&m), "+79161234567");
    }

    #[test]
    fn rejects_bad_settings_without_leaking_the_key() {
        let cases = [
            (channel("ftp://h", "k", json!({})), "must be http or https"),
            (channel("h", "k", json!({})), "not a URL"),
            (
                channel("http://u:p@h", "k", json!({})),
                "must not carry credentials",
            ),
            (channel("http://h?x=1", "k", json!({})), "query"),
            (channel("http://h", "", json!({})), "API key"),
            (
                channel("http://h", "k", json!({"phone_format": "tel"})),
                "phone_format",
            ),
            (
                channel("http://h", "k", json!({"operator_ids": ["x"]})),
                "operator_ids",
            ),
            (
                channel("http://h", "k", json!({"colour": "red"})),
                "unknown option 'colour'",
            ),
        ];
        for (c, expected) in cases {
            let err = Settings::from_channel(&c).unwrap_err();
            assert!(
                err.reason.contains(expected),
                "{} lacks {expected}",
                err.reason
            );
            assert_eq!(err.channel, "globaltopup");
        }
        let s =
            Settings::from_channel(&channel("http://h", "super-secret-key", json!({}))).unwrap();
        assert!(!format!("{s:?}").contains("super-secret-key"));
    }
}
