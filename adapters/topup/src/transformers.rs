//! Conversions between Switchboard's types and the provider's JSON.
//!
//! Requests are built from our records; answers are read leniently (unknown fields are ignored),
//! but every field we rely on must make sense or the answer counts as unreadable.

use chrono::{DateTime, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_adapter::{AdapterError, UpstreamTopUp};
use switchboard_core::money::JsonDecimal;
use switchboard_core::topup::parse_lpa;
use switchboard_core::{
    Amount, BundleContents, Currency, EsimOrder, LineType, LookupResult, Product, ProductType,
    TopUpStatus,
};

use crate::settings::OperatorIds;

/// Megabytes in one of the provider's gigabytes.
const MB_PER_GB: u64 = 1024;
/// Longest failure reason passed on.
const MAX_REASON_CHARS: usize = 256;

/// Body of `POST /telecom/lookup`.
#[derive(Debug, Serialize)]
pub struct LookupBody {
    pub phone: String,
}

/// Body of `POST /telecom/topup`. The amount is always sent: for a fixed-price product it equals
/// the price, so a price changed upstream is refused instead of charged.
#[derive(Debug, Serialize)]
pub struct TopUpBody<'a> {
    pub phone: String,
    pub product_id: &'a str,
    pub external_tx_id: &'a str,
    pub amount: Amount,
}

/// Body of `POST /esim/orders`.
#[derive(Debug, Serialize)]
pub struct EsimBody<'a> {
    pub product_id: &'a str,
    pub external_order_id: &'a str,
}

