//! A plain-text response of an exposition whose plain copy is not kept (see
//! [`crate::snapshot::KEEP_PLAIN_UP_TO`]): the cached DEFLATE stream, decompressed chunk by chunk
//! while the response is written, so that the scrape holds one chunk rather than a copy of the whole
//! text, then the process metrics that follow it. Decompressing is cheaper than rendering again,
//! needs no lock, and gives exactly the bytes the gzip scrapes get.

use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use flate2::bufread::DeflateDecoder;
use hyper::body::{Body, Frame, SizeHint};

use crate::snapshot::Pieces;

/// Small enough that a scrape holds no copy of the text, large enough that each frame is worth a
/// write; decompressing one takes ≈ 0.1 ms inside `poll_frame`, short enough not to hold up the other
/// connections on the runtime's thread.
const CHUNK: usize = 64 * 1024;

pub(crate) struct Inflate {
    decoder: DeflateDecoder<bytes::buf::Reader<Pieces>>,
    /// Bytes of the decompressed text still to send.
    remaining: usize,
    /// Sent after the text.
    tail: Bytes,
}

impl Inflate {
    /// `deflate`: the cached raw DEFLATE pieces ended by a final block
    /// ([`crate::snapshot::Exposition::terminated_deflate`]); `plain_len`: the length of its text;
    /// `tail`: what follows the text.
    pub(crate) fn new(deflate: Pieces, plain_len: usize, tail: Bytes) -> Self {
        Inflate { decoder: DeflateDecoder::new(deflate.reader()), remaining: plain_len, tail }
    }
}

impl Body for Inflate {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.remaining == 0 {
            if self.tail.is_empty() {
                return Poll::Ready(None);
            }
            return Poll::Ready(Some(Ok(Frame::data(std::mem::take(&mut self.tail)))));
        }
        let mut chunk = vec![0; self.remaining.min(CHUNK)];
        if let Err(e) = self.decoder.read_exact(&mut chunk) {
            self.remaining = 0;
            self.tail = Bytes::new();
            return Poll::Ready(Some(Err(e)));
        }
        self.remaining -= chunk.len();
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0 && self.tail.is_empty()
    }

    /// Exact, so that the response carries a Content-Length, as one of the kept bytes does.
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact((self.remaining + self.tail.len()) as u64)
    }
}
