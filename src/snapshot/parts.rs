//! The exposition kept in parts, so that a change costs what changed rather than the fleet.
//!
//! The text format lists each family once (HELP, TYPE, then all its samples), so a tenant's series
//! are spread over every family. Each member (the global series, then every tenant in
//! configuration order) is rendered on its own into its part of each family; a family's parts are
//! joined in member order, exactly the text a full render writes ([`super::render::render_into`]
//! renders the same members in the same order, and a test compares the two byte for byte).
//!
//! Parts are kept compressed only: each family's parts are grouped into *pieces* of consecutive
//! members, each piece compressed on its own into raw DEFLATE ended by a sync flush, with its CRC-32
//! (see [`super::exposition`]). A scrape joins the families' pieces and combines their CRC-32s; no
//! piece is compressed again. A tenant's big parts (registration families, tens of kB) are pieces of
//! their own; small parts (one health line per tenant) are grouped until a piece holds
//! [`MIN_PIECE`] bytes of text, since one line compressed alone is barely smaller than the line. A
//! change of a member re-renders that member only, compares each part with the one cached (by a
//! 64-bit hash) and compresses again only the pieces whose parts changed: a big part's piece alone,
//! or a small part's group, whose other parts are read back from the cached piece. A removed member
//! leaves its pieces (its group, for a small part, compressed again without it); nothing else is
//! touched. Group boundaries are kept from one change to the next, so a change never regroups a
//! whole family.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hasher};
use std::sync::Arc;

use bytes::Bytes;
use flate2::Compression;

use super::exposition::{Exposition, PieceCompressor, inflate_piece};
use super::families::FAMILIES;
use super::render::{families_by_name, write_header};

/// A member of the exposition: [`GLOBAL`] or a tenant's entry.
pub(super) type MemberId = u64;

/// The series of no tenant (build, reload), first in every family they are in.
pub(super) const GLOBAL: MemberId = 0;

/// A piece holds at least this much text unless it is the last of its family or a part alone is
/// bigger: a few dozen small parts, enough for DEFLATE to find the repetition between lines.
/// Smaller pieces compress worse (the 1.3 × bound of issue 16 against one stream over the whole
/// text), bigger ones cost more to compress again after a change of one of their parts.
pub(super) const MIN_PIECE: usize = 4 * 1024;

/// Pieces are compressed once per change of one of their parts, not per scrape, and are small: the
/// default level makes them about a third smaller than the fast level the whole-text stream used,
/// which is what keeps many small independent pieces within 1.3 × of one stream.
const PIECE_LEVEL: Compression = Compression::new(6);

/// Pieces per block whose combined CRC-32 is cached, so that a change in a family of a thousand
/// pieces combines a few dozen CRC-32s rather than all of them.
const BLOCK: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Part {
    member: MemberId,
    hash: u64,
    len: u32,
}

struct Piece {
    parts: Vec<Part>,
    deflate: Bytes,
    crc: u32,
    len: usize,
}

/// A run of [`BLOCK`] pieces: their combined CRC-32 and length, and their DEFLATE as a scrape sends
/// it, so that a change in a family of a thousand pieces combines and joins a few dozen.
struct Block {
    crc: u32,
    len: u64,
    chunks: Arc<[Bytes]>,
}

#[derive(Default)]
struct FamilyParts {
    pieces: Vec<Piece>,
    blocks: Vec<Block>,
    /// Over the HELP and TYPE lines and every block.
    crc: u32,
    len: u64,
}

/// A member's parts: per family, the hash of its text (0: no part) and the piece holding it.
struct Member {
    hashes: Vec<u64>,
    pieces: Vec<u32>,
}

/// Every family's pieces, and what the last update was made of.
pub(super) struct Parts {
    compressor: PieceCompressor,
    families: Vec<FamilyParts>,
    /// The compressed HELP and TYPE lines of each family, made once.
    headers: Vec<(Arc<[Bytes]>, u32, u64)>,
    /// The members in order, as of the last update.
    order: Vec<MemberId>,
    members: HashMap<MemberId, Member>,
    /// When a member's data passes its max_staleness, as of its last render (kept by the store).
    pub(super) stale_at: HashMap<MemberId, std::time::SystemTime>,
}

