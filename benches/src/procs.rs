//! The processes a run starts (redis-server, sandbox, nginx, gateway): free ports, logs in the run's
//! directory, readiness checks, and a guard that stops every one of them when dropped — at the end,
//! on an error and on a panic.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{io, HarnessError, Result};

/// A port nobody listens on right now (the OS picks it).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io("bind a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io("read the free port"))?
        .port();
    Ok(port)
}

struct Started {
    name: String,
    child: Child,
    log: PathBuf,
}

/// Every process started for one store, and the directory holding their files. Dropping it stops
/// them (SIGTERM, then SIGKILL after 5 s) in reverse order and removes the directory.
pub struct Processes {
    dir: PathBuf,
    started: Vec<Started>,
}

impl Processes {
    pub fn new(label: &str) -> Result<Processes> {
        let dir =
            std::env::temp_dir().join(format!("switchboard-bench-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(io(format!("create {}", dir.display())))?;
        Ok(Processes {
            dir,
            started: Vec::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts `command` with its output in `<dir>/<name>.log`; returns its pid.
    pub fn spawn(&mut self, name: &str, mut command: Command) -> Result<u32> {
        let log = self.dir.join(format!("{name}.log"));
        let out = File::create(&log).map_err(io(format!("create {}", log.display())))?;
        let err = out.try_clone().map_err(io("duplicate a log file"))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(io(format!("start {name} ({command:?})")))?;
        let pid = child.id();
        println!("  started {name} (pid {pid}, log {})", log.display());
        self.started.push(Started {
            name: name.to_string(),
            child,
            log,
        });
        Ok(pid)
    }

    /// Waits until `ready` says yes, failing early when the process `name` exits.
    pub fn wait_until(
        &mut self,
        name: &str,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if ready() {
                return Ok(());
            }
            let started = self
                .started
                .iter_mut()
                .find(|s| s.name == name)
                .ok_or_else(|| HarnessError::Run(format!("{name} was never started")))?;
            let why = match started.child.try_wait() {
                Ok(Some(status)) => Some(format!("it exited ({status})")),
                Ok(None) if Instant::now() > deadline => {
                    Some(format!("not ready after {} s", timeout.as_secs()))
                }
                Ok(None) => None,
                Err(e) => Some(format!("cannot watch it: {e}")),
            };
            if let Some(why) = why {
                return Err(HarnessError::Start {
                    name: name.to_string(),
                    why,
                    log: started.log.display().to_string(),
                    tail: tail(&started.log, 20),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until something accepts connections on `port`.
    pub fn wait_for_port(&mut self, name: &str, port: u16) -> Result<()> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        self.wait_until(name, Duration::from_secs(30), || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        })
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for started in self.started.iter_mut().rev() {
            stop(started);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// SIGTERM (nginx's master takes its workers down with it), then SIGKILL after 5 s.
fn stop(started: &mut Started) {
    if let Ok(Some(_)) = started.child.try_wait() {
        return;
    }
    let pid = started.child.id().to_string();
    let _ = Command::new("kill")
        .args(["-TERM", &pid])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = started.child.try_wait() {
            println!("  stopped {} (pid {pid})", started.name);
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = started.child.kill();
    let _ = started.child.wait();
    println!("  killed {} (pid {pid})", started.name);
}

/// The last `n` lines of a file.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_stops_what_it_started_and_removes_its_directory() {
        let mut procs = Processes::new("test-guard").unwrap();
        let dir = procs.dir().to_path_buf();
        let mut sleep = Command::new("sleep");
        sleep.arg("60");
        let pid = procs.spawn("sleeper", sleep).unwrap();
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        drop(procs);
        // Reaped by the guard: no process and no zombie left.
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        assert!(!dir.exists());
    }

    #[test]
    fn waiting_fails_at_once_with_the_log_when_the_process_exits() {
        let mut procs = Processes::new("test-exit").unwrap();
        let mut sh = Command::new("sh");
        sh.args(["-c", "echo boom-from-child; exit 3"]);
        procs.spawn("failing", sh).unwrap();
        let err = procs
            .wait_until("failing", Duration::from_secs(30), || false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("it exited"), "{err}");
        assert!(err.contains("failing did not start"), "{err}");
        assert!(err.contains("boom-from-child"), "{err}");
    }

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port().unwrap();
        assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
    }
}
