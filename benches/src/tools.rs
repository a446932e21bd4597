//! The load tools and servers the harness drives, installed when missing: Debian's `nginx-light`,
//! `wrk` and `redis-server` (apt-get), and `oha` from crates.io (cargo install).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{HarnessError, Result};

/// `name` on the `PATH` (or in /usr/sbin, where Debian puts nginx).
pub fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .chain(cargo_bin_dir())
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn cargo_bin_dir() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    Some(home.join("bin"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The Debian packages providing each program.
const DEBIAN: &[(&str, &str)] = &[
    ("nginx", "nginx-light"),
    ("wrk", "wrk"),
    ("redis-server", "redis-server"),
    ("redis-cli", "redis-tools"),
];

/// Installs the Debian packages of the `programs` not found; fails naming what is still missing.
pub fn ensure_debian(programs: &[&'static str]) -> Result<()> {
    let missing: Vec<&'static str> = programs
        .iter()
        .copied()
        .filter(|p| find(p).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing
        .iter()
        .filter_map(|p| {
            DEBIAN
                .iter()
                .find(|(prog, _)| prog == p)
                .map(|(_, pkg)| *pkg)
        })
        .collect();
    println!(
        "missing {}: running `apt-get update && apt-get install -y {}`",
        missing.join(", "),
        packages.join(" ")
    );
    let installed = Command::new("apt-get")
        .arg("update")
        .status()
        .and_then(|_| {
            Command::new("apt-get")
                .args(["install", "-y"])
                .args(&packages)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
        });
    let why = match installed {
        Ok(status) if status.success() => None,
        Ok(status) => Some(format!(
            "apt-get install -y {} failed ({status}); install it by hand (needs root)",
            packages.join(" ")
        )),
        Err(e) => Some(format!("cannot run apt-get: {e}")),
    };
    match missing.iter().find(|p| find(p).is_none()) {
        None => Ok(()),
        Some(p) => Err(HarnessError::Missing(
            p,
            why.unwrap_or_else(|| "apt-get succeeded but it is still not on the PATH".into()),
        )),
    }
}

/// `oha`, installed with `cargo install oha --locked` when missing (a few minutes of compiling).
/// `None` when it cannot be had: the fixed-rate runs then fall back to wrk, labelled as such.
pub fn ensure_oha() -> Option<PathBuf> {
    if let Some(path) = find("oha") {
        return Some(path);
    }
    println!("oha not found: running `cargo install oha --locked` (takes a few minutes)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    match Command::new(cargo)
        .args(["install", "oha", "--locked"])
        .status()
    {
        Ok(status) if status.success() => find("oha"),
        Ok(status) => {
            println!("cargo install oha failed ({status}): fixed-rate latency falls back to wrk");
            None
        }
        Err(e) => {
            println!("cannot run cargo install oha ({e}): fixed-rate latency falls back to wrk");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_on_the_path_and_not_made_up_ones() {
        assert!(find("sh").is_some());
        assert!(find("no-such-program-for-the-bench").is_none());
    }

    #[test]
    fn every_program_the_harness_needs_has_its_debian_package() {
        for program in ["nginx", "wrk", "redis-server", "redis-cli"] {
            assert!(DEBIAN.iter().any(|(p, _)| *p == program), "{program}");
        }
    }
}
