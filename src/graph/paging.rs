//! Paging through a collection (Microsoft Graph, "Paging Microsoft Graph data in your app"
//! (<https://learn.microsoft.com/graph/paging>)): `@odata.nextLink` is followed verbatim until a page has none, one page
//! is decoded at a time, and the next page is already on its way while the current one is decoded.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use reqwest::Url;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::client::{Fetched, GraphClient};
use super::error::GraphError;
use super::retry::backoff;
use crate::reports::{CredentialKind, Page};

/// What [`GraphClient::for_each_page_body`]'s decoder found in one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRead {
    pub rows: usize,
    pub next_link: Option<String>,
}

/// What a complete paged read took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagingStats {
    pub pages: u32,
    pub rows: u64,
}

impl GraphClient {
    /// Reads every page of a collection, handing each page to `on_page` before the next one, so only
    /// a page or two is in memory at a time. A link seen twice, a link to another host, or more than
    /// `max_pages` pages stop the read with an error.
    pub(crate) async fn for_each_page<T, F>(
        &self,
        endpoint: &str,
        kind: CredentialKind,
        first: Url,
        mut on_page: F,
    ) -> Result<PagingStats, GraphError>
    where
        T: DeserializeOwned,
        F: FnMut(Vec<T>) + Send,
    {
        self.for_each_page_body(endpoint, kind, first, |body| {
            let page: Page<T> = serde_json::from_slice(body)?;
            let rows = page.value.len();
            on_page(page.value);
            Ok(PageRead { rows, next_link: page.next_link })
        })
        .await
    }

    /// Like [`for_each_page`](Self::for_each_page), but `decode` gets each page's raw body, so it can
    /// decode rows that borrow from it (no copy of each string) and aggregate them in place. A body
    /// `decode` rejects is fetched again, so `decode` must not keep any effect of a page it fails on
    /// (decode the whole page first, then count it).
    ///
    /// The sweep is pipelined: as soon as a page has arrived, its `@odata.nextLink` is picked out of
    /// the raw body ([`scan_next_link`]) and the next page requested in its own task, so Graph serves
    /// page n + 1 while page n is decoded. The decoded link decides: a prefetch of any other URL is
    /// cancelled, so a mis-scan costs a request, never a wrong number. The pacer is shared, so the
    /// prefetch waits for its slot like any request.
    pub async fn for_each_page_body<F>(
        &self,
        endpoint: &str,
        kind: CredentialKind,
        first: Url,
        mut decode: F,
    ) -> Result<PagingStats, GraphError>
    where
        F: FnMut(&[u8]) -> Result<PageRead, serde_json::Error> + Send,
    {
        if first.origin() != self.graph_base.origin() {
            return Err(paging(
                endpoint,
                format!("{} is not on the Graph endpoint", first.origin().ascii_serialization()),
            ));
        }
        let mut seen = HashSet::new();
        seen.insert(hash_url(first.as_str()));
        let mut stats = PagingStats::default();
        let mut prefetch: Option<Prefetch> = None;
        // Two page buffers take turns (one being decoded, one receiving the next page); they are
        // freed when the read ends.
        let mut spare = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            if stats.pages >= self.settings.max_pages {
                return Err(paging(endpoint, format!("more than {} pages (graph.max_pages)", self.settings.max_pages)));
            }
            let fetched = match prefetch.take() {
                Some(p) if p.url == url => p.join(endpoint).await?,
                // Dropping a prefetch of another URL cancels it.
                _ => self.fetch(endpoint, kind, &url, std::mem::take(&mut spare)).await?,
            };
            if stats.pages + 1 < self.settings.max_pages
                && let Some(link) = scan_next_link(&fetched.body)
                && let Ok(next_url) = self.next_url(endpoint, &link, &seen, stats.pages + 1)
            {
                prefetch = Some(Prefetch::start(self, endpoint, kind, next_url, std::mem::take(&mut spare)));
                // Let the prefetch send its request before the decode holds this worker: a task
                // spawned here waits in this worker's own queue, which no other worker takes from.
                tokio::task::yield_now().await;
            }
            let (page, buffer) = self.decode_page(endpoint, kind, &url, fetched, &mut decode).await?;
            spare = buffer;
            stats.pages += 1;
            stats.rows += page.rows as u64;
            // Per page, so a long sweep can be watched (the status page, poll_pages_read).
            self.observer.page_read(endpoint, page.rows);
            tracing::debug!(
                endpoint,
                page = stats.pages,
                rows = page.rows,
                more = page.next_link.is_some(),
                "page read"
            );
            if let Some(link) = page.next_link {
                let url = self.next_url(endpoint, &link, &seen, stats.pages)?;
                seen.insert(hash_url(url.as_str()));
                next = Some(url);
            }
        }
        Ok(stats)
    }

    /// Decodes a page, fetching it again while its body cannot be decoded (up to `max_attempts`);
    /// gives back the page's buffer for reuse.
    async fn decode_page<F>(
        &self,
        endpoint: &str,
        kind: CredentialKind,
        url: &Url,
        mut fetched: Fetched,
        decode: &mut F,
    ) -> Result<(PageRead, Vec<u8>), GraphError>
    where
        F: FnMut(&[u8]) -> Result<PageRead, serde_json::Error> + Send,
    {
        let mut attempt = 1;
        loop {
            let error = match decode(&fetched.body) {
                Ok(page) => return Ok((page, fetched.body)),
                Err(e) => fetched.decode_error(endpoint, &e),
            };
            if attempt >= self.settings.max_attempts {
                return Err(error);
            }
            let delay = backoff(attempt, self.settings.retry_backoff_base, self.settings.retry_backoff_max);
            tracing::debug!(endpoint, attempt, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
            fetched = self.fetch(endpoint, kind, url, fetched.body).await?;
        }
    }

    /// The URL a nextLink points to, if it may be followed: a URL, on the Graph endpoint, not seen
    /// before in this read.
    fn next_url(&self, endpoint: &str, link: &str, seen: &HashSet<u64>, pages: u32) -> Result<Url, GraphError> {
        let url = self.link_url(endpoint, link)?;
        if seen.contains(&hash_url(url.as_str())) {
            return Err(paging(endpoint, format!("nextLink repeated after {pages} pages")));
        }
        Ok(url)
    }

    /// Where a nextLink may be followed: on the Graph endpoint, never anywhere else, since the request
    /// carries the bearer token. Behind a `graph_endpoint` override (a proxy), Graph still writes its
    /// links for its own host; those are moved onto the endpoint, keeping its path prefix.
    pub(crate) fn link_url(&self, endpoint: &str, link: &str) -> Result<Url, GraphError> {
        let url = Url::parse(link).map_err(|e| paging(endpoint, format!("nextLink is not a URL: {e}")))?;
        if url.origin() == self.graph_base.origin() {
            return Ok(url);
        }
        if url.origin() != self.cloud_graph.origin() {
            return Err(paging(
                endpoint,
                format!(
                    "nextLink leaves the Graph endpoint: {} is neither {} nor the cloud's Graph",
                    url.origin().ascii_serialization(),
                    self.graph_base.origin().ascii_serialization()
                ),
            ));
        }
        let mut moved = self.graph_base.clone();
        let prefix = moved.path().trim_end_matches('/').to_string();
        moved.set_path(&format!("{prefix}{}", url.path()));
        moved.set_query(url.query());
        Ok(moved)
    }
}

