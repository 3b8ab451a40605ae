//! The cached exposition: compressed, as Prometheus asks for gzip, and while it is small also as
//! plain text. The compressed copy is made of pieces that [`super::parts`] compresses once per change
//! of their own text and joins per change; every scrape then only copies them (a reference-count
//! increment of each `Bytes`) and appends a small [`Suffix`], the process metrics, which change at
//! every scrape. The plain copy, while it is kept, is decompressed from them by the first plain read
//! after a change.
//!
//! The compressed copy is not a gzip file but raw DEFLATE (RFC 1951) of the text in pieces, each
//! compressed on its own and ended by a sync flush (an empty stored block: byte-aligned, not final),
//! with the text's CRC-32 combined from theirs. A gzip response is then one ordinary gzip member
//! (RFC 1952): a 10-byte header, the cached pieces one after the other, the suffix compressed on its
//! own and ended by a final block, and a trailer whose CRC-32 is the cached one continued over the
//! suffix. This is how pigz joins independently compressed blocks; every gzip decoder reads it as one
//! stream, and no cached piece is copied or compressed again.

use std::io::{self, Read, Write};
use std::sync::{Arc, OnceLock};

use bytes::{Buf, Bytes};
use flate2::Compression;
use flate2::bufread::DeflateDecoder;
use flate2::write::DeflateEncoder;

#[cfg(test)]
use super::render::Families;

/// Above this size only the compressed copy is kept. The plain text is ≈ 58 kB per tenant with the
/// default breakdowns and compresses about 18-fold, so at 1000 tenants it is 58 MB of a 64 MiB RSS
/// budget against 3.3 MB compressed. Up to 4 MiB (≈ 85 tenants) keeping it costs at most 4 MiB and
/// spares plain-text scrapes (curl, load tests) any work; above, those are rare (Prometheus asks for
/// gzip) and pay a decompression per request instead.
pub const KEEP_PLAIN_UP_TO: usize = 4 * 1024 * 1024;

/// The fastest level: it runs at the first scrape after every change, over the whole exposition, and
/// with many tenants nearly every scrape follows a change. On 100 tenants' 5.1 MB (`gzip/*` in
/// benches/exporter.rs, BENCHMARKS.md) it makes 276 kB in 7.9 ms; the default level 177 kB in 60 ms,
/// 7.6 × the CPU to save ≈ 1 MB of RSS at 1000 tenants.
const LEVEL: Compression = Compression::fast();

/// ID1 ID2, CM = deflate, no flags, no modification time, no extra flags, OS unknown: what flate2's
/// `GzEncoder` writes.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

pub struct Exposition {
    /// The text as raw DEFLATE in pieces, each ended by a sync flush (see the module's
    /// documentation): one piece after a full render, a family's cached parts joined by
    /// [`super::parts`] otherwise. Shared with the part cache, never copied.
    deflate: Vec<Arc<[Bytes]>>,
    /// The CRC-32 of the text, continued over the suffix in a gzip response's trailer.
    crc: u32,
    /// Up to `keep_plain_up_to` bytes of text, the plain copy: made by the first plain read after
    /// the change, then kept. `None` in the cell above it.
    plain: OnceLock<Option<Bytes>>,
    keep_plain_up_to: usize,
    plain_len: usize,
}

impl Exposition {
    /// Joins and compresses a full render, keeping the plain text too up to `keep_plain_up_to` bytes
    /// ([`KEEP_PLAIN_UP_TO`] but in tests). A bigger one is written straight into the compressor, so
    /// that no joined copy of its text is ever made.
    #[cfg(test)]
    pub(super) fn new(families: Families, keep_plain_up_to: usize) -> Self {
        let plain_len = families.len();
        if plain_len <= keep_plain_up_to {
            let plain = families.encode();
            drop(families);
            let (deflate, crc) = compress(plain_len, LEVEL, |w| w.write_all(&plain));
            let e = Exposition::from_pieces(vec![Arc::from([deflate])], crc, plain_len, keep_plain_up_to);
            let _ = e.plain.set(Some(Bytes::from(plain)));
            e
        } else {
            let (deflate, crc) = compress(plain_len, LEVEL, |w| families.write_to(w));
            Exposition::from_pieces(vec![Arc::from([deflate])], crc, plain_len, keep_plain_up_to)
        }
    }

