//! The product catalogue: merged from every channel that sells top-ups, cached in memory and refreshed
//! on a schedule (never fetched per request).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Utc};
use switchboard_adapter::Capability;
use switchboard_core::topup::{Product, ProductType};
use tokio::task::JoinHandle;

use crate::state::AppState;

/// A product and the channel that sells it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub product: Product,
    pub channel_id: String,
}

#[derive(Default)]
struct Snapshot {
    by_id: HashMap<String, Listed>,
    /// Product ids in catalogue order (operator, then id).
    order: Vec<String>,
    refreshed_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct Catalogue {
    snapshot: RwLock<Snapshot>,
}

impl Catalogue {
    pub fn get(&self, id: &str) -> Option<Listed> {
        self.snapshot.read().ok()?.by_id.get(id).cloned()
    }

    /// Products, optionally for one operator and of one type.
    pub fn list(
        &self,
        operator_id: Option<&str>,
        product_type: Option<ProductType>,
    ) -> Vec<Product> {
        let Ok(snap) = self.snapshot.read() else {
            return Vec::new();
        };
        snap.order
            .iter()
            .filter_map(|id| snap.by_id.get(id))
            .map(|l| &l.product)
            .filter(|p| operator_id.is_none_or(|op| p.operator_id == op))
            .filter(|p| product_type.is_none_or(|t| p.product_type == t))
            .cloned()
            .collect()
    }

    pub fn refreshed_at(&self) -> Option<DateTime<Utc>> {
        self.snapshot.read().ok()?.refreshed_at
    }

    /// Asks every top-up channel for its catalogue and swaps the cache in one step. A channel that
    /// fails keeps its previous products, so one provider's outage does not empty the shop.
    pub async fn refresh(&self, state: &AppState) {
        let mut fresh: HashMap<String, Listed> = HashMap::new();
        let mut failed: Vec<String> = Vec::new();
        let mut channels: Vec<_> = state
            .router
            .channels()
            .filter(|c| c.capabilities.contains(Capability::Topup))
            .cloned()
            .collect();
        // Best channel last, so it wins a product id both offer.
        channels.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| b.id.cmp(&a.id)));
        for channel in channels {
            match channel.adapter.products().await {
                Ok(products) => {
                    for product in products {
                        let sold_here = channel.operators.contains(&product.operator_id)
                            && state.router.plan().operator(&product.operator_id).is_some();
                        if sold_here && product.check().is_ok() {
                            let id = product.id.clone();
                            fresh.insert(
                                id,
                                Listed {
                                    product,
                                    channel_id: channel.id.clone(),
                                },
                            );
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(channel = %channel.id, error = %e, "catalogue refresh failed; keeping the previous products");
                    failed.push(channel.id.clone());
                }
            }
        }
        let Ok(mut snap) = self.snapshot.write() else {
            return;
        };
        for (id, listed) in snap.by_id.iter() {
            if failed.contains(&listed.channel_id) && !fresh.contains_key(id) {
                fresh.insert(id.clone(), listed.clone());
            }
        }
        let mut order: Vec<String> = fresh.keys().cloned().collect();
        order.sort_by(|a, b| {
            let (pa, pb) = (&fresh[a].product, &fresh[b].product);
            pa.operator_id.cmp(&pb.operator_id).then_with(|| a.cmp(b))
        });
        tracing::info!(products = order.len(), "catalogue refreshed");
        *snap = Snapshot {
            by_id: fresh,
            order,
            refreshed_at: Some(Utc::now()),
        };
    }
}

/// Refreshes the catalogue at start and every `interval`.
pub fn spawn_refresh(state: web::Data<AppState>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            state.catalogue.refresh(&state).await;
        }
    })
}
