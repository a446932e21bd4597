//! List queries over a merchant's payments.

use chrono::{DateTime, Utc};
use switchboard_core::{Msisdn, PaymentRecord, PaymentStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// Filters and page of `GET /payments`. `page` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentQuery {
    pub statuses: Vec<PaymentStatus>,
    pub created_gte: Option<DateTime<Utc>>,
    pub created_lte: Option<DateTime<Utc>>,
    pub merchant_identifier: Option<String>,
    /// Set for phone-bound tokens: only that subscriber's payments.
    pub msisdn: Option<Msisdn>,
    pub order: SortOrder,
    pub page: u32,
    pub per_page: u32,
}

impl Default for PaymentQuery {
    fn default() -> Self {
        PaymentQuery {
            statuses: Vec::new(),
            created_gte: None,
            created_lte: None,
            merchant_identifier: None,
            msisdn: None,
            order: SortOrder::Desc,
            page: 1,
            per_page: 10,
        }
    }
}

impl PaymentQuery {
    /// Whether a visible payment matches the filters (not the page).
    pub fn matches(&self, p: &PaymentRecord) -> bool {
        p.is_visible()
            && (self.statuses.is_empty() || self.statuses.contains(&p.status))
            && self.created_gte.is_none_or(|d| p.created_at >= d)
            && self.created_lte.is_none_or(|d| p.created_at <= d)
            && self.msisdn.as_ref().is_none_or(|m| &p.msisdn == m)
            && self.merchant_identifier.as_ref().is_none_or(|mi| {
                p.payment_amount
                    .charging_meta_data
                    .as_ref()
                    .and_then(|m| m.merchant_identifier.as_ref())
                    == Some(mi)
            })
    }

    /// Index of the first item of the page (0-based).
    pub fn offset(&self) -> usize {
        (self.page.saturating_sub(1) as usize) * self.per_page as usize
    }
}

/// One page of results and the number of all matches.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentPage {
    pub items: Vec<PaymentRecord>,
    pub total: usize,
}