/// A page requested ahead, in its own task; cancelled when dropped unused.
struct Prefetch {
    url: Url,
    task: tokio::task::JoinHandle<Result<Fetched, GraphError>>,
}

impl Prefetch {
    fn start(client: &GraphClient, endpoint: &str, kind: CredentialKind, url: Url, buffer: Vec<u8>) -> Prefetch {
        let (client, endpoint, target) = (client.clone(), endpoint.to_string(), url.clone());
        let task = tokio::spawn(
            async move { client.fetch(&endpoint, kind, &target, buffer).await }.instrument(tracing::Span::current()),
        );
        Prefetch { url, task }
    }

    async fn join(mut self, endpoint: &str) -> Result<Fetched, GraphError> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(paging(endpoint, format!("the request for the next page ended abnormally: {e}"))),
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The top-level `@odata.nextLink` of a collection page, found without decoding the page: Graph
/// writes it before `value` (the simulator too), and other OData services after it, so only the
/// text before the first `[` and after the last `]` is searched. `None` when it is not found
/// there, in which case the page is simply decoded before the next one is asked for.
pub(crate) fn scan_next_link(body: &[u8]) -> Option<String> {
    let head = &body[..body.iter().position(|&b| b == b'[').unwrap_or(body.len())];
    let tail = &body[body.iter().rposition(|&b| b == b']').map_or(body.len(), |i| i + 1)..];
    link_after_key(head).or_else(|| link_after_key(tail))
}

const NEXT_LINK_KEY: &[u8] = b"\"@odata.nextLink\"";

fn link_after_key(text: &[u8]) -> Option<String> {
    let at = text.windows(NEXT_LINK_KEY.len()).position(|w| w == NEXT_LINK_KEY)?;
    let rest = trim_start(&text[at + NEXT_LINK_KEY.len()..]);
    let rest = trim_start(rest.strip_prefix(b":")?);
    if rest.first() != Some(&b'"') {
        return None;
    }
    // The closing quote is the first one not escaped; the string is then unescaped by serde_json.
    let mut end = 1;
    while end < rest.len() {
        match rest[end] {
            b'\\' => end += 2,
            b'"' => return serde_json::from_slice(&rest[..=end]).ok(),
            _ => end += 1,
        }
    }
    None
}

fn trim_start(text: &[u8]) -> &[u8] {
    let skip = text.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &text[skip..]
}

fn paging(endpoint: &str, message: String) -> GraphError {
    GraphError::Paging { endpoint: endpoint.to_string(), message }
}

fn hash_url(url: &str) -> u64 {
    let mut h = DefaultHasher::new();
    url.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::scan_next_link;

    #[test]
    fn the_next_link_is_found_before_or_after_the_rows() {
        let before =
            br#"{"@odata.context":"c","@odata.nextLink":"https://g/v1.0/x?$skiptoken=a","value":[{"id":"1"}]}"#;
        assert_eq!(scan_next_link(before).as_deref(), Some("https://g/v1.0/x?$skiptoken=a"));
        let after = br#"{ "value" : [ {"id":"1"} ] , "@odata.nextLink" : "https:\/\/g\/x?a=\"b\"" }"#;
        assert_eq!(scan_next_link(after).as_deref(), Some("https://g/x?a=\"b\""));
    }

    #[test]
    fn rows_are_not_searched_and_odd_bodies_give_nothing() {
        // A row that looks like a nextLink is inside the array: not a page's link.
        let inside = br#"{"value":[{"@odata.nextLink":"https://evil/"}]}"#;
        assert_eq!(scan_next_link(inside), None);
        for body in [&b""[..], b"{", b"{\"@odata.nextLink\"", b"{\"@odata.nextLink\":", b"{\"@odata.nextLink\":1}"] {
            assert_eq!(scan_next_link(body), None, "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(scan_next_link(b"{\"@odata.nextLink\":\"unterminated"), None);
        assert_eq!(scan_next_link(br#"{"value":[]}"#), None);
    }
}