    /// The text made of `deflate`'s pieces in order (each a raw DEFLATE stream ended by a sync
    /// flush, see [`compress`]), whose CRC-32 is `crc` over `plain_len` bytes.
    pub(super) fn from_pieces(deflate: Vec<Arc<[Bytes]>>, crc: u32, plain_len: usize, keep_plain_up_to: usize) -> Self {
        Exposition { deflate, crc, plain: OnceLock::new(), keep_plain_up_to, plain_len }
    }

    /// An empty exposition, before the first render.
    pub(super) fn empty() -> Self {
        let (deflate, crc) = compress_piece(b"", LEVEL);
        Exposition::from_pieces(vec![Arc::from([deflate])], crc, 0, KEEP_PLAIN_UP_TO)
    }

    /// A gzip response (RFC 1952) of the exposition followed by `suffix`, in pieces that share the
    /// cached bytes: the header, the cached DEFLATE pieces, the suffix's and the trailer (CRC-32 and
    /// length of the whole text).
    pub(crate) fn gzip_chunks(&self, suffix: &Suffix) -> Vec<Bytes> {
        let mut crc = crc32fast::Hasher::new_with_initial_len(self.crc, self.plain_len as u64);
        crc.update(&suffix.plain);
        let mut trailer = [0; 8];
        trailer[..4].copy_from_slice(&crc.finalize().to_le_bytes());
        // ISIZE: the length modulo 2^32.
        trailer[4..].copy_from_slice(&((self.plain_len + suffix.plain.len()) as u32).to_le_bytes());
        let mut chunks = Vec::with_capacity(self.deflate.iter().map(|p| p.len()).sum::<usize>() + 3);
        chunks.push(Bytes::from_static(&GZIP_HEADER));
        chunks.extend(self.deflate.iter().flat_map(|p| p.iter().cloned()));
        chunks.push(suffix.deflate.clone());
        chunks.push(Bytes::copy_from_slice(&trailer));
        chunks
    }

    /// The plain text, when it is kept (up to [`KEEP_PLAIN_UP_TO`]); the first call after a change
    /// decompresses it.
    pub fn plain_cached(&self) -> Option<Bytes> {
        self.plain.get_or_init(|| (self.plain_len <= self.keep_plain_up_to).then(|| self.inflate())).clone()
    }

    /// The cached raw DEFLATE pieces joined (a copy, for tests), not ended by a final block: a
    /// reader stops after [`Exposition::plain_len`] bytes of text.
    pub fn deflate(&self) -> Bytes {
        self.deflate.iter().flat_map(|p| p.iter()).flat_map(|c| c.iter().copied()).collect()
    }

    pub fn plain_len(&self) -> usize {
        self.plain_len
    }

    /// The cached pieces ended by an empty final block, for decoders: without one, a decoder that
    /// reaches the end of its input may refuse to hand out the text it still holds ("incomplete
    /// deflate stream"), depending on where its buffers end. Every piece is byte-aligned (it ends
    /// with a sync flush), so the five bytes of an empty stored block end it (RFC 1951, 3.2.4).
    pub(crate) fn terminated_deflate(&self) -> Pieces {
        let mut chunks: std::collections::VecDeque<Bytes> =
            self.deflate.iter().flat_map(|p| p.iter().cloned()).filter(|c| !c.is_empty()).collect();
        chunks.push_back(Bytes::from_static(&EMPTY_FINAL_BLOCK));
        Pieces { chunks }
    }

    fn inflate(&self) -> Bytes {
        let mut text = vec![0; self.plain_len];
        DeflateDecoder::new(self.terminated_deflate().reader())
            .read_exact(&mut text)
            .expect("the cached stream decompresses");
        Bytes::from(text)
    }

    /// The plain text in one buffer, decompressed if it is not kept. For callers that need it whole
    /// (`--once`, tests); HTTP responses decompress it as they are sent.
    pub(crate) fn plain(&self) -> Bytes {
        self.plain_cached().unwrap_or_else(|| self.inflate())
    }
}

const EMPTY_FINAL_BLOCK: [u8; 5] = [0x01, 0x00, 0x00, 0xff, 0xff];

