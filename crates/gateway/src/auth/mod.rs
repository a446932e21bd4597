//! Merchant authentication: OAuth2 client credentials → signed bearer tokens → a [`Caller`] per request.

mod caller;
mod jwt;
pub mod scopes;
mod token_endpoint;

pub use caller::Caller;
pub use jwt::{Claims, TokenIssuer};
pub use token_endpoint::token;

use std::collections::HashMap;

use switchboard_core::Secret;

use crate::config::Config;

/// A merchant as the auth layer knows it.
#[derive(Debug, Clone)]
pub struct MerchantAccount {
    pub id: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
}

/// Merchant accounts by OAuth2 client id.
#[derive(Debug, Default)]
pub struct Merchants {
    by_client_id: HashMap<String, MerchantAccount>,
}

impl Merchants {
    pub fn from_config(config: &Config) -> Merchants {
        let by_client_id = config
            .merchants
            .iter()
            .map(|(id, m)| {
                let client_id = if m.client_id.is_empty() {
                    id.clone()
                } else {
                    m.client_id.clone()
                };
                let account = MerchantAccount {
                    id: id.clone(),
                    client_id: client_id.clone(),
                    client_secret: m.client_secret.clone(),
                    scopes: m.scopes.clone(),
                };
                (client_id, account)
            })
            .collect();
        Merchants { by_client_id }
    }

    /// The account whose credentials these are. Compares secrets in constant time.
    pub fn authenticate(&self, client_id: &str, secret: &str) -> Option<&MerchantAccount> {
        let account = self.by_client_id.get(client_id)?;
        constant_time_eq(account.client_secret.expose().as_bytes(), secret.as_bytes())
            .then_some(account)
    }

    pub fn by_id(&self, merchant_id: &str) -> Option<&MerchantAccount> {
        self.by_client_id.values().find(|m| m.id == merchant_id)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticates_only_matching_credentials() {
        let config = crate::config::defaults_for_test();
        let merchants = Merchants::from_config(&config);
        assert_eq!(
            merchants
                .authenticate("demo-merchant", "demo-secret")
                .unwrap()
                .id,
            "demo-merchant"
        );
        assert!(merchants
            .authenticate("demo-merchant", "demo-secret-2")
            .is_none());
        assert!(merchants.authenticate("demo-merchant", "").is_none());
        assert!(merchants.authenticate("nobody", "demo-secret").is_none());
    }
}
