//! What every handler and worker shares.

use std::sync::Arc;

use switchboard_router::Router;
use switchboard_store::Store;

use crate::auth::{Merchants, TokenIssuer};
use crate::config::Config;
use crate::routing::Overrides;
use crate::topup::Catalogue;

pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub router: Arc<Router>,
    pub merchants: Merchants,
    pub tokens: TokenIssuer,
    /// This replica's copy of the MNP overrides.
    pub overrides: Overrides,
    /// The cached top-up catalogue.
    pub catalogue: Catalogue,
    /// Per-merchant and per-channel rate limits (spending limits live in the store).
    pub limits: crate::limits::RateLimits,
    /// Destinations exempt from the webhook SSRF guard (`webhooks.allow`).
    pub webhook_allow: switchboard_webhooks::AllowList,
    /// Metrics and rolling stats (`/metrics`, `/admin/stats`).
    pub observe: Arc<crate::observe::Observer>,
    /// The version of ops' routing controls applied to `router`.
    pub controls: crate::routing_controls::AppliedControls,
    /// The admin API's tokens (named, with roles).
    pub admins: crate::auth::admin::AdminTokens,
}
