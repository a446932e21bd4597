//! `switchboard`: run the gateway.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchboard_gateway::config::{self, ConfigSource};
use switchboard_gateway::telemetry;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Multi-operator carrier billing and top-up gateway"
)]
struct Cli {
    /// Configuration file (default: config/switchboard.toml when present, else the embedded defaults).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the argon2 hash (client_secret_hash) of the secret read from stdin, and exit.
    #[arg(long)]
    hash_secret: bool,
    /// Print a new Ed25519 private key (PKCS#8 PEM, for auth.keys), and exit.
    #[arg(long)]
    generate_key: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway: HTTP API, plus the workers unless `workers.enabled = false` (the default).
    Serve,
    /// Run only the background workers (webhook delivery and reconciliation), sharing the work with
    /// every other worker on the same store (redis). For scale-out.
    Worker,
    /// Partner tools for channel files.
    Channel {
        #[command(subcommand)]
        command: ChannelCommand,
    },
}

#[derive(Subcommand)]
enum ChannelCommand {
    /// Check a channel file against its live upstream: validate it, then fetch a token, make a
    /// small 1-step payment, query its status, try a refusal (--refuse-phone) and register
    /// callbacks, each where the style has it. Exit status 1 when a step fails, 2 when the file is
    /// invalid.
    Check(switchboard_gateway::channel_check::CheckArgs),
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.hash_secret {
        let mut secret = String::new();
        if std::io::stdin().read_line(&mut secret).is_err() {
            eprintln!("switchboard: cannot read the secret from stdin");
            return ExitCode::from(2);
        }
        let secret = secret.trim_end_matches(['\r', '\n']);
        println!("{}", switchboard_gateway::auth::hash_secret(secret));
        return ExitCode::SUCCESS;
    }
    if cli.generate_key {
        print!("{}", switchboard_gateway::auth::generate_ed25519_pem());
        return ExitCode::SUCCESS;
    }
    let source = cli
        .config
        .map(ConfigSource::File)
        .unwrap_or(ConfigSource::Default);
    if let Some(Command::Channel {
        command: ChannelCommand::Check(args),
    }) = &cli.command
    {
        return switchboard_gateway::channel_check::run(&source, args).await;
    }
    let config = match config::load(&source) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("switchboard: {e}");
            return ExitCode::from(2);
        }
    };
    // Logs (and traces, with `telemetry.otlp_endpoint`) once the configuration is known.
    let log_filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let telemetry = match telemetry::init(&config.telemetry, log_filter) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("switchboard: {e}");
            return ExitCode::from(2);
        }
    };
    let code = if matches!(cli.command, Some(Command::Worker)) {
        run_worker(config).await
    } else {
        run_server(config, source).await
    };
    telemetry.shutdown().await;
    code
}

async fn run_server(config: switchboard_gateway::config::Config, source: ConfigSource) -> ExitCode {
    // POST /admin/reload and SIGHUP read the same layers again.
    let loader: switchboard_gateway::reload::Loader =
        std::sync::Arc::new(move || config::load(&source).map_err(|e| e.to_string()));
    let running = match switchboard_gateway::app::start_reloadable(config, Some(loader)).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("switchboard: {e}");
            return ExitCode::from(2);
        }
    };
    println!("switchboard listening on {}", running.base_url());
    let hangups = switchboard_gateway::reload::on_sighup(running.state.clone());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("switchboard: cannot listen for signals: {e}");
    }
    hangups.abort();
    tracing::info!("shutting down");
    running.stop().await;
    ExitCode::SUCCESS
}

async fn run_worker(config: switchboard_gateway::config::Config) -> ExitCode {
    let running = match switchboard_gateway::app::start_worker(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("switchboard: {e}");
            return ExitCode::from(2);
        }
    };
    println!("switchboard worker running");
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("switchboard: cannot listen for signals: {e}");
    }
    tracing::info!("worker shutting down");
    running.stop().await;
    ExitCode::SUCCESS
}
