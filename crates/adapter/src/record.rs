//! Recording upstream exchanges for a contract check (`switchboard channel check`): each call's
//! method, path and the upstream's answer, verbatim. Nothing is recorded unless a caller runs its
//! future inside [`recording`]; the serving path never does.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::AdapterError;
use crate::http::classify_send_error;

/// Longest answer body kept per exchange, in bytes.
const MAX_BODY_BYTES: usize = 4096;

/// One upstream call as it went over the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub method: String,
    /// Path and `?query` (no scheme, host or user info).
    pub target: String,
    pub status: u16,
    /// The answer's body as text (lossy UTF-8), cut at 4 KiB. Not scrubbed: callers mask it.
    pub body: String,
}

type Log = Arc<Mutex<Vec<Exchange>>>;

tokio::task_local! {
    static EXCHANGES: Log;
}

/// Runs `f`, keeping every upstream exchange sent through [`crate::send_upstream`] on this task.
pub async fn recording<F: Future>(f: F) -> (F::Output, Vec<Exchange>) {
    let log = Log::default();
    let out = EXCHANGES.scope(log.clone(), f).await;
    let exchanges = std::mem::take(&mut *log.lock().unwrap_or_else(PoisonError::into_inner));
    (out, exchanges)
}

pub(crate) fn active() -> bool {
    EXCHANGES.try_with(|_| ()).is_ok()
}

/// Sends `request`, reads the whole answer to keep a copy, and hands the adapter an identical
/// response built from it.
pub(crate) async fn send_recorded(
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, AdapterError> {
    let (client, request) = request.build_split();
    let request = request.map_err(|e| classify_send_error(&e))?;
    let method = request.method().to_string();
    let url = request.url();
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let response = client
        .execute(request)
        .await
        .map_err(|e| classify_send_error(&e))?;
    let (status, version, headers) = (
        response.status(),
        response.version(),
        response.headers().clone(),
    );
    let body = response
        .bytes()
        .await
        .map_err(|e| classify_send_error(&e))?;
    let kept = &body[..body.len().min(MAX_BODY_BYTES)];
    let exchange = Exchange {
        method,
        target,
        status: status.as_u16(),
        body: String::from_utf8_lossy(kept).into_owned(),
    };
    let _ = EXCHANGES.try_with(|log| {
        log.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(exchange)
    });
    let mut rebuilt = ::http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_recorded_call_keeps_the_answer_and_still_hands_it_on() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 2048];
            let _ = sock.read(&mut buf).await.unwrap();
            let body = r#"{"error":"nope"}"#;
            let answer = format!(
                "HTTP/1.1 402 Payment Required\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(answer.as_bytes()).await.unwrap();
        });
        let client = reqwest::Client::new();
        let send = crate::send_upstream(client.post(format!("http://{addr}/pay?x=1")));
        let (response, exchanges) = recording(send).await;
        let response = response.unwrap();
        assert_eq!(response.status(), 402);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.text().await.unwrap(), r#"{"error":"nope"}"#);
        assert_eq!(
            exchanges,
            [Exchange {
                method: "POST".into(),
                target: "/pay?x=1".into(),
                status: 402,
                body: r#"{"error":"nope"}"#.into(),
            }]
        );
        assert!(!active(), "recording ends with its future");
        server.await.unwrap();
    }
}
