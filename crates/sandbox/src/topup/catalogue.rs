//! The provider's catalogue: the operators it reaches and the products it sells, as data.
//!
//! Operator ids are the same as the CAMARA sandbox operators' (`movistar-es`, `telekom-de`), so
//! one number plan serves carrier billing and top-up alike.

use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// How a subscriber pays for the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    Prepaid,
    Postpaid,
}

impl Line {
    pub fn as_str(self) -> &'static str {
        match self {
            Line::Prepaid => "prepaid",
            Line::Postpaid => "postpaid",
        }
    }
}

/// The product type, as the `type` field and filter name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Balance top-up (`supports` in a lookup calls it `topup`).
    Prepaid,
    Bundle,
    PlanChange,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Prepaid, Kind::Bundle, Kind::PlanChange];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Prepaid => "prepaid",
            Kind::Bundle => "bundle",
            Kind::PlanChange => "plan_change",
        }
    }

    /// The name in a lookup's `supports` list.
    pub fn supports_name(self) -> &'static str {
        match self {
            Kind::Prepaid => "topup",
            other => other.as_str(),
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A decimal written as mantissa and scale (`Dec(499, 2)` is 4.99), so the tables stay `const`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dec(pub i64, pub u32);

impl Dec {
    pub fn value(self) -> Decimal {
        Decimal::new(self.0, self.1)
    }
}

/// How a product is priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pricing {
    Fixed(Dec),
    /// Any amount within the bounds (balance top-ups).
    Range {
        min: Dec,
        max: Dec,
    },
}

/// How long a product lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// Balance top-ups do not expire.
    None,
    Days(u32),
    /// Plan changes: `month` or `year`.
    Period(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contents {
    pub data_gb: Option<Dec>,
    pub minutes: Option<u32>,
    pub sms: Option<u32>,
}

#[derive(Debug)]
pub struct Operator {
    pub id: &'static str,
    pub name: &'static str,
    pub country: &'static str,
    pub currency: &'static str,
    /// Number prefixes, digits without `+`.
    pub prefixes: &'static [&'static str],
    /// The line type of its numbers unless the digit rule says otherwise.
    pub default_line: Line,
    /// Prefix of its `operator_tx_id`s.
    pub tx_prefix: &'static str,
}

#[derive(Debug)]
pub struct Product {
    pub id: &'static str,
    pub operator_id: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    pub description: &'static str,
    pub pricing: Pricing,
    pub contents: Option<Contents>,
    pub validity: Validity,
    pub lines: &'static [Line],
}

const PREPAID: &[Line] = &[Line::Prepaid];
const POSTPAID: &[Line] = &[Line::Postpaid];
const BOTH: &[Line] = &[Line::Prepaid, Line::Postpaid];

pub const OPERATORS: &[Operator] = &[
    Operator {
        id: "mts-ru",
        name: "MTS Russia",
        country: "RU",
        currency: "RUB",
        prefixes: &["79"],
        default_line: Line::Prepaid,
        tx_prefix: "MTS",
    },
    Operator {
        id: "orange-fr",
        name: "Orange France",
        country: "FR",
        currency: "EUR",
        prefixes: &["336", "337"],
        default_line: Line::Postpaid,
        tx_prefix: "ORANGE",
    },
    Operator {
        id: "movistar-es",
        name: "Movistar Spain",
        country: "ES",
        currency: "EUR",
        prefixes: &["346", "347"],
        default_line: Line::Prepaid,
        tx_prefix: "MOVISTAR",
    },
    Operator {
        id: "telekom-de",
        name: "Telekom Deutschland",
        country: "DE",
        currency: "EUR",
        prefixes: &["4915", "4916", "4917"],
        default_line: Line::Prepaid,
        tx_prefix: "TELEKOM",
    },
    Operator {
        id: "turkcell-tr",
        name: "Turkcell",
        country: "TR",
        currency: "TRY",
        prefixes: &["9053"],
        default_line: Line::Prepaid,
        tx_prefix: "TURKCELL",
    },
    Operator {
        id: "airtel-in",
        name: "Airtel India",
        country: "IN",
        currency: "INR",
        prefixes: &["9198", "9199"],
        default_line: Line::Prepaid,
        tx_prefix: "AIRTEL",
    },
];

const fn bundle(data_gb: Option<Dec>, minutes: Option<u32>, sms: Option<u32>) -> Option<Contents> {
    Some(Contents {
        data_gb,
        minutes,
        sms,
    })
}

