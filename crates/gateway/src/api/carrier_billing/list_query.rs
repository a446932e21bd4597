//! `GET /payments` query parameters: `page`, `perPage`, `paymentCreationDate.gte|lte`, `order`,
//! `paymentStatus` (repeated or comma-separated) and `merchantIdentifier`. Unknown ones are ignored.

use chrono::{DateTime, Utc};
use switchboard_core::{ApiError, ErrorCode, PaymentStatus};
use switchboard_store::{PaymentQuery, SortOrder};

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

pub fn parse(pairs: &[(String, String)]) -> Result<PaymentQuery, ApiError> {
    let mut q = PaymentQuery::default();
    for (key, value) in pairs {
        match key.as_str() {
            "page" => q.page = positive("page", value)?,
            "perPage" => q.per_page = positive("perPage", value)?,
            "paymentCreationDate.gte" => q.created_gte = Some(date(key, value)?),
            "paymentCreationDate.lte" => q.created_lte = Some(date(key, value)?),
            "order" => {
                q.order = match value.as_str() {
                    "asc" => SortOrder::Asc,
                    "desc" => SortOrder::Desc,
                    _ => return Err(ApiError::invalid_argument("order must be 'asc' or 'desc'")),
                }
            }
            "paymentStatus" => {
                for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let status: PaymentStatus = s.parse().map_err(|_| {
                        ApiError::invalid_argument(format!("paymentStatus: unknown status '{s}'"))
                    })?;
                    if !q.statuses.contains(&status) {
                        q.statuses.push(status);
                    }
                }
            }
            "merchantIdentifier" => q.merchant_identifier = Some(value.clone()),
            _ => {}
        }
    }
    if let (Some(gte), Some(lte)) = (q.created_gte, q.created_lte) {
        if gte > lte {
            return Err(ApiError::new(
                ErrorCode::InvalidDateRange,
                "paymentCreationDate.gte must not be after paymentCreationDate.lte.",
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
    fn defaults_are_page_1_of_10_newest_first() {
        let q = parse(&[]).unwrap();
        assert_eq!((q.page, q.per_page, q.order), (1, 10, SortOrder::Desc));
    }

    #[test]
    fn statuses_in_repeated_and_comma_forms() {
        let q = parse(&pairs(&[
            ("paymentStatus", "succeeded,denied"),
            ("paymentStatus", "reserved"),
        ]))
        .unwrap();
        assert_eq!(
            q.statuses,
            [
                PaymentStatus::Succeeded,
                PaymentStatus::Denied,
                PaymentStatus::Reserved
            ]
        );
        assert!(parse(&pairs(&[("paymentStatus", "paid")])).is_err());
    }

    #[test]
    fn date_range_rules() {
        let bad = parse(&pairs(&[
            ("paymentCreationDate.gte", "2026-02-01T00:00:00Z"),
            ("paymentCreationDate.lte", "2026-01-01T00:00:00Z"),
        ]));
        assert_eq!(bad.unwrap_err().code, ErrorCode::InvalidDateRange);
        let no_zone = parse(&pairs(&[(
            "paymentCreationDate.gte",
            "2026-02-01T00:00:00",
        )]));
        assert_eq!(no_zone.unwrap_err().code, ErrorCode::InvalidArgument);
        assert!(parse(&pairs(&[(
            "paymentCreationDate.lte",
            "2026-01-01T00:00:00+02:00"
        )]))
        .is_ok());
    }

    #[test]
    fn page_and_order_validation() {
        assert!(parse(&pairs(&[("page", "0")])).is_err());
        assert!(parse(&pairs(&[("perPage", "-1")])).is_err());
        assert!(parse(&pairs(&[("order", "sideways")])).is_err());
        assert_eq!(
            parse(&pairs(&[("order", "asc"), ("unknown", "x")]))
                .unwrap()
                .order,
            SortOrder::Asc
        );
    }
}
