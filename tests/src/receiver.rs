//! A merchant's webhook endpoint for tests: an HTTPS (or plain HTTP) server on `127.0.0.1:0` that
//! records every request and answers as the test scripts it (a status, a sequence of statuses, a
//! `Retry-After`, a redirect, 410 Gone, or no answer at all).
//!
//! The HTTPS certificate is for `localhost` and `127.0.0.1`, signed by a CA generated at start;
//! pass [`Receiver::ca_pem_path`] as `webhooks.extra_ca_file` (or [`Receiver::ca_pem`] as the
//! sender's `extra_ca_pem`). HTTP/1.1 only, `Content-Length` bodies only, keep-alive supported.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use switchboard_webhooks::signing::{
    self, SigningError, DEFAULT_TOLERANCE_SECS, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// Largest request head accepted (request line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// This status, these extra headers, an empty body.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
    },
    /// Read the request, record it, never answer (the connection stays open until the client
    /// gives up or the receiver is dropped).
    Hang,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply::Status {
            status,
            headers: Vec::new(),
        }
    }

    /// `status` with a `Retry-After: value` header (seconds or an HTTP date).
    pub fn retry_after(status: u16, value: impl Into<String>) -> Reply {
        Reply::status(status).with_header("retry-after", value)
    }

    /// A redirect (`status` 301/302/307/308) to `location`.
    pub fn redirect(status: u16, location: impl Into<String>) -> Reply {
        Reply::status(status).with_header("location", location)
    }

    /// Adds a response header (no effect on [`Reply::Hang`]).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        if let Reply::Status { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    fn code(&self) -> Option<u16> {
        match self {
            Reply::Status { status, .. } => Some(*status),
            Reply::Hang => None,
        }
    }
}

/// How the receiver answers: one reply per request, in order; the last one repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Respond(Vec<Reply>);

impl Respond {
    /// The same status to every request.
    pub fn status(status: u16) -> Respond {
        Respond(vec![Reply::status(status)])
    }

    /// One status per request, in order; the last one repeats (e.g. `[503, 503, 204]`).
    pub fn sequence(statuses: &[u16]) -> Respond {
        Respond::replies(statuses.iter().copied().map(Reply::status).collect())
    }

    /// One reply per request, in order; the last one repeats. Empty: `204`.
    pub fn replies(replies: Vec<Reply>) -> Respond {
        if replies.is_empty() {
            Respond::status(204)
        } else {
            Respond(replies)
        }
    }

    /// `410 Gone` to every request.
    pub fn gone() -> Respond {
        Respond::status(410)
    }

    /// Never answers (see [`Reply::Hang`]).
    pub fn hang() -> Respond {
        Respond(vec![Reply::Hang])
    }

    fn next(&mut self) -> Reply {
        if self.0.len() > 1 {
            self.0.remove(0)
        } else {
            self.0[0].clone()
        }
    }
}

impl From<u16> for Respond {
    fn from(status: u16) -> Respond {
        Respond::status(status)
    }
}

impl From<Reply> for Respond {
    fn from(reply: Reply) -> Respond {
        Respond(vec![reply])
    }
}

impl From<Vec<Reply>> for Respond {
    fn from(replies: Vec<Reply>) -> Respond {
        Respond::replies(replies)
    }
}

/// One request as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Lower-cased names, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: SystemTime,
    /// The status answered; `None` when the receiver hung.
    pub answered: Option<u16>,
}

impl Recorded {
    /// The first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }

    /// Arrival time in Unix seconds.
    pub fn unix_secs(&self) -> i64 {
        self.at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }

    /// See [`verify_signature`].
    pub fn verify_signature(&self, secret: &str) -> Result<(), SigningError> {
        verify_signature(self, secret)
    }
}

/// Checks the Standard Webhooks headers of `req` as a merchant would, with `secret` (`whsec_…`), at
/// the request's arrival time. A missing header is `NoMatchingSignature` (`BadTimestamp` for a
/// missing timestamp).
pub fn verify_signature(req: &Recorded, secret: &str) -> Result<(), SigningError> {
    let id = req
        .header(HEADER_ID)
        .ok_or(SigningError::NoMatchingSignature)?;
    let timestamp = req
        .header(HEADER_TIMESTAMP)
        .ok_or(SigningError::BadTimestamp)?;
    let signatures = req
        .header(HEADER_SIGNATURE)
        .ok_or(SigningError::NoMatchingSignature)?;
    signing::verify(
        secret,
        id,
        timestamp,
        signatures,
        &req.body,
        req.unix_secs(),
        DEFAULT_TOLERANCE_SECS,
    )
}

struct State {
    respond: Mutex<Respond>,
    requests: Mutex<Vec<Recorded>>,
    count: watch::Sender<usize>,
}

impl State {
    fn record(&self, request: Recorded) {
        let count = {
            let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
            requests.push(request);
            requests.len()
        };
        // Notified after the list's lock is released: a waiter holding the count's read guard
        // while it takes the list (wait_for) would otherwise deadlock with this writer.
        self.count.send_if_modified(|c| {
            let grew = count > *c;
            *c = (*c).max(count);
            grew
        });
    }

