//! Running the load tools: wrk (closed loop, a Lua script per run) and oha (fixed rate).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::{io, HarnessError, Result};
use crate::oha_output::{self, OhaRun};
use crate::wrk_output::{self, WrkRun};

pub struct Wrk {
    pub path: PathBuf,
    pub threads: u32,
    pub connections: u32,
}

impl Wrk {
    /// `wrk -t -c -d --latency -s script url`.
    pub fn run(&self, url: &str, script: &Path, duration: Duration) -> Result<WrkRun> {
        let output = Command::new(&self.path)
            .arg(format!("-t{}", self.threads))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", duration.as_secs().max(1)))
            .arg("--latency")
            .arg("-s")
            .arg(script)
            .arg(url)
            .output()
            .map_err(io("run wrk"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        wrk_output::parse(&text).map_err(|e| {
            HarnessError::Run(format!(
                "wrk against {url}: {e}\n{text}{}",
                String::from_utf8_lossy(&output.stderr)
            ))
        })
    }
}

pub struct Oha {
    pub path: PathBuf,
    pub connections: u32,
}

impl Oha {
    /// `oha -q rate --latency-correction`, a random line of `bodies` per request.
    pub fn run(
        &self,
        url: &str,
        token: &str,
        bodies: &Path,
        rate: f64,
        duration: Duration,
    ) -> Result<OhaRun> {
        let output = Command::new(&self.path)
            .args(["--no-tui", "--output-format", "json"])
            .arg("-z")
            .arg(format!("{}s", duration.as_secs().max(1)))
            .arg("-c")
            .arg(self.connections.to_string())
            .arg("-q")
            .arg(format!("{rate:.0}"))
            .arg("--latency-correction")
            .args(["-m", "POST", "-T", "application/json"])
            .arg("-H")
            .arg(format!("Authorization: Bearer {token}"))
            .arg("-Z")
            .arg(bodies)
            .arg(url)
            .output()
            .map_err(io("run oha"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        oha_output::parse(&text).map_err(|e| {
            HarnessError::Run(format!(
                "oha against {url}: {e}\n{}",
                String::from_utf8_lossy(&output.stderr)
            ))
        })
    }
}
