//! Configuration of one simulated top-up provider.

use serde::{Deserialize, Serialize};

/// Id (path prefix) of the default top-up provider.
pub const DEFAULT_TOPUP_PROVIDER: &str = "globaltopup";
/// API key of the default top-up provider (`Authorization: Bearer <key>`).
pub const DEFAULT_TOPUP_API_KEY: &str = "sandbox-topup-key";

/// One simulated top-up aggregator, served under `/{id}`. Every provider sells the same
/// catalogue (see the crate README); transactions are kept per provider.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TopUpProvider {
    /// Path prefix, e.g. `globaltopup` (in `sandbox.toml`: the table key). Must differ from
    /// operator and platform ids.
    #[serde(default, skip_serializing)]
    pub id: String,
    /// The API key callers send as `Authorization: Bearer <key>`.
    #[serde(default = "default_api_key")]
    pub api_key: String,
}

fn default_api_key() -> String {
    DEFAULT_TOPUP_API_KEY.to_owned()
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