    fn next_reply(&self) -> Reply {
        self.respond
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next()
    }
}

/// The test CA and the server certificate it signed.
struct TestPki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn test_pki() -> TestPki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "Switchboard test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().expect("server key");
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server params");
    leaf.distinguished_name = rcgen::DistinguishedName::new();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf.signed_by(&key, &issuer).expect("server certificate");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf_cert.der().clone(), ca_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server TLS config");
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    TestPki {
        ca_pem: ca_cert.pem(),
        server: Arc::new(server),
    }
}

/// The test webhook endpoint. Dropping it closes every connection and deletes the CA file.
pub struct Receiver {
    addr: SocketAddr,
    scheme: &'static str,
    ca_pem: Option<String>,
    ca_path: Option<PathBuf>,
    state: Arc<State>,
    count: watch::Receiver<usize>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// An HTTPS receiver (certificate for `localhost` and `127.0.0.1`, signed by a fresh test CA).
    pub async fn start(respond: impl Into<Respond>) -> Receiver {
        let pki = test_pki();
        let path = std::env::temp_dir().join(format!(
            "switchboard-receiver-ca-{}.pem",
            uuid::Uuid::new_v4()
        ));
        std::fs::write(&path, &pki.ca_pem).expect("write the test CA");
        let mut receiver =
            Receiver::bind(respond.into(), Some(TlsAcceptor::from(pki.server))).await;
        receiver.ca_pem = Some(pki.ca_pem);
        receiver.ca_path = Some(path);
        receiver
    }

    /// A plain HTTP receiver (the sender only talks to it when its address is allow-listed).
    pub async fn start_http(respond: impl Into<Respond>) -> Receiver {
        Receiver::bind(respond.into(), None).await
    }

    async fn bind(respond: Respond, tls: Option<TlsAcceptor>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("receiver address");
        let (count_tx, count) = watch::channel(0);
        let state = Arc::new(State {
            respond: Mutex::new(respond),
            requests: Mutex::new(Vec::new()),
            count: count_tx,
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let task = tokio::spawn(accept_loop(listener, tls, state.clone()));
        Receiver {
            addr,
            scheme,
            ca_pem: None,
            ca_path: None,
            state,
            count,
            task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://127.0.0.1:<port><path>` (`http` for [`Receiver::start_http`]).
    pub fn url(&self, path: &str) -> String {
        self.url_with_host("127.0.0.1", path)
    }

    /// The URL with another host name (e.g. `localhost`, or a name mapped in the sender's hosts).
    pub fn url_with_host(&self, host: &str, path: &str) -> String {
        format!("{}://{host}:{}{path}", self.scheme, self.port())
    }

    /// The test CA (PEM). Panics for a plain HTTP receiver.
    pub fn ca_pem(&self) -> &str {
        self.ca_pem
            .as_deref()
            .expect("a plain HTTP receiver has no CA")
    }

    /// A temporary file holding the test CA (PEM), deleted with the receiver. Panics for a plain
    /// HTTP receiver.
    pub fn ca_pem_path(&self) -> &Path {
        self.ca_path
            .as_deref()
            .expect("a plain HTTP receiver has no CA")
    }

    /// Points `c`'s webhook delivery here, quickly: this receiver's CA trusted, short retries,
    /// quick polling.
    pub fn deliver_quickly(&self, c: &mut switchboard_gateway::config::Config) {
        c.webhooks.extra_ca_file = self.ca_pem_path().display().to_string();
        c.webhooks.retry_schedule_ms = vec![100; 40];
        c.webhooks.throttle_floor_ms = 100;
        c.webhooks.poll_ms = 50;
        c.webhooks.timeout_ms = 2000;
        c.webhooks.lease_ms = 5000;
    }

    /// Replaces the script: every following request gets `status`.
    pub fn set_status(&self, status: u16) {
        self.set(Respond::status(status));
    }

    /// Replaces the script.
    pub fn set(&self, respond: impl Into<Respond>) {
        *self
            .state
            .respond
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = respond.into();
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn count(&self) -> usize {
        *self.count.borrow()
    }

    /// Waits until at least `n` requests arrived, then returns them all. Panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let mut count = self.count.clone();
        let reached = tokio::time::timeout(timeout, count.wait_for(|c| *c >= n)).await;
        match reached {
            Ok(Ok(guard)) => {
                drop(guard); // the count's read lock, before the list's lock
                self.requests()
            }
            _ => panic!(
                "the receiver got {} request(s) within {timeout:?}, expected {n}",
                self.count()
            ),
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(path) = &self.ca_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, state: Arc<State>) {
    // Connections live in this set: aborting the loop (dropping the receiver) closes them all.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let state = state.clone();
        match &tls {
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    // A client that refuses the certificate ends here; nothing is recorded.
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve(stream, &state).await;
                    }
                });
            }
            None => {
                connections.spawn(async move { serve(stream, &state).await });
            }
        }
    }
}

/// Serves requests on one connection until the client closes it.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut io: S, state: &State) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i;
            }
            if buf.len() > MAX_HEAD || !read_more(&mut io, &mut buf).await {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or_default().split(' ');
        let method = request_line.next().unwrap_or_default().to_string();
        let path = request_line.next().unwrap_or_default().to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let value = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_ascii_lowercase())
        };
        if value("transfer-encoding").is_some() {
            let _ = io
                .write_all(b"HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            return;
        }
        let length: usize = value("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if length > MAX_BODY {
            return;
        }
        let body_start = head_end + 4;
        while buf.len() < body_start + length {
            if !read_more(&mut io, &mut buf).await {
                return;
            }
        }
        let body = buf[body_start..body_start + length].to_vec();
        buf.drain(..body_start + length);
        let close = value("connection").is_some_and(|v| v.contains("close"));

        let reply = state.next_reply();
        state.record(Recorded {
            method,
            path,
            headers,
            body,
            at: SystemTime::now(),
            answered: reply.code(),
        });
        match reply {
            Reply::Hang => {
                // Never answer; wait for the client to give up.
                let mut sink = [0u8; 1024];
                while matches!(io.read(&mut sink).await, Ok(n) if n > 0) {}
                return;
            }
            Reply::Status { status, headers } => {
                let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                for (name, value) in &headers {
                    out.push_str(&format!("{name}: {value}\r\n"));
                }
                out.push_str("content-length: 0\r\n");
                if close {
                    out.push_str("connection: close\r\n");
                }
                out.push_str("\r\n");
                if io.write_all(out.as_bytes()).await.is_err() || io.flush().await.is_err() {
                    return;
                }
                if close {
                    let _ = io.shutdown().await;
                    return;
                }
            }
        }
    }
}

