//! The Microsoft identity platform's token endpoint (Microsoft identity platform, "OAuth 2.0 client credentials flow"
//! (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow>); Microsoft identity
//! platform, "Microsoft Entra authentication and authorization error codes"
//! (<https://learn.microsoft.com/entra/identity-platform/reference-error-codes>)) and the server-side record of issued
//! access tokens. The client-credentials grant lives here; the device-code and refresh-token grants in `device_code`
//! and `delegated`.
//!
//! Tokens are opaque random strings, not JWTs: a client must never look inside an access token,
//! and an opaque one proves it does not. What Graph would read from the claims (tenant, app,
//! roles, expiry, delegated or app-only) lives in a [`TokenRecord`] on the simulator side.
//! The submitted secret is compared and forgotten: it is never stored, logged or echoed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::cloud;
use super::entra::{EntraError, correlation_id, entra_response};
use super::faults::{Stage, lock};
use super::query::{percent_decode, split_query};
use super::rows::json_str;
use super::state::{Shared, TenantState};
use super::{delegated, device_code};

/// How a token was obtained, which decides what Graph lets it do: the summary functions accept
/// delegated tokens only ("Application: Not supported" in the permissions table of Microsoft Graph,
/// "authenticationMethodsRoot: usersRegisteredByFeature"
/// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbyfeature>)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Client credentials: permissions are the app's `roles`.
    AppOnly,
    /// A signed-in user (device-code or refresh-token grant): permissions are `scp` scopes, and the
    /// reports also need the user to hold a reports role.
    Delegated,
}

/// What the simulator remembers about an issued access token.
#[derive(Debug, Clone)]
pub(crate) struct TokenRecord {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) kind: TokenKind,
    /// Application permissions (`roles` claim) for app-only tokens.
    pub(crate) roles: Vec<String>,
    /// Delegated permissions (`scp` claim) for delegated tokens.
    pub(crate) scopes: Vec<String>,
    /// The signed-in user's directory roles (`wids` claim) for delegated tokens.
    pub(crate) user_roles: Vec<String>,
    pub(crate) expires_at: Instant,
}

impl TokenRecord {
    /// Whether the token carries `permission`, from `roles` or `scp` according to its kind.
    pub(crate) fn has_permission(&self, permission: &str) -> bool {
        let granted = match self.kind {
            TokenKind::AppOnly => &self.roles,
            TokenKind::Delegated => &self.scopes,
        };
        granted.iter().any(|p| p.eq_ignore_ascii_case(permission))
    }
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Missing,
    Unknown,
    Expired,
}

impl TokenProblem {
    /// The `InvalidAuthenticationToken` messages seen for each case (in real 401 answers; the shape is that of
    /// Microsoft Graph, "Microsoft Graph error responses and resource types"
    /// (<https://learn.microsoft.com/graph/errors>)).
    pub(crate) fn message(self) -> &'static str {
        match self {
            TokenProblem::Missing => "Access token is empty.",
            TokenProblem::Unknown => "CompactToken parsing failed with error code: 80049217",
            TokenProblem::Expired => "Access token has expired or is not yet valid.",
        }
    }
}

/// Issued tokens. Expired ones are kept for a while so the 401 can say "expired".
#[derive(Default)]
pub(crate) struct TokenStore {
    map: Mutex<HashMap<String, TokenRecord>>,
}

/// Expired tokens older than this are forgotten (then they are merely unknown).
const KEEP_EXPIRED: Duration = Duration::from_secs(3600);

impl TokenStore {
    pub(crate) fn issue(&self, record: TokenRecord) -> String {
        let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let mut map = lock(&self.map);
        if map.len() >= 4096 {
            let now = Instant::now();
            map.retain(|_, r| now.saturating_duration_since(r.expires_at) < KEEP_EXPIRED);
        }
        map.insert(token.clone(), record);
        token
    }

    /// Validate the `Authorization` header of a Graph request.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<TokenRecord, TokenProblem> {
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or("");
        let token = match value.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
            _ if value.is_empty() || value.eq_ignore_ascii_case("bearer") => {
                return Err(TokenProblem::Missing);
            }
            _ => return Err(TokenProblem::Unknown),
        };
        if token.is_empty() {
            return Err(TokenProblem::Missing);
        }
        let map = lock(&self.map);
        let rec = map.get(token).ok_or(TokenProblem::Unknown)?;
        if Instant::now() >= rec.expires_at {
            return Err(TokenProblem::Expired);
        }
        Ok(rec.clone())
    }

    pub(crate) fn revoke_all(&self) {
        lock(&self.map).clear();
    }
}

