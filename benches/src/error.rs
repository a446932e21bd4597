//! The harness's one error type: what failed, said so that the user can act on it.

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not installed and could not be installed: {1}")]
    Missing(&'static str, String),
    #[error("{name} did not start: {why}\n--- last lines of {log} ---\n{tail}")]
    Start {
        name: String,
        why: String,
        log: String,
        tail: String,
    },
    #[error("{0}")]
    Run(String),
}

pub type Result<T> = std::result::Result<T, HarnessError>;

/// `map_err` for I/O: names what was being done.
pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}
