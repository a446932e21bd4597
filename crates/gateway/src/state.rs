//! What every handler and worker shares.

use std::sync::Arc;

use switchboard_router::Router;
use switchboard_store::Store;

use crate::auth::{Merchants, TokenIssuer};
use crate::config::Config;

pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub router: Arc<Router>,
    pub merchants: Merchants,
    pub tokens: TokenIssuer,
}
