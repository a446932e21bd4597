//! The measurements on one running stack: interleaved saturation rounds (L0, L1, L3, replay), the
//! gateway's CPU and Redis commands during the L3 rounds, then L0 and L3 at a fixed rate.

use std::path::PathBuf;
use std::time::Duration;

use rand::Rng;

use crate::commandstats::{self, Calls};
use crate::error::{io, Result};
use crate::load::{Oha, Wrk};
use crate::payload;
use crate::procfs;
use crate::results::{FixedRate, Latency, StoreRun};
use crate::stack::{Stack, Store};
use crate::stats::median;
use crate::tokens::Http;
use crate::wrk_output::WrkRun;

pub struct Plan {
    pub rounds: u32,
    pub duration: Duration,
    pub warmup: Duration,
    /// Clock ticks per second of /proc/<pid>/stat.
    pub clock_ticks: f64,
}

pub struct Tools {
    pub wrk: Wrk,
    pub oha: Option<Oha>,
}

struct Session<'a> {
    stack: &'a Stack,
    tools: &'a Tools,
    sandbox_token: String,
    gateway_token: String,
    scripts: u32,
}

impl Session<'_> {
    fn nonce(&mut self, label: &str) -> String {
        self.scripts += 1;
        let salt: u32 = rand::rng().random();
        format!("{label}{}-{salt:08x}", self.scripts)
    }

    /// A wrk script of fresh payments, with ids no other run uses.
    fn unique_script(&mut self, label: &str, token: &str) -> Result<PathBuf> {
        let nonce = self.nonce(label);
        let path = self.stack.dir().join(format!("{nonce}.lua"));
        let seed: u32 = rand::rng().random_range(1..1_000_000);
        std::fs::write(&path, payload::wrk_unique_script(token, &nonce, seed))
            .map_err(io("write a wrk script"))?;
        Ok(path)
    }

    fn saturate(&mut self, layer: &str, duration: Duration) -> Result<WrkRun> {
        let (url, token) = match layer {
            "L0" => (self.stack.l0_url(), self.sandbox_token.clone()),
            "L1" => (self.stack.l1_url(), self.sandbox_token.clone()),
            _ => (self.stack.l3_url(), self.gateway_token.clone()),
        };
        let script = self.unique_script(layer, &token)?;
        let run = self.tools.wrk.run(&url, &script, duration)?;
        let _ = std::fs::remove_file(script);
        Ok(run)
    }
}

fn show(store: Store, what: &str, run: &WrkRun) {
    println!(
        "  [{}] {what:<10} {:>8.0} req/s  ({} requests, {} non-2xx, {} socket errors)",
        store.name(),
        run.rps,
        run.requests,
        run.non_2xx,
        run.socket_errors
    );
}

