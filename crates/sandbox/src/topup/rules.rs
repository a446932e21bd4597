//! The provider's business checks on a top-up request, before anything is created.

use rust_decimal::Decimal;

use super::catalogue::{self, Operator, Pricing, Product};
use super::error::TopUpError;
use super::lookup;
use super::request::TopUpRequest;

/// What a valid request buys.
#[derive(Debug)]
pub struct Checked {
    pub operator: &'static Operator,
    pub product: &'static Product,
    pub amount: Decimal,
}

/// The amount a request means: a fixed price when none is named, else the one named.
pub fn effective_amount(request: &TopUpRequest) -> Option<Decimal> {
    match catalogue::product(&request.product_id).map(|p| p.pricing) {
        Some(Pricing::Fixed(price)) => Some(request.amount.unwrap_or(price.value())),
        _ => request.amount,
    }
}

/// 404 `unknown_number` / `product_not_found`; 422 `product_operator_mismatch`,
/// `product_not_available` (line type) or `invalid_amount`.
pub fn check(request: &TopUpRequest) -> Result<Checked, TopUpError> {
    let (operator, line) = lookup::resolve(&request.phone)?;
    let product = catalogue::product(&request.product_id)
        .ok_or_else(|| TopUpError::product_not_found(&request.product_id))?;
    if product.operator_id != operator.id {
        return Err(TopUpError::unprocessable(
            "product_operator_mismatch",
            format!(
                "Product '{}' is not sold for numbers of {}",
                product.id, operator.name
            ),
        ));
    }
    if !product.allows(line) {
        return Err(TopUpError::unprocessable(
            "product_not_available",
            format!(
                "Product '{}' is not available to {} lines",
                product.id,
                line.as_str()
            ),
        ));
    }
    let amount = amount(product, request.amount)?;
    Ok(Checked {
        operator,
        product,
        amount,
    })
}

fn amount(product: &Product, requested: Option<Decimal>) -> Result<Decimal, TopUpError> {
    let currency = product.currency();
    match (product.pricing, requested) {
        (Pricing::Fixed(price), None) => Ok(price.value()),
        (Pricing::Fixed(price), Some(asked)) if asked == price.value() => Ok(asked),
        (Pricing::Fixed(price), Some(_)) => Err(TopUpError::unprocessable(
            "invalid_amount",
            format!(
                "Product '{}' costs {} {currency}",
                product.id,
                price.value()
            ),
        )),
        (Pricing::Range { .. }, None) => Err(TopUpError::unprocessable(
            "invalid_amount",
            format!("Product '{}' needs an amount", product.id),
        )),
        (Pricing::Range { min, max }, Some(asked))
            if asked < min.value() || asked > max.value() =>
        {
            Err(TopUpError::unprocessable(
                "invalid_amount",
                format!(
                    "Amount must be from {} to {} {currency}",
                    min.value(),
                    max.value()
                ),
            ))
        }
        (Pricing::Range { .. }, Some(asked)) => Ok(asked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(phone: &str, product: &str, amount: Option<Decimal>) -> TopUpRequest {
        TopUpRequest {
            phone: phone.into(),
            product_id: product.into(),
            external_tx_id: "x".into(),
            amount,
        }
    }

    fn error(r: &TopUpRequest) -> Option<&'static str> {
        check(r).err().map(|e| e.error)
    }

    #[test]
    fn checks_in_order() {
        let ok = check(&request(
            "79161234567",
            "mts-ru-topup",
            Some(Decimal::new(100, 0)),
        ));
        assert_eq!(ok.map(|c| c.amount), Ok(Decimal::new(100, 0)));
        let fixed = check(&request("79161234567", "mts-ru-bundle-10gb-30d", None));
        assert_eq!(fixed.map(|c| c.amount), Ok(Decimal::new(500, 0)));
        assert_eq!(
            error(&request("79161234582", "mts-ru-topup", None)),
            Some("unknown_number")
        );
        assert_eq!(
            error(&request("79161234567", "nope", None)),
            Some("product_not_found")
        );
        assert_eq!(
            error(&request("33612345678", "mts-ru-topup", None)),
            Some("product_operator_mismatch")
        );
        assert_eq!(
            error(&request("79161234555", "mts-ru-topup", Some(Decimal::TEN))),
            Some("product_not_available")
        );
        assert_eq!(
            error(&request("79161234567", "mts-ru-topup", None)),
            Some("invalid_amount")
        );
        assert_eq!(
            error(&request("79161234567", "mts-ru-topup", Some(Decimal::TEN))),
            Some("invalid_amount")
        );
        assert_eq!(
            error(&request(
                "79161234567",
                "mts-ru-bundle-10gb-30d",
                Some(Decimal::TEN)
            )),
            Some("invalid_amount")
        );
    }

    #[test]
    fn effective_amounts() {
        assert_eq!(
            effective_amount(&request("7", "mts-ru-bundle-10gb-30d", None)),
            Some(Decimal::new(500, 0))
        );
        assert_eq!(effective_amount(&request("7", "mts-ru-topup", None)), None);
        assert_eq!(
            effective_amount(&request("7", "nope", Some(Decimal::ONE))),
            Some(Decimal::ONE)
        );
    }
}
