//! Merchant access tokens: EdDSA (Ed25519) JWTs with `kid`, issuer, audience, expiry, scopes and, for
//! phone-bound (3-legged) tokens, the subscriber's number.
//!
//! The same keys sign CIBA `auth_req_id`s (see [`super::ciba`]), under an audience of their own so one
//! can never be used as the other.

use std::sync::Arc;

use chrono::Utc;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use switchboard_core::Msisdn;

use super::keys::KeySet;
use super::verified::{VerifiedTokens, DEFAULT_CAPACITY};
use crate::config::AuthConfig;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The merchant id.
    pub sub: String,
    /// Space-separated scopes.
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The subscriber a phone-bound (3-legged, CIBA) token is about; absent on client-credentials
    /// tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msisdn: Option<String>,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

pub struct TokenIssuer {
    keys: KeySet,
    issuer: String,
    audience: String,
    pub ttl_secs: u64,
    verified: VerifiedTokens,
}

impl TokenIssuer {
    pub fn from_config(auth: &AuthConfig) -> Result<TokenIssuer, String> {
        Ok(TokenIssuer {
            keys: KeySet::from_config(&auth.keys)?,
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
            ttl_secs: auth.token_ttl_secs,
            verified: VerifiedTokens::new(DEFAULT_CAPACITY),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The public keys, as a JWK Set.
    pub fn jwks(&self) -> serde_json::Value {
        self.keys.jwks()
    }

    /// A client-credentials (2-legged) token.
    pub fn issue(
        &self,
        merchant_id: &str,
        scopes: &[String],
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.issue_bound(merchant_id, scopes, None)
    }

    /// A token, bound to a subscriber's number when `msisdn` is given (3-legged).
    pub fn issue_bound(
        &self,
        merchant_id: &str,
        scopes: &[String],
        msisdn: Option<&Msisdn>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: merchant_id.to_string(),
            scope: scopes.join(" "),
            iat: now,
            exp: now + self.ttl_secs as i64,
            jti: uuid::Uuid::new_v4().to_string(),
            msisdn: msisdn.map(|m| m.as_str().to_string()),
        };
        self.sign(&claims)
    }

    /// Signs any claims with the current key (its `kid` in the header).
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.keys.signing_kid().to_string());
        encode(&header, claims, self.keys.encoding())
    }

    /// The claims of a valid access token; `None` for anything expired, tampered, foreign, signed by
    /// an unknown key, or malformed. A token seen before is found in the cache of verified tokens
    /// instead of being verified again (see [`super::verified`]).
    pub fn verify(&self, token: &str) -> Option<Arc<Claims>> {
        let now = Utc::now().timestamp();
        let known = |kid: &str| self.keys.decoding(kid).is_some();
        if let Some(claims) = self.verified.get(token, now, known) {
            return Some(claims);
        }
        let (kid, claims) = self.verify_with_kid::<Claims>(token, &self.audience).ok()?;
        let claims = Arc::new(claims);
        self.verified.put(token, &kid, Arc::clone(&claims), now);
        Some(claims)
    }

