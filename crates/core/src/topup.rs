//! Mobile top-up: the product catalogue, the operator lookup, and a top-up as Switchboard keeps it.
//!
//! A top-up credits a subscriber's line with money (`prepaid`), a package of data / minutes / SMS
//! (`bundle`) or a new tariff (`plan_change`). Its life cycle is short:
//!
//! ```text
//! pending -> completed | failed
//! completed, failed: terminal
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::money::{Amount, Currency};
use crate::msisdn::Msisdn;

/// What a product does to the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductType {
    /// Balance top-up: credits money, usually any amount within bounds.
    Prepaid,
    /// A package of data, minutes and SMS valid for some days.
    Bundle,
    /// Activates a tariff for a month or a year.
    PlanChange,
}

impl ProductType {
    pub const ALL: [ProductType; 3] = [
        ProductType::Prepaid,
        ProductType::Bundle,
        ProductType::PlanChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductType::Prepaid => "prepaid",
            ProductType::Bundle => "bundle",
            ProductType::PlanChange => "plan_change",
        }
    }

    /// The operation's name in a lookup's `supports` list, as the product documents spell it
    /// (`topup`, `bundle`, `plan_change`).
    pub fn supports_name(self) -> &'static str {
        match self {
            ProductType::Prepaid => "topup",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for ProductType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The product documents spell ids with underscores (`mts_ru_bundle_10gb_30d`) where the catalogue
/// uses hyphens (`mts-ru-bundle-10gb-30d`): the other spelling of `id`, when it has one.
pub fn hyphenated_id(id: &str) -> Option<String> {
    id.contains('_').then(|| id.replace('_', "-"))
}

impl FromStr for ProductType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProductType::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.supports_name() == s)
            .ok_or_else(|| format!("unknown product type '{s}' (prepaid, bundle, plan_change)"))
    }
}

/// How the subscriber pays for the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineType {
    Prepaid,
    Postpaid,
}

impl LineType {
    pub fn as_str(self) -> &'static str {
        match self {
            LineType::Prepaid => "prepaid",
            LineType::Postpaid => "postpaid",
        }
    }
}

impl fmt::Display for LineType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a bundle contains. Absent means "not part of this bundle".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BundleContents {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_mb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<u32>,
}

/// One product of a channel's catalogue, in Switchboard's terms.
///
/// Priced one of two ways: a fixed `price`, or any amount between `min_amount` and `max_amount`
/// (either bound may be absent). [`Product::check`] holds the rules a usable product follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    /// Switchboard's operator id (from the number plan).
    pub operator_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub product_type: ProductType,
    #[serde(default)]
    pub description: String,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contents: Option<BundleContents>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_days: Option<u32>,
    /// The subscribers who may buy it.
    pub line_types: Vec<LineType>,
}

impl Product {
    /// Whether the price is fixed (otherwise the buyer names the amount).
    pub fn is_fixed_price(&self) -> bool {
        self.price.is_some()
    }

    /// The rules every sellable product follows: a positive fixed price *or* amount bounds (not
    /// both), `min_amount <= max_amount`, and at least one line type.
    pub fn check(&self) -> Result<(), String> {
        if self.id.trim().is_empty() {
            return Err("product id must not be empty".into());
        }
        if self.line_types.is_empty() {
            return Err(format!("product {}: no line types", self.id));
        }
        match (self.price, self.min_amount, self.max_amount) {
            (Some(price), None, None) if !price.is_zero() => Ok(()),
            (Some(_), None, None) => Err(format!("product {}: price must be above 0", self.id)),
            (Some(_), _, _) => Err(format!(
                "product {}: a fixed price and amount bounds exclude each other",
                self.id
            )),
            (None, Some(min), Some(max)) if min > max => Err(format!(
                "product {}: min_amount {min} is above max_amount {max}",
                self.id
            )),
            (None, _, _) => Ok(()),
        }
    }

