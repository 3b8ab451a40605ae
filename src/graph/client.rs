//! The only code that speaks HTTP to Graph: pacing, tokens, retries, paging and error envelopes.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;

use super::credentials::{Credential, TokenCache, transport_error};
use super::error::{FailureReason, GraphError};
use super::pacing::Pacer;
use super::retry::{backoff, parse_retry_after};
use crate::config::{GraphSettings, TenantSettings};
use crate::health::RequestObserver;
use crate::reports::CredentialKind;
use crate::reports::ErrorEnvelope;

// The `endpoint` names of directory reads, paced by their own pacer (see `GraphClient::directory_pacer`).
use crate::catalog::DIRECTORY_ENDPOINTS;
/// Directory reads allowed per [`DIRECTORY_PERIOD`]. Graph's identity and access limits for one app in
/// one tenant are thousands of resource units per 10 seconds (Microsoft Graph, "Microsoft Graph
/// service-specific throttling limits", <https://learn.microsoft.com/graph/throttling-limits>,
/// "Identity and access service limits"); a few resource units per member page, paced at 50 per 10 s,
/// stays far below them while reading a 100,000-member group (100 pages of 999) in about 20 seconds.
const DIRECTORY_REQUESTS: u32 = 50;
const DIRECTORY_PERIOD: Duration = Duration::from_secs(10);

/// A Graph client for one tenant (one app registration in one tenant, the unit of Graph's quota).
/// Clones share the tokens and the pacer, so a clone can fetch the next page in its own task while
/// the current one is decoded.
#[derive(Clone)]
pub struct GraphClient {
    pub(crate) http: reqwest::Client,
    pub(crate) graph_base: Url,
    /// The cloud's own Graph origin. With a `graph_endpoint` override (a proxy), Graph's nextLinks
    /// still point here and are moved onto `graph_base`, so the token only ever goes there.
    pub(crate) cloud_graph: Url,
    app: Option<Arc<TokenCache>>,
    delegated: Option<Arc<TokenCache>>,
    pub(crate) pacer: Arc<Pacer>,
    /// Directory reads (role and group members) are not reports: Graph throttles them under its
    /// identity and access limits, not the reports quota, so they are paced apart and never wait
    /// for, or use up, the reports window.
    directory_pacer: Arc<Pacer>,
    pub(crate) settings: GraphSettings,
    pub(crate) observer: Arc<dyn RequestObserver>,
}

impl GraphClient {
    pub fn new(
        http: reqwest::Client,
        tenant: &TenantSettings,
        settings: &GraphSettings,
        observer: Arc<dyn RequestObserver>,
    ) -> Result<Self, GraphError> {
        Ok(GraphClient {
            http,
            graph_base: tenant.graph_endpoint.clone(),
            cloud_graph: Url::parse(tenant.cloud.graph_endpoint())
                .map_err(|e| GraphError::Config(format!("the cloud's Graph endpoint is not a URL: {e}")))?,
            app: Credential::app(tenant, settings)?.map(|c| Arc::new(TokenCache::new(c))),
            delegated: Credential::delegated(tenant)?.map(|c| Arc::new(TokenCache::new(c))),
            pacer: Arc::new(Pacer::new(settings.rate_limit_requests, settings.rate_limit_period)),
            directory_pacer: Arc::new(Pacer::new(DIRECTORY_REQUESTS, DIRECTORY_PERIOD)),
            settings: settings.clone(),
            observer,
        })
    }

    /// The pacer of `endpoint`'s quota: the directory's for [`DIRECTORY_ENDPOINTS`], else the reports'.
    fn pacer_for(&self, endpoint: &str) -> &Pacer {
        if DIRECTORY_ENDPOINTS.contains(&endpoint) { &self.directory_pacer } else { &self.pacer }
    }

    fn tokens(&self, kind: CredentialKind) -> Option<&TokenCache> {
        match kind {
            CredentialKind::App => self.app.as_deref(),
            CredentialKind::Delegated => self.delegated.as_deref(),
        }
    }