pub fn measure(
    store: Store,
    stack: &Stack,
    http: &Http,
    tools: &Tools,
    plan: &Plan,
) -> Result<StoreRun> {
    let mut session = Session {
        stack,
        tools,
        sandbox_token: stack.sandbox_token(http)?,
        gateway_token: stack.gateway_token(http)?,
        scripts: 0,
    };
    let mut run = StoreRun {
        store: store.name().into(),
        ..StoreRun::default()
    };

    println!(
        "  [{}] warm-up ({} s per layer)",
        store.name(),
        plan.warmup.as_secs()
    );
    for layer in ["L0", "L1", "L3"] {
        session.saturate(layer, plan.warmup)?;
    }

    let replay_script = stack.dir().join("replay.lua");
    let replay_id = session.nonce("replay");
    let replay_phone = payload::phone(&mut rand::rng());
    std::fs::write(
        &replay_script,
        payload::wrk_replay_script(&session.gateway_token, &replay_phone, &replay_id),
    )
    .map_err(io("write the replay script"))?;

    let mut redis_calls = Calls::new();
    let mut payments = 0u64;
    for round in 1..=plan.rounds {
        println!("  [{}] round {round}/{}", store.name(), plan.rounds);
        let l0 = session.saturate("L0", plan.duration)?;
        show(store, "L0", &l0);
        run.l0_sandbox.rounds.push(l0);
        let l1 = session.saturate("L1", plan.duration)?;
        show(store, "L1", &l1);
        run.l1_nginx.rounds.push(l1);

        let cpu_before = procfs::process_cpu_ticks(stack.gateway_pid);
        let calls_before = stack.commandstats()?;
        let l3 = session.saturate("L3", plan.duration)?;
        let cpu_after = procfs::process_cpu_ticks(stack.gateway_pid);
        let calls_after = stack.commandstats()?;
        show(store, "L3", &l3);
        if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
            if l3.requests > 0 {
                let us = (after - before) as f64 * 1e6 / plan.clock_ticks / l3.requests as f64;
                run.gateway_cpu_us_per_request.push(us);
            }
        }
        if let (Some(before), Some(after)) = (calls_before, calls_after) {
            commandstats::add(&mut redis_calls, &commandstats::delta(&before, &after));
            payments += l3.requests.saturating_sub(l3.non_2xx);
        }
        run.l3_switchboard.rounds.push(l3);

        let replay = tools
            .wrk
            .run(&stack.l3_url(), &replay_script, plan.duration)?;
        show(store, "L3 replay", &replay);
        run.l3_replay.rounds.push(replay);
    }
    run.redis_commands_per_payment = commandstats::per_payment(&redis_calls, payments);

    if let Some(saturation) = run.l3_switchboard.median_rps() {
        run.fixed_rate = Some(fixed_rate(&mut session, &run, saturation / 2.0, plan)?);
    }
    run.gateway_rss_kb_end = procfs::process_rss_kb(stack.gateway_pid);
    for layer in [
        &run.l0_sandbox,
        &run.l1_nginx,
        &run.l3_switchboard,
        &run.l3_replay,
    ] {
        if layer.failures() > 0 {
            run.notes.push(format!(
                "{} failed requests in a layer: see the rounds in the JSON",
                layer.failures()
            ));
        }
    }
    Ok(run)
}

/// L0 then L3 at `rate` with oha; without oha, the saturation rounds' own percentiles, labelled.
fn fixed_rate(
    session: &mut Session<'_>,
    run: &StoreRun,
    rate: f64,
    plan: &Plan,
) -> Result<FixedRate> {
    let tools = session.tools;
    let Some(oha) = &tools.oha else {
        let from_rounds = |rounds: &[WrkRun]| Latency {
            rps: median(&rounds.iter().map(|r| r.rps).collect::<Vec<_>>()).unwrap_or(0.0),
            p50_us: median(&rounds.iter().filter_map(|r| r.p50_us).collect::<Vec<_>>())
                .unwrap_or(0.0),
            p99_us: median(&rounds.iter().filter_map(|r| r.p99_us).collect::<Vec<_>>())
                .unwrap_or(0.0),
            failures: rounds.iter().map(|r| r.non_2xx + r.socket_errors).sum(),
        };
        return Ok(FixedRate {
            tool: "wrk at saturation (oha missing: NOT a fixed rate)".into(),
            target_rps: rate,
            l0: from_rounds(&run.l0_sandbox.rounds),
            l3: from_rounds(&run.l3_switchboard.rounds),
        });
    };
    let lines = ((rate * plan.duration.as_secs_f64() * 8.0) as usize).clamp(10_000, 500_000);
    let layers = [
        ("L0", session.stack.l0_url(), session.sandbox_token.clone()),
        ("L3", session.stack.l3_url(), session.gateway_token.clone()),
    ];
    let mut measured = Vec::new();
    for (layer, url, token) in layers {
        let nonce = session.nonce(&format!("{layer}q"));
        let bodies = session.stack.dir().join(format!("{nonce}.jsonl"));
        std::fs::write(
            &bodies,
            payload::body_lines(&mut rand::rng(), &nonce, lines),
        )
        .map_err(io("write oha's body lines"))?;
        let result = oha.run(&url, &token, &bodies, rate, plan.duration)?;
        let _ = std::fs::remove_file(bodies);
        println!(
            "  [{}] {layer} at {rate:.0}/s: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} non-2xx",
            run.store,
            result.rps,
            result.p50_us / 1000.0,
            result.p99_us / 1000.0,
            result.non_2xx
        );
        measured.push(Latency {
            rps: result.rps,
            p50_us: result.p50_us,
            p99_us: result.p99_us,
            failures: result.non_2xx,
        });
    }
    let (l0, l3) = (measured[0], measured[1]);
    Ok(FixedRate {
        tool: "oha -q --latency-correction".into(),
        target_rps: rate,
        l0,
        l3,
    })
}
