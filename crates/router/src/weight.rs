//! Weighted random order: each item gets key `u^(1/weight)` (u uniform in [0, 1)), highest first,
//! so an item of weight 3 leads three times as often as one of weight 1.

use std::sync::Arc;

use rand::Rng;

use crate::Channel;

/// The draw key of one item of `weight` (> 0; 0 or less never leads).
pub fn draw_key<R: Rng>(rng: &mut R, weight: f64) -> f64 {
    if weight > 0.0 {
        rng.random::<f64>().powf(1.0 / weight)
    } else {
        0.0
    }
}

/// The pick before scoring (kept as the routing benchmark's reference): healthy channels first, each
/// group in priority order, each run of equal priority and health by a weighted draw on the static
/// weights.
pub fn priority_order<R: Rng>(channels: &mut [Arc<Channel>], rng: &mut R) {
    channels.sort_by_key(|c| (!c.health.is_healthy(), c.priority));
    let mut start = 0;
    while start < channels.len() {
        let rank = |c: &Arc<Channel>| (c.health.is_healthy(), c.priority);
        let mut end = start + 1;
        while end < channels.len() && rank(&channels[end]) == rank(&channels[start]) {
            end += 1;
        }
        if end - start > 1 {
            let mut keyed: Vec<(f64, Arc<Channel>)> = channels[start..end]
                .iter()
                .map(|c| (draw_key(rng, f64::from(c.weight.max(1))), c.clone()))
                .collect();
            keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
            for (slot, (_, c)) in channels[start..end].iter_mut().zip(keyed) {
                *slot = c;
            }
        }
        start = end;
    }
}
