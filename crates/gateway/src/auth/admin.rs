//! The admin API's bearer tokens: named, each with a role — `viewer` reads, `operator` also
//! changes (routing controls, MNP overrides, replays). Their secrets are configured as argon2id
//! hashes (`[[admin.tokens]] name, role, token_hash`), like merchants' client secrets; the single
//! `admin.token` keeps working as an operator token named `admin`. argon2 is slow on purpose, and
//! the dashboard polls: a verified token is remembered by its SHA-256 (bounded), so each token
//! costs one argon2 verification per process, and a wrong token one per try.

use std::collections::HashMap;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::secrets::verify_secret;
use crate::config::Config;

/// Verified tokens remembered (beyond it, the cache starts afresh).
const REMEMBERED: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    /// Reads every `/admin` answer.
    Viewer,
    /// Also changes: routing controls, MNP overrides, replays.
    Operator,
}

/// Who is calling the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminIdentity {
    pub name: String,
    pub role: AdminRole,
}

struct Hashed {
    name: String,
    role: AdminRole,
    token_hash: String,
}

pub struct AdminTokens {
    /// `admin.token` (plain, compared in constant time).
    plain: String,
    hashed: Vec<Hashed>,
    verified: RwLock<HashMap<[u8; 32], AdminIdentity>>,
}

impl AdminTokens {
    pub fn from_config(config: &Config) -> AdminTokens {
        AdminTokens {
            plain: config.admin.token.expose().to_string(),
            hashed: config
                .admin
                .tokens
                .iter()
                .map(|t| Hashed {
                    name: t.name.clone(),
                    role: t.role,
                    token_hash: t.token_hash.clone(),
                })
                .collect(),
            verified: RwLock::default(),
        }
    }

    /// Whether any admin token is configured (none: the admin API answers 401 to everyone).
    pub fn any(&self) -> bool {
        !self.plain.is_empty() || !self.hashed.is_empty()
    }

    /// The identity `token` stands for, if any.
    pub fn identify(&self, token: &str) -> Option<AdminIdentity> {
        if token.is_empty() {
            return None;
        }
        if !self.plain.is_empty() && constant_time_eq(token, &self.plain) {
            return Some(AdminIdentity {
                name: "admin".into(),
                role: AdminRole::Operator,
            });
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(known) = self
            .verified
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&digest)
        {
            return Some(known.clone());
        }
        let found = self
            .hashed
            .iter()
            .find(|t| verify_secret(&t.token_hash, token))
            .map(|t| AdminIdentity {
                name: t.name.clone(),
                role: t.role,
            })?;
        let mut verified = self.verified.write().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= REMEMBERED {
            verified.clear();
        }
        verified.insert(digest, found.clone());
        Some(found)
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AdminTokenConfig;

    fn tokens() -> AdminTokens {
        let mut config = crate::config::defaults_for_test();
        config.admin.token = switchboard_core::Secret::new("plain-admin".to_string());
        config.admin.tokens = vec![AdminTokenConfig {
            name: "ops-viewer".into(),
            role: AdminRole::Viewer,
            token_hash: super::super::hash_secret("view-only"),
        }];
        AdminTokens::from_config(&config)
    }

    #[test]
    fn named_tokens_carry_their_role_and_the_plain_token_is_an_operator() {
        let t = tokens();
        assert_eq!(
            t.identify("plain-admin"),
            Some(AdminIdentity {
                name: "admin".into(),
                role: AdminRole::Operator
            })
        );
        let viewer = t.identify("view-only").expect("the hashed token");
        assert_eq!(
            (viewer.name.as_str(), viewer.role),
            ("ops-viewer", AdminRole::Viewer)
        );
        // Remembered: the same answer again (from the cache).
        assert_eq!(t.identify("view-only"), Some(viewer));
        assert_eq!(t.identify("view-onl"), None);
        assert_eq!(t.identify(""), None);
        assert!(t.any());
    }
}
