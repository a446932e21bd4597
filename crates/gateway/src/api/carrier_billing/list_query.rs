//! `GET /payments` query parameters: `page`, `perPage`, `paymentCreationDate.gte|lte`, `order`,
//! `paymentStatus` (repeated or comma-separated) and `merchantIdentifier`. Unknown ones are ignored.

use switchboard_core::{ApiError, ErrorCode};
use switchboard_store::PaymentQuery;

use crate::http::query;

pub fn parse(pairs: &[(String, String)]) -> Result<PaymentQuery, ApiError> {
    let mut q = PaymentQuery::default();
    for (key, value) in pairs {
        match key.as_str() {
            "page" => q.page = query::positive("page", value)?,
            "perPage" => q.per_page = query::positive("perPage", value)?,
            "paymentCreationDate.gte" => q.created_gte = Some(query::date_time(key, value)?),
            "paymentCreationDate.lte" => q.created_lte = Some(query::date_time(key, value)?),
            "order" => q.order = query::sort_order(value)?,
            "paymentStatus" => query::statuses("paymentStatus", value, &mut q.statuses)?,
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
    use switchboard_core::PaymentStatus;
    use switchboard_store::SortOrder;

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
