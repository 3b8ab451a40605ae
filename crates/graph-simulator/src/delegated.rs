//! Delegated (signed-in user) tokens, following the Microsoft identity platform v2.0 docs (Microsoft identity platform,
//! "OAuth 2.0 device authorization grant" (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code>);
//! Microsoft identity platform, "Refresh tokens in the Microsoft identity platform"
//! (<https://learn.microsoft.com/entra/identity-platform/refresh-tokens>)): scope handling shared by the device-code and
//! refresh-token grants, the refresh-token store with rotation and revocation, and the refresh-token grant itself.
//!
//! * A refresh token is issued only when the scope included `offline_access` (as Entra documents);
//!   every refresh-token redemption returns a new one (rotation). Like Entra, the previous refresh
//!   token stays valid until it expires or is revoked, so a client that fails to persist the
//!   rotated token keeps working for a while; tests catch that with `last_refresh_token`.
//! * Refresh tokens expire after `SimulatorConfig::refresh_token_lifetime` (Entra's inactivity
//!   window is 90 days): `invalid_grant` AADSTS700082. Revoked ones (`revoke_refresh_tokens`, as
//!   after a password reset or "revoke sessions"): `invalid_grant` AADSTS50173. Unknown or malformed
//!   ones: `invalid_grant` AADSTS9002313.
//! * Tokens and refresh tokens are opaque random strings; they are never logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use time::OffsetDateTime;

use super::SimCloud;
use super::cloud;
use super::entra::{EntraError, correlation_id, entra_response};
use super::faults::lock;
use super::rows::json_str;
use super::state::{Shared, TenantState};
use super::timefmt::entra_timestamp;
use super::tokens::{Form, TokenKind, TokenRecord};

/// The directory roles of the simulated signed-in user unless a test chooses others: Reports Reader
/// is the least-privileged role that can read every report (Microsoft Entra, "Authentication Methods Activity"
/// (<https://learn.microsoft.com/entra/identity/authentication/howto-authentication-methods-activity>)).
pub const DEFAULT_USER_ROLES: [&str; 1] = ["Reports Reader"];

/// Delegated permissions the tenant consented to for the app: what `.default` grants.
pub(crate) const CONSENTED_SCOPES: [&str; 4] =
    ["User.Read", "AuditLog.Read.All", "Reports.Read.All", "RoleManagement.Read.Directory"];

/// A parsed `scope` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScopeRequest {
    /// Graph delegated permissions, short names (`AuditLog.Read.All`).
    pub(crate) graph: Vec<String>,
    /// `offline_access` was requested: a refresh token is issued.
    pub(crate) offline: bool,
    /// OpenID Connect scopes (`openid`, `profile`, `email`), echoed in the response's `scope`.
    pub(crate) oidc: Vec<String>,
}

/// Parse `scope`: `https://graph.microsoft.com/AuditLog.Read.All`, bare `AuditLog.Read.All` (Graph is
/// the default resource), `https://graph.microsoft.com/.default` (the consented set), plus
/// `offline_access` and the OIDC scopes. A named resource must be the Graph of the tenant's `cloud`
/// (AADSTS90038 for another cloud's Graph, see [`cloud::check_scope`]); anything malformed is
/// AADSTS70011.
pub(crate) fn parse_scope(scope: &str, cloud: SimCloud, tenant_segment: &str) -> Result<ScopeRequest, EntraError> {
    let shown: String = scope.chars().take(200).collect();
    let invalid = || EntraError::invalid_scope(&shown);
    let mut req = ScopeRequest { graph: Vec::new(), offline: false, oidc: Vec::new() };
    let add = |p: &str, graph: &mut Vec<String>| {
        if !graph.iter().any(|g| g.eq_ignore_ascii_case(p)) {
            graph.push(p.to_owned());
        }
    };
    for s in scope.split_whitespace() {
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "offline_access" => req.offline = true,
            "openid" | "profile" | "email" => {
                if !req.oidc.contains(&lower) {
                    req.oidc.push(lower);
                }
            }
            _ => {
                let perm = match s.rsplit_once('/') {
                    Some((resource, perm)) if !resource.is_empty() => {
                        cloud::check_scope(cloud, resource, tenant_segment, &shown)?;
                        perm
                    }
                    Some(_) => return Err(invalid()),
                    None => s,
                };
                let valid = !perm.is_empty()
                    && perm.len() <= 100
                    && perm.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b));
                if !valid {
                    return Err(invalid());
                }
                if perm == ".default" {
                    for c in CONSENTED_SCOPES {
                        add(c, &mut req.graph);
                    }
                } else {
                    add(perm, &mut req.graph);
                }
            }
        }
    }
    if req.graph.is_empty() {
        // Only OIDC scopes: Entra still issues a Graph token for the user's own profile.
        req.graph.push("User.Read".to_owned());
    }
    Ok(req)
}

