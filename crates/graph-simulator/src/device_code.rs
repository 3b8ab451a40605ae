//! The device authorization grant (RFC 8628; Microsoft identity platform, "OAuth 2.0 device authorization grant"
//! (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code>)):
//! `POST /{tenant}/oauth2/v2.0/devicecode` hands out a device code and a user code, and the token endpoint's
//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` polls until the user approves or
//! declines: a test through `RunningSimulator::approve_device_code`, a person through the
//! simulator's own verification page `/devicelogin` (where Entra would send them to
//! `https://microsoft.com/devicelogin`), so `login` can be tried end to end without a tenant.
//!
//! Poll answers, all HTTP 400 with Entra's error body:
//! * `authorization_pending` AADSTS70016 "OAuth 2.0 device flow error. Authorization is pending.
//!   Continue polling." (the exact real text);
//! * `slow_down` when polled sooner than `interval` after the previous poll while pending. Entra
//!   does not document `slow_down` and its AADSTS number is unknown, so 70016 is reused (clients
//!   branch on `error`). As RFC 8628 3.5 requires, the interval then grows by the configured interval
//!   (5 s by default, exactly RFC's five seconds);
//! * `authorization_declined` AADSTS65004 ("User declined to consent to access the app.");
//! * `expired_token` AADSTS70019 ("Verification code expired.") after `expires_in`;
//! * `bad_verification_code` AADSTS70018 for a device code that was never issued, belongs to
//!   another app or tenant, or was already redeemed (the number is UNCERTAIN: 70018 is what Entra
//!   uses for a mistyped user code).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::delegated::{self, Grant, ScopeRequest, parse_scope};
use super::entra::{EntraError, correlation_id, entra_response};
use super::faults::{Stage, lock};
use super::rows::json_str;
use super::state::{Shared, TenantState};
use super::tokens::Form;

/// The path of the simulator's verification page, on its own address (Entra's is
/// `https://microsoft.com/devicelogin`, which cannot approve a simulated code).
pub(crate) const VERIFICATION_PATH: &str = "/devicelogin";
/// The form field the verification page posts, as RFC 8628 section 3.3 calls the code.
const USER_CODE_FIELD: &str = "user_code";
/// Characters of user codes: no 0/O or 1/I, which people mistype.
const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Pending codes kept at most; older expired ones are forgotten first.
const MAX_CODES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Pending,
    Approved { user_roles: Vec<String> },
    Declined,
}

#[derive(Debug)]
struct DeviceCode {
    tenant_id: String,
    client_id: String,
    scope: ScopeRequest,
    user_code: String,
    expires_at: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
    state: State,
}

/// Outstanding device codes, keyed by device code.
#[derive(Default)]
pub(crate) struct DeviceCodes {
    map: Mutex<HashMap<String, DeviceCode>>,
}

