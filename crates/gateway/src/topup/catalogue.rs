//! The product catalogue: merged from every channel that sells top-ups, cached in memory and refreshed
//! on a schedule (never fetched per request).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Utc};
use switchboard_adapter::Capability;
use switchboard_core::topup::{hyphenated_id, Product, ProductType};
use tokio::task::JoinHandle;

use crate::state::AppState;

/// A product and the channels that sell it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub product: Product,
    /// The best channel selling it.
    pub channel_id: String,
    /// Every channel selling it, best first: a top-up fails over along this list.
    pub channel_ids: Vec<String>,
}

/// Records that `channel` sells `product` (the first offer's product details are kept).
fn offer(catalogue: &mut HashMap<String, Listed>, product: Product, channel: &str) {
    let listed = catalogue
        .entry(product.id.clone())
        .or_insert_with(|| Listed {
            product,
            channel_id: channel.to_string(),
            channel_ids: Vec::new(),
        });
    if !listed.channel_ids.iter().any(|c| c == channel) {
        listed.channel_ids.push(channel.to_string());
    }
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
    /// A product by its id, in the catalogue's spelling or the product documents' (underscores).
    pub fn get(&self, id: &str) -> Option<Listed> {
        let snap = self.snapshot.read().ok()?;
        snap.by_id
            .get(id)
            .or_else(|| hyphenated_id(id).and_then(|h| snap.by_id.get(&h)))
            .cloned()
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
            .filter(|p| {
                operator_id.is_none_or(|op| {
                    p.operator_id == op || hyphenated_id(op).is_some_and(|h| p.operator_id == h)
                })
            })
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
            .router()
            .channels()
            .filter(|c| c.capabilities.contains(Capability::Topup))
            .cloned()
            .collect();
        // Best first, so a product's details come from the best channel selling it.
        channels.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.id.cmp(&b.id)));

        for channel in &channels {
            match channel.adapter.products().await {
                Ok(products) => {
                    for product in products {
                        let sold_here = channel.operators.contains(&product.operator_id)
                            && state
                                .router()
                                .plan()
                                .operator(&product.operator_id)
                                .is_some();
                        if sold_here && product.check().is_ok() {
                            offer(&mut fresh, product, &channel.id);
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
        for listed in snap.by_id.values() {
            for channel_id in listed.channel_ids.iter().filter(|c| failed.contains(c)) {
                offer(&mut fresh, listed.product.clone(), channel_id);
            }
        }
        // Best channel first: lowest priority, then id.
        let rank = |id: &String| {
            state
                .router()
                .channel(id)
                .map(|c| (c.priority, c.id.clone()))
        };
        for listed in fresh.values_mut() {
            listed.channel_ids.sort_by_key(|id| rank(id));
            listed.channel_id = listed.channel_ids[0].clone();
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
