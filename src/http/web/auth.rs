//! Basic authentication (bcrypt hashes, verified results cached), the rate limit and the security
//! headers, as one axum middleware around the whole router.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::config::RateLimit;

/// Paths served without credentials and outside the rate limit: liveness probes.
pub const OPEN_PATHS: [&str; 2] = ["/healthz", "/-/healthy"];

pub const REALM: &str = "Basic realm=\"entra-authmethods-exporter\"";

/// Cached verification results, at most this many; the cache is emptied when full.
const CACHE_MAX: usize = 1024;

pub(super) struct Guard {
    users: BTreeMap<String, String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// HMAC(key, user ‖ 0 ‖ password) → verified; the key is random per process, so the cache holds
    /// neither passwords nor anything that can be checked offline against them.
    cache: Mutex<HashMap<[u8; 32], bool>>,
    key: ring::hmac::Key,
    /// The configured hash of the highest cost, checked (and its result discarded) for unknown
    /// users, so that the time taken does not tell whether a user exists. Taken as is rather than
    /// hashing a random password at that cost: nothing runs bcrypt before a request does.
    dummy_hash: Arc<str>,
    /// bcrypt verifications run (cache misses).
    verifications: AtomicU64,
    limiter: Option<Mutex<TokenBucket>>,
}

impl Guard {
    pub(super) fn new(
        users: BTreeMap<String, String>,
        headers: Vec<(HeaderName, HeaderValue)>,
        rate_limit: Option<RateLimit>,
    ) -> Result<Self, String> {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng)
            .map_err(|_| "cannot generate a random key for the credential cache".to_string())?;
        // Parsing only: config.rs checked the format.
        let dummy_hash = users
            .values()
            .max_by_key(|h| h.parse::<bcrypt::HashParts>().map(|p| p.get_cost()).unwrap_or(0))
            .cloned()
            .unwrap_or_default();
        Ok(Self {
            users,
            headers,
            cache: Mutex::new(HashMap::new()),
            key,
            dummy_hash: Arc::from(dummy_hash),
            verifications: AtomicU64::new(0),
            limiter: rate_limit.map(|r| Mutex::new(TokenBucket::new(r, Instant::now()))),
        })
    }

    pub(super) fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    fn allowed_by_rate_limit(&self) -> bool {
        match &self.limiter {
            None => true,
            Some(l) => l.lock().unwrap_or_else(|p| p.into_inner()).take(Instant::now()),
        }
    }

    fn cache_key(&self, user: &str, password: &[u8]) -> [u8; 32] {
        let mut ctx = ring::hmac::Context::with_key(&self.key);
        ctx.update(&(user.len() as u64).to_be_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    fn cached(&self, k: &[u8; 32]) -> Option<bool> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(k).copied()
    }

    fn remember(&self, k: [u8; 32], ok: bool) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(k, ok);
    }

    /// Whether `authorization` (the header value) carries a configured user and the right password.
    async fn authorized(self: &Arc<Self>, authorization: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let k = self.cache_key(&user, &password);
        if let Some(ok) = self.cached(&k) {
            return ok;
        }
        let hash = self.users.get(&user).cloned();
        let dummy = self.dummy_hash.clone();
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let ok = tokio::task::spawn_blocking(move || {
            let known = hash.is_some();
            let hash = hash.as_deref().unwrap_or(&dummy);
            bcrypt::verify(&password, hash).unwrap_or(false) && known
        })
        .await
        .unwrap_or(false);
        self.remember(k, ok);
        ok
    }
}

/// `Basic base64(user:password)` → (user, password bytes); `None` for anything else.
fn parse_basic(value: &HeaderValue) -> Option<(String, Vec<u8>)> {
    let value = value.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

/// The middleware: applies the rate limit and checks credentials (when configured) on every path but
/// the liveness probes, and adds the configured security headers to every response, 401s and 429s
/// included. The rate limit comes first, as in exporter-toolkit, so that refused credentials count
/// too and a client over the limit costs no bcrypt verification.
pub(super) async fn middleware(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let open = OPEN_PATHS.contains(&req.uri().path());
    let mut response = if !open && !guard.allowed_by_rate_limit() {
        too_many_requests()
    } else if guard.users.is_empty() || open || guard.authorized(req.headers().get(header::AUTHORIZATION)).await {
        next.run(req).await
    } else {
        unauthorized()
    };
    for (name, value) in &guard.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

fn too_many_requests() -> Response {
    (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n").into_response()
}

/// exporter-toolkit's limiter (Go's `rate.NewLimiter(rate.Every(interval), burst)`): a bucket of
/// `burst` tokens, full at the start, gaining one every `interval`; a request takes one or is
/// refused. With `burst` 0 every request is refused, as there.
#[derive(Debug)]
struct TokenBucket {
    interval: Duration,
    burst: u64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(r: RateLimit, now: Instant) -> Self {
        TokenBucket { interval: r.interval, burst: r.burst, tokens: r.burst as f64, last: now }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        let gained = elapsed.as_secs_f64() / self.interval.as_secs_f64();
        self.tokens = (self.tokens + gained).min(self.burst as f64);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The same response for a missing header, an unknown user and a wrong password.
fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM))], "unauthorized\n")
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic_credentials() {
        let v = HeaderValue::from_static("Basic YWxpY2U6cGE6c3M=");
        assert_eq!(parse_basic(&v), Some(("alice".to_string(), b"pa:ss".to_vec())));
        assert_eq!(parse_basic(&HeaderValue::from_static("Bearer x")), None);
        assert_eq!(parse_basic(&HeaderValue::from_static("Basic !!!")), None);
        assert_eq!(parse_basic(&HeaderValue::from_static("Basic bm9jb2xvbg==")), None);
    }

    #[test]
    fn token_bucket_starts_full_and_refills_one_per_interval() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(RateLimit { interval: Duration::from_secs(1), burst: 2 }, t0);
        assert!(b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        assert!(!b.take(t0 + Duration::from_millis(500)));
        assert!(b.take(t0 + Duration::from_millis(1000)));
        assert!(!b.take(t0 + Duration::from_millis(1000)));
        // Never more than the burst, however long it was idle.
        let later = t0 + Duration::from_secs(3600);
        assert!(b.take(later) && b.take(later) && !b.take(later));
    }

    #[test]
    fn burst_zero_refuses_everything() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(RateLimit { interval: Duration::from_secs(1), burst: 0 }, t0);
        assert!(!b.take(t0) && !b.take(t0 + Duration::from_secs(10)));
    }

    #[test]
    fn creating_the_guard_runs_no_bcrypt() {
        // Cost 31 would take days to hash or verify: building the guard must not try.
        let slow = "$2y$31$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze".to_string();
        let users = BTreeMap::from([("alice".to_string(), slow)]);
        let guard = Guard::new(users, Vec::new(), None).unwrap();
        assert_eq!(guard.verifications(), 0);
    }
}