    /// Verifies a token signed by any configured key, issued by us, for `audience`.
    pub fn verify_for<C: DeserializeOwned>(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<C, TokenError> {
        self.verify_with_kid(token, audience)
            .map(|(_, claims)| claims)
    }

    /// [`Self::verify_for`], also naming the key that verified the token.
    fn verify_with_kid<C: DeserializeOwned>(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<(String, C), TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let key = self.keys.decoding(&kid).ok_or(TokenError::Invalid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        decode::<C>(token, key, &validation)
            .map(|d| (kid, d.claims))
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::generate_ed25519_pem;
    use crate::config::SigningKeyConfig;
    use switchboard_core::Secret;

    fn key(kid: &str, pem: &str) -> SigningKeyConfig {
        SigningKeyConfig {
            kid: kid.into(),
            private_key_pem: Secret::new(pem),
        }
    }

    fn config(keys: Vec<SigningKeyConfig>) -> AuthConfig {
        AuthConfig {
            keys,
            token_ttl_secs: 60,
            issuer: "switchboard".into(),
            audience: "switchboard".into(),
            ciba_expires_secs: 60,
            ciba_interval_secs: 1,
            allow_ephemeral_keys: false,
        }
    }

    fn issuer(keys: Vec<SigningKeyConfig>) -> TokenIssuer {
        TokenIssuer::from_config(&config(keys)).unwrap()
    }

    #[test]
    fn issued_tokens_verify_and_carry_scopes_kid_and_number() {
        let issuer = issuer(vec![key("k1", &generate_ed25519_pem())]);
        let token = issuer.issue("m1", &["a".into(), "b".into()]).unwrap();
        assert_eq!(decode_header(&token).unwrap().kid.as_deref(), Some("k1"));
        assert_eq!(decode_header(&token).unwrap().alg, Algorithm::EdDSA);
        let claims = issuer.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.scope.as_str()), ("m1", "a b"));
        assert_eq!(claims.msisdn, None);
        let n = Msisdn::parse("+34600000001").unwrap();
        let bound = issuer.issue_bound("m1", &[], Some(&n)).unwrap();
        assert_eq!(
            issuer.verify(&bound).unwrap().msisdn.as_deref(),
            Some("+34600000001")
        );
    }

    #[test]
    fn rotation_old_kid_verifies_while_configured() {
        let old_pem = generate_ed25519_pem();
        let before = issuer(vec![key("old", &old_pem)]);
        let old_token = before.issue("m1", &[]).unwrap();
        let during = issuer(vec![
            key("new", &generate_ed25519_pem()),
            key("old", &old_pem),
        ]);
        assert!(during.verify(&old_token).is_some());
        let new_token = during.issue("m1", &[]).unwrap();
        assert_eq!(
            decode_header(&new_token).unwrap().kid.as_deref(),
            Some("new")
        );
        let after = issuer(vec![key("new", &generate_ed25519_pem())]);
        assert!(after.verify(&old_token).is_none(), "retired kid");
    }

    #[test]
    fn foreign_tampered_expired_and_wrong_audience_tokens_fail() {
        let pem = generate_ed25519_pem();
        let issuer_a = issuer(vec![key("k1", &pem)]);
        // Same kid, another key: the signature does not verify.
        let other = issuer(vec![key("k1", &generate_ed25519_pem())]);
        assert!(issuer_a.verify(&other.issue("m1", &[]).unwrap()).is_none());
        // A changed payload.
        let token = issuer_a.issue("m1", &["a".into()]).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let payload = String::from_utf8(
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &parts[1])
                .unwrap(),
        )
        .unwrap()
        .replace("\"m1\"", "\"m2\"");
        parts[1] =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload);
        assert!(issuer_a.verify(&parts.join(".")).is_none());
        let now = Utc::now().timestamp();
        let claims = |exp: i64, aud: &str| Claims {
            iss: "switchboard".into(),
            aud: aud.into(),
            sub: "m1".into(),
            scope: String::new(),
            iat: 0,
            exp,
            jti: "j".into(),
            msisdn: None,
        };
        let expired = issuer_a.sign(&claims(now - 5, "switchboard")).unwrap();
        assert!(issuer_a.verify(&expired).is_none());
        assert_eq!(
            issuer_a
                .verify_for::<Claims>(&expired, "switchboard")
                .unwrap_err(),
            TokenError::Expired
        );
        let wrong_aud = issuer_a.sign(&claims(now + 60, "someone-else")).unwrap();
        assert!(issuer_a.verify(&wrong_aud).is_none());
        assert!(issuer_a.verify("not-a-jwt").is_none());
        // HS256 with the public key as secret (algorithm confusion) is refused.
        let hs = encode(
            &Header::new(Algorithm::HS256),
            &claims(now + 60, "switchboard"),
            &jsonwebtoken::EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert!(issuer_a.verify(&hs).is_none());
    }
}
