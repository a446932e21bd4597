//! Throwaway Redis servers for tests (feature `test-support`): a `redis-server` on a free port in
//! a fresh temporary directory, or a three-master Redis Cluster. Everything is killed and removed
//! on drop. Readiness is polled with bounded loops, never waited for with fixed sleeps.
//!
//! The binaries are `redis-server` and `redis-cli` from `PATH`, or `$REDIS_SERVER` / `$REDIS_CLI`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::RedisSettings;

/// How long a server may take to answer PING after it was spawned.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a new cluster may take to agree that every slot is served.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);
/// Spawn attempts (another process may take the port between picking and binding).
const ATTEMPTS: usize = 5;

/// One `redis-server` process owned by a test.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

impl RedisServer {
    /// A server without persistence (`--save "" --appendonly no`).
    pub fn start() -> RedisServer {
        Self::start_with(&["--appendonly", "no"], false)
    }

    /// A server that logs every write to its AOF before answering (`appendfsync always`), so a
    /// SIGKILL loses no acknowledged write.
    pub fn start_with_aof() -> RedisServer {
        Self::start_with(&["--appendonly", "yes", "--appendfsync", "always"], false)
    }

    fn start_with(extra: &[&str], cluster: bool) -> RedisServer {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        for _ in 0..ATTEMPTS {
            let mut server = RedisServer {
                child: None,
                port: free_port(cluster),
                dir: fresh_dir(),
                extra: extra.clone(),
            };
            if server.spawn_and_wait() {
                return server;
            }
            // Dropping `server` kills what was spawned and removes its directory.
        }
        panic!("redis-server did not start after {ATTEMPTS} attempts");
    }

    /// `redis://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id while it runs (e.g. to pause it with SIGSTOP).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Store settings for this server, with the given key prefix.
    pub fn settings(&self, prefix: &str) -> RedisSettings {
        RedisSettings {
            url: self.url(),
            prefix: prefix.into(),
            ..Default::default()
        }
    }