    /// The amount to charge for this product when the buyer asked for `requested`.
    ///
    /// Fixed price: `requested` must be absent or equal to the price. Any amount: `requested` is
    /// required, above zero and within the bounds.
    pub fn price_for(&self, requested: Option<Amount>) -> Result<Amount, ApiError> {
        let currency = &self.currency;
        if let Some(price) = self.price {
            return match requested {
                None => Ok(price),
                Some(asked) if asked == price => Ok(price),
                Some(asked) => Err(ApiError::invalid_argument(format!(
                    "product {} has a fixed price of {price} {currency}; amount {asked} must be omitted or equal to it",
                    self.id
                ))),
            };
        }
        let asked = requested.ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "product {} takes any amount{}: amount is required",
                self.id,
                self.bounds_text()
            ))
        })?;
        if asked.is_zero() {
            return Err(ApiError::invalid_argument("amount must be above 0"));
        }
        let below = self.min_amount.is_some_and(|min| asked < min);
        let above = self.max_amount.is_some_and(|max| asked > max);
        if below || above {
            return Err(ApiError::new(
                ErrorCode::OutOfRange,
                format!(
                    "amount {asked} {currency} is outside what product {} allows{}",
                    self.id,
                    self.bounds_text()
                ),
            ));
        }
        Ok(asked)
    }

    /// Whether a subscriber with this line type may buy the product.
    pub fn allows(&self, line: LineType) -> bool {
        self.line_types.contains(&line)
    }

    fn bounds_text(&self) -> String {
        let c = &self.currency;
        match (self.min_amount, self.max_amount) {
            (Some(min), Some(max)) => format!(" from {min} to {max} {c}"),
            (Some(min), None) => format!(" from {min} {c}"),
            (None, Some(max)) => format!(" up to {max} {c}"),
            (None, None) => String::new(),
        }
    }
}

/// What an operator lookup says about a phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupResult {
    /// Switchboard's operator id (after number portability: the operator serving the line now).
    pub operator_id: String,
    pub operator_name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    #[serde(rename = "type")]
    pub line_type: LineType,
    /// The product types this line can buy.
    pub supports: Vec<ProductType>,
}

/// Where a top-up is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopUpStatus {
    Pending,
    Completed,
    Failed,
}

/// A move the top-up state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("top-up cannot move from {from} to {to}")]
pub struct TopUpTransitionError {
    pub from: TopUpStatus,
    pub to: TopUpStatus,
}

impl TopUpStatus {
    pub const ALL: [TopUpStatus; 3] = [
        TopUpStatus::Pending,
        TopUpStatus::Completed,
        TopUpStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TopUpStatus::Pending => "pending",
            TopUpStatus::Completed => "completed",
            TopUpStatus::Failed => "failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        self != TopUpStatus::Pending
    }

    /// `pending -> completed | failed`; nothing else. Staying put is not a move.
    pub fn can_move_to(self, to: TopUpStatus) -> bool {
        self == TopUpStatus::Pending && to != TopUpStatus::Pending
    }

    /// `Ok(true)` for a real move, `Ok(false)` when already there, an error otherwise.
    pub fn check_move(self, to: TopUpStatus) -> Result<bool, TopUpTransitionError> {
        if self == to {
            Ok(false)
        } else if self.can_move_to(to) {
            Ok(true)
        } else {
            Err(TopUpTransitionError { from: self, to })
        }
    }
}

impl fmt::Display for TopUpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TopUpStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TopUpStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown top-up status '{s}'"))
    }
}