/// What the simulator remembers about an issued refresh token.
#[derive(Debug, Clone)]
struct RefreshRecord {
    tenant_id: String,
    client_id: String,
    scopes: Vec<String>,
    user_roles: Vec<String>,
    issued_at: OffsetDateTime,
    expires_at: Instant,
    revoked_at: Option<OffsetDateTime>,
}

/// Issued refresh tokens, and the newest one per tenant.
#[derive(Default)]
pub(crate) struct RefreshTokens {
    map: Mutex<HashMap<String, RefreshRecord>>,
    last: Mutex<HashMap<String, String>>,
}

/// Beyond this many records, expired ones are forgotten (then they are merely unknown).
const MAX_REFRESH_RECORDS: usize = 4096;

impl RefreshTokens {
    fn issue(&self, rec: RefreshRecord) -> String {
        let token = format!(
            "1.AQ{}{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let tenant = rec.tenant_id.to_ascii_lowercase();
        {
            let mut map = lock(&self.map);
            if map.len() >= MAX_REFRESH_RECORDS {
                let now = Instant::now();
                map.retain(|_, r| r.expires_at > now && r.revoked_at.is_none());
            }
            map.insert(token.clone(), rec);
        }
        lock(&self.last).insert(tenant, token.clone());
        token
    }

    fn get(&self, token: &str) -> Option<RefreshRecord> {
        lock(&self.map).get(token).cloned()
    }

    /// Revoke every refresh token issued so far (later ones are valid again).
    pub(crate) fn revoke_all(&self) {
        let now = OffsetDateTime::now_utc();
        for r in lock(&self.map).values_mut() {
            r.revoked_at.get_or_insert(now);
        }
    }

    /// The newest refresh token issued for `tenant_id`.
    pub(crate) fn last(&self, tenant_id: &str) -> Option<String> {
        lock(&self.last).get(&tenant_id.to_ascii_lowercase()).cloned()
    }
}

/// A delegated token grant about to be issued.
pub(crate) struct Grant {
    pub(crate) scopes: Vec<String>,
    pub(crate) oidc: Vec<String>,
    pub(crate) offline: bool,
    pub(crate) user_roles: Vec<String>,
}

/// Mint a refresh token directly (for `RunningSimulator::issue_refresh_token`).
pub(crate) fn mint_refresh_token(
    shared: &Shared,
    tenant: &TenantState,
    scopes: Vec<String>,
    user_roles: Vec<String>,
) -> String {
    shared.refresh_tokens.issue(RefreshRecord {
        tenant_id: tenant.tenant_id.clone(),
        client_id: tenant.client_id.clone(),
        scopes,
        user_roles,
        issued_at: OffsetDateTime::now_utc(),
        expires_at: Instant::now() + shared.refresh_token_lifetime,
        revoked_at: None,
    })
}

/// Issue an access token (and a refresh token when `offline`) and build the 200 answer:
/// `token_type`, `scope`, `expires_in`, `ext_expires_in`, `access_token`, `refresh_token`.
/// No `id_token`: the simulator issues no JWTs (an exporter has no use for one).
pub(crate) fn issue(shared: &Shared, tenant: &TenantState, grant: Grant, headers: &HeaderMap) -> Response {
    let lifetime = shared.token_lifetime;
    let access = shared.tokens.issue(TokenRecord {
        tenant_id: tenant.tenant_id.clone(),
        client_id: tenant.client_id.clone(),
        kind: TokenKind::Delegated,
        roles: Vec::new(),
        scopes: grant.scopes.clone(),
        user_roles: grant.user_roles.clone(),
        expires_at: Instant::now() + lifetime,
    });
    let mut scope: Vec<&str> = grant.scopes.iter().map(String::as_str).collect();
    scope.extend(grant.oidc.iter().map(String::as_str));
    let scope = scope.join(" ");
    let refresh = grant.offline.then(|| mint_refresh_token(shared, tenant, grant.scopes, grant.user_roles));
    let secs = lifetime.as_secs();
    let mut body = format!(
        r#"{{"token_type":"Bearer","scope":{},"expires_in":{secs},"ext_expires_in":{secs},"access_token":{}"#,
        json_str(&scope),
        json_str(&access)
    );
    if let Some(rt) = refresh {
        body.push_str(&format!(r#","refresh_token":{}"#, json_str(&rt)));
    }
    body.push('}');
    entra_response(StatusCode::OK, body, &uuid::Uuid::new_v4().to_string(), &correlation_id(headers))
}

fn invalid_grant(code: u32, text: String) -> EntraError {
    EntraError::new(StatusCode::BAD_REQUEST, "invalid_grant", code, text)
}

/// Entra's `[d.]hh:mm:ss` duration form, as in "was inactive for 90.00:00:00".
fn span(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}.{:02}:{:02}:{:02}", s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60, s % 60)
}

/// `grant_type=refresh_token`: a new access token and a new (rotated) refresh token.
pub(crate) fn redeem_refresh_token(
    shared: &Shared,
    tenant: &TenantState,
    tenant_segment: &str,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Response, EntraError> {
    form.public_client(tenant, tenant_segment)?;
    let token = form.get("refresh_token").ok_or_else(|| EntraError::missing("refresh_token"))?;
    let malformed = || invalid_grant(9002313, "Invalid request. Request is malformed or invalid.".into());
    let rec = shared.refresh_tokens.get(token.trim()).ok_or_else(malformed)?;
    if !rec.tenant_id.eq_ignore_ascii_case(&tenant.tenant_id) || !rec.client_id.eq_ignore_ascii_case(&tenant.client_id)
    {
        return Err(invalid_grant(70000, "Provided grant is invalid or malformed.".into()));
    }
    if let Some(revoked) = rec.revoked_at {
        return Err(invalid_grant(
            50173,
            format!(
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '{}' and the TokensValidFrom date (before which tokens are not valid) for this user is '{}'.",
                entra_timestamp(rec.issued_at),
                entra_timestamp(revoked)
            ),
        ));
    }
    if Instant::now() >= rec.expires_at {
        return Err(invalid_grant(
            700082,
            format!(
                "The refresh token has expired due to inactivity. The token was issued on {} and was inactive for {}.",
                entra_timestamp(rec.issued_at),
                span(shared.refresh_token_lifetime)
            ),
        ));
    }
    // The scope may narrow or restate the grant; `.default` or no scope keeps the original one.
    let (scopes, oidc) = match form.get("scope") {
        None => (rec.scopes.clone(), Vec::new()),
        Some(s) => {
            let req = parse_scope(&s, tenant.cloud, tenant_segment)?;
            let explicit = !s.to_ascii_lowercase().contains("/.default");
            (if explicit { req.graph } else { rec.scopes.clone() }, req.oidc)
        }
    };
    shared.stats.refresh_grant();
    tracing::debug!(tenant = %tenant.tenant_id, "simulator: refresh token redeemed");
    Ok(issue(shared, tenant, Grant { scopes, oidc, offline: true, user_roles: rec.user_roles }, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(scope: &str) -> Result<ScopeRequest, EntraError> {
        parse_scope(scope, SimCloud::Global, "contoso.com")
    }

    #[test]
    fn scopes() {
        let r = parse("https://graph.microsoft.com/AuditLog.Read.All offline_access openid").unwrap();
        assert_eq!(r.graph, ["AuditLog.Read.All"]);
        assert!(r.offline);
        assert_eq!(r.oidc, ["openid"]);
        let r = parse("https://graph.microsoft.com/.default Reports.Read.All").unwrap();
        assert_eq!(r.graph, CONSENTED_SCOPES.map(String::from).to_vec());
        assert!(!r.offline);
        assert_eq!(parse("openid profile").unwrap().graph, ["User.Read"]);
        for bad in ["/x", "https://graph.microsoft.com/", "bad%scope", "https://vault.azure.net/.default"] {
            assert_eq!(parse(bad).unwrap_err().code, 70011, "{bad}");
        }
    }

    #[test]
    fn scopes_name_the_graph_of_the_tenants_cloud() {
        let us = "https://graph.microsoft.us/.default offline_access";
        let e = parse(us).unwrap_err();
        assert_eq!((e.error, e.code), ("invalid_request", 90038));
        assert_eq!(
            e.text,
            "Tenant 'contoso.com' request is being redirected to the National Cloud 'MicrosoftOnline.COM'."
        );
        assert!(parse_scope(us, SimCloud::Usgov, "contoso.us").unwrap().offline);
        let e = parse_scope(us, SimCloud::UsgovDod, "contoso.us").unwrap_err();
        assert_eq!(e.code, 70011, "L4's Graph behind the same login host is merely the wrong scope");
    }

    #[test]
    fn spans() {
        assert_eq!(span(Duration::from_secs(90 * 86_400)), "90.00:00:00");
        assert_eq!(span(Duration::from_secs(3661)), "0.01:01:01");
    }
}
