//! Basic authentication (bcrypt hashes, verified results cached) and the security headers, as one
//! axum middleware around the whole router.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

/// Paths served without credentials: liveness probes.
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
    /// A bcrypt hash of a random password at the configured users' highest cost, checked for unknown
    /// users so that the time taken does not tell whether a user exists.
    dummy_hash: Arc<str>,
}

impl Guard {
    pub(super) fn new(
        users: BTreeMap<String, String>,
        headers: Vec<(HeaderName, HeaderValue)>,
    ) -> Result<Self, String> {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng)
            .map_err(|_| "cannot generate a random key for the credential cache".to_string())?;
        let cost = users.values().filter_map(|h| h.parse::<bcrypt::HashParts>().ok()).map(|p| p.get_cost()).max();
        let dummy_hash = match cost {
            Some(cost) => {
                let mut random = [0u8; 32];
                ring::rand::SecureRandom::fill(&rng, &mut random)
                    .map_err(|_| "cannot generate random bytes for basic auth".to_string())?;
                bcrypt::hash(random, cost).map_err(|_| "cannot prepare basic auth".to_string())?
            }
            None => String::new(),
        };
        Ok(Self { users, headers, cache: Mutex::new(HashMap::new()), key, dummy_hash: Arc::from(dummy_hash) })
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

/// The middleware: checks credentials (when users are configured) on every path but the liveness
/// probes, and adds the configured security headers to every response, 401s included.
pub(super) async fn middleware(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let open = OPEN_PATHS.contains(&req.uri().path());
    let mut response =
        if guard.users.is_empty() || open || guard.authorized(req.headers().get(header::AUTHORIZATION)).await {
            next.run(req).await
        } else {
            unauthorized()
        };
    for (name, value) in &guard.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
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
}
