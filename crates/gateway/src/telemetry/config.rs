//! `[telemetry]`: OpenTelemetry traces, off unless an OTLP endpoint is set.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// The OTLP/HTTP collector base (`http://jaeger:4318`); spans are posted to `{base}/v1/traces`
    /// (an address already ending in `/v1/traces` is used as is). Empty: no traces leave the process.
    pub otlp_endpoint: String,
    /// `service.name` of every span.
    pub service_name: String,
    /// Share of new traces recorded (0..=1). A merchant's `traceparent` decides for its own trace
    /// (parent-based sampling).
    pub sample_ratio: f64,
    /// Deadline of one export request to the collector.
    pub export_timeout_ms: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            otlp_endpoint: String::new(),
            service_name: "switchboard".into(),
            sample_ratio: 1.0,
            export_timeout_ms: 5000,
        }
    }
}

impl TelemetryConfig {
    pub fn enabled(&self) -> bool {
        !self.otlp_endpoint.trim().is_empty()
    }

    /// Where spans are posted.
    pub fn traces_url(&self) -> String {
        let base = self.otlp_endpoint.trim().trim_end_matches('/');
        if base.ends_with("/v1/traces") {
            base.to_string()
        } else {
            format!("{base}/v1/traces")
        }
    }

    /// The problems of this section, named by setting.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            problems.push(format!(
                "telemetry.sample_ratio ({}) must be between 0 and 1",
                self.sample_ratio
            ));
        }
        if self.service_name.trim().is_empty() {
            problems.push("telemetry.service_name must not be empty".into());
        }
        if self.export_timeout_ms == 0 {
            problems.push("telemetry.export_timeout_ms must be above 0".into());
        }
        if self.enabled() {
            match reqwest::Url::parse(&self.traces_url()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                _ => problems.push(format!(
                    "telemetry.otlp_endpoint '{}' is not an http(s) address",
                    self.otlp_endpoint
                )),
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_valid() {
        let c = TelemetryConfig::default();
        assert!(!c.enabled());
        assert!(c.problems().is_empty());
    }

    #[test]
    fn the_traces_path_is_added_once() {
        let mut c = TelemetryConfig {
            otlp_endpoint: "http://jaeger:4318/".into(),
            ..TelemetryConfig::default()
        };
        assert_eq!(c.traces_url(), "http://jaeger:4318/v1/traces");
        c.otlp_endpoint = "http://c:4318/v1/traces".into();
        assert_eq!(c.traces_url(), "http://c:4318/v1/traces");
    }

    #[test]
    fn bad_ratio_and_address_are_named() {
        let c = TelemetryConfig {
            otlp_endpoint: "jaeger:4318".into(),
            sample_ratio: 1.5,
            ..TelemetryConfig::default()
        };
        let problems = c.problems().join("\n");
        assert!(problems.contains("telemetry.sample_ratio"), "{problems}");
        assert!(problems.contains("telemetry.otlp_endpoint"), "{problems}");
    }
}
