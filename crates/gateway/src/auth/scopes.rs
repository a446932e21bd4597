//! Scope names, as CAMARA spells them.

pub const PAYMENTS_CREATE: &str = "carrier-billing:payments:create";
pub const PAYMENTS_READ: &str = "carrier-billing:payments:read";
pub const PAYMENTS_WRITE: &str = "carrier-billing:payments:write";

pub const REFUNDS_CREATE: &str = "carrier-billing-refund:refunds:create";
pub const REFUNDS_READ: &str = "carrier-billing-refund:refunds:read";

pub const TOPUP_LOOKUP: &str = "topup:lookup:read";
pub const TOPUP_PRODUCTS_READ: &str = "topup:products:read";
pub const TOPUP_CREATE: &str = "topup:transactions:create";
pub const TOPUP_READ: &str = "topup:transactions:read";
pub const ESIM_ORDERS_CREATE: &str = "topup:esim-orders:create";
pub const ESIM_ORDERS_READ: &str = "topup:esim-orders:read";
/// Register, list and remove the merchant's webhook endpoints (`/webhooks`).
pub const WEBHOOKS_MANAGE: &str = "webhooks:manage";

/// Every scope a merchant may be granted.
pub const KNOWN_SCOPES: &[&str] = &[
    PAYMENTS_CREATE,
    PAYMENTS_READ,
    PAYMENTS_WRITE,
    REFUNDS_CREATE,
    REFUNDS_READ,
    TOPUP_LOOKUP,
    TOPUP_PRODUCTS_READ,
    TOPUP_CREATE,
    TOPUP_READ,
    ESIM_ORDERS_CREATE,
    ESIM_ORDERS_READ,
    WEBHOOKS_MANAGE,
];
