//! Merchant authentication: OAuth2 client credentials or CIBA (phone-bound) → signed bearer tokens →
//! a [`Caller`] per request; the OpenID discovery documents; merchants' operator allow-lists.

pub mod admin;
mod caller;
pub mod ciba;
mod discovery;
mod jwt;
pub mod keys;
pub mod scopes;
mod secrets;
mod token_endpoint;
mod verified;

pub use caller::{Caller, VerifiedClaims};
pub use ciba::bc_authorize;
pub use discovery::{jwks, openid_configuration};
pub use jwt::{Claims, TokenError, TokenIssuer};
pub use keys::{ed25519_pem_from_seed, generate_ed25519_pem};
pub use secrets::{check_hash, hash_secret, verify_secret};
pub use token_endpoint::token;

use std::collections::HashMap;

use switchboard_core::{ApiError, ErrorCode, Secret};

use crate::config::Config;

/// A merchant as the auth layer knows it.
#[derive(Debug, Clone)]
pub struct MerchantAccount {
    pub id: String,
    pub name: String,
    pub client_id: String,
    /// Argon2 PHC string; the plain secret is never kept.
    pub client_secret_hash: String,
    pub scopes: Vec<String>,
    /// Empty: every operator.
    pub allowed_operators: Vec<String>,
    /// Empty: every country.
    pub allowed_countries: Vec<String>,
    pub webhook_secret: Secret,
}

impl MerchantAccount {
    /// 403 `PERMISSION_DENIED` unless this merchant may charge or top up at this operator.
    pub fn check_operator(&self, operator_id: &str, country: &str) -> Result<(), ApiError> {
        let operator_ok = self.allowed_operators.is_empty()
            || self.allowed_operators.iter().any(|o| o == operator_id);
        let country_ok = self.allowed_countries.is_empty()
            || self
                .allowed_countries
                .iter()
                .any(|c| c.eq_ignore_ascii_case(country));
        if operator_ok && country_ok {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::PermissionDenied,
                "merchant not allowed for this operator",
            ))
        }
    }
}

/// Merchant accounts by OAuth2 client id.
#[derive(Debug, Default)]
pub struct Merchants {
    by_client_id: HashMap<String, MerchantAccount>,
}

impl Merchants {
    /// Reads the accounts; a plain `client_secret` (local development) is hashed here, with a warning.
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
                let client_secret_hash = if m.client_secret.is_empty() {
                    m.client_secret_hash.clone()
                } else {
                    tracing::warn!(
                        merchant = %id,
                        "merchant has a plain client_secret in its configuration: fine for local \
                         development; configure client_secret_hash (argon2) instead"
                    );
                    hash_secret(m.client_secret.expose())
                };
                let account = MerchantAccount {
                    id: id.clone(),
                    name: m.name.clone(),
                    client_id: client_id.clone(),
                    client_secret_hash,
                    scopes: m.scopes.clone(),
                    allowed_operators: m.allowed_operators.clone(),
                    allowed_countries: m.allowed_countries.clone(),
                    webhook_secret: m.webhook_secret.clone(),
                };
                (client_id, account)
            })
            .collect();
        Merchants { by_client_id }
    }

    /// The account whose credentials these are (argon2 verification; an unknown client id costs
    /// the same as a wrong secret).
    pub fn authenticate(&self, client_id: &str, secret: &str) -> Option<&MerchantAccount> {
        match self.by_client_id.get(client_id) {
            Some(account) => verify_secret(&account.client_secret_hash, secret).then_some(account),
            None => {
                secrets::burn(secret);
                None
            }
        }
    }

    pub fn by_id(&self, merchant_id: &str) -> Option<&MerchantAccount> {
        self.by_client_id.values().find(|m| m.id == merchant_id)
    }

    /// 403 `PERMISSION_DENIED` unless `merchant_id` may work with this operator (see
    /// [`MerchantAccount::check_operator`]). Call it wherever a request's operator is resolved.
    pub fn check_operator(
        &self,
        merchant_id: &str,
        operator_id: &str,
        country: &str,
    ) -> Result<(), ApiError> {
        match self.by_id(merchant_id) {
            Some(account) => account.check_operator(operator_id, country),
            None => Err(ApiError::of(ErrorCode::Unauthenticated)),
        }
    }
}

/// 403 `PERMISSION_DENIED` ("merchant not allowed for this operator") unless `merchant_id` may charge
/// or top up numbers of `operator_id`. Callers run it right after resolving a request's operator.
pub fn check_operator_allowed(
    state: &crate::state::AppState,
    merchant_id: &str,
    operator_id: &str,
) -> Result<(), ApiError> {
    let live = state.live();
    let country = live
        .router
        .plan()
        .operator(operator_id)
        .map(|op| op.country.as_str())
        .unwrap_or_default();
    live.merchants
        .check_operator(merchant_id, operator_id, country)
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
        assert_eq!(
            merchants
                .authenticate("demo-merchant-2", "demo-secret-2")
                .unwrap()
                .id,
            "demo-merchant-2"
        );
        assert!(merchants
            .authenticate("demo-merchant", "demo-secret-2")
            .is_none());
        assert!(merchants.authenticate("demo-merchant", "").is_none());
        assert!(merchants.authenticate("nobody", "demo-secret").is_none());
    }

    #[test]
    fn configured_secrets_are_hashes_and_plain_ones_are_hashed_at_load() {
        let mut config = crate::config::defaults_for_test();
        for m in config.merchants.values() {
            assert!(
                m.client_secret.is_empty(),
                "the default config has no plain secrets"
            );
            assert!(m.client_secret_hash.starts_with("$argon2id$"));
        }
        let m = config.merchants.get_mut("demo-merchant").unwrap();
        m.client_secret = Secret::new("dev-secret");
        let merchants = Merchants::from_config(&config);
        let account = merchants.by_id("demo-merchant").unwrap();
        assert!(account.client_secret_hash.starts_with("$argon2id$"));
        assert!(!account.client_secret_hash.contains("dev-secret"));
        assert!(merchants
            .authenticate("demo-merchant", "dev-secret")
            .is_some());
        assert!(merchants
            .authenticate("demo-merchant", "demo-secret")
            .is_none());
    }

    #[test]
    fn operator_and_country_allow_lists() {
        let mut config = crate::config::defaults_for_test();
        let m = config.merchants.get_mut("demo-merchant").unwrap();
        m.allowed_operators = vec!["movistar-es".into()];
        let m2 = config.merchants.get_mut("demo-merchant-2").unwrap();
        m2.allowed_countries = vec!["DE".into()];
        let merchants = Merchants::from_config(&config);
        assert!(merchants
            .check_operator("demo-merchant", "movistar-es", "ES")
            .is_ok());
        let denied = merchants
            .check_operator("demo-merchant", "telekom-de", "DE")
            .unwrap_err();
        assert_eq!(denied.code, ErrorCode::PermissionDenied);
        assert_eq!(denied.message, "merchant not allowed for this operator");
        assert!(merchants
            .check_operator("demo-merchant-2", "telekom-de", "DE")
            .is_ok());
        assert!(merchants
            .check_operator("demo-merchant-2", "movistar-es", "ES")
            .is_err());
    }
}
