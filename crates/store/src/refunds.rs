//! Refund types of the [`Store`](crate::Store) contract: the insert outcome, the list query and page.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use switchboard_core::{Amount, RefundRecord, RefundStatus, RefundType};

use crate::query::SortOrder;
use crate::IdempotencyKey;

/// The result of [`Store::insert_refund`](crate::Store::insert_refund).
#[derive(Debug, Clone, PartialEq)]
pub enum RefundInsert {
    /// Keys free and the amount fits: the refund is stored and holds its amount.
    Inserted,
    /// `key` already belongs to `existing` (a refund of this merchant); nothing was written.
    Existing {
        key: IdempotencyKey,
        existing: Box<RefundRecord>,
    },
    /// The amount does not fit what is left of the payment (for a `total` refund: it is not
    /// exactly what is left, or nothing is left). Nothing was written.
    OverRemaining { remaining: Amount },
}

/// Filters and page of `GET /payments/{id}/refunds`. `page` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQuery {
    pub statuses: Vec<RefundStatus>,
    pub created_gte: Option<DateTime<Utc>>,
    pub created_lte: Option<DateTime<Utc>>,
    pub merchant_identifier: Option<String>,
    pub order: SortOrder,
    pub page: u32,
    pub per_page: u32,
}

impl Default for RefundQuery {
    fn default() -> Self {
        RefundQuery {
            statuses: Vec::new(),
            created_gte: None,
            created_lte: None,
            merchant_identifier: None,
            order: SortOrder::Desc,
            page: 1,
            per_page: 10,
        }
    }
}

impl RefundQuery {
    /// Whether a visible refund matches the filters (not the page).
    pub fn matches(&self, r: &RefundRecord) -> bool {
        r.is_visible()
            && (self.statuses.is_empty() || self.statuses.contains(&r.status))
            && self.created_gte.is_none_or(|d| r.created_at >= d)
            && self.created_lte.is_none_or(|d| r.created_at <= d)
            && self
                .merchant_identifier
                .as_ref()
                .is_none_or(|mi| r.merchant_identifier.as_ref() == Some(mi))
    }

    /// Index of the first item of the page (0-based).
    pub fn offset(&self) -> usize {
        (self.page.saturating_sub(1) as usize) * self.per_page as usize
    }
}

/// One page of refunds and the number of all matches.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundPage {
    pub items: Vec<RefundRecord>,
    pub total: usize,
}

/// The remaining-amount guard every backend applies inside its atomic insert: `None` when
/// `record` fits `paid − reserved`, else what is left.
pub(crate) fn over_remaining(
    record: &RefundRecord,
    paid: Amount,
    reserved: Decimal,
) -> Option<Amount> {
    let left = paid.value() - reserved;
    let amount = record.amount.value();
    let fits = match record.refund_type {
        RefundType::Total => amount == left,
        RefundType::Partial => amount <= left,
    };
    (!(fits && amount > Decimal::ZERO && left > Decimal::ZERO))
        .then(|| switchboard_core::refund::remaining(paid, reserved))
}