impl Default for Parts {
    fn default() -> Self {
        let mut compressor = PieceCompressor::new(PIECE_LEVEL);
        let headers = (0..FAMILIES.len())
            .map(|i| {
                let mut text = Vec::new();
                write_header(&mut text, i).expect("writing to a Vec cannot fail");
                let (deflate, crc) = compressor.compress(&text);
                (Arc::from([deflate]), crc, text.len() as u64)
            })
            .collect();
        Parts {
            compressor,
            families: (0..FAMILIES.len()).map(|_| FamilyParts::default()).collect(),
            headers,
            order: Vec::new(),
            members: HashMap::new(),
            stale_at: HashMap::new(),
        }
    }
}

/// The hash of a part: 0 for an empty one.
fn part_hash(text: &[u8]) -> u64 {
    if text.is_empty() {
        return 0;
    }
    let mut h = DefaultHasher::new();
    h.write(text);
    h.finish() | 1
}

fn combine(crc: u32, len: u64, next_crc: u32, next_len: u64) -> (u32, u64) {
    let mut h = crc32fast::Hasher::new_with_initial_len(crc, len);
    h.combine(&crc32fast::Hasher::new_with_initial_len(next_crc, next_len));
    (h.finalize(), len + next_len)
}

/// Where a part of the new order comes from.
struct Entry<'a> {
    part: Part,
    /// The freshly rendered text, for members rendered in this update.
    fresh: Option<&'a [u8]>,
    /// Whether the text differs from the cached one (or there is none).
    changed: bool,
    /// The piece of the family's previous pieces holding this member's part, and the part's offset
    /// in its text.
    old: Option<(usize, usize)>,
}

impl Parts {
    /// Whether `member` has parts cached.
    pub(super) fn has(&self, member: MemberId) -> bool {
        self.members.contains_key(&member)
    }

    /// Takes the new `order` of members and the parts of those rendered again (`fresh`: per member,
    /// one text per family of [`FAMILIES`]); every other member of `order` must have parts cached.
    /// Members no longer in `order` are dropped.
    ///
    /// With the same members in the same order, a part that changed but neither appeared nor
    /// vanished has its piece compressed again in place: the other pieces, their order and the
    /// family's other blocks stay as they are. Otherwise (a member added or removed, a part that
    /// appeared or vanished) the family's pieces are regrouped by [`Parts::rebuild`], which still
    /// keeps every piece none of whose parts changed.
    pub(super) fn update(&mut self, order: Vec<MemberId>, fresh: &HashMap<MemberId, Vec<Vec<u8>>>) {
        let same_order = order == self.order;
        let new_hashes: HashMap<MemberId, Vec<u64>> =
            fresh.iter().map(|(m, texts)| (*m, texts.iter().map(|t| part_hash(t)).collect())).collect();
        let mut regrouped = Vec::new();
        for f in 0..FAMILIES.len() {
            let mut in_place = Vec::new();
            let mut regroup = !same_order;
            for (m, h) in &new_hashes {
                match self.members.get(m) {
                    _ if regroup => break,
                    Some(old) if old.hashes[f] == h[f] => {}
                    Some(old) if old.hashes[f] != 0 && h[f] != 0 => in_place.push(old.pieces[f] as usize),
                    _ => regroup = true,
                }
            }
            if regroup {
                regrouped.push((f, self.rebuild(f, &order, fresh, &new_hashes)));
            } else if !in_place.is_empty() {
                self.rebuild_in_place(f, in_place, fresh, &new_hashes);
            }
        }
        if !same_order {
            let keep: std::collections::HashSet<MemberId> = order.iter().copied().collect();
            self.members.retain(|m, _| keep.contains(m));
            self.stale_at.retain(|m, _| keep.contains(m));
        }
        for (m, hashes) in new_hashes {
            let n = hashes.len();
            self.members.entry(m).or_insert_with(|| Member { hashes: Vec::new(), pieces: vec![0; n] }).hashes = hashes;
        }
        for (f, located) in regrouped {
            for (m, piece) in located {
                if let Some(member) = self.members.get_mut(&m) {
                    member.pieces[f] = piece;
                }
            }
        }
        self.order = order;
    }