impl DeviceCodes {
    /// Set the state of the pending code with `user_code` (case-insensitive, dashes and spaces
    /// ignored, as people type it). `false` if there is no such pending, unexpired code.
    fn decide(&self, user_code: &str, state: State) -> bool {
        let wanted: String = user_code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let now = Instant::now();
        let mut map = lock(&self.map);
        match map.values_mut().find(|c| c.user_code.eq_ignore_ascii_case(&wanted)) {
            Some(c) if c.state == State::Pending && now < c.expires_at => {
                c.state = state;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn approve(&self, user_code: &str, user_roles: Vec<String>) -> bool {
        self.decide(user_code, State::Approved { user_roles })
    }

    pub(crate) fn decline(&self, user_code: &str) -> bool {
        self.decide(user_code, State::Declined)
    }

    /// Make every outstanding code expire now.
    pub(crate) fn expire_all(&self) {
        let now = Instant::now();
        for c in lock(&self.map).values_mut() {
            c.expires_at = c.expires_at.min(now);
        }
    }
}

fn random_user_code() -> String {
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(9)
        .map(|b| USER_CODE_ALPHABET[usize::from(*b) % USER_CODE_ALPHABET.len()] as char)
        .collect()
}

/// `POST /{tenant}/oauth2/v2.0/devicecode` (form: `client_id`, `scope`).
/// `base` is `http://host:port` as the client addressed the simulator: the verification page is
/// announced there.
pub(crate) fn devicecode_endpoint(
    shared: &Shared,
    tenant_segment: &str,
    headers: &HeaderMap,
    body: &[u8],
    base: &str,
) -> Response {
    let corr = correlation_id(headers);
    let tenant_shown: String = tenant_segment.chars().take(100).collect();
    match start(shared, &tenant_shown, headers, body, base) {
        Ok(r) => {
            shared.stats.device_code_request();
            r
        }
        Err(e) => {
            shared.stats.token_failed();
            tracing::debug!(tenant = %tenant_shown, error = e.error, code = e.code, "simulator: device code refused");
            e.into_response(&corr)
        }
    }
}

fn start(
    shared: &Shared,
    tenant_segment: &str,
    headers: &HeaderMap,
    body: &[u8],
    base: &str,
) -> Result<Response, EntraError> {
    let form = Form::parse(headers, body);
    if let Some(super::Fault::TokenFailure { error, .. }) = shared.faults.take(Stage::Token) {
        return Err(EntraError::from_fault(error, &form.client_for_errors(), tenant_segment));
    }
    let tenant = shared.tenant(tenant_segment).ok_or_else(|| EntraError::unknown_tenant(tenant_segment))?;
    let client_id = form.get("client_id").ok_or_else(|| EntraError::missing("client_id"))?;
    if !client_id.eq_ignore_ascii_case(&tenant.client_id) {
        return Err(EntraError::unknown_client(&form.client_for_errors(), tenant_segment));
    }
    let scope_text = form.get("scope").ok_or_else(|| EntraError::missing("scope"))?;
    let scope = parse_scope(&scope_text, tenant.cloud, tenant_segment)?;

    let device_code = format!(
        "DAQABIQEAAAD{}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let user_code = random_user_code();
    let lifetime = shared.device_code_lifetime;
    let interval = shared.device_code_interval;
    {
        let mut map = lock(&shared.device_codes.map);
        if map.len() >= MAX_CODES {
            let now = Instant::now();
            map.retain(|_, c| c.expires_at > now);
            if map.len() >= MAX_CODES {
                return Err(EntraError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "temporarily_unavailable",
                    90055,
                    "There are too many incoming requests.",
                ));
            }
        }
        map.insert(
            device_code.clone(),
            DeviceCode {
                tenant_id: tenant.tenant_id.clone(),
                client_id: tenant.client_id.clone(),
                scope,
                user_code: user_code.clone(),
                expires_at: Instant::now() + lifetime,
                interval,
                last_poll: None,
                state: State::Pending,
            },
        );
    }
    let verification_uri = format!("{base}{VERIFICATION_PATH}");
    let message = format!(
        "To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."
    );
    let body = format!(
        r#"{{"user_code":{},"device_code":{},"verification_uri":{},"expires_in":{},"interval":{},"message":{}}}"#,
        json_str(&user_code),
        json_str(&device_code),
        json_str(&verification_uri),
        lifetime.as_secs(),
        // Whole seconds, rounded up so a client that waits this long is never too early.
        interval.as_millis().div_ceil(1000),
        json_str(&message)
    );
    tracing::debug!(tenant = %tenant.tenant_id, "simulator: device code issued");
    Ok(entra_response(StatusCode::OK, body, &uuid::Uuid::new_v4().to_string(), &correlation_id(headers)))
}

/// The verification page: `GET` shows a form asking for the user code; `POST` (form field
/// `user_code`) approves the pending code as a user with [`delegated::DEFAULT_USER_ROLES`], or shows
/// the form again with an error when no pending, unexpired code matches.
pub(crate) fn verification_page(shared: &Shared, method: &axum::http::Method, body: &[u8]) -> Response {
    let (status, note) = if method == axum::http::Method::GET {
        (StatusCode::OK, String::new())
    } else if method == axum::http::Method::POST {
        let code = url::form_urlencoded::parse(body)
            .find(|(k, _)| k == USER_CODE_FIELD)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let roles = delegated::DEFAULT_USER_ROLES.iter().map(|r| (*r).to_owned()).collect();
        if shared.device_codes.approve(&code, roles) {
            tracing::info!("simulator: device code approved on the verification page");
            return html(
                StatusCode::OK,
                "<h1>Signed in</h1><p>The simulated user approved the sign-in. You can close this page; \
                 the waiting <code>login</code> finishes at its next poll.</p>",
            );
        }
        (
            StatusCode::BAD_REQUEST,
            "<p class=\"error\">That code is not pending: it is mistyped, expired or already used.</p>".to_owned(),
        )
    } else {
        return html(StatusCode::METHOD_NOT_ALLOWED, "<p>Use GET or POST.</p>");
    };
    html(
        status,
        &format!(
            "<h1>Simulated device sign-in</h1>{note}<form method=\"post\" action=\"{VERIFICATION_PATH}\">\
             <label>Code <input name=\"{USER_CODE_FIELD}\" autocomplete=\"off\" autofocus></label> \
             <button type=\"submit\">Sign in</button></form>"
        ),
    )
}

fn html(status: StatusCode, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Graph simulator sign-in</title></head>\
         <body>{body}</body></html>"
    );
    Response::builder()
        .status(status)
        .header(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(axum::http::header::CACHE_CONTROL, "no-store")
        .body(axum::body::Body::from(page))
        .unwrap_or_default()
}

fn poll_error(error: &'static str, code: u32, text: &str) -> EntraError {
    EntraError::new(StatusCode::BAD_REQUEST, error, code, text)
}

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code`: one poll.
pub(crate) fn redeem(
    shared: &Shared,
    tenant: &TenantState,
    tenant_segment: &str,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Response, EntraError> {
    form.public_client(tenant, tenant_segment)?;
    let code = form.get("device_code").ok_or_else(|| EntraError::missing("device_code"))?;
    shared.stats.device_code_poll();
    let bad = || {
        poll_error(
            "bad_verification_code",
            70018,
            "The provided value for the input parameter 'device_code' is not valid.",
        )
    };
    let now = Instant::now();
    let (scope, user_roles) = {
        let mut map = lock(&shared.device_codes.map);
        let c = map.get_mut(code.trim()).ok_or_else(bad)?;
        if !c.tenant_id.eq_ignore_ascii_case(&tenant.tenant_id) || !c.client_id.eq_ignore_ascii_case(&tenant.client_id)
        {
            return Err(bad());
        }
        if now >= c.expires_at {
            return Err(poll_error("expired_token", 70019, "Verification code expired."));
        }
        let polled_too_soon = c.last_poll.is_some_and(|t| now.saturating_duration_since(t) < c.interval);
        c.last_poll = Some(now);
        match &c.state {
            State::Declined => {
                return Err(poll_error("authorization_declined", 65004, "User declined to consent to access the app."));
            }
            State::Pending if polled_too_soon => {
                c.interval += shared.device_code_interval;
                return Err(poll_error(
                    "slow_down",
                    70016,
                    "OAuth 2.0 device flow error. Polling too frequently; increase the polling interval.",
                ));
            }
            State::Pending => {
                return Err(poll_error(
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                ));
            }
            State::Approved { user_roles } => {
                let out = (c.scope.clone(), user_roles.clone());
                map.remove(code.trim());
                out
            }
        }
    };
    shared.stats.device_code_grant();
    tracing::debug!(tenant = %tenant.tenant_id, "simulator: device code redeemed");
    let grant = Grant { scopes: scope.graph, oidc: scope.oidc, offline: scope.offline, user_roles };
    Ok(delegated::issue(shared, tenant, grant, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_unambiguous() {
        for _ in 0..100 {
            let c = random_user_code();
            assert_eq!(c.len(), 9);
            assert!(c.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{c}");
        }
    }

    #[test]
    fn decisions_apply_to_pending_codes_only() {
        let codes = DeviceCodes::default();
        let scope = ScopeRequest { graph: vec!["User.Read".into()], offline: false, oidc: vec![] };
        lock(&codes.map).insert(
            "dc".into(),
            DeviceCode {
                tenant_id: "t".into(),
                client_id: "c".into(),
                scope,
                user_code: "ABCDEFGHJ".into(),
                expires_at: Instant::now() + Duration::from_secs(60),
                interval: Duration::from_secs(5),
                last_poll: None,
                state: State::Pending,
            },
        );
        assert!(!codes.approve("ZZZ", vec![]));
        assert!(codes.decline("abcd-efghj"));
        assert!(!codes.approve("ABCDEFGHJ", vec![]), "already declined");
        codes.expire_all();
        assert!(lock(&codes.map)["dc"].expires_at <= Instant::now());
    }
}
