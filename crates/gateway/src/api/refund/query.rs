//! `GET /payments/{id}/refunds` query parameters: `page`, `perPage`, `refundCreationDate.gte|lte`,
//! `order`, `refundStatus` (repeated or comma-separated) and `merchantIdentifier`.

use chrono::Utc;
use switchboard_core::{ApiError, ErrorCode};
use switchboard_store::RefundQuery;

use crate::http::query;

pub fn parse(pairs: &[(String, String)]) -> Result<RefundQuery, ApiError> {
    let mut q = RefundQuery::default();
    for (key, value) in pairs {
        match key.as_str() {
            "page" => q.page = query::positive("page", value)?,
            "perPage" => q.per_page = query::positive("perPage", value)?,
            "refundCreationDate.gte" => q.created_gte = Some(query::date_time(key, value)?),
            "refundCreationDate.lte" => q.created_lte = Some(query::date_time(key, value)?),
            "order" => q.order = query::sort_order(value)?,
            "refundStatus" => query::statuses("refundStatus", value, &mut q.statuses)?,
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
    use switchboard_store::SortOrder;

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