    /// Compresses the pieces `dirty` of family `f` again with their members' new parts, in place.
    fn rebuild_in_place(
        &mut self,
        f: usize,
        mut dirty: Vec<usize>,
        fresh: &HashMap<MemberId, Vec<Vec<u8>>>,
        new_hashes: &HashMap<MemberId, Vec<u64>>,
    ) {
        dirty.sort_unstable();
        dirty.dedup();
        let family = &mut self.families[f];
        let mut text = Vec::new();
        for &p in &dirty {
            let piece = &mut family.pieces[p];
            let mut old_text = None;
            let mut offset = 0;
            text.clear();
            for part in &mut piece.parts {
                let start = offset;
                offset += part.len as usize;
                if let Some(texts) = fresh.get(&part.member) {
                    text.extend_from_slice(&texts[f]);
                    part.hash = new_hashes[&part.member][f];
                    part.len = texts[f].len() as u32;
                } else {
                    let old = old_text.get_or_insert_with(|| inflate_piece(&piece.deflate, piece.len));
                    text.extend_from_slice(&old[start..offset]);
                }
            }
            let (deflate, crc) = self.compressor.compress(&text);
            (piece.deflate, piece.crc, piece.len) = (deflate, crc, text.len());
        }
        let mut blocks: Vec<usize> = dirty.iter().map(|p| p / BLOCK).collect();
        blocks.dedup();
        self.refresh_blocks(f, Some(&blocks));
    }

    /// Builds family `f`'s pieces again, keeping every piece none of whose parts changed, and
    /// returns where each member's part now is.
    fn rebuild(
        &mut self,
        f: usize,
        order: &[MemberId],
        fresh: &HashMap<MemberId, Vec<Vec<u8>>>,
        new_hashes: &HashMap<MemberId, Vec<u64>>,
    ) -> Vec<(MemberId, u32)> {
        let family = &mut self.families[f];
        let old_pieces = std::mem::take(&mut family.pieces);
        let mut located: HashMap<MemberId, (usize, usize, Part)> = HashMap::new();
        for (i, piece) in old_pieces.iter().enumerate() {
            let mut offset = 0;
            for part in &piece.parts {
                located.insert(part.member, (i, offset, *part));
                offset += part.len as usize;
            }
        }
        let entries: Vec<Entry> = order
            .iter()
            .filter_map(|m| {
                let old = located.get(m);
                match (fresh.get(m), old) {
                    (Some(texts), _) => {
                        let text = &texts[f][..];
                        let hash = new_hashes[m][f];
                        (hash != 0).then(|| Entry {
                            part: Part { member: *m, hash, len: text.len() as u32 },
                            fresh: Some(text),
                            changed: old.is_none_or(|o| o.2.hash != hash),
                            old: old.map(|o| (o.0, o.1)),
                        })
                    }
                    (None, Some(&(piece, offset, part))) => {
                        Some(Entry { part, fresh: None, changed: false, old: Some((piece, offset)) })
                    }
                    (None, None) => None,
                }
            })
            .collect();

        let mut pieces: Vec<Option<Piece>> = old_pieces.into_iter().map(Some).collect();
        let mut builder = Builder::default();
        let mut new_pieces = Vec::new();
        let mut i = 0;
        while i < entries.len() {
            // A unit: the entries that were in one piece (or a part new to this family).
            let Some((p, _)) = entries[i].old else {
                builder.push(&entries[i], &pieces);
                i += 1;
                builder.flush_if_full(&mut new_pieces, &mut self.compressor);
                continue;
            };
            let mut end = i + 1;
            while end < entries.len() && entries[end].old.is_some_and(|(q, _)| q == p) {
                end += 1;
            }
            let unit = &entries[i..end];
            let old = pieces[p].as_ref().expect("each piece is one unit");
            let intact = unit.len() == old.parts.len()
                && unit.iter().zip(&old.parts).all(|(e, part)| !e.changed && e.part == *part);
            if intact && (builder.is_empty() || builder.len >= MIN_PIECE / 2 || old.len >= 2 * MIN_PIECE) {
                builder.flush(&mut new_pieces, &mut self.compressor);
                new_pieces.push(pieces[p].take().expect("each piece is one unit"));
            } else {
                for e in unit {
                    builder.push(e, &pieces);
                }
                builder.flush_if_full(&mut new_pieces, &mut self.compressor);
            }
            i = end;
        }
        builder.flush(&mut new_pieces, &mut self.compressor);
        let located = new_pieces
            .iter()
            .enumerate()
            .flat_map(|(i, piece)| piece.parts.iter().map(move |part| (part.member, i as u32)))
            .collect();
        self.families[f].pieces = new_pieces;
        self.refresh_blocks(f, None);
        located
    }

