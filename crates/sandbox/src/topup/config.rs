//! Configuration of one simulated top-up provider.

use serde::Deserialize;

/// Id (path prefix) of the default top-up provider.
pub const DEFAULT_TOPUP_PROVIDER: &str = "globaltopup";
/// API key of the default top-up provider (`Authorization: Bearer <key>`).
pub const DEFAULT_TOPUP_API_KEY: &str = "sandbox-topup-key";

/// One simulated top-up aggregator, served under `/{id}`. Every provider sells the same
/// catalogue (see the crate README); transactions are kept per provider.
#[derive(Clone, Debug, Deserialize)]
pub struct TopUpProvider {
    /// Path prefix, e.g. `globaltopup`. Must differ from operator and platform ids.
    pub id: String,
    /// The API key callers send as `Authorization: Bearer <key>`.
    pub api_key: String,
}

impl TopUpProvider {
    /// A provider under `/{id}` with the default API key (`sandbox-topup-key`).
    pub fn with_defaults(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            api_key: DEFAULT_TOPUP_API_KEY.to_owned(),
        }
    }
}
