//! `switchboard channel check FILE`: a partner's contract check. The channel file is loaded and
//! validated by the configuration loader and the adapter's own factory (any style), then a short
//! script runs against the live upstream through the real adapter (`steps.rs`) and a table of
//! pass / fail / skip is printed (`report.rs`), with the upstream's answers, masked (`mask.rs`),
//! under each failure.

mod mask;
mod report;
mod steps;

use std::path::PathBuf;
use std::process::ExitCode;

use rust_decimal::Decimal;

use crate::config::{load_with_channel_file, ConfigSource};

pub use report::{Outcome, StepReport};

/// Arguments of `switchboard channel check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The channel file (any adapter style), e.g. config/channels/dcb_aggregator_it.toml.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// A test number (E.164) the upstream charges. Default: one in the first operator's range
    /// ending in 01.
    #[arg(long, value_name = "+E164")]
    pub phone: Option<String>,
    /// A test number (E.164) the upstream refuses: the refusal step expects a business refusal.
    #[arg(long, value_name = "+E164")]
    pub refuse_phone: Option<String>,
    /// Amount of the test payment, in major units of the operator's first currency.
    #[arg(long, default_value = "0.10")]
    pub amount: Decimal,
}

/// Runs the check and prints its table. Exit status: 0 all passed (or skipped), 1 a step failed,
/// 2 the file (or the configuration around it) is invalid.
pub async fn run(source: &ConfigSource, args: &CheckArgs) -> ExitCode {
    let (mut config, id) = match load_with_channel_file(source, &args.file) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("switchboard: {e}");
            return ExitCode::from(2);
        }
    };
    // Only the channel under check: its sandbox (for `sandbox://`) and nothing else.
    config.channels.retain(|k, _| k == &id);
    let sandbox = match crate::app::start_sandbox(&mut config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("switchboard: {e}");
            return ExitCode::from(2);
        }
    };
    let result = steps::Script::new(&config, &id, args).map(|script| async { script.run().await });
    let code = match result {
        Err(e) => {
            eprintln!("switchboard: {e}");
            ExitCode::from(2)
        }
        Ok(run) => {
            let (header, rows) = run.await;
            print!("{}", report::render(&header, &rows));
            if rows.iter().any(|r| matches!(r.outcome, Outcome::Fail(_))) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    };
    if let Some(sandbox) = sandbox {
        sandbox.stop().await;
    }
    code
}