    /// Combines the CRC-32s and joins the chunks of family `f`'s blocks `dirty` (all: `None`), then
    /// of the family.
    fn refresh_blocks(&mut self, f: usize, dirty: Option<&[usize]>) {
        let family = &mut self.families[f];
        let block = |b: usize, pieces: &[Piece]| {
            let pieces = &pieces[b * BLOCK..((b + 1) * BLOCK).min(pieces.len())];
            let (crc, len) = pieces.iter().fold((0, 0), |(crc, len), p| combine(crc, len, p.crc, p.len as u64));
            Block { crc, len, chunks: pieces.iter().map(|p| p.deflate.clone()).collect() }
        };
        match dirty {
            None => {
                family.blocks = (0..family.pieces.len().div_ceil(BLOCK)).map(|b| block(b, &family.pieces)).collect()
            }
            Some(dirty) => {
                for &b in dirty {
                    family.blocks[b] = block(b, &family.pieces);
                }
            }
        }
        let (_, crc, len) = &self.headers[f];
        (family.crc, family.len) =
            family.blocks.iter().fold((*crc, *len), |(c, l), block| combine(c, l, block.crc, block.len));
    }

    /// The exposition: every family's pieces in the order of the text, sharing the cached bytes.
    pub(super) fn join(&self, keep_plain_up_to: usize) -> Exposition {
        let mut chunks = Vec::new();
        let (mut crc, mut len) = (0, 0);
        for &f in families_by_name() {
            let family = &self.families[f];
            if family.pieces.is_empty() {
                continue;
            }
            chunks.push(self.headers[f].0.clone());
            chunks.extend(family.blocks.iter().map(|b| b.chunks.clone()));
            (crc, len) = combine(crc, len, family.crc, family.len);
        }
        Exposition::from_pieces(chunks, crc, len as usize, keep_plain_up_to)
    }

    /// Pieces held, for tests.
    #[cfg(test)]
    pub(super) fn pieces(&self) -> usize {
        self.families.iter().map(|f| f.pieces.len()).sum()
    }
}

/// The text of the piece being made, read from fresh parts or back from cached pieces.
#[derive(Default)]
struct Builder {
    parts: Vec<Part>,
    text: Vec<u8>,
    len: usize,
    /// Cached pieces decompressed while building, by index.
    inflated: HashMap<usize, Vec<u8>>,
}

impl Builder {
    fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    fn push(&mut self, e: &Entry, pieces: &[Option<Piece>]) {
        match (e.fresh, e.old) {
            (Some(text), _) => self.text.extend_from_slice(text),
            (None, Some((p, offset))) => {
                let piece = pieces[p].as_ref().expect("a piece read back was not kept");
                let text = self.inflated.entry(p).or_insert_with(|| inflate_piece(&piece.deflate, piece.len));
                self.text.extend_from_slice(&text[offset..offset + e.part.len as usize]);
            }
            (None, None) => unreachable!("a part is fresh or cached"),
        }
        self.parts.push(e.part);
        self.len += e.part.len as usize;
    }

