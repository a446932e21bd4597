//! Creating a payment (1-step) or a reservation (2-step): the payment's parts of the operation
//! engine — its claim (with the merchant's shared rate limit and the subscriber's spending
//! reservation in the same round trip), its channels and its upstream call.

use crate::observe::Kind;
use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use switchboard_adapter::{AdapterError, Capability};
use switchboard_core::{ApiError, NewPayment, PaymentFlow, PaymentRecord, UpstreamPayment};
use switchboard_router::Channel;
use switchboard_store::{IdempotencyKey, InsertOutcome, RateQuota};
use tracing::Instrument;

use super::store_error;
use crate::limits::spend::{self, SpendPlan};
use crate::operation::{self, Claim, Operation};
use crate::state::AppState;

pub type Submitted = operation::Submitted<PaymentRecord>;

pub(crate) fn capability(flow: PaymentFlow) -> Capability {
    match flow {
        PaymentFlow::OneStep => Capability::Payment,
        PaymentFlow::TwoStep => Capability::TwoStepPayment,
    }
}

/// Runs a create or prepare end to end. Guarantees: at most one upstream charge per
/// `(merchant, clientCorrelator)`; an unknown upstream outcome is recorded `processing`, never lost.
pub async fn submit(state: &AppState, req: NewPayment) -> Result<Submitted, ApiError> {
    // Checks of the request itself (nothing written if they fail): whose number it is, whether the
    // merchant may charge there, in that currency, that much.
    let live = state.live();
    let operator = crate::routing::operator_of(&live, &req.msisdn)?;
    crate::auth::check_operator_allowed(state, &req.merchant_id, &operator.id)?;
    let currency = &req.payment_amount.charging_information.currency;
    if !operator.bills_in(currency) {
        return Err(ApiError::invalid_argument(format!(
            "Currency is unknown or not authorized: {currency}"
        )));
    }
    let now = Utc::now().trunc_subsecs(3);
    // If this process dies mid-call, reconciliation takes the payment over from then.
    let takeover =
        now + chrono::Duration::milliseconds(live.config.payments.duplicate_wait_ms as i64);
    let capability = capability(req.flow);
    let record = PaymentRecord::claimed(req, operator.id.clone(), now, takeover);
    let request = PaymentRequest {
        capability,
        spend: spend::plan(&live.config, &record)?,
        quota: live.limits.shared_quota(&record.merchant_id),
    };
    let span = tracing::info_span!("payment", payment_id = %record.id, msisdn = %record.msisdn.masked(), operator = %record.operator_id);
    operation::run(state, &request, record)
        .instrument(span)
        .await
}

struct PaymentRequest {
    capability: Capability,
    spend: Option<SpendPlan>,
    /// The merchant's rate limit when it is shared through the store: counted in the claim.
    quota: Option<RateQuota>,
}

fn keys_of(record: &PaymentRecord) -> Vec<IdempotencyKey> {
    let mut keys = Vec::with_capacity(2);
    if let Some(cc) = &record.client_correlator {
        keys.push(IdempotencyKey::ClientCorrelator(cc.clone()));
    }
    keys.push(IdempotencyKey::ReferenceCode(record.reference_code.clone()));
    keys
}

impl Operation for PaymentRequest {
    type Record = PaymentRecord;

    fn capability(&self, _: &PaymentRecord) -> Capability {
        self.capability
    }

    fn kind(&self, record: &PaymentRecord) -> Kind {
        match record.flow {
            PaymentFlow::OneStep => Kind::Payment,
            PaymentFlow::TwoStep => Kind::Prepare,
        }
    }

    fn operator<'a>(&'a self, record: &'a PaymentRecord) -> &'a str {
        &record.operator_id
    }

    /// The claim and the month's spending reservation side by side: one round trip.
    async fn claim(
        &self,
        state: &AppState,
        record: &mut PaymentRecord,
    ) -> Result<Claim<PaymentRecord>, ApiError> {
        let store = state.store.as_ref();
        let keys = keys_of(record);
        let insert = async {
            match self.quota {
                Some(quota) => store.insert_payment_rated(record, &keys, quota).await,
                None => store.insert_payment(record, &keys).await,
            }
        };
        let reserve = async {
            match &self.spend {
                Some(plan) => Some(spend::reserve(store, plan, &record.id).await),
                None => None,
            }
        };
        let (claim, reserved) = tokio::join!(insert, reserve);
        if matches!(reserved, Some(Ok(()))) && !matches!(claim, Ok(InsertOutcome::Inserted)) {
            // Not claimed (a replay, a conflict, the rate limit or a store failure): this attempt's
            // reservation is not needed.
            spend::release(store, record).await;
        }
        match claim.map_err(store_error)? {
            InsertOutcome::Inserted => Ok(match reserved {
                // Claimed but over the month (or the store failed): refused, nothing sent.
                Some(Err(limit_error)) => Claim::Refused(limit_error),
                _ => Claim::Inserted,
            }),
            InsertOutcome::Existing { key, existing } => Ok(Claim::Existing {
                key: Some(key),
                existing: *existing,
            }),
            InsertOutcome::RateLimited { retry_after } => {
                let error = crate::limits::merchant_limited(retry_after);
                tracing::info!(retry_after = error.retry_after_secs, "merchant rate limit");
                Err(error)
            }
        }
    }

    fn channels(
        &self,
        state: &AppState,
        record: &PaymentRecord,
    ) -> Result<Vec<Arc<Channel>>, ApiError> {
        state
            .router()
            .route_to(&record.operator_id, self.capability)
            .map(|route| route.channels)
            .map_err(ApiError::from)
    }

    async fn call(
        &self,
        channel: &Channel,
        record: &PaymentRecord,
    ) -> Result<UpstreamPayment, AdapterError> {
        match record.flow {
            PaymentFlow::OneStep => channel.adapter.create_payment(record).await,
            PaymentFlow::TwoStep => channel.adapter.prepare_payment(record).await,
        }
    }
}