    /// SIGKILL, as a crash would; the data directory stays for [`RedisServer::restart`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same directory (and so the same AOF),
    /// and waits until it answers PING.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + READY_TIMEOUT;
        // The old socket may linger for a moment; retry until the port binds.
        while !self.spawn_and_wait() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not restart on port {}",
                self.port
            );
            thread::sleep(POLL);
        }
    }

    /// Spawns the process and waits until *it* (not some other process on the port) answers.
    fn spawn_and_wait(&mut self) -> bool {
        let mut cmd = Command::new(binary("REDIS_SERVER", "redis-server"));
        cmd.current_dir(&self.dir)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--save", "", "--daemonize", "no", "--logfile", "redis.log"])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd
            .spawn()
            .expect("cannot run redis-server (install it or set REDIS_SERVER)");
        let pid = child.id();
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if !matches!(child.try_wait(), Ok(None)) {
                    self.child = None;
                    return false; // exited: most likely the port was taken
                }
            }
            if server_pid(self.port) == Some(pid) {
                return true;
            }
            thread::sleep(POLL);
        }
        self.kill();
        false
    }

    fn query(&self, args: &[&str]) -> Option<String> {
        query(self.port, args)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of three masters, each its own `redis-server`, optionally each with a replica.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Three masters, no replicas.
    pub fn start() -> RedisCluster {
        Self::start_with_replicas(0, Duration::from_millis(5000))
    }

    /// Three masters with `replicas` replicas each; a master that stops answering for
    /// `node_timeout` is failed over to its replica.
    pub fn start_with_replicas(replicas: usize, node_timeout: Duration) -> RedisCluster {
        let timeout = node_timeout.as_millis().to_string();
        let nodes: Vec<RedisServer> = (0..3 * (1 + replicas))
            .map(|_| {
                RedisServer::start_with(
                    &[
                        "--appendonly",
                        "no",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        &timeout,
                    ],
                    true,
                )
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let status = Command::new(binary("REDIS_CLI", "redis-cli"))
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("cannot run redis-cli (install it or set REDIS_CLI)");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = RedisCluster { nodes };
        cluster.wait_until_ok();
        if replicas > 0 {
            cluster.wait_until_replicated(replicas);
        }
        cluster
    }

    /// The ports of the nodes that are masters now.
    pub fn master_ports(&self) -> Vec<u16> {
        self.live()
            .filter(|n| query_role(n.port).as_deref() == Some("master"))
            .map(|n| n.port)
            .collect()
    }

    /// SIGKILLs the node on `port`, as a crash would.
    pub fn kill(&mut self, port: u16) {
        if let Some(node) = self.nodes.iter_mut().find(|n| n.port == port) {
            node.kill();
        }
    }

    /// Starts the node on `port` again (same directory, so the same cluster identity): a killed
    /// master comes back as a replica of the one promoted in its place. Returns once every master
    /// has `replicas` replicas in sync again.
    pub fn restart(&mut self, port: u16, replicas: usize) {
        if let Some(node) = self.nodes.iter_mut().find(|n| n.port == port) {
            node.restart();
        }
        self.wait_until_replicated(replicas);
    }

    /// Waits until the surviving nodes agree that every slot is served again (a replica took
    /// over the killed master's slots).
    pub fn wait_until_failed_over(&self) {
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        while self.master_ports().len() < 3 {
            assert!(
                Instant::now() < deadline,
                "no replica took over: {:?}",
                self.roles()
            );
            thread::sleep(POLL * 5);
        }
        self.wait_until_ok();
    }

    /// Each live node's port, role and view of the cluster (for failure messages).
    fn roles(&self) -> Vec<(u16, Option<String>, bool)> {
        self.live()
            .map(|n| {
                let ok = n
                    .query(&["CLUSTER", "INFO"])
                    .is_some_and(|i| i.contains("cluster_state:ok"));
                (n.port, query_role(n.port), ok)
            })
            .collect()
    }

    fn live(&self) -> impl Iterator<Item = &RedisServer> {
        self.nodes.iter().filter(|n| n.child.is_some())
    }

    /// Every master has its replicas connected and in sync (a replica that never finished its
    /// first sync cannot take over).
    fn wait_until_replicated(&self, replicas: usize) {
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        loop {
            let masters: Vec<&RedisServer> = self
                .live()
                .filter(|n| query_role(n.port).as_deref() == Some("master"))
                .collect();
            let synced = masters.len() == 3
                && masters.iter().all(|m| {
                    m.query(&["INFO", "replication"])
                        .is_some_and(|info| info.matches("state=online").count() == replicas)
                });
            if synced {
                return;
            }
            assert!(Instant::now() < deadline, "replicas did not sync");
            thread::sleep(POLL * 5);
        }
    }

    /// The nodes' URLs (seed nodes for the store).
    pub fn nodes(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// Store settings for this cluster, with the given key prefix.
    pub fn settings(&self, prefix: &str) -> RedisSettings {
        let nodes = self.nodes();
        RedisSettings {
            url: nodes[0].clone(),
            cluster: true,
            cluster_nodes: nodes,
            prefix: prefix.into(),
            ..Default::default()
        }
    }

    fn wait_until_ok(&self) {
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        loop {
            let ok = self.live().all(|n| {
                n.query(&["CLUSTER", "INFO"])
                    .is_some_and(|info| info.contains("cluster_state:ok"))
            });
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "cluster did not reach state ok");
            thread::sleep(POLL * 5);
        }
    }
}

/// `master` or `slave`, as the node on `port` reports its role.
fn query_role(port: u16) -> Option<String> {
    let info = query(port, &["INFO", "replication"])?;
    info.lines()
        .find_map(|l| l.strip_prefix("role:"))
        .map(|r| r.trim().to_string())
}

/// The process id the server on `port` reports, if it answers.
fn server_pid(port: u16) -> Option<u32> {
    let info = query(port, &["INFO", "server"])?;
    info.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
}

/// One command over a short-lived connection; `None` if the server does not answer.
fn query(port: u16, args: &[&str]) -> Option<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_millis(500))
        .ok()?;
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(&mut conn).ok()
}

/// A port nobody listens on now. For cluster nodes, the bus port (`port + 10000`) must be free too.
fn free_port(cluster: bool) -> u16 {
    for _ in 0..1000 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("cannot bind a local port")
            .port();
        if !cluster {
            return port;
        }
        if port < 55535 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair for a cluster node");
}

fn fresh_dir() -> PathBuf {
    fresh_dir_named("redis")
}

/// A directory that is removed when dropped (an embedded store's `data_dir` in tests).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        TempDir(fresh_dir_named(name))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fresh_dir_named(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "switchboard-{name}-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("cannot create a temporary directory");
    dir
}

fn binary(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env).map_or_else(|| Path::new(default).to_path_buf(), PathBuf::from)
}
