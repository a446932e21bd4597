//! HTTP plumbing shared by every handler: CAMARA error responses, `x-correlator`, JSON bodies.

mod body;
mod correlator;
mod endpoint;
mod error;
mod protocol_errors;
pub mod query;
mod unique_keys;

pub use body::{from_value, json_value, parse_json, parse_query_pairs};
pub use correlator::{correlator_of, x_correlator, CorrelatorId, X_CORRELATOR};
pub use endpoint::Endpoint;
pub use error::{not_found_route, HttpError};
pub use protocol_errors::camara_shaped;
