//! Per-subscriber spending limits (PSD2: by default EUR 50 per payment and EUR 300 per calendar
//! month for the EU operators). A payment's amount is reserved in the store when it is created or
//! prepared, together with the idempotency claim; it is given back when the payment is refused,
//! denied, cancelled or expires, and kept when it succeeds.
//!
//! A limit counts only payments in its own currency. Months are calendar months in UTC, taken from
//! the payment's creation time. The month counter belongs to the subscriber (every merchant's
//! payments count); a merchant's `spend_limits` only lower the operator's.

use rust_decimal::Decimal;
use switchboard_core::{Amount, ApiError, ErrorCode, PaymentRecord, PaymentStatus, Phase};
use switchboard_store::{month_of, Milli, SpendOutcome, SpendPeriod, Store};

use crate::config::Config;
use crate::payments::store_error;

/// The amount in integer thousandths (CAMARA amounts have at most three decimals).
pub fn milli(amount: Amount) -> Milli {
    let scaled = (amount.value() * Decimal::from(1000)).trunc();
    i64::try_from(scaled).unwrap_or(Milli::MAX)
}

/// What a new payment must reserve: its period, amount and the month's limit.
#[derive(Debug, Clone)]
pub struct SpendPlan {
    pub period: SpendPeriod,
    pub amount: Milli,
    pub per_month: Milli,
}

fn applicable<'a>(
    config: &'a Config,
    operator_id: &str,
    merchant_id: &str,
    currency: &'a str,
) -> impl Iterator<Item = &'a super::SpendLimits> + 'a {
    let operator = config.limits.operators.get(operator_id);
    let merchant = config
        .merchants
        .get(merchant_id)
        .and_then(|m| m.spend_limits.as_ref());
    operator
        .into_iter()
        .chain(merchant)
        .filter(move |l| l.currency.eq_ignore_ascii_case(currency))
}

/// Checks the per-payment limits and returns what to reserve for the month (`None`: no monthly
/// limit applies). Over a per-payment limit: 422 `CARRIER_BILLING.UNAUTHORIZED_AMOUNT`.
pub fn plan(config: &Config, p: &PaymentRecord) -> Result<Option<SpendPlan>, ApiError> {
    let info = &p.payment_amount.charging_information;
    let currency = info.currency.as_str();
    let limits: Vec<_> = applicable(config, &p.operator_id, &p.merchant_id, currency).collect();
    if let Some(max) = limits.iter().filter_map(|l| l.per_transaction).min() {
        if info.amount > max {
            return Err(ApiError::new(
                ErrorCode::UnauthorizedAmount,
                format!("The amount exceeds the limit of {max} {currency} per payment."),
            ));
        }
    }
    Ok(limits
        .iter()
        .filter_map(|l| l.per_month)
        .min()
        .map(|per_month| SpendPlan {
            period: period_of(p),
            amount: milli(info.amount),
            per_month: milli(per_month),
        }))
}

/// Whether a monthly limit applies to the payment (so it may hold a reservation).
pub fn tracked(config: &Config, p: &PaymentRecord) -> bool {
    let currency = p.payment_amount.charging_information.currency.as_str();
    applicable(config, &p.operator_id, &p.merchant_id, currency).any(|l| l.per_month.is_some())
}

/// The period a payment counts against.
pub fn period_of(p: &PaymentRecord) -> SpendPeriod {
    SpendPeriod {
        msisdn: p.msisdn.clone(),
        month: month_of(p.created_at),
        currency: p
            .payment_amount
            .charging_information
            .currency
            .as_str()
            .to_string(),
    }
}

/// Reserves the payment's amount. Over the month: 422 `USER_AMOUNT_THRESHOLD_OVERPASSED`.
pub async fn reserve(
    store: &dyn Store,
    plan: &SpendPlan,
    payment_id: &str,
) -> Result<(), ApiError> {
    match store
        .reserve_spend(&plan.period, payment_id, plan.amount, plan.per_month)
        .await
        .map_err(store_error)?
    {
        SpendOutcome::Reserved { .. } => Ok(()),
        SpendOutcome::OverLimit { .. } => {
            Err(ApiError::of(ErrorCode::UserAmountThresholdOverpassed))
        }
    }
}

/// Whether a payment in this state gives its reservation back.
pub fn releases(p: &PaymentRecord) -> bool {
    matches!(p.phase, Phase::Rejected(_))
        || matches!(p.status, PaymentStatus::Denied | PaymentStatus::Cancelled)
}

/// Gives the payment's reservation back (idempotent; a payment that reserved nothing is a no-op).
/// A store failure is logged: the reservation then lapses with its month.
pub async fn release(store: &dyn Store, p: &PaymentRecord) {
    match store.release_spend(&period_of(p), &p.id).await {
        Ok(true) => tracing::debug!(payment_id = %p.id, "spending reservation released"),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(payment_id = %p.id, error = %e, "spending reservation not released")
        }
    }
}

/// [`release`] if the payment is in a releasing state.
pub async fn release_if_done(store: &dyn Store, p: &PaymentRecord) {
    if releases(p) {
        release(store, p).await;
    }
}