/// The parameters of a token-endpoint or device-code request. A body that is not a form has no
/// parameters as far as Entra is concerned. Values are kept only for the request's duration.
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
    /// `Authorization: Basic` client credentials (RFC 6749 2.3.1), which take precedence.
    basic: Option<(String, String)>,
}

impl Form {
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Form {
        let form_body = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        let text = if form_body { String::from_utf8_lossy(body).into_owned() } else { String::new() };
        let pairs = split_query(&text).into_iter().map(|p| (p.key, p.value)).collect();
        Form { pairs, basic: basic_credentials(headers) }
    }

    /// A non-empty parameter.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).filter(|v| !v.is_empty())
    }

    /// The client id as submitted (Basic first), cut short, for error messages.
    pub(crate) fn client_for_errors(&self) -> String {
        self.basic
            .as_ref()
            .map(|(id, _)| id.clone())
            .or_else(|| self.get("client_id"))
            .map(|c| c.chars().take(100).collect::<String>())
            .unwrap_or_default()
    }

    /// (client id, secret if any), Basic first.
    fn client(&self) -> Result<(String, Option<String>), EntraError> {
        match &self.basic {
            Some((id, secret)) => Ok((id.clone(), Some(secret.clone()))),
            None => {
                Ok((self.get("client_id").ok_or_else(|| EntraError::missing("client_id"))?, self.get("client_secret")))
            }
        }
    }

    /// Authenticate the client of a public-client grant (device code, refresh token): the client id
    /// must be the tenant's app; a secret is optional (the app registration allows public client
    /// flows) but checked when present, as Entra does for confidential clients.
    pub(crate) fn public_client(&self, tenant: &TenantState, tenant_segment: &str) -> Result<(), EntraError> {
        let (client_id, secret) = self.client()?;
        if !client_id.eq_ignore_ascii_case(&tenant.client_id) {
            return Err(EntraError::unknown_client(&self.client_for_errors(), tenant_segment));
        }
        match secret.filter(|s| !s.is_empty()) {
            Some(s) if !constant_time_eq(s.as_bytes(), tenant.client_secret.as_bytes()) => {
                Err(EntraError::invalid_secret(&tenant.client_id))
            }
            _ => Ok(()),
        }
    }
}

/// The grant type of RFC 8628.
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `POST /{tenant}/oauth2/v2.0/token`: a token, or Entra's error body; counted in the stats.
pub(crate) fn token_endpoint(shared: &Shared, tenant_segment: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let corr = correlation_id(headers);
    let tenant_shown: String = tenant_segment.chars().take(100).collect();
    let result = issue(shared, &tenant_shown, headers, body);
    match result {
        Ok(resp) => {
            shared.stats.token_ok();
            resp
        }
        Err(e) => {
            shared.stats.token_failed();
            tracing::debug!(tenant = %tenant_shown, error = e.error, code = e.code, "simulator: token request refused");
            e.into_response(&corr)
        }
    }
}

fn issue(shared: &Shared, tenant_segment: &str, headers: &HeaderMap, body: &[u8]) -> Result<Response, EntraError> {
    let form = Form::parse(headers, body);
    if let Some(super::Fault::TokenFailure { error, .. }) = shared.faults.take(Stage::Token) {
        return Err(EntraError::from_fault(error, &form.client_for_errors(), tenant_segment));
    }
    let tenant = shared.tenant(tenant_segment).ok_or_else(|| EntraError::unknown_tenant(tenant_segment))?;
    let grant = form.get("grant_type").ok_or_else(|| EntraError::missing("grant_type"))?;
    match grant.as_str() {
        "client_credentials" => client_credentials(shared, tenant, tenant_segment, headers, &form),
        DEVICE_CODE_GRANT => device_code::redeem(shared, tenant, tenant_segment, headers, &form),
        "refresh_token" => delegated::redeem_refresh_token(shared, tenant, tenant_segment, headers, &form),
        _ => {
            let g: String = grant.chars().take(100).collect();
            Err(EntraError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{g}'."),
            ))
        }
    }
}

