//! Scope names, as CAMARA spells them.

pub const PAYMENTS_CREATE: &str = "carrier-billing:payments:create";
pub const PAYMENTS_READ: &str = "carrier-billing:payments:read";
pub const PAYMENTS_WRITE: &str = "carrier-billing:payments:write";

/// Every scope a merchant may be granted.
pub const KNOWN_SCOPES: &[&str] = &[PAYMENTS_CREATE, PAYMENTS_READ, PAYMENTS_WRITE];
