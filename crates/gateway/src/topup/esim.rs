//! `POST /esim/orders` and `GET /esim/orders/{order_id}`. The merchant's `external_order_id` is the
//! idempotency key: an identical retry answers with the same order, another product under the same
//! key is `409 CONFLICT`. The provider gets `sb-<order id>` as its `external_order_id`, so a retry
//! after an unknown outcome sends the order again under the same reference and the provider answers
//! with the eSIM it already made: no second profile is bought.

use std::sync::Arc;

use chrono::{Duration, SubsecRound, Utc};
use switchboard_adapter::{AdapterError, Capability};
use switchboard_core::{ApiError, ErrorCode, EsimOrder, EsimOrderRecord, NewEsimOrder};
use switchboard_router::Channel;
use switchboard_store::EsimInsert;
use tracing::Instrument;

use crate::observe::Kind;
use crate::operation::{self, Claim, Operation};
use crate::payments::store_error;
use crate::state::AppState;

/// Orders an eSIM (or answers with the order already made under the merchant's key).
pub async fn create(state: &AppState, req: NewEsimOrder) -> Result<EsimOrderRecord, ApiError> {
    let listed = state.catalogue.get(&req.product_id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("No product '{}'.", req.product_id),
        )
    })?;
    let operator_id = listed.product.operator_id.clone();
    crate::auth::check_operator_allowed(state, &req.merchant_id, &operator_id)?;
    let now = Utc::now().trunc_subsecs(3);
    let resend_after =
        now + Duration::milliseconds(state.config().payments.duplicate_wait_ms as i64);
    // The catalogue's id, whichever spelling the merchant used.
    let req = NewEsimOrder {
        product_id: listed.product.id.clone(),
        ..req
    };
    let record = EsimOrderRecord::claimed(req, operator_id, now, resend_after);
    let span =
        tracing::info_span!("esim_order", order_id = %record.id, product = %record.product_id);
    let request = EsimRequest {
        channel_ids: &listed.channel_ids,
    };
    async {
        let submitted = operation::run(state, &request, record).await?;
        if submitted.replayed && submitted.record.needs_resend(Utc::now()) {
            tracing::info!(order_id = %submitted.record.id, status = %submitted.record.status, "eSIM order sent again under its reference");
            return Ok(operation::resend(state, &request, submitted.record)
                .await?
                .record);
        }
        Ok(submitted.record)
    }
    .instrument(span)
    .await
}

/// A merchant's order, or 404 (another merchant's id is not found either).
pub async fn get(
    state: &AppState,
    merchant_id: &str,
    order_id: &str,
) -> Result<EsimOrderRecord, ApiError> {
    state
        .store
        .get_esim_order(merchant_id, order_id)
        .await
        .map_err(store_error)?
        .ok_or_else(ApiError::not_found)
}

struct EsimRequest<'a> {
    /// The product's channels, in catalogue order.
    channel_ids: &'a [String],
}

impl Operation for EsimRequest<'_> {
    type Record = EsimOrderRecord;

    /// eSIM orders share the channel's top-up circuit: the same provider API answers both.
    fn capability(&self, _: &EsimOrderRecord) -> Capability {
        Capability::Topup
    }

    fn kind(&self, _: &EsimOrderRecord) -> Kind {
        Kind::EsimOrder
    }

    fn operator<'a>(&'a self, record: &'a EsimOrderRecord) -> &'a str {
        &record.operator_id
    }

    async fn claim(
        &self,
        state: &AppState,
        record: &mut EsimOrderRecord,
    ) -> Result<Claim<EsimOrderRecord>, ApiError> {
        match state
            .store
            .insert_esim_order(record)
            .await
            .map_err(store_error)?
        {
            EsimInsert::Inserted => Ok(Claim::Inserted),
            EsimInsert::Existing(existing) => Ok(Claim::Existing {
                key: None,
                existing: *existing,
            }),
        }
    }

    /// An order sent before goes back to the provider that may have it (a draining channel
    /// included: it finishes what it has); a new one to the product's providers that take new
    /// requests, in the routing rule's order.
    fn channels(
        &self,
        state: &AppState,
        record: &EsimOrderRecord,
    ) -> Result<Vec<Arc<Channel>>, ApiError> {
        let mut channels: Vec<_> = match &record.channel_id {
            Some(id) => state.router().channel(id).into_iter().collect(),
            None => self
                .channel_ids
                .iter()
                .filter_map(|id| state.router().channel(id))
                .filter(|c| c.takes_new_requests())
                .collect(),
        };
        state.router().order(&mut channels, Capability::Topup);
        if channels.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                "The product's eSIM channels are not configured.",
            ));
        }
        Ok(channels)
    }

    async fn call(
        &self,
        channel: &Channel,
        record: &EsimOrderRecord,
    ) -> Result<EsimOrder, AdapterError> {
        channel
            .adapter
            .esim_order(&record.product_id, &record.upstream_reference)
            .await
    }
}
