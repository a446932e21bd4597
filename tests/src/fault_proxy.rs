//! A TCP fault proxy for the chaos suite: it sits between the gateway and an upstream (an
//! operator, Redis) and, per connection, passes bytes through or breaks the conversation the way
//! networks do — added latency, a reset in the middle of the answer, a blackhole that accepts and
//! never answers, a half-close after the request. The fault can change while connections come and
//! go, so a test switches it under load.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What happens to connections opened from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes pass both ways unchanged.
    None,
    /// The upstream's answer is held back this long before it is passed on.
    Latency(Duration),
    /// The request reaches the upstream; after this many bytes of its answer the client's
    /// connection is reset (RST).
    ResetAfter(usize),
    /// Bytes go nowhere and nothing comes back, as when a NAT or firewall silently drops a flow.
    /// A connection that met the blackhole stays dead after the fault is lifted (TCP never loses
    /// bytes inside a live connection, so it cannot resume); new connections work again.
    Blackhole,
    /// The request reaches the upstream, then the proxy closes its side towards the client without
    /// passing any answer on (the client reads end-of-stream).
    HalfClose,
}

pub struct FaultProxy {
    addr: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let fault = Arc::new(Mutex::new(Fault::None));
        let shared = fault.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream, shared.clone()));
            }
        });
        FaultProxy { addr, fault, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Applies to every byte from now on, on new and on pooled connections alike.
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().expect("fault lock") = fault;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn current(fault: &Mutex<Fault>) -> Fault {
    *fault.lock().expect("fault lock")
}

enum End {
    Close,
    Reset,
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, fault: Arc<Mutex<Fault>>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let end = {
        let (mut client_read, mut client_write) = client.split();
        let (mut server_read, mut server_write) = server.split();
        let dead = std::sync::atomic::AtomicBool::new(false);
        let requests = async {
            let mut buffer = vec![0u8; 16 * 1024];
            loop {
                match client_read.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) if dead.load(Relaxed) || current(&fault) == Fault::Blackhole => {
                        // Swallowed: the upstream never sees it, the client never hears back.
                        dead.store(true, Relaxed);
                    }
                    Ok(n) => {
                        if server_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = server_write.shutdown().await;
            std::future::pending::<End>().await
        };
        let answers = async {
            let mut buffer = vec![0u8; 16 * 1024];
            let mut passed = 0usize;
            loop {
                let n = match server_read.read(&mut buffer).await {
                    Ok(0) | Err(_) => return End::Close,
                    Ok(n) => n,
                };
                if dead.load(Relaxed) {
                    continue;
                }
                let chunk = match current(&fault) {
                    Fault::None => &buffer[..n],
                    Fault::Blackhole => {
                        dead.store(true, Relaxed);
                        continue;
                    }
                    Fault::Latency(delay) => {
                        tokio::time::sleep(delay).await;
                        &buffer[..n]
                    }
                    Fault::HalfClose => {
                        // The upstream answered, so it had the whole request; the client gets
                        // nothing but the end of the stream.
                        let _ = client_write.shutdown().await;
                        return End::Close;
                    }
                    Fault::ResetAfter(limit) => {
                        let room = limit.saturating_sub(passed).min(n);
                        let _ = client_write.write_all(&buffer[..room]).await;
                        return End::Reset;
                    }
                };
                if client_write.write_all(chunk).await.is_err() {
                    return End::Close;
                }
                passed += n;
            }
        };
        tokio::select! {
            end = requests => end,
            end = answers => end,
        }
    };
    if matches!(end, End::Reset) {
        // Closing with a zero linger time sends RST instead of FIN.
        let _ = client.set_zero_linger();
    }
    drop(client);
}
