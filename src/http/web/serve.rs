//! Serving the router: one accept loop for plain HTTP and TLS (tokio-rustls) over hyper's HTTP/1.1
//! server, with basic auth and headers as a middleware when a web config is given. The loop bounds
//! what a client can hold: a number of open connections, the time to send a request's headers, and
//! their size.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::{WebConfig, auth};

/// A TLS handshake that takes longer than this is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections get this long to finish after shutdown is asked for.
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
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits { max_connections: 512, header_read_timeout: Duration::from_secs(10) }
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
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
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
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            // Released when this task ends, after the connection is closed.
            let _slot = slot;
            let Some(tls) = tls else {
                return serve_connection(tcp, service, watcher, limits, peer).await;
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await {
                Ok(Ok(stream)) => serve_connection(stream, service, watcher, limits, peer).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::debug!("connections still open at shutdown were closed");
    }
}

async fn serve_connection<S>(
    stream: S,
    service: TowerToHyperService<Router>,
    watcher: hyper_util::server::graceful::Watcher,
    limits: ConnectionLimits,
    peer: std::net::SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).max_buf_size(MAX_REQUEST_HEAD);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
    }
}