/// Everything Switchboard stores about one top-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopUpRecord {
    /// Switchboard's transaction id.
    pub id: String,
    pub merchant_id: String,
    /// The merchant's idempotency key.
    pub external_tx_id: String,
    pub msisdn: Msisdn,
    pub product_id: String,
    pub operator_id: String,
    pub channel_id: Option<String>,
    pub amount: Amount,
    pub currency: Currency,
    pub status: TopUpStatus,
    /// The `external_tx_id` sent upstream, derived from our id ([`TopUpRecord::upstream_reference_for`])
    /// so a retry or a status query finds the same upstream transaction.
    pub upstream_reference: String,
    /// The provider's transaction id, once known.
    pub upstream_tx_id: Option<String>,
    /// The operator's own transaction id, for disputes.
    pub operator_tx_id: Option<String>,
    /// What was credited, as the provider describes it.
    pub credited: Option<serde_json::Value>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Hash of the request that created it; a retry with another body is refused.
    pub fingerprint: String,
    /// Bumped by every write; the store's compare-and-set checks it.
    pub version: u64,
    /// Status queries made so far to settle this top-up; drives the backoff.
    #[serde(default)]
    pub reconcile_attempts: u32,
    /// When reconciliation should look at this top-up next (None: not waiting on anything).
    #[serde(default)]
    pub next_check_at: Option<DateTime<Utc>>,
    /// Reconciliation gave up after the maximum age: listed at `/admin/reconciliation`.
    #[serde(default)]
    pub needs_review: bool,
}

impl TopUpRecord {
    /// The upstream `external_tx_id` for a Switchboard top-up id.
    pub fn upstream_reference_for(id: &str) -> String {
        format!("sb-{id}")
    }

    /// Whether Switchboard still waits to learn the outcome.
    pub fn is_unsettled(&self) -> bool {
        self.status == TopUpStatus::Pending
    }

    /// Moves to `to` if the state machine allows; a repeat of the current state is a no-op.
    /// Reaching `completed` stamps `completed_at` (unless the provider's time was already set).
    pub fn move_to(&mut self, to: TopUpStatus, now: DateTime<Utc>) -> Result<bool, ApiError> {
        let moved = self
            .status
            .check_move(to)
            .map_err(|e| ApiError::new(ErrorCode::IncompatibleState, e.to_string()))?;
        if moved {
            self.status = to;
            self.updated_at = now;
            if to == TopUpStatus::Completed && self.completed_at.is_none() {
                self.completed_at = Some(now);
            }
        }
        Ok(moved)
    }
}

/// An eSIM order: a new profile, installed by scanning `qr_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EsimOrder {
    pub order_id: String,
    /// The provider's order status (`completed`, `pending`, …), passed on as is.
    pub status: String,
    pub product_id: String,
    pub iccid: Option<String>,
    /// The LPA activation code (`LPA:1$<SM-DP+ address>$<matching id>`), the QR code's content.
    pub qr_code: String,
    pub created_at: DateTime<Utc>,
}

/// The SM-DP+ address and matching id of an LPA activation code (SGP.22 §4.1:
/// `LPA:1$<SM-DP+ address>$<matching id>[$<OID>[$<confirmation code required flag>]]`).
pub fn parse_lpa(code: &str) -> Option<(&str, &str)> {
    let rest = code.strip_prefix("LPA:1$")?;
    let mut parts = rest.split('$');
    let smdp = parts.next().filter(|s| is_lpa_host(s))?;
    let matching_id = parts.next().filter(|m| {
        !m.is_empty()
            && m.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    })?;
    if parts.count() > 2 {
        return None;
    }
    Some((smdp, matching_id))
}

