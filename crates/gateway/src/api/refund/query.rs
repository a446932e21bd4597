//! `GET /payments/{id}/refunds` query parameters: `page`, `perPage`, `refundCreationDate.gte|lte`,
//! `order`, `refundStatus` (repeated or comma-separated) and `merchantIdentifier`.

use chrono::{DateTime, Utc};
use switchboard_core::{ApiError, ErrorCode, RefundStatus};
use switchboard_store::{RefundQuery, SortOrder};

fn positive(name: &str, value: &str) -> Result<u32, ApiError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            ApiError::invalid_argument(format!("{name} must be an integer of at least 1"))
        })
}

fn date(name: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::invalid_argument(format!(
                "{name} must be an RFC 3339 date-time with time zone"
            ))
        })
}

pub fn parse(pairs: &[(String, String)]) -> Result<RefundQuery, ApiError> {
    let mut q = RefundQuery::default();
    for (key, value) in pairs {
        match key.as_str() {
            "page" => q.page = positive("page", value)?,
            "perPage" => q.per_page = positive("perPage", value)?,
            "refundCreationDate.gte" => q.created_gte = Some(date(key, value)?),
            "refundCreationDate.lte" => q.created_lte = Some(date(key, value)?),
            "order" => {
                q.order = match value.as_str() {
                    "asc" => SortOrder::Asc,
                    "desc" => SortOrder::Desc,
                    _ => return Err(ApiError::invalid_argument("order must be 'asc' or 'desc'")),
                }
            }
            "refundStatus" => {
                for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let st: RefundStatus = s.parse().map_err(|_| {
                        ApiError::invalid_argument(format!("refundStatus: unknown status '{s}'"))
                    })?;
                    if !q.statuses.contains(&st) {
                        q.statuses.push(st);
                    }
                }
            }
            "merchantIdentifier" => q.merchant_identifier = Some(value.clone()),
            _ => {}
        }
    }
    // Only `lte`: everything until then; only `gte`: until now.
    if q.created_gte.is_some() && q.created_lte.is_none() {
        q.created_lte = Some(Utc::now());
    }
    if let (Some(gte), Some(lte)) = (q.created_gte, q.created_lte) {
        if gte > lte {
            return Err(ApiError::new(
                ErrorCode::RefundInvalidDateRange,
                "refundCreationDate.gte must not be after refundCreationDate.lte.",
            ));
        }
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_filters_and_date_rules() {
        let q = parse(&[]).unwrap();
        assert_eq!((q.page, q.per_page, q.order), (1, 10, SortOrder::Desc));
        let q = parse(&pairs(&[
            ("refundStatus", "succeeded,denied"),
            ("refundStatus", "processing"),
        ]))
        .unwrap();
        assert_eq!(q.statuses.len(), 3);
        assert!(parse(&pairs(&[("refundStatus", "paid")])).is_err());
        let bad = parse(&pairs(&[
            ("refundCreationDate.gte", "2026-02-01T00:00:00Z"),
            ("refundCreationDate.lte", "2026-01-01T00:00:00Z"),
        ]));
        assert_eq!(bad.unwrap_err().code, ErrorCode::RefundInvalidDateRange);
        assert!(parse(&pairs(&[("page", "0")])).is_err());
    }
}
