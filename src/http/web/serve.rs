//! Serving the router: one accept loop for plain HTTP and TLS (tokio-rustls) over hyper's HTTP/1.1
//! server, with basic auth and headers as a middleware when a web config is given. The loop bounds
//! what a client can hold: a number of open connections, the time to send a request's headers, and
//! their size, the time an answer may wait for a client that does not read it, and the age of a
//! connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;

use super::{WebConfig, auth};

/// A TLS handshake that takes longer than this is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections get this long to finish their answer after shutdown is asked for, or after they
/// reached their maximum age; then they are closed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line and headers) read; a scrape needs well under 1 KiB, and hyper
/// refuses less than 8 KiB.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// What one client can hold of the server.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at once (`--web.max-connections`); further clients wait in the listen
    /// backlog until one closes, as with Prometheus' flag of the same name.
    pub max_connections: usize,
    /// Time a connection gets to send a complete request head, and the most an idle keep-alive
    /// connection is kept: a client that trickles bytes is disconnected.
    pub header_read_timeout: Duration,
    /// Most time a write may make no progress: a client that stops reading its answers (or
    /// pipelines requests and never reads) is disconnected rather than holding its slot forever.
    pub write_timeout: Duration,
    /// Age after which a connection is closed once its current answer is sent (at most
    /// `DRAIN_TIMEOUT` later): a client reading slowly but steadily cannot hold a slot for good.
    /// Scrapers simply open a new connection.
    pub max_connection_age: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_connection_age: Duration::from_secs(600),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, with the web config's basic auth,
/// headers and TLS when given.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    web: Option<WebConfig>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (router, tls) = match web {
        None => (router, None),
        Some(web) => {
            let router = router.layer(axum::middleware::from_fn_with_state(web.guard.clone(), auth::middleware));
            (router, web.tls.map(TlsAcceptor::from))
        }
    };
    accept_loop(listener, router, tls, limits, shutdown).await;
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    // Every connection task holds a slot until it ends, so all slots free means all connections closed.
    let max = limits.max_connections.clamp(1, u32::MAX as usize);
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: at the limit, new clients wait in the kernel's backlog rather than being
        // accepted and left without an answer.
        let slot = tokio::select! {
            _ = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // E.g. too many open files: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // A response is written in one go; Nagle's algorithm would only hold back its last segment
        // until the client acknowledges the previous ones.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(router.clone());
        let stopping = stopping.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            // Released when this task ends, after the connection is closed.
            let _slot = slot;
            // Below TLS, so that its handshake and its records are bounded too.
            let tcp = WriteTimeout::new(tcp, limits.write_timeout);
            let Some(tls) = tls else {
                return serve_connection(tcp, service, stopping, limits, peer).await;
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await {
                Ok(Ok(stream)) => serve_connection(stream, service, stopping, limits, peer).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Each connection closes by DRAIN_TIMEOUT on its own; the margin covers the last scheduling.
    let all_closed = slots.acquire_many(max as u32);
    if tokio::time::timeout(DRAIN_TIMEOUT + Duration::from_secs(1), all_closed).await.is_err() {
        tracing::debug!("connections still open at shutdown were left to close");
    }
}

/// Serves one connection until the client closes it, it fails (a timeout included), or it is closed:
/// at shutdown or at its maximum age it finishes the answer in progress, with `DRAIN_TIMEOUT` to do so.
async fn serve_connection<S>(
    stream: S,
    service: TowerToHyperService<Router>,
    mut stopping: watch::Receiver<bool>,
    limits: ConnectionLimits,
    peer: std::net::SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).max_buf_size(MAX_REQUEST_HEAD);
    let mut conn = std::pin::pin!(builder.serve_connection(TokioIo::new(stream), service));
    let now = Instant::now();
    let mut old = std::pin::pin!(tokio::time::sleep_until(later(now, limits.max_connection_age)));
    let mut cut =
        std::pin::pin!(tokio::time::sleep_until(later(now, limits.max_connection_age.saturating_add(DRAIN_TIMEOUT))));
    let mut closing = false;
    let result = loop {
        tokio::select! {
            result = conn.as_mut() => break result,
            _ = stopping.wait_for(|&stop| stop), if !closing => {}
            _ = &mut old, if !closing => {}
            _ = &mut cut => {
                tracing::debug!(%peer, "HTTP connection closed: its answer was not finished in time");
                return;
            }
        }
        conn.as_mut().graceful_shutdown();
        cut.as_mut().reset(later(Instant::now(), DRAIN_TIMEOUT));
        closing = true;
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
    }
}

/// `now + d`, or far in the future where that cannot be represented.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// A stream whose writes (and flushes and shutdown) fail with `TimedOut` once they made no progress
/// for `timeout`; hyper then closes the connection. Reads pass through.
struct WriteTimeout<S> {
    inner: S,
    timeout: Duration,
    /// Armed by a write that has to wait; cleared by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteTimeout<S> {
    fn new(inner: S, timeout: Duration) -> Self {
        WriteTimeout { inner, timeout, stalled: None }
    }

    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let timeout = self.timeout;
        let stalled =
            self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(later(Instant::now(), timeout))));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing for {}", humantime::format_duration(timeout)),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, poll)
    }
}
