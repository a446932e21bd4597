//! Sharing traffic among equally good channels in proportion to their weights.

use std::sync::Arc;

use rand::Rng;

use crate::Channel;

/// Reorders each run of channels that are equally healthy and of equal priority by a weighted random
/// draw (each gets key `u^(1/weight)`, highest first), so a channel with weight 3 leads three times as
/// often as one with weight 1. Runs of one channel, and the order between runs, are untouched.
pub fn spread<R: Rng>(channels: &mut [Arc<Channel>], rng: &mut R) {
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
                .map(|c| {
                    (
                        rng.random::<f64>().powf(1.0 / f64::from(c.weight.max(1))),
                        c.clone(),
                    )
                })
                .collect();
            keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
            for (slot, (_, c)) in channels[start..end].iter_mut().zip(keyed) {
                *slot = c;
            }
        }
        start = end;
    }
}