    /// `{graph}/{version}/{path}?{query}`. OData's `$` options are written literally, as Graph's own
    /// SDKs and documentation do.
    pub fn url(&self, version: &str, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.graph_base.clone();
        let base_path = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base_path}/{version}/{path}"));
        if !query.is_empty() {
            let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            url.set_query(Some(&q.join("&")));
        }
        url
    }

    /// GETs a JSON document with retries: 429, 5xx, timeouts, broken connections and unreadable
    /// bodies are retried up to `max_attempts` (honouring `Retry-After`), a 401 once after renewing
    /// the token, and any other 4xx not at all.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        kind: CredentialKind,
        url: &Url,
    ) -> Result<T, GraphError> {
        self.request_json(endpoint, kind, url, None).await
    }

    /// Like [`get_json`](Self::get_json), for a POST of a JSON body (`$batch`). The body's requests
    /// are paced by the caller, so the POST itself does not take a pacing slot.
    pub(crate) async fn request_json<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        kind: CredentialKind,
        url: &Url,
        post_body: Option<&bytes::Bytes>,
    ) -> Result<T, GraphError> {
        self.request(endpoint, kind, url, post_body, Vec::new(), &mut |page| {
            serde_json::from_slice(&page.body).map_err(|e| page.decode_error(endpoint, &e))
        })
        .await
    }

    /// One successful answer's body, undecoded, with GETs' retries, read into `buffer` (whose
    /// capacity is reused, so a sweep allocates its page buffers once rather than per page).
    pub(crate) async fn fetch(
        &self,
        endpoint: &str,
        kind: CredentialKind,
        url: &Url,
        buffer: Vec<u8>,
    ) -> Result<Fetched, GraphError> {
        self.request(endpoint, kind, url, None, buffer, &mut Ok).await
    }

    async fn request<R>(
        &self,
        endpoint: &str,
        kind: CredentialKind,
        url: &Url,
        post_body: Option<&bytes::Bytes>,
        mut buffer: Vec<u8>,
        decode: &mut (dyn FnMut(Fetched) -> Result<R, GraphError> + Send),
    ) -> Result<R, GraphError> {
        let tokens = self.tokens(kind).ok_or_else(|| {
            GraphError::Config(format!("{endpoint}: no {} credential configured for this tenant", kind.as_str()))
        })?;
        let mut attempt = 0;
        let mut renewed_token = false;
        loop {
            attempt += 1;
            let (error, retry_after) =
                match self.try_once(endpoint, tokens, url, post_body, &mut buffer, &mut *decode).await {
                    Ok(value) => return Ok(value),
                    Err(Failure::Unauthorized(e)) if !renewed_token => {
                        tracing::debug!(endpoint, error = %e, "token rejected; renewing it and retrying once");
                        renewed_token = true;
                        tokens.invalidate().await;
                        attempt -= 1;
                        continue;
                    }
                    Err(Failure::Retryable(e, retry_after)) => (e, retry_after),
                    Err(Failure::Unauthorized(e) | Failure::Final(e)) => return Err(e),
                };
            if attempt >= self.settings.max_attempts {
                return Err(error);
            }
            let delay = retry_after
                .unwrap_or_else(|| backoff(attempt, self.settings.retry_backoff_base, self.settings.retry_backoff_max));
            tracing::debug!(endpoint, attempt, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
            if retry_after.is_some() {
                // Graph keeps counting while it throttles: hold every request of this tenant, not just this one.
                self.pacer_for(endpoint).pause_for(delay).await;
            } else {
                tokio::time::sleep(delay).await;
            }
        }
    }

    async fn try_once<R>(
        &self,
        endpoint: &str,
        tokens: &TokenCache,
        url: &Url,
        post_body: Option<&bytes::Bytes>,
        buffer: &mut Vec<u8>,
        decode: &mut (dyn FnMut(Fetched) -> Result<R, GraphError> + Send),
    ) -> Result<R, Failure> {
        // Fetch the token before waiting for the pacer, so that a token request does not eat into the
        // pacing window, and check it again after the wait, which may have outlasted its freshness.
        self.token(tokens).await?;
        // Held until the answer arrives (report GETs only; a $batch's inner requests are paced one by one).
        let paced = if post_body.is_none() {
            Some(self.pacer_for(endpoint).acquire_reporting(|waiting| self.observer.waiting_for_quota(waiting)).await)
        } else {
            None
        };
        let token = self.token(tokens).await?;
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let request = match post_body {
            None => self.http.get(url.clone()),
            Some(body) => {
                self.http.post(url.clone()).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone())
            }
        };
        let sent = request
            .bearer_auth(token.expose())
            // Opt in to evolvable enum members (Microsoft Graph, "Best practices for working with Microsoft Graph"
            // (https://learn.microsoft.com/graph/best-practices-concept), "Evolvable enums"): method names such as
            // fido2SecurityKey instead of unknownFutureValue.
            .header("Prefer", "include-unknown-enum-members")
            .header("client-request-id", &client_request_id)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(self.settings.request_timeout)
            .send()
            .await;
        drop(paced);
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                let e = transport_error(endpoint, e);
                self.observer.graph_request(
                    endpoint,
                    if matches!(e, GraphError::Timeout { .. }) { "timeout" } else { "network" },
                );
                return Err(Failure::Retryable(e, None));
            }
        };
        let status = response.status();
        self.observer.graph_request(endpoint, status.as_str());
        let request_id = header(&response, "request-id");
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        match read_body(response, buffer, MAX_GRAPH_BODY).await {
            Ok(()) => {}
            Err(BodyError::Transport(e)) => return Err(Failure::Retryable(transport_error(endpoint, e), None)),
            // Not retried: the same answer would be read again, up to the limit.
            Err(e @ BodyError::TooLarge(_)) => {
                let message = format!("{e} (request-id {})", request_id.as_deref().unwrap_or("none"));
                return Err(Failure::Final(GraphError::Decode { endpoint: endpoint.to_string(), message }));
            }
        }
        if status.is_success() {
            let fetched = Fetched { body: std::mem::take(buffer), request_id };
            return decode(fetched).map_err(|e| Failure::Retryable(e, None));
        }
        let body = &buffer[..];
        let envelope = serde_json::from_slice::<ErrorEnvelope>(body).ok();
        let (code, message, inner_request_id) = match envelope {
            Some(env) => (env.error.code, env.error.message, env.error.inner_error.and_then(|i| i.request_id)),
            None => (None, None, None),
        };
        let error = GraphError::Http {
            endpoint: endpoint.to_string(),
            status: status.as_u16(),
            code,
            message: message.map(|m| truncate(&m, 300)),
            request_id: request_id.or(inner_request_id),
        };
        Err(match status {
            StatusCode::UNAUTHORIZED => Failure::Unauthorized(error),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => Failure::Retryable(error, retry_after),
            s if s.is_server_error() => Failure::Retryable(error, retry_after),
            _ => Failure::Final(error),
        })
    }
}