    fn flush_if_full(&mut self, out: &mut Vec<Piece>, compressor: &mut PieceCompressor) {
        if self.len >= MIN_PIECE {
            self.flush(out, compressor);
        }
    }

    fn flush(&mut self, out: &mut Vec<Piece>, compressor: &mut PieceCompressor) {
        if self.parts.is_empty() {
            return;
        }
        let (deflate, crc) = compressor.compress(&self.text);
        out.push(Piece { parts: std::mem::take(&mut self.parts), deflate, crc, len: self.len });
        self.text.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};
    use std::io::Read;
    use std::time::Duration;

    use super::*;
    use crate::reports::ReportKind;
    use crate::snapshot::render::render;
    use crate::snapshot::render::tests::tenant_with;
    use crate::snapshot::{BuildInfo, ReportData, Store, TenantEntry, TenantHandle};

    const KIND: ReportKind = ReportKind::RegistrationDetails;

    fn build() -> BuildInfo {
        BuildInfo { version: "v", revision: "r" }
    }

    /// The registration data of `tenant_with`, with counts that depend on `seed`.
    fn data(seed: u64) -> ReportData {
        let methods = (0..12).map(|m| (format!("method{m}"), seed * 7 + m)).collect::<BTreeMap<_, _>>();
        let t = tenant_with(methods);
        t.reports[&KIND].data.as_ref().unwrap().data.clone()
    }

    fn entry(name: &str) -> TenantHandle {
        let info = crate::snapshot::TenantInfo {
            name: name.into(),
            tenant_id: format!("id-{name}"),
            cloud: "global",
            summary_source: false,
            numbers: Default::default(),
        };
        let hour = Duration::from_secs(3600);
        TenantEntry::new(info, vec![(KIND, hour, hour, None), (ReportKind::RegistrationActivity, hour, hour, None)])
    }

