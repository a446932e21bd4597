//! Merchant access tokens: HS256 JWTs with issuer, audience, expiry and scopes.

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

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
}

pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub ttl_secs: u64,
}

impl TokenIssuer {
    pub fn from_config(auth: &AuthConfig) -> TokenIssuer {
        let key: Vec<u8> = if auth.signing_key.is_empty() {
            tracing::warn!(
                "auth.signing_key is not set: using a random key; tokens end with this process and are not \
                 accepted by other replicas"
            );
            let mut key = vec![0u8; 32];
            rand::rng().fill_bytes(&mut key);
            key
        } else {
            auth.signing_key.expose().as_bytes().to_vec()
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&auth.issuer]);
        validation.set_audience(&[&auth.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        TokenIssuer {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
            ttl_secs: auth.token_ttl_secs,
        }
    }

    pub fn issue(
        &self,
        merchant_id: &str,
        scopes: &[String],
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
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The claims of a valid token; `None` for anything expired, tampered, foreign or malformed.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::Secret;

    fn config(key: &str) -> AuthConfig {
        AuthConfig {
            signing_key: Secret::new(key),
            token_ttl_secs: 60,
            issuer: "switchboard".into(),
            audience: "switchboard".into(),
        }
    }

    #[test]
    fn issued_tokens_verify_and_carry_scopes() {
        let issuer = TokenIssuer::from_config(&config("k1"));
        let token = issuer.issue("m1", &["a".into(), "b".into()]).unwrap();
        let claims = issuer.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.scope.as_str()), ("m1", "a b"));
    }

    #[test]
    fn foreign_tampered_and_expired_tokens_fail() {
        let issuer = TokenIssuer::from_config(&config("k1"));
        let other = TokenIssuer::from_config(&config("k2"));
        let token = other.issue("m1", &[]).unwrap();
        assert!(issuer.verify(&token).is_none(), "other key");
        let mut tampered = issuer.issue("m1", &[]).unwrap();
        tampered.pop();
        tampered.push('x');
        assert!(issuer.verify(&tampered).is_none());
        let expired = Claims {
            iss: "switchboard".into(),
            aud: "switchboard".into(),
            sub: "m1".into(),
            scope: String::new(),
            iat: 0,
            exp: Utc::now().timestamp() - 5,
            jti: "j".into(),
        };
        let token = encode(
            &Header::new(Algorithm::HS256),
            &expired,
            &EncodingKey::from_secret(b"k1"),
        )
        .unwrap();
        assert!(issuer.verify(&token).is_none());
        let mut wrong_aud = expired;
        wrong_aud.exp = Utc::now().timestamp() + 60;
        wrong_aud.aud = "someone-else".into();
        let token = encode(
            &Header::new(Algorithm::HS256),
            &wrong_aud,
            &EncodingKey::from_secret(b"k1"),
        )
        .unwrap();
        assert!(issuer.verify(&token).is_none());
        assert!(issuer.verify("not-a-jwt").is_none());
    }
}
