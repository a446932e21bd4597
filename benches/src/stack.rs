//! One store's set of processes: (redis-server,) the standalone sandbox, nginx in front of it, and
//! the gateway with its movistar-es channel pointed at the sandbox.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::commandstats::{self, Calls};
use crate::error::{io, HarnessError, Result};
use crate::nginx_conf;
use crate::procs::{free_port, Processes};
use crate::tokens::{Http, MERCHANT, SANDBOX_CLIENT};
use crate::tools;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Memory,
    /// The durable default: its data directory is fresh in the run's directory.
    Embedded,
    Redis,
}

impl Store {
    pub fn name(self) -> &'static str {
        match self {
            Store::Memory => "memory",
            Store::Embedded => "embedded",
            Store::Redis => "redis",
        }
    }
}

/// The release binaries and the workspace they belong to.
pub struct Binaries {
    pub root: PathBuf,
    pub gateway: PathBuf,
    pub sandbox: PathBuf,
}

const CARRIER_BILLING: &str = "carrier-billing/v0.5/payments";
/// The sandbox operator the payments go to (numbers `+346…`).
const OPERATOR: &str = "movistar-es";

pub struct Stack {
    procs: Processes,
    sandbox_port: u16,
    nginx_port: u16,
    gateway_port: u16,
    redis_port: Option<u16>,
    pub gateway_pid: u32,
}

impl Stack {
    pub fn start(store: Store, bins: &Binaries, http: &Http) -> Result<Stack> {
        let mut procs = Processes::new(store.name())?;
        let redis_port = match store {
            Store::Memory | Store::Embedded => None,
            Store::Redis => Some(start_redis(&mut procs)?),
        };

        let sandbox_port = free_port()?;
        let mut sandbox = Command::new(&bins.sandbox);
        sandbox
            .arg("--listen")
            .arg(format!("127.0.0.1:{sandbox_port}"))
            .args(["--token-ttl-secs", "86400"])
            // The stand-in operator is not what is measured: no log line per request.
            .env("RUST_LOG", "warn");
        procs.spawn("sandbox", sandbox)?;
        procs.wait_for_port("sandbox", sandbox_port)?;

        let nginx_port = free_port()?;
        let conf = procs.dir().join("nginx.conf");
        std::fs::write(
            &conf,
            nginx_conf::render(procs.dir(), nginx_port, sandbox_port),
        )
        .map_err(io("write nginx.conf"))?;
        let nginx_bin =
            tools::find("nginx").ok_or(HarnessError::Missing("nginx", "not found".into()))?;
        let mut nginx = Command::new(nginx_bin);
        nginx
            .arg("-e")
            .arg(procs.dir().join("error.log"))
            .arg("-p")
            .arg(procs.dir())
            .arg("-c")
            .arg(&conf);
        procs.spawn("nginx", nginx)?;
        procs.wait_for_port("nginx", nginx_port)?;

        let gateway_port = free_port()?;
        let mut gateway = Command::new(&bins.gateway);
        gateway
            .current_dir(&bins.root)
            .arg("--config")
            .arg(bins.root.join("config/switchboard.toml"))
            .env("SWITCHBOARD_SERVER__PORT", gateway_port.to_string())
            .env(
                "SWITCHBOARD_SANDBOX__LISTEN",
                format!("127.0.0.1:{}", free_port()?),
            )
            .env(
                "SWITCHBOARD_CHANNELS__MOVISTAR_ES_SANDBOX__BASE_URL",
                format!("http://127.0.0.1:{sandbox_port}/{OPERATOR}"),
            );
        gateway.env("SWITCHBOARD_STORE__BACKEND", store.name());
        if store == Store::Embedded {
            gateway.env("SWITCHBOARD_STORE__DATA_DIR", procs.dir().join("data"));
        }
        if let Some(port) = redis_port {
            gateway.env(
                "SWITCHBOARD_STORE__URL",
                format!("redis://127.0.0.1:{port}"),
            );
        }
        let gateway_pid = procs.spawn("gateway", gateway)?;
        let ready = format!("http://127.0.0.1:{gateway_port}/readyz");
        procs.wait_until("gateway", Duration::from_secs(60), || http.is_ok(&ready))?;

        Ok(Stack {
            procs,
            sandbox_port,
            nginx_port,
            gateway_port,
            redis_port,
            gateway_pid,
        })
    }

    pub fn dir(&self) -> &Path {
        self.procs.dir()
    }

    /// L0: the sandbox's own payment endpoint for movistar-es.
    pub fn l0_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/{OPERATOR}/{CARRIER_BILLING}",
            self.sandbox_port
        )
    }

    /// L1: the same through nginx.
    pub fn l1_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/{OPERATOR}/{CARRIER_BILLING}",
            self.nginx_port
        )
    }

    /// L3: the gateway's CAMARA endpoint.
    pub fn l3_url(&self) -> String {
        format!("http://127.0.0.1:{}/{CARRIER_BILLING}", self.gateway_port)
    }

    pub fn sandbox_token(&self, http: &Http) -> Result<String> {
        let url = format!(
            "http://127.0.0.1:{}/{OPERATOR}/oauth2/token",
            self.sandbox_port
        );
        http.client_credentials(&url, SANDBOX_CLIENT)
    }

    pub fn gateway_token(&self, http: &Http) -> Result<String> {
        let url = format!("http://127.0.0.1:{}/oauth2/token", self.gateway_port);
        http.client_credentials(&url, MERCHANT)
    }

    /// `INFO commandstats` of the store's Redis; `None` on the memory store.
    pub fn commandstats(&self) -> Result<Option<Calls>> {
        let Some(port) = self.redis_port else {
            return Ok(None);
        };
        let output = Command::new("redis-cli")
            .args(["-p", &port.to_string(), "INFO", "commandstats"])
            .output()
            .map_err(io("run redis-cli"))?;
        if !output.status.success() {
            return Err(HarnessError::Run(format!(
                "redis-cli INFO commandstats failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(Some(commandstats::parse(&String::from_utf8_lossy(
            &output.stdout,
        ))))
    }
}

/// A throwaway redis-server: no snapshots, no AOF (the bench measures the gateway, not the disk).
fn start_redis(procs: &mut Processes) -> Result<u16> {
    let port = free_port()?;
    let mut redis = Command::new("redis-server");
    redis
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(procs.dir());
    procs.spawn("redis", redis)?;
    procs.wait_for_port("redis", port)?;
    Ok(port)
}
