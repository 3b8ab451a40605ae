//! The cached exposition: gzip-compressed, as Prometheus asks for it, and while it is small also as
//! plain text. Both are made once per change, by the first scrape after it; every scrape then only
//! copies one of them (a reference-count increment of the `Bytes`).

use std::io::{self, Read, Write};

use bytes::{Buf, Bytes};
use flate2::Compression;
use flate2::bufread::GzDecoder;
use flate2::write::GzEncoder;

use super::render::Families;

/// Above this size only the gzip copy is kept. The plain text is ≈ 48 kB per tenant with the default
/// breakdowns and compresses about 18-fold, so at 1000 tenants it is 48 MB of a 64 MiB RSS budget
/// against 2.6 MB compressed. Up to 4 MiB (≈ 85 tenants) keeping it costs at most 4 MiB and spares
/// plain-text scrapes (curl, load tests) any work; above, those are rare (Prometheus asks for gzip)
/// and pay a decompression per request instead.
pub const KEEP_PLAIN_UP_TO: usize = 4 * 1024 * 1024;

/// The fastest level: it runs at the first scrape after every change, over the whole exposition, and
/// with many tenants nearly every scrape follows a change. On 100 tenants' 5.1 MB (`gzip/*` in
/// benches/exporter.rs, BENCHMARKS.md) it makes 276 kB in 7.9 ms; the default level 177 kB in 60 ms,
/// 7.6 × the CPU to save ≈ 1 MB of RSS at 1000 tenants.
const LEVEL: Compression = Compression::fast();

pub struct Exposition {
    gzip: Bytes,
    /// `None` above [`KEEP_PLAIN_UP_TO`].
    plain: Option<Bytes>,
    plain_len: usize,
}

impl Exposition {
    /// Joins and compresses a render, keeping the plain text too up to `keep_plain_up_to` bytes
    /// ([`KEEP_PLAIN_UP_TO`] but in tests). A bigger one is written straight into the compressor, so
    /// that no joined copy of its text is ever made.
    pub(super) fn new(families: Families, keep_plain_up_to: usize) -> Self {
        let plain_len = families.len();
        if plain_len <= keep_plain_up_to {
            let plain = families.encode();
            drop(families);
            let gzip = compress(plain_len, |w| w.write_all(&plain));
            Exposition { gzip, plain: Some(Bytes::from(plain)), plain_len }
        } else {
            let gzip = compress(plain_len, |w| families.write_to(w));
            Exposition { gzip, plain: None, plain_len }
        }
    }

    /// An empty exposition (valid gzip included), before the first render.
    pub(super) fn empty() -> Self {
        Exposition { gzip: compress(0, |_| Ok(())), plain: Some(Bytes::new()), plain_len: 0 }
    }

    /// The gzip-compressed exposition (RFC 1952).
    pub fn gzip(&self) -> Bytes {
        self.gzip.clone()
    }

    /// The plain text, when it is kept (up to [`KEEP_PLAIN_UP_TO`]).
    pub fn plain_cached(&self) -> Option<Bytes> {
        self.plain.clone()
    }

    pub fn plain_len(&self) -> usize {
        self.plain_len
    }

    /// The plain text in one buffer, decompressed if it is not kept. For callers that need it whole
    /// (`--once`, tests); HTTP responses decompress it as they are sent.
    pub fn plain(&self) -> Bytes {
        if let Some(plain) = &self.plain {
            return plain.clone();
        }
        let mut text = Vec::with_capacity(self.plain_len);
        GzDecoder::new(self.gzip.clone().reader()).read_to_end(&mut text).expect("the cached gzip decompresses");
        Bytes::from(text)
    }
}

fn compress(plain_len: usize, write: impl FnOnce(&mut GzEncoder<Vec<u8>>) -> io::Result<()>) -> Bytes {
    // The fast level makes about an 18th of the text; a 16th leaves room without a regrowth.
    let mut encoder = GzEncoder::new(Vec::with_capacity(plain_len / 16 + 64), LEVEL);
    write(&mut encoder).expect("writing to a Vec cannot fail");
    let mut gzip = encoder.finish().expect("writing to a Vec cannot fail");
    // `Bytes::from(Vec)` keeps the whole allocation: give back what the growth overshot.
    gzip.shrink_to_fit();
    Bytes::from(gzip)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::snapshot::BuildInfo;
    use crate::snapshot::render::render_families;
    use crate::snapshot::render::tests::{loaded, tenant_with};

    fn families() -> Families {
        let methods = BTreeMap::from([("email".to_string(), 2), ("fido2SecurityKey".to_string(), 1)]);
        render_families(&BuildInfo { version: "v", revision: "r" }, &loaded(), &[tenant_with(methods)])
    }

    fn gunzip(gzip: &[u8]) -> Vec<u8> {
        let mut text = Vec::new();
        GzDecoder::new(gzip).read_to_end(&mut text).unwrap();
        text
    }

    #[test]
    fn a_small_exposition_keeps_both_copies_of_the_same_text() {
        let text = families().encode();
        assert!(text.starts_with(b"# HELP "));
        let e = Exposition::new(families(), KEEP_PLAIN_UP_TO);
        assert_eq!(e.plain_cached().as_deref(), Some(&text[..]));
        assert_eq!(e.plain_len(), text.len());
        assert_eq!(gunzip(&e.gzip()), text);
        assert!(e.gzip().len() < text.len() / 3, "{} of {} bytes", e.gzip().len(), text.len());
    }

    #[test]
    fn a_big_exposition_keeps_only_the_gzip_copy_and_gives_back_the_same_text() {
        let text = families().encode();
        // Over the limit by one byte: the plain text is written into the compressor, never joined.
        let e = Exposition::new(families(), text.len() - 1);
        assert_eq!(e.plain_cached(), None);
        assert_eq!(e.plain_len(), text.len());
        assert_eq!(gunzip(&e.gzip()), text);
        assert_eq!(e.plain(), text);
        // At the limit exactly, both are kept.
        assert!(Exposition::new(families(), text.len()).plain_cached().is_some());
    }

    #[test]
    fn the_exposition_before_the_first_render_is_empty_and_valid_gzip() {
        let e = Exposition::empty();
        assert_eq!(e.plain(), Bytes::new());
        assert_eq!(gunzip(&e.gzip()), b"");
    }
}
