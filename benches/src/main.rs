//! `switchboard-benches`: the load harness. See benches/README.md.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::Parser;
use serde_json::json;
use switchboard_benches::error::{HarnessError, Result};
use switchboard_benches::load::{Oha, Wrk};
use switchboard_benches::results::{self, StoreRun};
use switchboard_benches::rounds::{self, Plan, Tools};
use switchboard_benches::stack::{Binaries, Stack, Store};
use switchboard_benches::tokens::Http;
use switchboard_benches::tools;

/// Unique CAMARA 1-step payments against the sandbox (L0), nginx in front of it (L1) and Switchboard
/// (L3), rounds interleaved; prints a table and writes JSON.
#[derive(Debug, Parser)]
#[command(name = "switchboard-benches")]
struct Args {
    /// Which store(s) the gateway runs on: memory, embedded, redis, both (memory and redis) or all.
    #[arg(long, default_value = "both", value_parser = ["memory", "embedded", "redis", "both", "all"])]
    store: String,
    /// Interleaved rounds (L0, L1, L3, replay) per store.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Length of each run, e.g. 8s.
    #[arg(long, default_value = "8s", value_parser = parse_secs)]
    duration: Duration,
    /// Length of each layer's warm-up run.
    #[arg(long, default_value = "2s", value_parser = parse_secs)]
    warmup: Duration,
    /// Connections of the load generator.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Where the JSON goes.
    #[arg(long, default_value = "target/bench-results.json")]
    json: PathBuf,
    /// Use the release binaries already built instead of running cargo build.
    #[arg(long)]
    no_build: bool,
}

fn parse_secs(text: &str) -> std::result::Result<Duration, String> {
    let digits = text.strip_suffix('s').unwrap_or(text);
    digits
        .parse::<u64>()
        .ok()
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is not a whole number of seconds (e.g. 8s)"))
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard-benches: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn build(root: &PathBuf, no_build: bool) -> Result<Binaries> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    if !no_build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        println!("building: cargo build --release -p switchboard-gateway -p switchboard-sandbox");
        let status = Command::new(cargo)
            .current_dir(root)
            .args([
                "build",
                "--release",
                "-p",
                "switchboard-gateway",
                "-p",
                "switchboard-sandbox",
            ])
            .status()
            .map_err(switchboard_benches::error::io("run cargo build"))?;
        if !status.success() {
            return Err(HarnessError::Run(format!("cargo build failed ({status})")));
        }
    }
    let bins = Binaries {
        root: root.clone(),
        gateway: target.join("release/switchboard"),
        sandbox: target.join("release/switchboard-sandbox"),
    };
    for bin in [&bins.gateway, &bins.sandbox] {
        if !bin.is_file() {
            return Err(HarnessError::Run(format!("{} is missing", bin.display())));
        }
    }
    Ok(bins)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn machine() -> serde_json::Value {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "loadavg": read("/proc/loadavg"),
        "kernel": read("/proc/sys/kernel/osrelease"),
    })
}

fn run(args: Args) -> Result<()> {
    let stores = match args.store.as_str() {
        "memory" => vec![Store::Memory],
        "embedded" => vec![Store::Embedded],
        "redis" => vec![Store::Redis],
        "all" => vec![Store::Memory, Store::Embedded, Store::Redis],
        _ => vec![Store::Memory, Store::Redis],
    };
    let mut needed = vec!["nginx", "wrk"];
    if stores.contains(&Store::Redis) {
        needed.extend(["redis-server", "redis-cli"]);
    }
    tools::ensure_debian(&needed)?;
    let oha = tools::ensure_oha();
    let root = workspace_root();
    let bins = build(&root, args.no_build)?;
    let wrk = tools::find("wrk").ok_or(HarnessError::Missing("wrk", "not found".into()))?;
    let tools = Tools {
        wrk: Wrk {
            path: wrk,
            threads: args.threads,
            connections: args.connections,
        },
        oha: oha.map(|path| Oha {
            path,
            connections: args.connections,
        }),
    };
    let plan = Plan {
        rounds: args.rounds,
        duration: args.duration,
        warmup: args.warmup,
        clock_ticks: clock_ticks(),
    };
    let machine_before = machine();
    let http = Http::new()?;
    let mut runs: Vec<StoreRun> = Vec::new();
    for store in stores {
        println!("== {} store", store.name());
        let stack = Stack::start(store, &bins, &http)?;
        let run = rounds::measure(store, &stack, &http, &tools, &plan)?;
        drop(stack);
        runs.push(run);
    }

    let table = results::render(&runs);
    println!("\n{table}");
    for run in &runs {
        for note in &run.notes {
            println!("note ({} store): {note}", run.store);
        }
    }
    let document = json!({
        "settings": {
            "rounds": args.rounds,
            "duration_secs": args.duration.as_secs(),
            "connections": args.connections,
            "wrk_threads": args.threads,
        },
        "machine_at_start": machine_before,
        "stores": runs.iter().map(|r| json!({"summary": r.summary(), "measured": r})).collect::<Vec<_>>(),
        "table": table,
    });
    let path = if args.json.is_relative() {
        root.join(&args.json)
    } else {
        args.json.clone()
    };
    let text = serde_json::to_string_pretty(&document)
        .map_err(|e| HarnessError::Run(format!("cannot encode the results: {e}")))?;
    std::fs::write(&path, text).map_err(switchboard_benches::error::io(format!(
        "write {}",
        path.display()
    )))?;
    println!("results written to {}", path.display());
    Ok(())
}