/// A DEFLATE stream in pieces, read as one buffer ([`Exposition::terminated_deflate`]).
pub struct Pieces {
    chunks: std::collections::VecDeque<Bytes>,
}

impl Buf for Pieces {
    fn remaining(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum()
    }

    fn chunk(&self) -> &[u8] {
        self.chunks.front().map_or(&[], |c| &c[..])
    }

    fn advance(&mut self, mut cnt: usize) {
        while cnt > 0 {
            let front = self.chunks.front_mut().expect("advance within the remaining bytes");
            let n = cnt.min(front.len());
            front.advance(n);
            cnt -= n;
            if front.is_empty() {
                self.chunks.pop_front();
            }
        }
    }
}

/// Compresses one piece of text on its own: raw DEFLATE ended by a sync flush, and its CRC-32.
fn compress_piece(text: &[u8], level: Compression) -> (Bytes, u32) {
    compress(text.len(), level, |w| w.write_all(text))
}

/// The text of one piece made by [`compress_piece`].
pub(super) fn inflate_piece(deflate: &Bytes, len: usize) -> Vec<u8> {
    let mut text = vec![0; len];
    DeflateDecoder::new(deflate.clone().chain(Bytes::from_static(&EMPTY_FINAL_BLOCK)).reader())
        .read_exact(&mut text)
        .expect("a cached piece decompresses");
    text
}

/// Text that follows the cached exposition in every response (the process metrics): plain, and
/// compressed on its own into DEFLATE ended by a final block.
pub struct Suffix {
    plain: Bytes,
    deflate: Bytes,
}

impl Suffix {
    pub(crate) fn new(plain: Bytes) -> Self {
        let mut encoder = DeflateEncoder::new(Vec::with_capacity(plain.len() / 2 + 64), LEVEL);
        encoder.write_all(&plain).expect("writing to a Vec cannot fail");
        let deflate = Bytes::from(encoder.finish().expect("writing to a Vec cannot fail"));
        Suffix { plain, deflate }
    }

    #[cfg(test)]
    pub(crate) fn empty() -> Self {
        Suffix::new(Bytes::new())
    }

    pub(crate) fn plain(&self) -> Bytes {
        self.plain.clone()
    }
}

/// Computes the CRC-32 of what is written through it.
struct Crc32<W> {
    inner: W,
    hasher: crc32fast::Hasher,
}

impl<W: Write> Write for Crc32<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The text's raw DEFLATE stream, ended by a sync flush rather than a final block, and its CRC-32.
///
/// Driven through flate2's `Compress` directly rather than its `write::DeflateEncoder`: that
/// writer's `flush` can stop before a sync flush is complete when its output buffer fills, and the
/// cached stream then lacked the end of the text (seen with texts of a few MB). Here each call gets
/// room, and the flush is repeated until it leaves room unused, which zlib's contract says means done.
fn compress(
    plain_len: usize,
    level: Compression,
    write: impl FnOnce(&mut Crc32<StreamCompressor>) -> io::Result<()>,
) -> (Bytes, u32) {
    // The fast level makes about an 18th of the text; a 16th leaves room without a regrowth.
    let compressor =
        StreamCompressor { state: flate2::Compress::new(level, false), out: Vec::with_capacity(plain_len / 16 + 64) };
    let mut w = Crc32 { inner: compressor, hasher: crc32fast::Hasher::new() };
    write(&mut w).expect("writing to a Vec cannot fail");
    w.inner.sync_flush();
    let mut deflate = w.inner.out;
    // `Bytes::from(Vec)` keeps the whole allocation: give back what the growth overshot.
    deflate.shrink_to_fit();
    (Bytes::from(deflate), w.hasher.finalize())
}

/// Raw DEFLATE into a growing `Vec`, for [`compress`].
struct StreamCompressor {
    state: flate2::Compress,
    out: Vec<u8>,
}

impl StreamCompressor {
    /// Ends the stream with a sync flush (all the text, then an empty stored block: byte-aligned and
    /// open for more blocks) and returns it.
    fn sync_flush(&mut self) {
        loop {
            self.out.reserve(64 * 1024);
            self.state
                .compress_vec(&[], &mut self.out, flate2::FlushCompress::Sync)
                .expect("flushing a raw deflate stream cannot fail");
            if self.out.len() < self.out.capacity() {
                return;
            }
        }
    }
}

