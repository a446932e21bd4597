//! Registering Switchboard's callback address with the provider: `POST {base_url}/webhooks`
//! `{"url": <callback url>, "secret": <whsec_ secret>}`, once when the gateway starts.
//!
//! The secret is derived from the gateway's callback key and the channel's callback URL
//! ([`CallbackSettings::signing_secret`]), so every replica registers, and verifies with, the
//! same one. The provider keeps one registration per URL and replaces it on a repeat (200 or 201),
//! so registering at every start is idempotent.

use reqwest::Method;
use serde::Serialize;
use switchboard_adapter::{AdapterError, CallbackSettings};

use crate::client::TopUpClient;
use crate::errors::describe_answer;

/// Body of `POST /webhooks` (no `Debug`: it holds the secret).
#[derive(Serialize)]
struct Registration<'a> {
    url: &'a str,
    secret: String,
}

/// Registers `callback` with the provider.
pub async fn register(
    client: &TopUpClient,
    callback: &CallbackSettings,
) -> Result<(), AdapterError> {
    let body = Registration {
        url: &callback.url,
        secret: callback.signing_secret(),
    };
    let reply = client
        .send(Method::POST, &["webhooks"], &[], Some(&body))
        .await?;
    let status = reply.status.as_u16();
    match status {
        200..=299 => Ok(()),
        400..=499 => Err(AdapterError::NotSent(format!(
            "the provider refused the webhook registration ({})",
            describe_answer(status, &reply.body)
        ))),
        _ => Err(AdapterError::Unknown(format!(
            "webhook registration failed ({}); it is idempotent, register again",
            describe_answer(status, &reply.body)
        ))),
    }
}