#[rustfmt::skip]
pub const PRODUCTS: &[Product] = &[
    // MTS Russia: prepaid lines; balance top-up, bundles, a tariff.
    Product { id: "mts-ru-topup", operator_id: "mts-ru", name: "MTS balance top-up", kind: Kind::Prepaid,
        description: "Credits any amount from 50 to 15000 RUB to the balance", pricing: Pricing::Range { min: Dec(50, 0), max: Dec(15000, 0) },
        contents: None, validity: Validity::None, lines: PREPAID },
    Product { id: "mts-ru-bundle-1gb-1d", operator_id: "mts-ru", name: "MTS 1 GB for a day", kind: Kind::Bundle,
        description: "1 GB of mobile data for 1 day", pricing: Pricing::Fixed(Dec(60, 0)),
        contents: bundle(Some(Dec(1, 0)), None, None), validity: Validity::Days(1), lines: PREPAID },
    Product { id: "mts-ru-bundle-10gb-30d", operator_id: "mts-ru", name: "MTS 10 GB + 300 min", kind: Kind::Bundle,
        description: "10 GB, 300 minutes and 100 SMS for 30 days", pricing: Pricing::Fixed(Dec(500, 0)),
        contents: bundle(Some(Dec(10, 0)), Some(300), Some(100)), validity: Validity::Days(30), lines: BOTH },
    Product { id: "mts-ru-plan-tarifishche", operator_id: "mts-ru", name: "MTS Tarifishche", kind: Kind::PlanChange,
        description: "Monthly tariff: 50 GB, 1000 minutes, 500 SMS", pricing: Pricing::Fixed(Dec(750, 0)),
        contents: bundle(Some(Dec(50, 0)), Some(1000), Some(500)), validity: Validity::Period("month"), lines: BOTH },
    // Orange France: postpaid lines; bundles and plan changes only.
    Product { id: "orange-fr-bundle-5gb-7d", operator_id: "orange-fr", name: "Orange 5 Go 7 jours", kind: Kind::Bundle,
        description: "5 GB of mobile data for 7 days", pricing: Pricing::Fixed(Dec(499, 2)),
        contents: bundle(Some(Dec(5, 0)), None, None), validity: Validity::Days(7), lines: BOTH },
    Product { id: "orange-fr-bundle-travel-2gb-30d", operator_id: "orange-fr", name: "Orange Travel 2 Go", kind: Kind::Bundle,
        description: "2 GB, 60 minutes and 60 SMS abroad for 30 days", pricing: Pricing::Fixed(Dec(1499, 2)),
        contents: bundle(Some(Dec(2, 0)), Some(60), Some(60)), validity: Validity::Days(30), lines: POSTPAID },
    Product { id: "orange-fr-plan-80gb-month", operator_id: "orange-fr", name: "Orange Forfait 80 Go", kind: Kind::PlanChange,
        description: "Monthly plan: 80 GB, unlimited calls and SMS", pricing: Pricing::Fixed(Dec(1999, 2)),
        contents: bundle(Some(Dec(80, 0)), None, None), validity: Validity::Period("month"), lines: POSTPAID },
    Product { id: "orange-fr-plan-200gb-year", operator_id: "orange-fr", name: "Orange Forfait 200 Go (1 an)", kind: Kind::PlanChange,
        description: "Yearly plan: 200 GB a month, unlimited calls and SMS", pricing: Pricing::Fixed(Dec(23988, 2)),
        contents: bundle(Some(Dec(200, 0)), None, None), validity: Validity::Period("year"), lines: POSTPAID },
    // Movistar Spain.
    Product { id: "movistar-es-topup", operator_id: "movistar-es", name: "Movistar recarga", kind: Kind::Prepaid,
        description: "Credits any amount from 5 to 100 EUR to the balance", pricing: Pricing::Range { min: Dec(5, 0), max: Dec(100, 0) },
        contents: None, validity: Validity::None, lines: PREPAID },
    Product { id: "movistar-es-bundle-500mb-1d", operator_id: "movistar-es", name: "Movistar 500 MB día", kind: Kind::Bundle,
        description: "500 MB of mobile data for 1 day", pricing: Pricing::Fixed(Dec(150, 2)),
        contents: bundle(Some(Dec(5, 1)), None, None), validity: Validity::Days(1), lines: PREPAID },
    Product { id: "movistar-es-bundle-3gb-30d", operator_id: "movistar-es", name: "Movistar 3 GB + 100 min", kind: Kind::Bundle,
        description: "3 GB and 100 minutes for 30 days", pricing: Pricing::Fixed(Dec(10, 0)),
        contents: bundle(Some(Dec(3, 0)), Some(100), None), validity: Validity::Days(30), lines: BOTH },
    Product { id: "movistar-es-plan-fusion-month", operator_id: "movistar-es", name: "Movistar Fusión", kind: Kind::PlanChange,
        description: "Monthly plan: 30 GB and unlimited calls", pricing: Pricing::Fixed(Dec(3550, 2)),
        contents: bundle(Some(Dec(30, 0)), None, None), validity: Validity::Period("month"), lines: BOTH },
    // Telekom Deutschland.
    Product { id: "telekom-de-topup", operator_id: "telekom-de", name: "Telekom Aufladung", kind: Kind::Prepaid,
        description: "Credits any amount from 15 to 150 EUR to the balance", pricing: Pricing::Range { min: Dec(15, 0), max: Dec(150, 0) },
        contents: None, validity: Validity::None, lines: PREPAID },
    Product { id: "telekom-de-bundle-2gb-7d", operator_id: "telekom-de", name: "Telekom 2 GB Woche", kind: Kind::Bundle,
        description: "2 GB, 100 minutes and 100 SMS for 7 days", pricing: Pricing::Fixed(Dec(795, 2)),
        contents: bundle(Some(Dec(2, 0)), Some(100), Some(100)), validity: Validity::Days(7), lines: BOTH },
    Product { id: "telekom-de-plan-magenta-s-month", operator_id: "telekom-de", name: "MagentaMobil S", kind: Kind::PlanChange,
        description: "Monthly plan: 20 GB, unlimited calls and SMS", pricing: Pricing::Fixed(Dec(3995, 2)),
        contents: bundle(Some(Dec(20, 0)), None, None), validity: Validity::Period("month"), lines: BOTH },
    // Turkcell: prepaid lines.
    Product { id: "turkcell-tr-topup", operator_id: "turkcell-tr", name: "Turkcell TL yükleme", kind: Kind::Prepaid,
        description: "Credits any amount from 50 to 2000 TRY to the balance", pricing: Pricing::Range { min: Dec(50, 0), max: Dec(2000, 0) },
        contents: None, validity: Validity::None, lines: PREPAID },
    Product { id: "turkcell-tr-bundle-8gb-30d", operator_id: "turkcell-tr", name: "Turkcell 8 GB paket", kind: Kind::Bundle,
        description: "8 GB, 500 minutes and 250 SMS for 30 days", pricing: Pricing::Fixed(Dec(300, 0)),
        contents: bundle(Some(Dec(8, 0)), Some(500), Some(250)), validity: Validity::Days(30), lines: BOTH },
    Product { id: "turkcell-tr-plan-platinum-month", operator_id: "turkcell-tr", name: "Turkcell Platinum", kind: Kind::PlanChange,
        description: "Monthly plan: 40 GB, unlimited calls", pricing: Pricing::Fixed(Dec(750, 0)),
        contents: bundle(Some(Dec(40, 0)), None, None), validity: Validity::Period("month"), lines: BOTH },
    // Airtel India: prepaid lines.
    Product { id: "airtel-in-topup", operator_id: "airtel-in", name: "Airtel recharge", kind: Kind::Prepaid,
        description: "Credits any amount from 10 to 5000 INR to the balance", pricing: Pricing::Range { min: Dec(10, 0), max: Dec(5000, 0) },
        contents: None, validity: Validity::None, lines: PREPAID },
    Product { id: "airtel-in-bundle-2gb-day-28d", operator_id: "airtel-in", name: "Airtel 2 GB/day", kind: Kind::Bundle,
        description: "2 GB a day, unlimited calls and 100 SMS a day for 28 days", pricing: Pricing::Fixed(Dec(299, 0)),
        contents: bundle(Some(Dec(56, 0)), None, Some(2800)), validity: Validity::Days(28), lines: BOTH },
    Product { id: "airtel-in-plan-black-month", operator_id: "airtel-in", name: "Airtel Black", kind: Kind::PlanChange,
        description: "Monthly plan: 75 GB with family add-ons", pricing: Pricing::Fixed(Dec(699, 0)),
        contents: bundle(Some(Dec(75, 0)), None, None), validity: Validity::Period("month"), lines: BOTH },
];