/// Compresses pieces of text one after the other, each on its own (raw DEFLATE ended by a sync
/// flush, see [`compress`]), reusing one compressor and one output buffer: a compressor's state is a
/// few hundred kB, more than most pieces, and would otherwise be allocated and faulted in per piece.
pub(super) struct PieceCompressor(StreamCompressor);

impl PieceCompressor {
    pub(super) fn new(level: Compression) -> Self {
        PieceCompressor(StreamCompressor { state: flate2::Compress::new(level, false), out: Vec::new() })
    }

    /// The piece's DEFLATE in a buffer of its own size, and its CRC-32.
    pub(super) fn compress(&mut self, text: &[u8]) -> (Bytes, u32) {
        self.0.state.reset();
        self.0.out.clear();
        self.0.write_all(text).expect("writing to a Vec cannot fail");
        self.0.sync_flush();
        let deflate = Bytes::copy_from_slice(&self.0.out);
        if self.0.out.capacity() > 1024 * 1024 {
            // A huge piece (a tenant with thousands of series): do not keep its buffer.
            self.0.out = Vec::new();
        }
        (deflate, crc32fast::hash(text))
    }
}

impl Write for StreamCompressor {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let before = self.state.total_in();
        while self.state.total_in() - before < buf.len() as u64 {
            let consumed = (self.state.total_in() - before) as usize;
            // Room for the worst case of stored blocks, so each call can take all of its input.
            self.out.reserve(buf.len() - consumed + 1024);
            self.state
                .compress_vec(&buf[consumed..], &mut self.out, flate2::FlushCompress::None)
                .map_err(io::Error::other)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use flate2::read::GzDecoder;

    use super::*;

    /// The whole gzip response, the chunks joined.
    fn gzip(e: &Exposition, suffix: &Suffix) -> Bytes {
        let mut gzip = bytes::BytesMut::new();
        for chunk in e.gzip_chunks(suffix) {
            gzip.extend_from_slice(&chunk);
        }
        gzip.freeze()
    }
    use crate::snapshot::BuildInfo;
    use crate::snapshot::render::render_families;
    use crate::snapshot::render::tests::{loaded, tenant_with};

    fn families() -> Families {
        let methods = BTreeMap::from([("email".to_string(), 2), ("fido2SecurityKey".to_string(), 1)]);
        render_families(&BuildInfo { version: "v", revision: "r" }, &loaded(), &[tenant_with(methods)])
    }

    /// Decompresses with flate2's standard gzip reader, which checks the header, the CRC-32 and the
    /// length in the trailer, and that nothing follows the member.
    fn gunzip(gzip: &[u8]) -> io::Result<Vec<u8>> {
        let mut text = Vec::new();
        GzDecoder::new(gzip).read_to_end(&mut text)?;
        Ok(text)
    }

    fn process_suffix() -> Suffix {
        let text = "# HELP process_threads Number of OS threads in the process.\n\
                    # TYPE process_threads gauge\nprocess_threads 7\n";
        Suffix::new(Bytes::from(text.repeat(20)))
    }

    fn joined(a: &[u8], b: &Suffix) -> Vec<u8> {
        [a, &b.plain()[..]].concat()
    }

    /// The response for `suffix` is one standard gzip member giving the text and then the suffix.
    fn assert_gzip_of(e: &Exposition, text: &[u8]) {
        for suffix in [Suffix::empty(), process_suffix()] {
            let gzip = gzip(e, &suffix);
            assert_eq!(&gzip[..10], GZIP_HEADER);
            assert_eq!(gunzip(&gzip).unwrap(), joined(text, &suffix));
            // The pieces share the cached stream rather than copying it.
            let chunks = e.gzip_chunks(&suffix);
            assert_eq!(chunks[1].as_ptr(), e.deflate[0][0].as_ptr());
            assert_eq!(chunks.iter().map(Bytes::len).sum::<usize>(), gzip.len());
        }
    }

    #[test]
    fn a_small_exposition_keeps_both_copies_of_the_same_text() {
        let text = families().encode();
        assert!(text.starts_with(b"# HELP "));
        let e = Exposition::new(families(), KEEP_PLAIN_UP_TO);
        assert_eq!(e.plain_cached().as_deref(), Some(&text[..]));
        assert_eq!(e.plain_len(), text.len());
        assert_gzip_of(&e, &text);
        let gzip = gzip(&e, &Suffix::empty());
        assert!(gzip.len() < text.len() / 3, "{} of {} bytes", gzip.len(), text.len());
    }

    #[test]
    fn a_big_exposition_keeps_only_the_compressed_copy_and_gives_back_the_same_text() {
        let text = families().encode();
        // Over the limit by one byte: the plain text is written into the compressor, never joined.
        let e = Exposition::new(families(), text.len() - 1);
        assert_eq!(e.plain_cached(), None);
        assert_eq!(e.plain_len(), text.len());
        assert_gzip_of(&e, &text);
        assert_eq!(e.plain(), text);
        // At the limit exactly, both are kept.
        assert!(Exposition::new(families(), text.len()).plain_cached().is_some());
    }

    #[test]
    fn the_exposition_before_the_first_render_is_empty_and_its_gzip_valid() {
        let e = Exposition::empty();
        assert_eq!(e.plain(), Bytes::new());
        assert_gzip_of(&e, b"");
    }

    #[test]
    fn the_cached_stream_is_left_open_and_the_suffix_ends_it() {
        let text = families().encode();
        let e = Exposition::new(families(), KEEP_PLAIN_UP_TO);
        // A sync flush ends on an empty stored block: 00 00 ff ff after the block header bits.
        let piece = &e.deflate[0][0];
        assert_eq!(&piece[piece.len() - 4..], [0, 0, 0xff, 0xff]);
        // The suffix's stream alone is a complete DEFLATE stream of the suffix.
        let suffix = process_suffix();
        let mut alone = Vec::new();
        DeflateDecoder::new(&suffix.deflate[..]).read_to_end(&mut alone).unwrap();
        assert_eq!(alone, suffix.plain());
        assert!(suffix.deflate.len() < suffix.plain.len() / 4, "the repeated text compresses");
        assert_eq!(gunzip(&gzip(&e, &suffix)).unwrap(), joined(&text, &suffix));
    }

    #[test]
    fn a_wrong_trailer_is_refused_so_the_trailer_is_checked() {
        let e = Exposition::new(families(), KEEP_PLAIN_UP_TO);
        let suffix = process_suffix();
        let good = gzip(&e, &suffix);
        let n = good.len();
        for at in [n - 8, n - 5, n - 4, n - 1] {
            let mut bad = good.to_vec();
            bad[at] ^= 1;
            assert!(gunzip(&bad).is_err(), "byte {at} of the trailer changed");
        }
        // The CRC-32 of the suffix alone (not continued from the exposition's) is refused too.
        let mut bad = good.to_vec();
        bad[n - 8..n - 4].copy_from_slice(&crc32fast::hash(&suffix.plain).to_le_bytes());
        assert!(gunzip(&bad).is_err());
    }
}

#[cfg(test)]
mod stream_end_tests {
    use super::*;

    /// The cached stream carries the whole text at every size: flate2's writer, used before, could
    /// end its sync flush early when its buffer filled, and some texts of a few MB came back short.
    /// Texts of many sizes up to 5 MB, cut from one exposition-like text, one of them a length the old
    /// writer failed on.
    #[test]
    fn the_cached_stream_decompresses_whole_at_every_size() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut text = Vec::new();
        while text.len() < 5_000_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let line = format!(
                "entra_authmethods_x{{tenant=\"t{}\",method=\"m{}\"}} {}\n",
                state % 97,
                state % 13,
                state % 100_003
            );
            text.extend_from_slice(line.as_bytes());
        }
        // 4,410,537 bytes of this text came back 1,514 bytes short from the old writer.
        let lengths = (1..=24u64).map(|round| (round * 2_654_435_761 % 5_000_000) as usize);
        for len in lengths.chain([4_410_537]) {
            let cut = &text[..len];
            let (deflate, crc) = compress(len, LEVEL, |w| w.write_all(cut));
            assert_eq!(crc, crc32fast::hash(cut));
            let e = Exposition::from_pieces(vec![Arc::from([deflate])], crc, len, 0);
            assert!(e.plain().as_ref() == cut, "{len} bytes");
        }
    }
}
