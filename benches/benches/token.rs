//! Bearer token verification: the full Ed25519 check, and the verified-token cache hit that every
//! request after a merchant's first one takes (crates/gateway/src/auth/verified.rs).

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use switchboard_gateway::auth::{Claims, TokenIssuer};
use switchboard_gateway::config::AuthConfig;

fn issuer() -> TokenIssuer {
    let auth = AuthConfig {
        keys: Vec::new(), // one key generated for the run
        token_ttl_secs: 3600,
        issuer: "switchboard".into(),
        audience: "switchboard".into(),
        ciba_expires_secs: 300,
        ciba_interval_secs: 2,
        allow_ephemeral_keys: true,
    };
    TokenIssuer::from_config(&auth).expect("a token issuer")
}

fn verification(c: &mut Criterion) {
    let issuer = issuer();
    let scopes = vec!["carrier-billing:payments:create".to_string()];
    let token = issuer.issue("demo-merchant", &scopes).expect("a token");
    assert!(issuer.verify(&token).is_some(), "the token verifies");
    c.bench_function("token/verify_ed25519_uncached", |b| {
        b.iter(|| {
            issuer
                .verify_for::<Claims>(black_box(&token), "switchboard")
                .expect("valid")
        })
    });
    c.bench_function("token/verify_cached", |b| {
        b.iter(|| issuer.verify(black_box(&token)).expect("valid"))
    });
}

criterion_group!(benches, verification);
criterion_main!(benches);