/// Reads more bytes into `buf`; `false` at end of stream or on error.
async fn read_more<S: AsyncRead + Unpin>(io: &mut S, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match io.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_repeat_their_last_reply() {
        let mut respond = Respond::sequence(&[503, 503, 204]);
        let got: Vec<_> = (0..5).map(|_| respond.next().code()).collect();
        assert_eq!(
            got,
            vec![Some(503), Some(503), Some(204), Some(204), Some(204)]
        );
        assert_eq!(Respond::replies(vec![]).next(), Reply::status(204));
        assert_eq!(Respond::hang().next().code(), None);
    }

    #[tokio::test]
    async fn records_requests_and_answers_over_plain_http() {
        let receiver = Receiver::start_http(Reply::retry_after(429, "7")).await;
        let url = receiver.url("/cb?x=1");
        let response = reqwest::Client::new()
            .post(&url)
            .header("X-Thing", "a")
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
        receiver.set_status(204);
        let second = reqwest::Client::new().get(&url).send().await.unwrap();
        assert_eq!(second.status().as_u16(), 204);
        let requests = receiver.wait_for(2, Duration::from_secs(5)).await;
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].path, "/cb?x=1");
        assert_eq!(requests[0].header("x-thing"), Some("a"));
        assert_eq!(requests[0].body, b"hello");
        assert_eq!(requests[0].answered, Some(429));
        assert_eq!(requests[1].method, "GET");
        assert_eq!(requests[1].answered, Some(204));
    }

    #[tokio::test]
    async fn serves_https_with_the_test_ca() {
        let receiver = Receiver::start(204).await;
        let pem = std::fs::read(receiver.ca_pem_path()).unwrap();
        assert_eq!(pem, receiver.ca_pem().as_bytes());
        let ca = reqwest::Certificate::from_pem(&pem).unwrap();
        let client = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        for url in [
            receiver.url("/a"),
            receiver.url_with_host("localhost", "/b"),
        ] {
            let response = client.post(&url).body("{}").send().await.unwrap();
            assert_eq!(response.status().as_u16(), 204, "{url}");
        }
        let paths: Vec<_> = receiver
            .wait_for(2, Duration::from_secs(5))
            .await
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(paths, vec!["/a", "/b"]);
        let path = receiver.ca_pem_path().to_path_buf();
        drop(receiver);
        assert!(!path.exists());
    }

    #[test]
    fn verifies_signatures_as_a_merchant_would() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let now = SystemTime::now();
        let ts = now.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let sig = signing::sign(secret, "evt_1", ts, b"{}").unwrap();
        let mut req = Recorded {
            method: "POST".into(),
            path: "/".into(),
            headers: vec![
                ("webhook-id".into(), "evt_1".into()),
                ("webhook-timestamp".into(), ts.to_string()),
                ("webhook-signature".into(), sig),
            ],
            body: b"{}".to_vec(),
            at: now,
            answered: Some(204),
        };
        assert_eq!(req.verify_signature(secret), Ok(()));
        req.body = b"{ }".to_vec();
        assert_eq!(
            verify_signature(&req, secret),
            Err(SigningError::NoMatchingSignature)
        );
        req.headers.truncate(1);
        assert!(verify_signature(&req, secret).is_err());
    }
}
