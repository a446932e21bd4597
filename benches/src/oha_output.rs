//! Reading what `oha --output-format json` prints.

use serde_json::Value;

/// One fixed-rate oha run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OhaRun {
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// Share of requests answered at all (oha's `successRate`).
    pub success_rate: f64,
    /// Answers outside 2xx.
    pub non_2xx: u64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OhaParseError {
    #[error("oha printed no JSON: {0}")]
    NotJson(String),
    #[error("oha's JSON has no number at {0}")]
    Missing(&'static str),
}

pub fn parse(text: &str) -> Result<OhaRun, OhaParseError> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| OhaParseError::NotJson(e.to_string()))?;
    let number = |pointer: &'static str| {
        doc.pointer(pointer)
            .and_then(Value::as_f64)
            .ok_or(OhaParseError::Missing(pointer))
    };
    let non_2xx = doc
        .get("statusCodeDistribution")
        .and_then(Value::as_object)
        .map(|codes| {
            codes
                .iter()
                .filter(|(code, _)| !code.starts_with('2'))
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        })
        .unwrap_or(0);
    Ok(OhaRun {
        rps: number("/summary/requestsPerSec")?,
        p50_us: number("/latencyPercentiles/p50")? * 1e6,
        p99_us: number("/latencyPercentiles/p99")? * 1e6,
        success_rate: number("/summary/successRate")?,
        non_2xx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rate_percentiles_in_microseconds_and_failed_statuses() {
        let text = r#"{"summary":{"successRate":0.999,"total":8.0,"requestsPerSec":2500.5},
            "latencyPercentiles":{"p10":0.0003,"p50":0.00125,"p99":0.0042,"p99.9":0.01},
            "statusCodeDistribution":{"201":19990,"409":4,"503":6},"errorDistribution":{}}"#;
        let run = parse(text).unwrap();
        assert_eq!(run.rps, 2500.5);
        assert!((run.p50_us - 1250.0).abs() < 1e-6);
        assert!((run.p99_us - 4200.0).abs() < 1e-6);
        assert_eq!(run.success_rate, 0.999);
        assert_eq!(run.non_2xx, 10);
    }

    #[test]
    fn missing_fields_and_text_output_are_errors() {
        assert_eq!(
            parse(r#"{"summary":{"successRate":1.0,"requestsPerSec":1.0}}"#),
            Err(OhaParseError::Missing("/latencyPercentiles/p50"))
        );
        assert!(matches!(
            parse("Summary:\n  Success rate: 100.00%"),
            Err(OhaParseError::NotJson(_))
        ));
    }
}
