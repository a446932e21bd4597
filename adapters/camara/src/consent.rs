//! Subscriber consent for phone-bound tokens, through the operator's consent API:
//! `POST {base_url}/consent/v1/requests` `{phoneNumber, scopes}` → `{id, status}`, then
//! `GET {base_url}/consent/v1/requests/{id}` → `{id, status: pending | approved | denied}`.

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use switchboard_adapter::{AdapterError, ConsentState, ConsentTicket};
use switchboard_core::{ApiError, ErrorCode, Msisdn};

use crate::client::CamaraClient;

/// The consent API root below `base_url`.
pub const CONSENT_API_PATH: &str = "consent/v1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsentBody<'a> {
    phone_number: &'a str,
    scopes: &'a [String],
}

#[derive(Deserialize)]
struct ConsentAnswer {
    id: String,
    status: String,
}

fn parse(body: &[u8]) -> Result<ConsentAnswer, AdapterError> {
    serde_json::from_slice(body)
        .map_err(|e| AdapterError::NotSent(format!("unreadable consent answer: {e}")))
}

fn state_of(status: &str) -> Result<ConsentState, AdapterError> {
    match status {
        "pending" => Ok(ConsentState::Pending),
        "approved" => Ok(ConsentState::Approved),
        "denied" => Ok(ConsentState::Denied),
        other => Err(AdapterError::NotSent(format!(
            "unknown consent status '{other}'"
        ))),
    }
}

/// A consent call that failed: no consent was given, so nothing is ever "unknown" here.
fn failure(status: u16) -> AdapterError {
    match status {
        400 | 422 => AdapterError::Refused(ApiError::new(
            ErrorCode::InvalidArgument,
            "the operator refused the consent request",
        )),
        404 => AdapterError::NotFound,
        _ => AdapterError::NotSent(format!("consent API answered {status}")),
    }
}

fn url(root: &Url, segments: &[&str]) -> Url {
    let mut url = root.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

pub async fn request(
    client: &CamaraClient,
    root: &Url,
    msisdn: &Msisdn,
    scopes: &[String],
) -> Result<ConsentTicket, AdapterError> {
    let body = ConsentBody {
        phone_number: msisdn.as_str(),
        scopes,
    };
    let reply = client
        .send_to(Method::POST, url(root, &["requests"]), Some(&body), "")
        .await
        .map_err(not_sent)?;
    if !reply.is_success() {
        return Err(failure(reply.status.as_u16()));
    }
    let answer = parse(&reply.body)?;
    state_of(&answer.status)?;
    Ok(ConsentTicket(answer.id))
}

pub async fn status(
    client: &CamaraClient,
    root: &Url,
    ticket: &ConsentTicket,
) -> Result<ConsentState, AdapterError> {
    let reply = client
        .send_to::<()>(Method::GET, url(root, &["requests", &ticket.0]), None, "")
        .await
        .map_err(not_sent)?;
    if !reply.is_success() {
        return Err(failure(reply.status.as_u16()));
    }
    state_of(&parse(&reply.body)?.status)
}

/// Asking for consent never charges anyone: an unanswered call is simply not done.
fn not_sent(e: AdapterError) -> AdapterError {
    match e {
        AdapterError::Unknown(m) => AdapterError::NotSent(m),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_urls() {
        assert_eq!(state_of("pending").unwrap(), ConsentState::Pending);
        assert_eq!(state_of("approved").unwrap(), ConsentState::Approved);
        assert_eq!(state_of("denied").unwrap(), ConsentState::Denied);
        assert!(state_of("maybe").is_err());
        let root = Url::parse("http://h/op/consent/v1").unwrap();
        assert_eq!(
            url(&root, &["requests", "a/b"]).as_str(),
            "http://h/op/consent/v1/requests/a%2Fb"
        );
    }
}
