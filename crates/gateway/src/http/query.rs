//! Query parameter values shared by the list endpoints (payments and refunds).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use switchboard_core::ApiError;
use switchboard_store::SortOrder;

/// `page` / `perPage`: an integer of at least 1.
pub fn positive(name: &str, value: &str) -> Result<u32, ApiError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            ApiError::invalid_argument(format!("{name} must be an integer of at least 1"))
        })
}

/// A creation-date bound: RFC 3339 with a time zone.
pub fn date_time(name: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::invalid_argument(format!(
                "{name} must be an RFC 3339 date-time with time zone"
            ))
        })
}

/// `order`: `asc` or `desc`.
pub fn sort_order(value: &str) -> Result<SortOrder, ApiError> {
    match value {
        "asc" => Ok(SortOrder::Asc),
        "desc" => Ok(SortOrder::Desc),
        _ => Err(ApiError::invalid_argument("order must be 'asc' or 'desc'")),
    }
}

/// A status filter in the repeated or comma-separated form, added to `into` without duplicates.
pub fn statuses<T: FromStr + PartialEq>(
    name: &str,
    value: &str,
    into: &mut Vec<T>,
) -> Result<(), ApiError> {
    for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let status = s
            .parse()
            .map_err(|_| ApiError::invalid_argument(format!("{name}: unknown status '{s}'")))?;
        if !into.contains(&status) {
            into.push(status);
        }
    }
    Ok(())
}
