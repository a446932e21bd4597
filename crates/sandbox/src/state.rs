//! The application state shared by all handlers and the [`crate::SandboxHandle`].

use std::collections::HashMap;

use crate::config::{SandboxConfig, SandboxOperator, Timings};
use crate::error::ApiError;
use crate::store::Store;

/// Configuration plus the mutable [`Store`].
pub struct AppState {
    operators: HashMap<String, SandboxOperator>,
    pub timings: Timings,
    pub store: Store,
}

impl AppState {
    pub fn new(config: &SandboxConfig) -> Self {
        Self {
            operators: config
                .operators
                .iter()
                .map(|op| (op.id.clone(), op.clone()))
                .collect(),
            timings: config.timings,
            store: Store::default(),
        }
    }

    /// The operator served under `/{id}`, or 404.
    pub fn operator(&self, id: &str) -> Result<&SandboxOperator, ApiError> {
        self.operators
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("Unknown operator '{id}'")))
    }
}
