//! A response body of a few `Bytes` sent one after the other: the cached exposition and the process
//! metrics that follow it, without joining them into a copy.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// A chunk below this size is copied into a frame with its neighbours.
const SMALL: usize = 16 * 1024;
/// The size of a frame of small chunks.
const FRAME: usize = 64 * 1024;

pub(crate) struct Chunks {
    chunks: VecDeque<Bytes>,
    remaining: u64,
}

impl Chunks {
    /// Small chunks (an exposition kept in many pieces, see `snapshot::parts`) are copied together
    /// into frames of up to [`FRAME`] bytes, so that a response is a few writes, not one per piece;
    /// big ones are sent as they are.
    pub(crate) fn new(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        let mut joined = VecDeque::new();
        let mut small = bytes::BytesMut::new();
        for chunk in chunks.into_iter().filter(|c| !c.is_empty()) {
            if chunk.len() >= SMALL {
                if !small.is_empty() {
                    joined.push_back(small.split().freeze());
                }
                joined.push_back(chunk);
                continue;
            }
            if small.is_empty() {
                small.reserve(FRAME);
            }
            small.extend_from_slice(&chunk);
            if small.len() >= FRAME {
                joined.push_back(small.split().freeze());
            }
        }
        if !small.is_empty() {
            joined.push_back(small.freeze());
        }
        let chunks = joined;
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Chunks { chunks, remaining }
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.chunks.pop_front().map(|chunk| {
            self.remaining -= chunk.len() as u64;
            Ok(Frame::data(chunk))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Exact, so that the response carries a Content-Length, as one of the `Bytes` alone does.
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