    /// The store's joined exposition, plain and gzip, against a full render of the same state.
    fn assert_same_as_full_render(store: &Store) -> Vec<u8> {
        let exposition = store.cached_exposition();
        let joined = exposition.plain();
        let full = render(&build(), &store.reload_status(), &store.status());
        assert!(joined == full, "the joined parts differ from a full render:\n{}", String::from_utf8_lossy(&joined));
        let suffix = super::super::exposition::Suffix::new(Bytes::from_static(b"process_threads 7\n"));
        let gzip: Vec<u8> = exposition.gzip_chunks(&suffix).concat();
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..]).read_to_end(&mut text).expect("one valid gzip member");
        assert_eq!(text, [&full[..], b"process_threads 7\n"].concat());
        full
    }

    fn chunk_pointers(store: &Store) -> HashSet<usize> {
        let suffix = super::super::exposition::Suffix::new(Bytes::new());
        store.cached_exposition().gzip_chunks(&suffix).iter().map(|c| c.as_ptr() as usize).collect()
    }

    /// Runs `promtool check metrics` when it is installed (CI installs it).
    fn promtool_check(text: &[u8]) {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_none() => return eprintln!("NOTE: promtool not run ({e})"),
            Err(e) => panic!("promtool is required on CI: {e}"),
        };
        child.stdin.take().unwrap().write_all(text).unwrap();
        let out = child.wait_with_output().unwrap();
        let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && report.trim().is_empty(), "promtool check metrics:\n{report}");
    }

    /// A poll failure as the poller would report it, without importing the poller.
    struct TookTooLong;

    impl std::fmt::Display for TookTooLong {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("poll did not finish within its deadline")
        }
    }

    impl crate::health::PollFailure for TookTooLong {
        fn reason(&self) -> crate::health::FailureReason {
            crate::health::FailureReason::Timeout
        }

        fn graph_code(&self) -> Option<&str> {
            None
        }

        fn hint(&self) -> &'static str {
            "raise poll_timeout"
        }
    }

    #[test]
    fn the_joined_parts_are_the_full_render_after_changes_failures_removals_and_additions() {
        let tenants: Vec<TenantHandle> = (0..40).map(|i| entry(&format!("tenant-{i}"))).collect();
        let store = Store::with_tenants(tenants.clone(), build());
        assert_same_as_full_render(&store);
        for (i, t) in tenants.iter().enumerate() {
            store.record_success(t, KIND, data(i as u64), Duration::from_secs(1));
        }
        assert_same_as_full_render(&store);

        // One tenant's data changes, another's poll fails, a third one's poll is running.
        store.record_success(&tenants[5], KIND, data(500), Duration::from_secs(2));
        let failure = TookTooLong;
        store.record_failure(&tenants[7], KIND, &failure, Duration::from_secs(9));
        let running = store.poll_started(&tenants[11], KIND);
        assert_same_as_full_render(&store);
        drop(running);
        assert_same_as_full_render(&store);

        // A reload removes three tenants (the first, one in the middle, the last) and adds one.
        let mut kept: Vec<TenantHandle> =
            tenants.iter().enumerate().filter(|(i, _)| ![0, 20, 39].contains(i)).map(|(_, t)| t.clone()).collect();
        kept.insert(10, entry("added"));
        store.set_tenants(kept.clone());
        assert_same_as_full_render(&store);
        store.record_success(&kept[10], KIND, data(7), Duration::from_secs(1));
        store.reload_failed();
        let text = assert_same_as_full_render(&store);
        promtool_check(&text);
    }

    #[test]
    fn a_change_compresses_only_the_pieces_of_the_changed_parts() {
        let tenants: Vec<TenantHandle> = (0..200).map(|i| entry(&format!("tenant-{i}"))).collect();
        let store = Store::with_tenants(tenants.clone(), build());
        for (i, t) in tenants.iter().enumerate() {
            store.record_success(t, KIND, data(i as u64), Duration::from_secs(1));
        }
        let before = chunk_pointers(&store);
        let pieces = store.parts.lock().unwrap().pieces();
        assert!(pieces > 200, "{pieces} pieces");
        store.record_success(&tenants[100], KIND, data(1000), Duration::from_secs(3));
        assert_same_as_full_render(&store);
        let after = chunk_pointers(&store);
        let new = after.difference(&before).count();
        // At most one new piece per family, plus the gzip trailer and the suffix.
        assert!(new <= FAMILIES.len() + 2, "{new} of {} chunks are new", after.len());
        assert!(new >= 3, "the changed families were compressed again ({new})");
        // The same data again (a poll that found nothing new): only the health families change.
        let before = after;
        store.record_success(&tenants[100], KIND, data(1000), Duration::from_secs(3));
        let new = chunk_pointers(&store).difference(&before).count();
        assert!(new <= 8, "{new} new chunks for a poll that changed only health series");
    }

    /// Many small independent pieces compress worse than one stream over the text: within 1.3 × of
    /// one stream at the fast level (issue 16).
    #[test]
    fn the_pieces_compress_within_a_third_of_one_stream() {
        let tenants: Vec<TenantHandle> = (0..300).map(|i| entry(&format!("tenant-{i}"))).collect();
        let store = Store::with_tenants(tenants.clone(), build());
        for (i, t) in tenants.iter().enumerate() {
            store.record_success(t, KIND, data(i as u64 % 17), Duration::from_secs(1));
        }
        let text = store.exposition();
        let mut one = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
        std::io::Write::write_all(&mut one, &text).unwrap();
        let one = one.finish().unwrap().len();
        let suffix = super::super::exposition::Suffix::new(Bytes::new());
        let pieces: usize = store.cached_exposition().gzip_chunks(&suffix).iter().map(Bytes::len).sum();
        let ratio = pieces as f64 / one as f64;
        eprintln!("{} bytes of text: one stream {one}, pieces {pieces} ({ratio:.2} ×)", text.len());
        assert!(ratio <= 1.3, "{ratio:.2} ×");
    }
}
