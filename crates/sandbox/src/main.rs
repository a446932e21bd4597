//! `switchboard-sandbox`: runs the simulated operators on their own.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use switchboard_sandbox::{
    SandboxConfig, SandboxUpstreams, CARRIER_BILLING_PATH, DCB_API_PATH,
    IDEABIZ_CARRIER_BILLING_PATH, IDEABIZ_TOKEN_PATH,
};
use tracing_subscriber::EnvFilter;

/// Simulated CAMARA Carrier Billing operators and Ideabiz platforms for Switchboard.
#[derive(Debug, Parser)]
#[command(name = "switchboard-sandbox", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9080")]
    listen: SocketAddr,
    /// The simulated upstreams, in the shape of `config/sandbox.toml` (default: that file, as
    /// embedded at build time).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Delay of asynchronous transitions (processing → final), in ms.
    #[arg(long)]
    async_delay_ms: Option<u64>,
    /// Lifetime of expiring reservations (phones ending in 89), in ms.
    #[arg(long)]
    reservation_ttl_ms: Option<u64>,
    /// Delay of the first answer for phones ending in 85, in ms.
    #[arg(long)]
    slow_ms: Option<u64>,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long)]
    token_ttl_secs: Option<u64>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let upstreams = match &args.config {
        None => SandboxUpstreams::defaults(),
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| SandboxUpstreams::parse(&text))
            .map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{}: {e}", path.display()),
                )
            })?,
    };
    let mut config = SandboxConfig::from_upstreams(args.listen, upstreams);
    let timings = &mut config.timings;
    if let Some(ms) = args.async_delay_ms {
        timings.async_delay_ms = ms;
    }
    if let Some(ms) = args.reservation_ttl_ms {
        timings.reservation_ttl_ms = ms;
    }
    if let Some(ms) = args.slow_ms {
        timings.slow_ms = ms;
    }
    if let Some(secs) = args.token_ttl_secs {
        timings.token_ttl_secs = secs;
    }
    let operators = config.operators.clone();
    let platforms = config.ideabiz.clone();
    let providers = config.topup.clone();
    let aggregators = config.dcb.clone();
    let handle = switchboard_sandbox::start(config).await?;
    for operator in &operators {
        let base = handle.base_url(&operator.id);
        println!(
            "{} ({:?}): token {base}/oauth2/token, carrier billing {base}{CARRIER_BILLING_PATH}",
            operator.id, operator.mode
        );
    }
    for platform in &platforms {
        let base = handle.base_url(&platform.id);
        println!(
            "{} (ideabiz): token {base}{IDEABIZ_TOKEN_PATH}, carrier billing {base}{IDEABIZ_CARRIER_BILLING_PATH}",
            platform.id
        );
    }
    for provider in &providers {
        let base = handle.base_url(&provider.id);
        println!(
            "{} (top-up): {base}/telecom/..., {base}/esim/orders",
            provider.id
        );
    }
    for aggregator in &aggregators {
        let base = handle.base_url(&aggregator.id);
        println!(
            "{} (DCB aggregator, HMAC-signed, merchant {}): {base}{DCB_API_PATH}/charges",
            aggregator.id, aggregator.merchant
        );
    }
    println!("admin: http://{}/_admin/charges", handle.addr());
    tokio::signal::ctrl_c().await?;
    handle.stop().await;
    Ok(())
}