fn is_lpa_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.contains('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn amount(text: &str) -> Amount {
        text.parse().unwrap()
    }

    fn product(price: Option<&str>, min: Option<&str>, max: Option<&str>) -> Product {
        Product {
            id: "p1".into(),
            operator_id: "mts-ru".into(),
            name: "Product".into(),
            product_type: ProductType::Prepaid,
            description: String::new(),
            currency: Currency::parse("RUB").unwrap(),
            price: price.map(amount),
            min_amount: min.map(amount),
            max_amount: max.map(amount),
            contents: None,
            validity_days: None,
            line_types: vec![LineType::Prepaid],
        }
    }

    #[test]
    fn fixed_price_takes_no_amount_or_the_same_one() {
        let p = product(Some("500"), None, None);
        assert_eq!(p.price_for(None), Ok(amount("500")));
        assert_eq!(p.price_for(Some(amount("500.00"))), Ok(amount("500")));
        let err = p.price_for(Some(amount("499.99"))).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidArgument);
        assert!(err.message.contains("fixed price of 500 RUB"), "{err}");
    }

    #[test]
    fn any_amount_needs_an_amount_within_bounds() {
        let p = product(None, Some("50"), Some("15000"));
        assert_eq!(p.price_for(Some(amount("50"))), Ok(amount("50")));
        assert_eq!(p.price_for(Some(amount("15000"))), Ok(amount("15000")));
        assert_eq!(p.price_for(Some(amount("123.45"))), Ok(amount("123.45")));
        let missing = p.price_for(None).unwrap_err();
        assert_eq!(missing.code, ErrorCode::InvalidArgument);
        assert!(
            missing.message.contains("from 50 to 15000 RUB"),
            "{missing}"
        );
        for bad in ["49.99", "15000.001"] {
            let err = p.price_for(Some(amount(bad))).unwrap_err();
            assert_eq!(err.code, ErrorCode::OutOfRange, "{bad}");
        }
        assert_eq!(
            p.price_for(Some(Amount::ZERO)).unwrap_err().code,
            ErrorCode::InvalidArgument
        );
        let open = product(None, Some("10"), None);
        assert!(open.price_for(Some(amount("1000000"))).is_ok());
        assert!(open.price_for(Some(amount("9"))).is_err());
    }

    #[test]
    fn check_rejects_inconsistent_products() {
        assert!(product(Some("1"), None, None).check().is_ok());
        assert!(product(None, Some("1"), Some("2")).check().is_ok());
        assert!(product(None, None, None).check().is_ok());
        assert!(product(Some("0"), None, None).check().is_err());
        assert!(product(Some("1"), Some("1"), None).check().is_err());
        assert!(product(None, Some("3"), Some("2")).check().is_err());
        let mut no_lines = product(Some("1"), None, None);
        no_lines.line_types.clear();
        assert!(no_lines.check().is_err());
    }

    #[test]
    fn allows_only_listed_line_types() {
        let mut p = product(Some("1"), None, None);
        assert!(p.allows(LineType::Prepaid));
        assert!(!p.allows(LineType::Postpaid));
        p.line_types.push(LineType::Postpaid);
        assert!(p.allows(LineType::Postpaid));
    }

    #[test]
    fn product_json_uses_type_and_decimal_amounts() {
        let json = serde_json::json!({
            "id": "mts-ru-bundle-10gb-30d", "operator_id": "mts-ru", "name": "10 GB", "type": "bundle",
            "description": "10 GB for 30 days", "currency": "RUB", "price": 499.9,
            "contents": {"data_mb": 10240, "minutes": 300}, "validity_days": 30,
            "line_types": ["prepaid", "postpaid"]
        });
        let p: Product = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(p.product_type, ProductType::Bundle);
        assert_eq!(p.price.map(Amount::value), Some(Decimal::new(4999, 1)));
        assert_eq!(serde_json::to_value(&p).unwrap(), json);
        let t: ProductType = serde_json::from_str("\"plan_change\"").unwrap();
        assert_eq!(t, ProductType::PlanChange);
        for t in ProductType::ALL {
            assert_eq!(t.as_str().parse::<ProductType>(), Ok(t));
        }
        // The lookup's `supports` name is accepted too; nothing else is.
        assert_eq!("topup".parse::<ProductType>(), Ok(ProductType::Prepaid));
        assert_eq!(ProductType::Prepaid.supports_name(), "topup");
        assert!("top-up".parse::<ProductType>().is_err());
        assert_eq!(hyphenated_id("mts_ru_bundle"), Some("mts-ru-bundle".into()));
        assert_eq!(hyphenated_id("mts-ru"), None);
    }

    #[test]
    fn status_moves_only_from_pending() {
        use TopUpStatus::*;
        for from in TopUpStatus::ALL {
            for to in TopUpStatus::ALL {
                let allowed = from == Pending && to != Pending;
                assert_eq!(from.can_move_to(to), allowed, "{from} -> {to}");
            }
        }
        assert_eq!(Pending.check_move(Completed), Ok(true));
        assert_eq!(Completed.check_move(Completed), Ok(false));
        assert_eq!(
            Failed.check_move(Completed),
            Err(TopUpTransitionError {
                from: Failed,
                to: Completed
            })
        );
        assert!(Completed.is_terminal() && Failed.is_terminal() && !Pending.is_terminal());
        for st in TopUpStatus::ALL {
            assert_eq!(st.as_str().parse::<TopUpStatus>(), Ok(st));
            assert_eq!(
                serde_json::to_string(&st).unwrap(),
                format!("\"{}\"", st.as_str())
            );
        }
    }

    fn record() -> TopUpRecord {
        serde_json::from_value(serde_json::json!({
            "id": "t1", "merchant_id": "m", "external_tx_id": "your-tx-901", "msisdn": "+79161234567",
            "product_id": "mts-ru-topup", "operator_id": "mts-ru", "channel_id": "globaltopup",
            "amount": 100, "currency": "RUB", "status": "pending",
            "upstream_reference": TopUpRecord::upstream_reference_for("t1"),
            "upstream_tx_id": null, "operator_tx_id": null, "credited": null, "failure_reason": null,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "completed_at": null, "fingerprint": "f", "version": 1
        }))
        .unwrap()
    }

    #[test]
    fn record_round_trips_and_moves() {
        let mut r = record();
        assert_eq!(r.upstream_reference, "sb-t1");
        assert_eq!(r.reconcile_attempts, 0);
        assert!(r.is_unsettled());
        let back: TopUpRecord = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let now: DateTime<Utc> = "2026-01-01T00:00:05Z".parse().unwrap();
        assert_eq!(r.move_to(TopUpStatus::Completed, now), Ok(true));
        assert_eq!(r.completed_at, Some(now));
        assert_eq!(r.updated_at, now);
        assert_eq!(r.move_to(TopUpStatus::Completed, now), Ok(false));
        let err = r.move_to(TopUpStatus::Failed, now).unwrap_err();
        assert_eq!(err.code, ErrorCode::IncompatibleState);
        assert!(!r.is_unsettled());
        assert!(!format!("{r:?}").contains("9161234"));
    }

    #[test]
    fn lookup_result_json() {
        let l: LookupResult = serde_json::from_value(serde_json::json!({
            "operator_id": "mts-ru", "operator_name": "MTS Russia", "country": "RU",
            "type": "prepaid", "supports": ["prepaid", "bundle"]
        }))
        .unwrap();
        assert_eq!(l.line_type, LineType::Prepaid);
        assert_eq!(l.supports, vec![ProductType::Prepaid, ProductType::Bundle]);
    }

    #[test]
    fn lpa_codes() {
        assert_eq!(
            parse_lpa("LPA:1$smdp.example.com$K2-4QPN5-1ZXFD2"),
            Some(("smdp.example.com", "K2-4QPN5-1ZXFD2"))
        );
        assert!(parse_lpa("LPA:1$smdp.example.com$ABC$1.3.6.1$1").is_some());
        for bad in [
            "",
            "LPA:1$",
            "LPA:2$smdp.example.com$ABC",
            "LPA:1$smdp$ABC",
            "LPA:1$smdp.example.com$",
            "LPA:1$smdp.example.com$abc",
            "LPA:1$smdp.example.com$A$B$C$D",
            "https://smdp.example.com/ABC",
        ] {
            assert_eq!(parse_lpa(bad), None, "{bad}");
        }
    }
}
