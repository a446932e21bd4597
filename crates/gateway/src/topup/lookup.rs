//! `POST /telecom/lookup`: which operator a number belongs to (MNP override, then the number plan,
//! then a provider's lookup), its line type, and what can be bought for it.

use std::sync::Arc;

use serde::Serialize;
use switchboard_adapter::{AdapterError, Capability};
use switchboard_core::topup::{LineType, ProductType};
use switchboard_core::{ApiError, ErrorCode, Msisdn};
use switchboard_router::Channel;

use crate::state::AppState;

/// Where the operator came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Override,
    NumberPlan,
    Provider,
}

#[derive(Debug, Clone, Serialize)]
pub struct LookupAnswer {
    pub operator_id: String,
    pub operator_name: String,
    pub country: String,
    #[serde(rename = "type")]
    pub line_type: LineType,
    #[serde(serialize_with = "supports_names")]
    pub supports: Vec<ProductType>,
    pub source: Source,
}

fn supports_names<S: serde::Serializer>(kinds: &[ProductType], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(kinds.iter().map(|k| k.supports_name()))
}

fn lookup_channels(state: &AppState, operator: Option<&str>) -> Vec<Arc<Channel>> {
    let mut channels: Vec<Arc<Channel>> = state
        .router()
        .channels()
        .filter(|c| c.capabilities.contains(Capability::Lookup))
        .filter(|c| operator.is_none_or(|op| c.operators.iter().any(|o| o == op)))
        .cloned()
        .collect();
    channels.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.id.cmp(&b.id)));
    channels
}

pub async fn lookup(state: &AppState, msisdn: &Msisdn) -> Result<LookupAnswer, ApiError> {
    let (known, source) = match state.overrides().get(state.router().plan(), msisdn) {
        Some(op) => (Some(op), Source::Override),
        None => match state.router().operator_for(msisdn) {
            Ok(op) => (Some(op.id.clone()), Source::NumberPlan),
            Err(_) => (None, Source::Provider),
        },
    };
    let channels = lookup_channels(state, known.as_deref());
    if channels.is_empty() {
        return Err(match known {
            Some(_) => ApiError::new(
                ErrorCode::ServiceNotApplicable,
                "No top-up provider serves this number's operator.",
            ),
            None => ApiError::new(
                ErrorCode::IdentifierNotFound,
                "The phone number does not belong to a supported operator.",
            ),
        });
    }
    let mut last = ApiError::new(
        ErrorCode::Unavailable,
        "No top-up provider can be reached. Try again later.",
    );
    for channel in channels {
        let answer = match channel.adapter.lookup(msisdn).await {
            Ok(answer) => answer,
            Err(AdapterError::Refused(e)) => return Err(e),
            Err(AdapterError::NotFound) => return Err(ApiError::of(ErrorCode::IdentifierNotFound)),
            Err(e) => {
                tracing::warn!(channel = %channel.id, error = %e, "lookup failed; trying the next provider");
                if matches!(e, AdapterError::Unknown(_)) {
                    last = ApiError::new(
                        ErrorCode::Timeout,
                        "The top-up provider did not answer in time.",
                    );
                }
                continue;
            }
        };
        let operator_id = known.clone().unwrap_or(answer.operator_id.clone());
        let router = state.router();
        let Some(operator) = router.plan().operator(&operator_id) else {
            return Err(ApiError::new(
                ErrorCode::ServiceNotApplicable,
                "The number's operator is not served.",
            ));
        };
        let mut supports: Vec<ProductType> = state
            .catalogue
            .list(Some(&operator_id), None)
            .into_iter()
            .filter(|p| p.allows(answer.line_type))
            .map(|p| p.product_type)
            .collect();
        supports.sort_by_key(|t| t.as_str());
        supports.dedup();
        let operator_name = if answer.operator_id == operator_id {
            answer.operator_name
        } else {
            operator_id.clone()
        };
        return Ok(LookupAnswer {
            operator_id,
            operator_name,
            country: operator.country.clone(),
            line_type: answer.line_type,
            supports,
            source,
        });
    }
    Err(last)
}
