//! Which operator a number belongs to *now*: an MNP override (a ported number) wins over the number
//! plan. Overrides live in the store; each replica keeps a copy refreshed every
//! `routing.overrides_refresh_ms`, so the payment path needs no extra store round trip.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use actix_web::web;
use switchboard_adapter::Capability;
use switchboard_core::{ApiError, Msisdn};
use switchboard_router::{OperatorInfo, Route, RouteError};
use tokio::task::JoinHandle;

use crate::state::AppState;

/// This replica's copy of the MNP override table.
#[derive(Default)]
pub struct Overrides {
    table: RwLock<HashMap<Msisdn, String>>,
}

impl Overrides {
    pub fn get(&self, msisdn: &Msisdn) -> Option<String> {
        self.table.read().ok()?.get(msisdn).cloned()
    }

    pub fn replace(&self, entries: Vec<(Msisdn, String)>) {
        if let Ok(mut table) = self.table.write() {
            *table = entries.into_iter().collect();
        }
    }

    pub fn set(&self, msisdn: Msisdn, operator: Option<String>) {
        if let Ok(mut table) = self.table.write() {
            match operator {
                Some(op) => table.insert(msisdn, op),
                None => table.remove(&msisdn),
            };
        }
    }
}

/// The operator a number belongs to now: its MNP override, else the number plan.
pub fn operator_of<'a>(state: &'a AppState, msisdn: &Msisdn) -> Result<&'a OperatorInfo, ApiError> {
    match state.overrides.get(msisdn) {
        Some(id) => state
            .router
            .plan()
            .operator(&id)
            .ok_or(RouteError::UnknownNumber),
        None => state.router.operator_for(msisdn),
    }
    .map_err(ApiError::from)
}

/// Override first, then the number plan.
pub fn route<'a>(
    state: &'a AppState,
    msisdn: &Msisdn,
    capability: Capability,
) -> Result<Route<'a>, ApiError> {
    let routed = match state.overrides.get(msisdn) {
        Some(operator) => state.router.route_to(&operator, capability),
        None => state.router.route(msisdn, capability),
    };
    routed.map_err(ApiError::from)
}

/// Loads the override table now and then every `interval`.
pub fn spawn_refresh(state: web::Data<AppState>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match state.store.operator_overrides().await {
                Ok(entries) => state.overrides.replace(entries),
                Err(e) => tracing::warn!(error = %e, "MNP overrides not refreshed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replace_and_remove() {
        let o = Overrides::default();
        let n = Msisdn::parse("+34600000001").unwrap();
        assert_eq!(o.get(&n), None);
        o.set(n.clone(), Some("telekom-de".into()));
        assert_eq!(o.get(&n).as_deref(), Some("telekom-de"));
        o.replace(vec![]);
        assert_eq!(o.get(&n), None);
        o.set(n.clone(), Some("x".into()));
        o.set(n.clone(), None);
        assert_eq!(o.get(&n), None);
    }
}
