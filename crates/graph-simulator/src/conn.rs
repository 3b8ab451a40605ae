//! Connection-level faults. A handler cannot make hyper drop a connection or stop half-way through
//! a body, so the simulator wraps each accepted socket: the handler gets a [`ConnTap`] for its
//! connection (through axum's `ConnectInfo`) and can arm it to reset the connection instead of
//! answering, or to let the response head and only part of the body through.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::faults::lock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pass,
    /// Fail every operation and reset the socket (RST) when it is dropped.
    Reset,
    /// Let the response head through, then `body_budget` body bytes, then fail.
    Truncate {
        head_done: bool,
        tail: u32,
        body_budget: usize,
    },
    /// The connection has been cut.
    Dead,
}

/// A handle on one accepted connection, given to handlers as `ConnectInfo<ConnTap>`.
#[derive(Debug, Clone)]
pub(crate) struct ConnTap {
    mode: Arc<Mutex<Mode>>,
}

impl ConnTap {
    fn new() -> Self {
        ConnTap { mode: Arc::new(Mutex::new(Mode::Pass)) }
    }

    /// Drop the connection without answering: whatever the handler returns is never written.
    pub(crate) fn reset(&self) {
        *lock(&self.mode) = Mode::Reset;
    }

    /// Let the next response head and only `body_bytes` of its body through, then cut.
    pub(crate) fn truncate_body_after(&self, body_bytes: usize) {
        *lock(&self.mode) = Mode::Truncate { head_done: false, tail: 0, body_budget: body_bytes };
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnTap {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// The TCP listener the simulator serves on.
pub(crate) struct SimListener {
    pub(crate) inner: TcpListener,
}

impl Listener for SimListener {
    type Io = SimStream;
    type Addr = ConnTap;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let tap = ConnTap::new();
                    let io = SimStream { inner: stream, mode: tap.mode.clone() };
                    return (io, tap);
                }
                // Out of file descriptors and similar: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr().map(|_: SocketAddr| ConnTap::new())
    }
}

/// An accepted socket whose behaviour its [`ConnTap`] can change.
pub(crate) struct SimStream {
    inner: TcpStream,
    mode: Arc<Mutex<Mode>>,
}

impl SimStream {
    fn cut(&self, mode: &mut Mode) -> io::Error {
        if *mode == Mode::Reset {
            // Zero linger turns the close into an RST, like a load balancer dropping the flow.
            let _ = self.inner.set_zero_linger();
        }
        *mode = Mode::Dead;
        io::Error::new(io::ErrorKind::ConnectionReset, "simulated connection fault")
    }
}

/// How many of `buf` may pass in truncate mode, and the state after passing them.
fn truncate_admit(mut head_done: bool, mut tail: u32, mut budget: usize, buf: &[u8]) -> (usize, bool, u32, usize) {
    let mut n = 0;
    for &b in buf {
        if !head_done {
            tail = (tail << 8) | u32::from(b);
            head_done = tail == u32::from_be_bytes(*b"\r\n\r\n");
        } else if budget > 0 {
            budget -= 1;
        } else {
            break;
        }
        n += 1;
    }
    (n, head_done, tail, budget)
}

impl AsyncRead for SimStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        {
            let mut mode = lock(&this.mode);
            if matches!(*mode, Mode::Reset | Mode::Dead) {
                return Poll::Ready(Err(this.cut(&mut mode)));
            }
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mode = *lock(&this.mode);
        match mode {
            Mode::Pass => Pin::new(&mut this.inner).poll_write(cx, buf),
            Mode::Reset | Mode::Dead => {
                let mut m = lock(&this.mode);
                Poll::Ready(Err(this.cut(&mut m)))
            }
            Mode::Truncate { head_done, tail, body_budget } => {
                let (allowed, ..) = truncate_admit(head_done, tail, body_budget, buf);
                if allowed == 0 && !buf.is_empty() {
                    let mut m = lock(&this.mode);
                    return Poll::Ready(Err(this.cut(&mut m)));
                }
                match Pin::new(&mut this.inner).poll_write(cx, &buf[..allowed]) {
                    Poll::Ready(Ok(n)) => {
                        let (_, h, t, b) = truncate_admit(head_done, tail, body_budget, &buf[..n]);
                        *lock(&this.mode) = Mode::Truncate { head_done: h, tail: t, body_budget: b };
                        Poll::Ready(Ok(n))
                    }
                    other => other,
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_body_bytes_after_the_head() {
        let msg = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789";
        let head = msg.len() - 10;
        let (n, done, _, left) = truncate_admit(false, 0, 5, msg);
        assert_eq!((n, done, left), (head + 5, true, 0));
        // Split writes carry the state over.
        let (n1, d1, t1, b1) = truncate_admit(false, 0, 5, &msg[..head - 2]);
        assert_eq!((n1, d1), (head - 2, false));
        let (n2, d2, _, b2) = truncate_admit(d1, t1, b1, &msg[head - 2..]);
        assert_eq!((n2, d2, b2), (7, true, 0));
    }
}
