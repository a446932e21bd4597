//! A tiny HTTP/1.1 listener that records every request it gets and answers `204`: the receiving
//! end of the simulators' notifications in tests (it plays the gateway's `/callbacks/{channel}`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let mut inbox = switchboard_sandbox::Inbox::start().await?;
//! let url = inbox.url("/callbacks/op"); // http://127.0.0.1:PORT/callbacks/op
//! // ... make a simulator notify `url` ...
//! let got = inbox.next(std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Largest request head or body read.
const MAX_BYTES: usize = 1 << 20;
/// How long one connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// One recorded request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string (without `?`), empty when none.
    pub query: String,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Captured {
    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running recorder; stops when dropped.
pub struct Inbox {
    addr: SocketAddr,
    received: mpsc::UnboundedReceiver<Captured>,
    task: tokio::task::JoinHandle<()>,
}

impl Inbox {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Inbox> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let (sender, received) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(Some(captured))) =
                        tokio::time::timeout(READ_TIMEOUT, serve(stream)).await
                    {
                        let _ = sender.send(captured);
                    }
                });
            }
        });
        Ok(Inbox {
            addr,
            received,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The next recorded request, waiting at most `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Captured> {
        tokio::time::timeout(wait, self.received.recv())
            .await
            .ok()
            .flatten()
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request, answers `204 No Content` and closes the connection.
async fn serve(mut stream: TcpStream) -> std::io::Result<Option<Captured>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = find(&buffer, b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buffer.len() > MAX_BYTES {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BYTES);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    stream
        .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await?;
    stream.shutdown().await?;
    Ok(Some(Captured {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body,
    }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_a_request_and_answers_204() {
        let mut inbox = Inbox::start().await.unwrap();
        let client = reqwest::Client::new();
        let answer = client
            .post(inbox.url("/callbacks/op?ref=p.a.b"))
            .bearer_auth("tok")
            .header("X-Correlator", "c-1")
            .body("{\"a\":1}")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 204);
        let got = inbox.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            (got.method.as_str(), got.path.as_str(), got.query.as_str()),
            ("POST", "/callbacks/op", "ref=p.a.b")
        );
        assert_eq!(got.header("authorization"), Some("Bearer tok"));
        assert_eq!(got.header("x-correlator"), Some("c-1"));
        assert_eq!(got.body, b"{\"a\":1}");
        assert!(inbox.next(Duration::from_millis(50)).await.is_none());
    }
}