pub fn operator(id: &str) -> Option<&'static Operator> {
    OPERATORS.iter().find(|o| o.id == id)
}

pub fn product(id: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.id == id)
}

/// Products, optionally of one operator and one kind, in catalogue order.
pub fn products(
    operator_id: Option<&str>,
    kind: Option<Kind>,
) -> impl Iterator<Item = &'static Product> {
    let operator_id = operator_id.map(str::to_owned);
    PRODUCTS.iter().filter(move |p| {
        operator_id.as_deref().is_none_or(|o| p.operator_id == o)
            && kind.is_none_or(|k| p.kind == k)
    })
}

/// A decimal as a JSON number (integers stay integers).
pub fn json_number(value: Decimal) -> Value {
    let value = value.normalize();
    if value.scale() == 0 {
        if let Ok(int) = i64::try_from(value.mantissa()) {
            return json!(int);
        }
    }
    // Catalogue values have few digits: the shortest f64 text is the decimal text again.
    value
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

impl Contents {
    pub fn to_json(self) -> Map<String, Value> {
        let mut map = Map::new();
        if let Some(gb) = self.data_gb {
            map.insert("data_gb".into(), json_number(gb.value()));
        }
        if let Some(minutes) = self.minutes {
            map.insert("minutes".into(), json!(minutes));
        }
        if let Some(sms) = self.sms {
            map.insert("sms".into(), json!(sms));
        }
        map
    }
}

impl Product {
    pub fn currency(&self) -> &'static str {
        operator(self.operator_id).map_or("XXX", |o| o.currency)
    }

    pub fn allows(&self, line: Line) -> bool {
        self.lines.contains(&line)
    }

    /// A data bundle, which the provider can also sell as an eSIM profile.
    pub fn esim_capable(&self) -> bool {
        self.kind == Kind::Bundle && self.contents.is_some_and(|c| c.data_gb.is_some())
    }

    /// The product as `GET /telecom/products` shows it.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("id".into(), json!(self.id));
        body.insert("operator_id".into(), json!(self.operator_id));
        body.insert("name".into(), json!(self.name));
        body.insert("type".into(), json!(self.kind.as_str()));
        body.insert("description".into(), json!(self.description));
        body.insert("currency".into(), json!(self.currency()));
        match self.pricing {
            Pricing::Fixed(price) => {
                body.insert("price".into(), json_number(price.value()));
            }
            Pricing::Range { min, max } => {
                body.insert("price".into(), Value::Null);
                body.insert("min_amount".into(), json_number(min.value()));
                body.insert("max_amount".into(), json_number(max.value()));
            }
        }
        if let Some(contents) = self.contents {
            body.insert("contents".into(), Value::Object(contents.to_json()));
        }
        match self.validity {
            Validity::None => {}
            Validity::Days(days) => {
                body.insert("validity_days".into(), json!(days));
            }
            Validity::Period(period) => {
                body.insert("period".into(), json!(period));
            }
        }
        let lines: Vec<_> = self.lines.iter().map(|l| l.as_str()).collect();
        body.insert("subscriber_types".into(), json!(lines));
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_consistent() {
        let mut ids = std::collections::HashSet::new();
        for p in PRODUCTS {
            assert!(ids.insert(p.id), "duplicate {}", p.id);
            assert!(operator(p.operator_id).is_some(), "{}", p.id);
            assert!(!p.lines.is_empty(), "{}", p.id);
            match p.pricing {
                Pricing::Fixed(price) => assert!(price.value() > Decimal::ZERO),
                Pricing::Range { min, max } => assert!(min.value() <= max.value()),
            }
            assert_eq!(
                p.kind == Kind::Prepaid,
                matches!(p.pricing, Pricing::Range { .. }),
                "{}",
                p.id
            );
        }
        for o in OPERATORS {
            for kind in [Kind::Bundle, Kind::PlanChange] {
                assert!(
                    products(Some(o.id), Some(kind)).next().is_some(),
                    "{} {kind:?}",
                    o.id
                );
            }
        }
        assert!(products(Some("orange-fr"), Some(Kind::Prepaid))
            .next()
            .is_none());
    }

    #[test]
    fn product_json() {
        let p = product("movistar-es-bundle-500mb-1d").map(Product::to_json);
        assert_eq!(
            p,
            Some(json!({
                "id": "movistar-es-bundle-500mb-1d", "operator_id": "movistar-es", "name": "Movistar 500 MB día",
                "type": "bundle", "description": "500 MB of mobile data for 1 day", "currency": "EUR", "price": 1.5,
                "contents": {"data_gb": 0.5}, "validity_days": 1, "subscriber_types": ["prepaid"]
            }))
        );
        let t = product("mts-ru-topup")
            .map(Product::to_json)
            .unwrap_or_default();
        assert_eq!(
            (
                t["price"].clone(),
                t["min_amount"].clone(),
                t["max_amount"].clone()
            ),
            (Value::Null, json!(50), json!(15000))
        );
        let y = product("orange-fr-plan-200gb-year")
            .map(Product::to_json)
            .unwrap_or_default();
        assert_eq!(
            (y["period"].clone(), y["price"].clone()),
            (json!("year"), json!(239.88))
        );
    }
}
