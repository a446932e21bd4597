//! Configuration: embedded defaults → `config/` files → `SWITCHBOARD_…` environment, then checked as a
//! whole before anything starts.

mod load;
mod model;
mod validate;

pub use load::{load, load_with_channel_file, ConfigError, ConfigSource};
pub use model::*;
pub use validate::validate;

/// The embedded defaults, read under figment's jail lock so tests that set environment variables
/// cannot leak into it.
#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail closures return figment::Error
pub fn defaults_for_test() -> Config {
    let mut out = None;
    figment::Jail::expect_with(|_| {
        out = Some(load(&ConfigSource::EmbeddedOnly).map_err(|e| e.to_string())?);
        Ok(())
    });
    out.expect("embedded defaults load")
}