impl GraphClient {
    async fn token(&self, tokens: &TokenCache) -> Result<crate::config::Secret, Failure> {
        tokens.token(&self.http, self.observer.as_ref()).await.map_err(|e| match e.reason() {
            FailureReason::ServerError | FailureReason::Network | FailureReason::Timeout | FailureReason::Throttled => {
                Failure::Retryable(e, None)
            }
            _ => Failure::Final(e),
        })
    }
}

/// Most of a body preallocated on the strength of its Content-Length (a bad header must not make the
/// exporter allocate gigabytes up front; a body that is really bigger still grows as it arrives).
const PREALLOCATE_AT_MOST: u64 = 16 << 20;

/// Largest Graph answer read. A page of 1,000 rows is about 1 MB, so this is generous; an answer that
/// goes on past it (a broken proxy, an endless stream) fails the request instead of growing memory.
pub const MAX_GRAPH_BODY: usize = 64 << 20;
/// Largest answer read from a token, managed-identity or device-code endpoint: real ones are a few KiB.
pub const MAX_TOKEN_BODY: usize = 1 << 20;

/// Why a body was not read whole.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error(transparent)]
    Transport(reqwest::Error),
    /// The answer is (or says it is) larger than this many bytes; reading stopped there.
    #[error("the answer is larger than {} MiB, the most that is read; stopped reading", .0 >> 20)]
    TooLarge(usize),
}

/// Reads the whole body into `buffer`, replacing what it held, failing once it exceeds `limit` bytes
/// (at once when its Content-Length does).
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    buffer: &mut Vec<u8>,
    limit: usize,
) -> Result<(), BodyError> {
    buffer.clear();
    if let Some(length) = response.content_length() {
        if length > limit as u64 {
            return Err(BodyError::TooLarge(limit));
        }
        buffer.reserve(length.min(PREALLOCATE_AT_MOST) as usize);
    }
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if buffer.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge(limit));
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(())
}

/// [`read_body`] for a token, managed-identity or device-code answer (at most [`MAX_TOKEN_BODY`]).
pub(crate) async fn read_token_body(response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    read_body(response, &mut body, MAX_TOKEN_BODY).await?;
    Ok(body)
}

/// A successful answer's body and Graph's `request-id` for it (quoted in errors about the body).
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) request_id: Option<String>,
}

impl Fetched {
    pub(crate) fn decode_error(&self, endpoint: &str, e: &serde_json::Error) -> GraphError {
        GraphError::Decode {
            endpoint: endpoint.to_string(),
            message: format!("{e} (request-id {})", self.request_id.as_deref().unwrap_or("none")),
        }
    }
}

enum Failure {
    Retryable(GraphError, Option<Duration>),
    Unauthorized(GraphError),
    Final(GraphError),
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The shared HTTP client: rustls with the ring provider, no redirects (a redirect would carry the
/// bearer token somewhere unplanned), and the configured connect and request timeouts. The request
/// timeout is also the client's default, so that token requests, which set none of their own, cannot
/// hang a poll until its deadline.
pub fn http_client(settings: &GraphSettings) -> Result<reqwest::Client, GraphError> {
    // Installing twice is harmless; the first provider wins.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("entra-authmethods-exporter/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| GraphError::Config(format!("cannot build the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Group and role member reads wait for the directory's pacer, never for the reports quota.
    #[test]
    fn directory_reads_have_their_own_pacer() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let toml = "[[tenant]]\nname = \"c\"\ntenant_id = \"00000000-0000-0000-0000-000000000001\"\nclient_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\nclient_secret = \"s\"\n";
        let settings = crate::config::from_toml_str(toml).unwrap();
        let observer = Arc::new(crate::snapshot::TenantTelemetry::default());
        let http = http_client(&settings.graph).unwrap();
        let client = GraphClient::new(http, &settings.tenants[0], &settings.graph, observer).unwrap();
        let directory = crate::catalog::ReportKind::GroupMembers.endpoint();
        for endpoint in DIRECTORY_ENDPOINTS.into_iter().chain([directory]) {
            assert!(std::ptr::eq(client.pacer_for(endpoint), &*client.directory_pacer), "{endpoint}");
        }
        for report in crate::catalog::REPORTS {
            assert!(std::ptr::eq(client.pacer_for(report.endpoint), &*client.pacer), "{}", report.name);
        }
    }
}
