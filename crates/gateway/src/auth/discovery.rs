//! OpenID Provider metadata (`/.well-known/openid-configuration`) and the public signing keys
//! (`/.well-known/jwks.json`), so merchants can verify our tokens and find the endpoints.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::scopes::KNOWN_SCOPES;
use super::token_endpoint::CIBA_GRANT;
use crate::state::AppState;

pub async fn openid_configuration(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let base = crate::api::carrier_billing::base_url(&req, &state);
    let mut scopes: Vec<&str> = vec!["openid"];
    scopes.extend_from_slice(KNOWN_SCOPES);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(json!({
            "issuer": state.tokens.issuer(),
            "token_endpoint": format!("{base}/oauth2/token"),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "backchannel_authentication_endpoint": format!("{base}/bc-authorize"),
            "backchannel_token_delivery_modes_supported": ["poll"],
            "backchannel_user_code_parameter_supported": false,
            "grant_types_supported": ["client_credentials", CIBA_GRANT],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": scopes,
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["EdDSA"],
            "token_endpoint_auth_signing_alg_values_supported": ["EdDSA"],
            "claims_supported": ["iss", "aud", "sub", "scope", "exp", "iat", "jti", "msisdn"],
        }))
}

pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.tokens.jwks())
}