fn unreadable(what: &str) -> AdapterError {
    AdapterError::Unknown(format!("the provider's answer has {what}"))
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, AdapterError> {
    serde_json::from_slice(body).map_err(|e| {
        AdapterError::Unknown(format!(
            "unreadable {what} in the provider's answer (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|s| !s.trim().is_empty())
}

// ---------------------------------------------------------------- lookup

#[derive(Debug, Deserialize)]
struct LookupAnswer {
    operator_id: Option<String>,
    #[serde(default)]
    operator_name: Option<String>,
    country: Option<String>,
    #[serde(rename = "type")]
    line_type: Option<String>,
    #[serde(default)]
    supports: Vec<Value>,
}

fn line_type(text: &str) -> Option<LineType> {
    match text {
        "prepaid" => Some(LineType::Prepaid),
        "postpaid" => Some(LineType::Postpaid),
        _ => None,
    }
}

/// The provider's product type names; a lookup's `supports` says `topup` for balance top-ups.
fn product_type(text: &str) -> Option<ProductType> {
    match text {
        "prepaid" | "topup" => Some(ProductType::Prepaid),
        "bundle" => Some(ProductType::Bundle),
        "plan_change" => Some(ProductType::PlanChange),
        _ => None,
    }
}

pub fn lookup(body: &[u8], ids: &OperatorIds) -> Result<LookupResult, AdapterError> {
    let answer: LookupAnswer = parse(body, "lookup")?;
    let theirs = non_empty(answer.operator_id).ok_or_else(|| unreadable("no operator_id"))?;
    let country = answer
        .country
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(|c| c.to_ascii_uppercase())
        .ok_or_else(|| unreadable("no two-letter country"))?;
    let line_type = answer
        .line_type
        .as_deref()
        .and_then(line_type)
        .ok_or_else(|| unreadable("no type prepaid or postpaid"))?;
    let mut supports: Vec<ProductType> = answer
        .supports
        .iter()
        .filter_map(|v| v.as_str().and_then(product_type))
        .collect();
    supports.sort();
    supports.dedup();
    Ok(LookupResult {
        operator_id: ids.ours(&theirs),
        operator_name: non_empty(answer.operator_name).unwrap_or_else(|| theirs.clone()),
        country,
        line_type,
        supports,
    })
}

// ---------------------------------------------------------------- products

#[derive(Debug, Deserialize)]
struct CatalogueAnswer {
    products: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct ProductAnswer {
    id: String,
    operator_id: String,
    name: String,
    #[serde(rename = "type")]
    product_type: String,
    #[serde(default)]
    description: Option<String>,
    currency: String,
    #[serde(default)]
    price: Option<JsonDecimal>,
    #[serde(default)]
    min_amount: Option<JsonDecimal>,
    #[serde(default)]
    max_amount: Option<JsonDecimal>,
    #[serde(default)]
    contents: Option<ContentsAnswer>,
    #[serde(default)]
    validity_days: Option<u32>,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    subscriber_types: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct ContentsAnswer {
    #[serde(default)]
    data_gb: Option<JsonDecimal>,
    #[serde(default)]
    data_mb: Option<u64>,
    #[serde(default)]
    minutes: Option<u32>,
    #[serde(default)]
    sms: Option<u32>,
}

/// The catalogue's entries, each converted on its own.
#[derive(Debug, Default)]
pub struct Catalogue {
    pub products: Vec<Product>,
    /// Entries that cannot be sold: `(id or #position, reason)`.
    pub skipped: Vec<(String, String)>,
}

pub fn products(body: &[u8], ids: &OperatorIds) -> Result<Catalogue, AdapterError> {
    let answer: CatalogueAnswer = parse(body, "product list")?;
    let mut catalogue = Catalogue::default();
    for (i, entry) in answer.products.into_iter().enumerate() {
        let name = entry
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{i}"), str::to_string);
        match product(entry, ids) {
            Ok(p) => catalogue.products.push(p),
            Err(reason) => catalogue.skipped.push((name, reason)),
        }
    }
    Ok(catalogue)
}

fn amount(field: &str, value: Option<JsonDecimal>) -> Result<Option<Amount>, String> {
    value
        .map(|JsonDecimal(d)| Amount::non_negative(d).map_err(|e| format!("{field} {e}")))
        .transpose()
}

fn data_mb(contents: &ContentsAnswer) -> Result<Option<u64>, String> {
    if let Some(mb) = contents.data_mb {
        return Ok(Some(mb));
    }
    contents
        .data_gb
        .map(|JsonDecimal(gb)| {
            (gb * Decimal::from(MB_PER_GB))
                .round()
                .to_u64()
                .ok_or_else(|| "data_gb must be a non-negative number".to_string())
        })
        .transpose()
}

fn validity_days(days: Option<u32>, period: Option<&str>) -> Option<u32> {
    days.or(match period {
        Some("day") => Some(1),
        Some("week") => Some(7),
        Some("month") => Some(30),
        Some("year") => Some(365),
        _ => None,
    })
}

/// One catalogue entry as a [`Product`], or why it cannot be sold.
fn product(entry: Value, ids: &OperatorIds) -> Result<Product, String> {
    let p: ProductAnswer = serde_json::from_value(entry).map_err(|e| e.to_string())?;
    let product_type = product_type(&p.product_type)
        .ok_or_else(|| format!("unknown type '{}'", p.product_type))?;
    let currency =
        Currency::parse(&p.currency).ok_or_else(|| format!("unknown currency '{}'", p.currency))?;
    let contents = match &p.contents {
        None => None,
        Some(c) => Some(BundleContents {
            data_mb: data_mb(c)?,
            minutes: c.minutes,
            sms: c.sms,
        })
        .filter(|b| b != &BundleContents::default()),
    };
    let line_types = match &p.subscriber_types {
        // The provider does not restrict the product.
        None => vec![LineType::Prepaid, LineType::Postpaid],
        Some(names) => names.iter().filter_map(|n| line_type(n)).collect(),
    };
    let product = Product {
        id: p.id,
        operator_id: ids.ours(&p.operator_id),
        name: p.name,
        product_type,
        description: p.description.unwrap_or_default(),
        currency,
        price: amount("price", p.price)?,
        min_amount: amount("min_amount", p.min_amount)?,
        max_amount: amount("max_amount", p.max_amount)?,
        contents,
        validity_days: validity_days(p.validity_days, p.period.as_deref()),
        line_types,
    };
    product.check()?;
    Ok(product)
}

// ---------------------------------------------------------------- top-up

#[derive(Debug, Default, Deserialize)]
pub struct TransactionAnswer {
    #[serde(default)]
    tx_id: Option<String>,
    #[serde(default)]
    external_tx_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    operator_tx_id: Option<String>,
    #[serde(default)]
    credited: Option<Value>,
    #[serde(default)]
    completed_at: Option<String>,
    #[serde(default)]
    failure_reason: Option<String>,
}

impl TransactionAnswer {
    pub fn parse(body: &[u8]) -> Result<TransactionAnswer, AdapterError> {
        parse(body, "transaction")
    }

    /// The `external_tx_id` the answer names (Switchboard's upstream reference).
    pub fn external_tx_id(&self) -> Option<&str> {
        self.external_tx_id.as_deref()
    }

    /// Checks that the answer is about the transaction we asked for.
    pub fn check_identity(
        &self,
        tx_id: Option<&str>,
        external_tx_id: &str,
    ) -> Result<(), AdapterError> {
        if let (Some(expected), Some(got)) = (tx_id, self.tx_id.as_deref()) {
            if expected != got {
                return Err(unreadable("another tx_id"));
            }
        }
        if self
            .external_tx_id
            .as_deref()
            .is_some_and(|got| got != external_tx_id)
        {
            return Err(unreadable("another external_tx_id"));
        }
        Ok(())
    }
}

/// `credited` as an object: the seed's providers sometimes send it as a string of JSON.
fn credited(value: Option<Value>) -> Option<Value> {
    match value? {
        Value::Null => None,
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(parsed @ (Value::Object(_) | Value::Array(_))) => Some(parsed),
            _ if text.trim().is_empty() => None,
            _ => Some(Value::String(text)),
        },
        other => Some(other),
    }
}

impl TryFrom<TransactionAnswer> for UpstreamTopUp {
    type Error = AdapterError;

    fn try_from(answer: TransactionAnswer) -> Result<Self, Self::Error> {
        let upstream_tx_id = non_empty(answer.tx_id).ok_or_else(|| unreadable("no tx_id"))?;
        let status = answer
            .status
            .as_deref()
            .ok_or_else(|| unreadable("no status"))?
            .parse::<TopUpStatus>()
            .map_err(|_| unreadable("an unknown status"))?;
        let completed_at = match answer.completed_at.as_deref() {
            None => None,
            Some(text) => match DateTime::parse_from_rfc3339(text) {
                Ok(at) => Some(at.with_timezone(&Utc)),
                Err(_) => {
                    tracing::warn!("the provider's completed_at is not RFC 3339; dropped");
                    None
                }
            },
        };
        let failure_reason = if status == TopUpStatus::Failed {
            non_empty(answer.failure_reason).map(|r| scrub(&r))
        } else {
            None
        };
        Ok(UpstreamTopUp {
            upstream_tx_id: Some(upstream_tx_id),
            status,
            operator_tx_id: non_empty(answer.operator_tx_id),
            credited: credited(answer.credited),
            completed_at: completed_at.filter(|_| status == TopUpStatus::Completed),
            failure_reason,
        })
    }
}

/// Provider text without control characters, not too long, and with every run of 7 or more
/// digits (a phone number, perhaps) masked but for its first and last two digits.
pub fn scrub(text: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    let flush = |out: &mut String, digits: &mut String| {
        if digits.len() >= 7 {
            out.push_str(&digits[..2]);
            out.push_str(&"*".repeat(digits.len() - 4));
            out.push_str(&digits[digits.len() - 2..]);
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_REASON_CHARS)
    {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut out, &mut digits);
            out.push(c);
        }
    }
    flush(&mut out, &mut digits);
    out.trim().to_string()
}

// ---------------------------------------------------------------- eSIM

#[derive(Debug, Deserialize)]
struct EsimAnswer {
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    external_order_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    product_id: Option<String>,
    #[serde(default)]
    iccid: Option<String>,
    #[serde(default)]
    qr_code: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

pub fn esim_order(
    body: &[u8],
    product_id: &str,
    reference: &str,
) -> Result<EsimOrder, AdapterError> {
    let answer: EsimAnswer = parse(body, "eSIM order")?;
    if answer
        .external_order_id
        .as_deref()
        .is_some_and(|got| got != reference)
    {
        return Err(unreadable("another external_order_id"));
    }
    if answer
        .product_id
        .as_deref()
        .is_some_and(|got| got != product_id)
    {
        return Err(unreadable("another product_id"));
    }
    let order_id = non_empty(answer.order_id).ok_or_else(|| unreadable("no order_id"))?;
    let qr_code = answer
        .qr_code
        .filter(|q| parse_lpa(q).is_some())
        .ok_or_else(|| unreadable("no LPA activation code in qr_code"))?;
    let iccid = answer
        .iccid
        .filter(|i| (18..=22).contains(&i.len()) && i.bytes().all(|b| b.is_ascii_digit()));
    let created_at = answer
        .created_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
    Ok(EsimOrder {
        order_id,
        status: non_empty(answer.status).unwrap_or_else(|| "pending".into()),
        product_id: product_id.to_string(),
        iccid,
        qr_code,
        created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    fn ids() -> OperatorIds {
        OperatorIds::default()
    }

    #[test]
    fn reads_a_lookup_with_the_seeds_supports_names() {
        let l = lookup(
            &bytes(
                json!({"operator_id": "mts-ru", "operator_name": "MTS Russia", "country": "ru",
                "type": "prepaid", "supports": ["topup", "bundle", "esim", 7, "bundle"]}),
            ),
            &ids(),
        )
        .unwrap();
        assert_eq!(l.operator_id, "mts-ru");
        assert_eq!(l.country, "RU");
        assert_eq!(l.line_type, LineType::Prepaid);
        assert_eq!(l.supports, vec![ProductType::Prepaid, ProductType::Bundle]);
        for bad in [
            json!({"country": "RU", "type": "prepaid"}),
            json!({"operator_id": "x", "country": "RUS", "type": "prepaid"}),
            json!({"operator_id": "x", "country": "RU", "type": "hybrid"}),
            json!([]),
        ] {
            assert!(
                matches!(
                    lookup(&bytes(bad.clone()), &ids()),
                    Err(AdapterError::Unknown(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn maps_products_and_skips_unsellable_ones() {
        let body = bytes(json!({"products": [
            {"id": "b", "operator_id": "mts_ru", "name": "10 GB", "type": "bundle", "currency": "RUB",
             "price": 500, "contents": {"data_gb": 0.5, "minutes": 300}, "validity_days": 30,
             "subscriber_types": ["prepaid", "postpaid", "hybrid"]},
            {"id": "t", "operator_id": "mts_ru", "name": "Top-up", "type": "prepaid", "currency": "RUB",
             "price": null, "min_amount": 50, "max_amount": 15000.5, "subscriber_types": ["prepaid"]},
            {"id": "y", "operator_id": "orange-fr", "name": "Plan", "type": "plan_change", "currency": "EUR",
             "price": 239.88, "period": "year"},
            {"id": "bad-type", "operator_id": "x", "name": "x", "type": "voucher", "currency": "EUR", "price": 1},
            {"id": "bad-currency", "operator_id": "x", "name": "x", "type": "bundle", "currency": "EURO", "price": 1},
            {"id": "bad-bounds", "operator_id": "x", "name": "x", "type": "prepaid", "currency": "EUR", "min_amount": 5, "max_amount": 1},
            {"id": "no-lines", "operator_id": "x", "name": "x", "type": "bundle", "currency": "EUR", "price": 1, "subscriber_types": []},
            {"id": "decimals", "operator_id": "x", "name": "x", "type": "bundle", "currency": "EUR", "price": 1.2345},
            {"name": "no id"}
        ]}));
        let ids = OperatorIds::new([("mts_ru".to_string(), "mts-ru".to_string())].into());
        let Catalogue {
            products: good,
            skipped: bad,
        } = products(&body, &ids).unwrap();
        assert_eq!(good.len(), 3, "{bad:?}");
        let b = &good[0];
        assert_eq!(b.operator_id, "mts-ru");
        assert_eq!(b.price.map(|p| p.to_string()).as_deref(), Some("500"));
        assert_eq!(
            b.contents,
            Some(BundleContents {
                data_mb: Some(512),
                minutes: Some(300),
                sms: None
            })
        );
        assert_eq!(b.line_types, vec![LineType::Prepaid, LineType::Postpaid]);
        let t = &good[1];
        assert_eq!(
            (
                t.price,
                t.min_amount.map(|a| a.to_string()),
                t.max_amount.map(|a| a.to_string())
            ),
            (None, Some("50".into()), Some("15000.5".into()))
        );
        assert_eq!(t.product_type, ProductType::Prepaid);
        let y = &good[2];
        assert_eq!(
            (y.product_type, y.validity_days),
            (ProductType::PlanChange, Some(365))
        );
        assert_eq!(y.line_types.len(), 2, "no subscriber_types: unrestricted");
        let names: Vec<_> = bad.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "bad-type",
                "bad-currency",
                "bad-bounds",
                "no-lines",
                "decimals",
                "#8"
            ]
        );
        assert!(matches!(
            products(b"{}", &ids),
            Err(AdapterError::Unknown(_))
        ));
    }

    #[test]
    fn top_up_body_uses_the_providers_names() {
        let body = TopUpBody {
            phone: "79161234567".into(),
            product_id: "p",
            external_tx_id: "sb-t1",
            amount: "19.99".parse().unwrap(),
        };
        assert_eq!(
            serde_json::to_value(body).unwrap(),
            json!({"phone": "79161234567", "product_id": "p", "external_tx_id": "sb-t1", "amount": 19.99})
        );
    }

    fn convert(v: Value) -> Result<UpstreamTopUp, AdapterError> {
        UpstreamTopUp::try_from(TransactionAnswer::parse(&bytes(v))?)
    }

    #[test]
    fn reads_the_seeds_transaction_including_credited_as_a_string() {
        let t = convert(json!({
            "tx_id": "tel_6jn3q", "status": "completed", "operator_tx_id": "MTS-20240315-88123",
            "credited": "{ \"data_gb\": 10, \"validity_days\": 30 }", "completed_at": "2024-03-15T16:41:03Z"
        }))
        .unwrap();
        assert_eq!(t.upstream_tx_id.as_deref(), Some("tel_6jn3q"));
        assert_eq!(t.status, TopUpStatus::Completed);
        assert_eq!(
            t.credited,
            Some(json!({"data_gb": 10, "validity_days": 30}))
        );
        assert_eq!(
            t.completed_at,
            Some("2024-03-15T16:41:03Z".parse().unwrap())
        );
        assert_eq!(t.operator_tx_id.as_deref(), Some("MTS-20240315-88123"));
        let odd = convert(json!({"tx_id": "x", "status": "completed", "credited": "10 GB", "completed_at": "yesterday"})).unwrap();
        assert_eq!(odd.credited, Some(json!("10 GB")));
        assert_eq!(odd.completed_at, None);
    }

    #[test]
    fn failures_carry_a_scrubbed_reason_and_pending_has_none() {
        let f = convert(json!({"tx_id": "x", "status": "failed", "failure_reason": "number 79161234580 barred\n"})).unwrap();
        assert_eq!(
            f.failure_reason.as_deref(),
            Some("number 79*******80 barred")
        );
        let p = convert(json!({"tx_id": "x", "status": "pending", "failure_reason": "x", "completed_at": "2024-03-15T16:41:03Z"})).unwrap();
        assert_eq!((p.failure_reason, p.completed_at), (None, None));
    }

    #[test]
    fn unreadable_transactions_are_unknown() {
        for bad in [
            json!({"status": "completed"}),
            json!({"tx_id": "", "status": "completed"}),
            json!({"tx_id": "x"}),
            json!({"tx_id": "x", "status": "success"}),
            json!({"tx_id": 7, "status": "completed"}),
            json!("completed"),
        ] {
            assert!(
                matches!(convert(bad.clone()), Err(AdapterError::Unknown(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn identity_checks() {
        let a = TransactionAnswer::parse(&bytes(
            json!({"tx_id": "t1", "external_tx_id": "sb-1", "status": "pending"}),
        ))
        .unwrap();
        assert!(a.check_identity(Some("t1"), "sb-1").is_ok());
        assert!(a.check_identity(None, "sb-1").is_ok());
        assert!(a.check_identity(Some("t2"), "sb-1").is_err());
        assert!(a.check_identity(None, "sb-2").is_err());
        let bare =
            TransactionAnswer::parse(&bytes(json!({"tx_id": "t1", "status": "pending"}))).unwrap();
        assert!(bare.check_identity(Some("t1"), "sb-1").is_ok());
    }

    #[test]
    fn esim_orders_need_an_lpa_code() {
        let ok = esim_order(
            &bytes(json!({"order_id": "o1", "external_order_id": "sb-e1", "status": "completed", "product_id": "p",
                "iccid": "8988247000000000011", "qr_code": "LPA:1$smdp.example.com$AB-12", "created_at": "2026-01-01T00:00:00Z"})),
            "p",
            "sb-e1",
        )
        .unwrap();
        assert_eq!(ok.qr_code, "LPA:1$smdp.example.com$AB-12");
        assert_eq!(ok.iccid.as_deref(), Some("8988247000000000011"));
        for bad in [
            json!({"order_id": "o1", "qr_code": "https://example.com/qr.png"}),
            json!({"qr_code": "LPA:1$smdp.example.com$AB"}),
            json!({"order_id": "o1", "external_order_id": "other", "qr_code": "LPA:1$smdp.example.com$AB"}),
            json!({"order_id": "o1", "product_id": "q", "qr_code": "LPA:1$smdp.example.com$AB"}),
        ] {
            assert!(
                matches!(
                    esim_order(&bytes(bad.clone()), "p", "sb-e1"),
                    Err(AdapterError::Unknown(_))
                ),
                "{bad}"
            );
        }
    }
}
