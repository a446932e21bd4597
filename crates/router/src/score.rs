//! Choosing among usable channels of the same priority by how they have been doing: a score from
//! the operation's rolling window (technical success rate, p95 latency) with the static weight as
//! prior, a weighted draw by score, an exploration share, and elimination below a floor. The
//! algorithm and its knobs are described in the crate's README ("Scoring").

use std::sync::Arc;

use rand::Rng;
use switchboard_adapter::Capability;

use crate::circuit::CircuitState;
use crate::weight::draw_key;
use crate::window::WindowStats;
use crate::Channel;

/// Calls of perfect success every channel is credited with, so a channel with little traffic is
/// neither punished nor favoured by a handful of calls.
pub const PRIOR_CALLS: u32 = 5;
/// How sharply the success rate separates channels: a rate of 0.9 scores 0.9^4 ≈ 0.66 of a
/// perfect one.
pub const SUCCESS_EXPONENT: i32 = 4;

/// `[routing.scoring]`: the knobs of the choice among equal-priority channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingPolicy {
    /// Share of decisions (percent) that put a uniformly chosen channel of the group first, so a
    /// recovered or eliminated channel earns traffic back.
    pub exploration_percent: u32,
    /// A channel whose technical success rate (percent, over at least its circuit's `min_calls`)
    /// is under this floor goes behind its peers until it recovers.
    pub elimination_floor_percent: u32,
    /// The p95 latency (ms) that halves a channel's score.
    pub latency_scale_ms: u32,
}

impl RoutingPolicy {
    pub const EXPLORATION_PERCENT: u32 = 5;
    pub const ELIMINATION_FLOOR_PERCENT: u32 = 50;
    pub const LATENCY_SCALE_MS: u32 = 500;

    /// What is wrong with these settings, each as `key: reason`.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.exploration_percent > 100 {
            problems.push("exploration_percent must be 0 to 100".into());
        }
        if self.elimination_floor_percent > 100 {
            problems.push("elimination_floor_percent must be 0 to 100".into());
        }
        if self.latency_scale_ms == 0 {
            problems.push("latency_scale_ms must be above 0".into());
        }
        problems
    }
}

impl Default for RoutingPolicy {
    fn default() -> Self {
        RoutingPolicy {
            exploration_percent: Self::EXPLORATION_PERCENT,
            elimination_floor_percent: Self::ELIMINATION_FLOOR_PERCENT,
            latency_scale_ms: Self::LATENCY_SCALE_MS,
        }
    }
}

/// How one channel stands for one operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    pub circuit: CircuitState,
    pub stats: WindowStats,
    /// weight × success^4 × scale / (scale + p95).
    pub score: f64,
    pub eliminated: bool,
}

pub fn assess(
    channel: &Channel,
    capability: Capability,
    policy: &RoutingPolicy,
    now_ms: u64,
) -> Assessment {
    let breaker = channel.health.breaker(capability);
    let stats = breaker.window.stats(now_ms);
    let calls = stats.calls();
    let success = f64::from(stats.answered + PRIOR_CALLS) / f64::from(calls + PRIOR_CALLS);
    let scale = f64::from(policy.latency_scale_ms.max(1));
    let latency = scale / (scale + f64::from(stats.p95_ms));
    let score =
        f64::from(channel.routing_weight().max(1)) * success.powi(SUCCESS_EXPONENT) * latency;
    let eliminated = calls > 0
        && calls >= breaker.settings().min_calls
        && u64::from(stats.answered) * 100
            < u64::from(policy.elimination_floor_percent) * u64::from(calls);
    Assessment {
        circuit: channel.circuit_at(capability, now_ms),
        stats,
        score,
        eliminated,
    }
}

/// Orders `channels` for a new `capability` request: usable ones (circuit closed or half-open) by
/// priority, each run of equal priority by score; channels with an open circuit last, by priority
/// (the sender skips them; they are listed for the route test and `Retry-After`).
pub fn order<R: Rng>(
    channels: &mut [Arc<Channel>],
    capability: Capability,
    policy: &RoutingPolicy,
    now_ms: u64,
    rng: &mut R,
) {
    let open = |c: &Arc<Channel>| c.circuit_at(capability, now_ms) == CircuitState::Open;
    channels.sort_by_cached_key(|c| (open(c), c.routing_priority()));
    let mut start = 0;
    while start < channels.len() {
        let head = &channels[start];
        if open(head) {
            break;
        }
        let priority = head.routing_priority();
        let end = start
            + channels[start..]
                .iter()
                .take_while(|c| c.routing_priority() == priority && !open(c))
                .count();
        if end - start > 1 {
            by_score(&mut channels[start..end], capability, policy, now_ms, rng);
        }
        start = end;
    }
}

/// One run of equal priority: a weighted draw by score (eliminated channels behind, best score
/// first), then with the exploration share a uniformly chosen channel moved to the front.
fn by_score<R: Rng>(
    run: &mut [Arc<Channel>],
    capability: Capability,
    policy: &RoutingPolicy,
    now_ms: u64,
    rng: &mut R,
) {
    let mut keyed: Vec<((bool, f64), Arc<Channel>)> = run
        .iter()
        .map(|c| {
            let a = assess(c, capability, policy, now_ms);
            let key = if a.eliminated {
                a.score
            } else {
                draw_key(rng, a.score)
            };
            ((!a.eliminated, key), c.clone())
        })
        .collect();
    keyed.sort_by(|a, b| b.0 .0.cmp(&a.0 .0).then(b.0 .1.total_cmp(&a.0 .1)));
    for (slot, (_, c)) in run.iter_mut().zip(keyed) {
        *slot = c;
    }
    if rng.random_range(0..100) < policy.exploration_percent {
        let pick = rng.random_range(0..run.len());
        run[..=pick].rotate_right(1);
    }
}