fn client_credentials(
    shared: &Shared,
    tenant: &TenantState,
    tenant_segment: &str,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Response, EntraError> {
    let (client_id, secret) = form.client()?;
    let scope = form.get("scope").ok_or_else(|| EntraError::missing("scope"))?;
    let shown: String = scope.chars().take(200).collect();
    let resource = default_scope_resource(&scope);
    // Another cloud's Graph means the client went to another cloud's login host, which does not
    // know the tenant: refused before the app is looked at.
    if let Some(r) = resource
        && let Err(Some(home)) = cloud::check_resource(tenant.cloud, r)
    {
        return Err(EntraError::national_cloud_redirect(tenant_segment, home));
    }
    if !client_id.eq_ignore_ascii_case(&tenant.client_id) {
        return Err(EntraError::unknown_client(&form.client_for_errors(), tenant_segment));
    }
    if let Some(assertion) = form.get("client_assertion") {
        let assertion_type = form.get("client_assertion_type");
        super::assertions::check(
            &tenant.app_credentials,
            headers,
            tenant_segment,
            &tenant.client_id,
            assertion_type.as_deref(),
            &assertion,
        )?;
    } else {
        let Some(secret) = secret.filter(|s| !s.is_empty()) else {
            return Err(EntraError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        };
        if !constant_time_eq(secret.as_bytes(), tenant.client_secret.as_bytes()) {
            return Err(EntraError::invalid_secret(&tenant.client_id));
        }
    }
    // One resource's `.default`, and that resource the tenant's Graph (Microsoft identity platform, "OAuth 2.0 client
    // credentials flow" (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow)).
    let Some(resource) = resource else { return Err(EntraError::invalid_scope(&shown)) };
    cloud::check_scope(tenant.cloud, resource, tenant_segment, &shown)?;
    shared.stats.token_scope(&scope);

    let lifetime = shared.token_lifetime;
    let token = shared.tokens.issue(TokenRecord {
        tenant_id: tenant.tenant_id.clone(),
        client_id: tenant.client_id.clone(),
        kind: TokenKind::AppOnly,
        roles: tenant.app_roles(),
        scopes: Vec::new(),
        user_roles: Vec::new(),
        expires_at: Instant::now() + lifetime,
    });
    let secs = lifetime.as_secs();
    let body = format!(
        r#"{{"token_type":"Bearer","expires_in":{secs},"ext_expires_in":{secs},"access_token":{}}}"#,
        json_str(&token)
    );
    tracing::debug!(tenant = %tenant.tenant_id, "simulator: token issued");
    Ok(entra_response(StatusCode::OK, body, &uuid::Uuid::new_v4().to_string(), &correlation_id(headers)))
}

/// The resource of a client-credentials scope, which must be exactly one `{resource}/.default`.
fn default_scope_resource(scope: &str) -> Option<&str> {
    let mut scopes = scope.split_whitespace();
    match (scopes.next(), scopes.next()) {
        (Some(one), None) => one.strip_suffix("/.default").filter(|r| !r.is_empty()),
        _ => None,
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, data) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64_decode(data.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((percent_decode(id, true), percent_decode(secret, true)))
}

/// Standard base64 (padding optional). Small enough to not need a dependency.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }
    let bytes: Vec<u8> = s.bytes().filter(|&b| b != b'=').collect();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let n = chunk.len() - 1;
        for i in 0..n {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aWQ6c2VjcmV0").unwrap(), b"id:secret");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert!(base64_decode("Y").is_none());
        assert!(base64_decode("!!!!").is_none());
    }

    #[test]
    fn bearer_parsing() {
        let store = TokenStore::default();
        let t = store.issue(TokenRecord {
            tenant_id: "t".into(),
            client_id: "c".into(),
            kind: TokenKind::AppOnly,
            roles: vec!["AuditLog.Read.All".into()],
            scopes: vec![],
            user_roles: vec![],
            expires_at: Instant::now() + Duration::from_secs(60),
        });
        let mut h = HeaderMap::new();
        assert_eq!(store.authenticate(&h).unwrap_err(), TokenProblem::Missing);
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("bearer {t}")).unwrap());
        let rec = store.authenticate(&h).unwrap();
        assert!(rec.has_permission("auditlog.read.all"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer garbage"));
        assert_eq!(store.authenticate(&h).unwrap_err(), TokenProblem::Unknown);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(store.authenticate(&h).unwrap_err(), TokenProblem::Unknown);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(store.authenticate(&h).unwrap_err(), TokenProblem::Missing);
        let t2 = store.issue(TokenRecord {
            tenant_id: "t".into(),
            client_id: "c".into(),
            kind: TokenKind::AppOnly,
            roles: vec![],
            scopes: vec![],
            user_roles: vec![],
            expires_at: Instant::now(),
        });
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {t2}")).unwrap());
        assert_eq!(store.authenticate(&h).unwrap_err(), TokenProblem::Expired);
        store.revoke_all();
        assert_eq!(store.authenticate(&h).unwrap_err(), TokenProblem::Unknown);
    }
}
