//! What every handler and worker shares.

use std::sync::Arc;

use arc_swap::ArcSwap;
use switchboard_router::Router;
use switchboard_store::Store;

use crate::auth::admin::AdminTokens;
use crate::auth::{Merchants, TokenIssuer};
use crate::config::Config;
use crate::limits::RateLimits;
use crate::routing::Overrides;
use crate::topup::Catalogue;

/// What a configuration reload replaces, all at once: a request reads one snapshot's pieces
/// (each accessor loads the current one), and a request in flight keeps the channels it holds.
pub struct Live {
    pub config: Arc<Config>,
    pub router: Arc<Router>,
    pub merchants: Arc<Merchants>,
    /// Per-merchant and per-channel rate limits (spending limits live in the store).
    pub limits: Arc<RateLimits>,
    /// This replica's copy of the MNP overrides (over the snapshot's number plan).
    pub overrides: Arc<Overrides>,
    /// The admin API's tokens (named, with roles).
    pub admins: Arc<AdminTokens>,
}

pub struct AppState {
    live: ArcSwap<Live>,
    pub store: Arc<dyn Store>,
    pub tokens: TokenIssuer,
    /// The cached top-up catalogue.
    pub catalogue: Catalogue,
    /// Destinations exempt from the webhook SSRF guard (`webhooks.allow`).
    pub webhook_allow: switchboard_webhooks::AllowList,
    /// Metrics and rolling stats (`/metrics`, `/admin/stats`).
    pub observe: Arc<crate::observe::Observer>,
    /// The version of ops' routing controls applied to `router`.
    pub controls: crate::routing_controls::AppliedControls,
    /// Where the configuration is re-read from (`POST /admin/reload`, SIGHUP).
    pub reload: crate::reload::Reloader,
}

/// The parts of [`AppState`] that are not reloaded.
pub struct Fixed {
    pub store: Arc<dyn Store>,
    pub tokens: TokenIssuer,
    pub webhook_allow: switchboard_webhooks::AllowList,
    pub observe: Arc<crate::observe::Observer>,
    pub reload: crate::reload::Reloader,
}

impl AppState {
    pub fn new(live: Live, fixed: Fixed) -> AppState {
        AppState {
            live: ArcSwap::from_pointee(live),
            store: fixed.store,
            tokens: fixed.tokens,
            catalogue: Default::default(),
            webhook_allow: fixed.webhook_allow,
            observe: fixed.observe,
            controls: Default::default(),
            reload: fixed.reload,
        }
    }

    /// The current snapshot (hold it for a whole step that must see one configuration).
    pub fn live(&self) -> Arc<Live> {
        self.live.load_full()
    }

    /// Replaces the snapshot; requests that loaded the old one finish on it.
    pub(crate) fn swap(&self, live: Live) {
        self.live.store(Arc::new(live));
    }

    pub fn config(&self) -> Arc<Config> {
        self.live.load().config.clone()
    }

    pub fn router(&self) -> Arc<Router> {
        self.live.load().router.clone()
    }

    pub fn merchants(&self) -> Arc<Merchants> {
        self.live.load().merchants.clone()
    }

    pub fn limits(&self) -> Arc<RateLimits> {
        self.live.load().limits.clone()
    }

    pub fn overrides(&self) -> Arc<Overrides> {
        self.live.load().overrides.clone()
    }

    pub fn admins(&self) -> Arc<AdminTokens> {
        self.live.load().admins.clone()
    }
}
