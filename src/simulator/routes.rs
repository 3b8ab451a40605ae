//! Request dispatch. One fallback handler routes by hand instead of axum's router, because Graph
//! paths contain OData function calls (`usersRegisteredByFeature(includedUserTypes='all',…)`),
//! are case-insensitive, and unknown segments must produce Graph's own 400 envelope.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;

use super::conn::ConnTap;
use super::envelope::{self, ReqMeta};
use super::faults::{Fault, Stage};
use super::query::{QueryError, parse_list_query, percent_decode};
use super::reports::{self, Ctx};
use super::rows::ApiVersion;
use super::state::Shared;
use super::summary::{self, SummaryCall};
use super::throttle::format_retry_after;
use super::tokens::{self, TokenKind};

/// Token request bodies larger than this are not read (a client-credentials form is tiny).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The permission every route here requires (graph-api.md 9.1).
const AUDIT_LOG: &str = "AuditLog.Read.All";
/// The documented higher-privileged alternative for userRegistrationDetails.
const USER_AUTH_METHOD: &str = "UserAuthenticationMethod.Read.All";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

/// Graph routes the simulator serves.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GraphRoute {
    List,
    Get(String),
    Summary(SummaryCall),
}

impl GraphRoute {
    fn stats_key(&self, v: ApiVersion) -> String {
        let name = match self {
            GraphRoute::List => "userRegistrationDetails",
            GraphRoute::Get(_) => "userRegistrationDetails/{id}",
            GraphRoute::Summary(c) => c.kind.name(),
        };
        format!("{}/{name}", v.as_str())
    }
}

enum RouteError {
    /// A segment Graph would not know.
    Segment(String),
    /// Bad function parameters.
    Function(String),
}

/// Resolve the decoded segments after the version.
fn resolve(segs: &[String]) -> Result<GraphRoute, RouteError> {
    let is = |i: usize, name: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(name));
    // Past the end (`/v1.0/reports`), name the last segment, the one that leads nowhere.
    let unknown = |i: usize| RouteError::Segment(segs.get(i).or(segs.last()).cloned().unwrap_or_default());
    if !is(0, "reports") {
        return Err(unknown(0));
    }
    if !is(1, "authenticationMethods") {
        return Err(unknown(1));
    }
    if is(2, "userRegistrationDetails") {
        return match segs.len() {
            3 => Ok(GraphRoute::List),
            4 if !segs[3].is_empty() => Ok(GraphRoute::Get(segs[3].clone())),
            _ => Err(unknown(4.min(segs.len() - 1))),
        };
    }
    match segs.get(2).map(|s| summary::parse_segment(s)) {
        Some(Some(Ok(call))) if segs.len() == 3 => Ok(GraphRoute::Summary(call)),
        Some(Some(Ok(_))) => Err(unknown(3)),
        Some(Some(Err(m))) => Err(RouteError::Function(m)),
        _ => Err(unknown(2)),
    }
}

async fn dispatch(State(shared): State<Arc<Shared>>, ConnectInfo(tap): ConnectInfo<ConnTap>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let mut segs: Vec<String> = parts.uri.path().split('/').skip(1).map(|s| percent_decode(s, false)).collect();
    while segs.len() > 1 && segs.last().is_some_and(|s| s.is_empty()) {
        segs.pop();
    }
    let is_token = segs.len() == 4
        && segs[1].eq_ignore_ascii_case("oauth2")
        && segs[2].eq_ignore_ascii_case("v2.0")
        && segs[3].eq_ignore_ascii_case("token");
    if is_token {
        if parts.method != Method::POST {
            shared.stats.token_failed();
            return tokens::wrong_method(parts.method.as_str(), &parts.headers);
        }
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.unwrap_or_default();
        return tokens::token_endpoint(&shared, &segs[0], &parts.headers, &bytes);
    }
    let first = segs.first().map(String::as_str).unwrap_or("");
    if let Some(version) = ApiVersion::parse(first) {
        let resp = graph(&shared, &tap, &parts, version, &segs[1..]).await;
        tracing::debug!(method = %parts.method, path = %parts.uri.path(), status = resp.status().as_u16(), "simulator: graph request");
        return resp;
    }
    shared.stats.route("unknown");
    let meta = ReqMeta::new(&parts.headers);
    let looks_like_version =
        first.len() > 1 && first.starts_with(['v', 'V']) && first[1..].starts_with(|c: char| c.is_ascii_digit());
    if looks_like_version {
        let shown: String = first.chars().take(50).collect();
        return envelope::error(&meta, StatusCode::BAD_REQUEST, "BadRequest", &format!("Invalid version: {shown}"));
    }
    envelope::error(
        &meta,
        StatusCode::NOT_FOUND,
        "NotFound",
        "This Microsoft Graph simulator serves /v1.0/..., /beta/... and POST /{tenant}/oauth2/v2.0/token.",
    )
}

/// `scheme://host` for absolute URLs in answers, from the `Host` the client used (so nextLinks
/// work through whatever address the client chose); the bound address if absent or odd.
fn base_url(shared: &Shared, parts: &Parts) -> String {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| shared.local_addr.to_string());
    format!("http://{host}")
}

async fn graph(shared: &Shared, tap: &ConnTap, parts: &Parts, version: ApiVersion, segs: &[String]) -> Response {
    let meta = ReqMeta::new(&parts.headers);
    let route = match resolve(segs) {
        Ok(r) => r,
        Err(RouteError::Segment(s)) => {
            shared.stats.route("unknown");
            let shown = if s.is_empty() { version.as_str().to_owned() } else { s };
            return envelope::bad_segment(&meta, &shown);
        }
        Err(RouteError::Function(m)) => {
            shared.stats.route("unknown");
            return envelope::error(&meta, StatusCode::BAD_REQUEST, "BadRequest", &m);
        }
    };
    shared.stats.route(&route.stats_key(version));
    if parts.method != Method::GET {
        return envelope::method_not_allowed(&meta);
    }

    match shared.faults.take(Stage::Request) {
        Some(Fault::Throttle { retry_after, .. }) => {
            shared.stats.throttled();
            return envelope::throttled(&meta, retry_after.as_deref());
        }
        Some(Fault::Status { status, code, message, .. }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return envelope::error(&meta, status, &code, &message);
        }
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        Some(Fault::ResetConnection) => {
            tap.reset();
            // Never written: the connection fails on the first byte.
            return envelope::error(&meta, StatusCode::INTERNAL_SERVER_ERROR, "Reset", "reset");
        }
        _ => {}
    }

    let token = match shared.tokens.authenticate(&parts.headers) {
        Ok(t) => t,
        Err(p) => return envelope::unauthorized(&meta, p.message()),
    };
    // The token decides the tenant, as on real Graph (URLs carry no tenant).
    let Some(tenant) = shared.tenant(&token.tenant_id) else {
        return envelope::unauthorized(&meta, "Access token validation failure. Invalid audience.");
    };
    if let Err(wait) = shared.throttle.check(&token.client_id, &tenant.tenant_id, Instant::now()) {
        shared.stats.throttled();
        return envelope::throttled(&meta, Some(&format_retry_after(wait)));
    }

    let permitted = match &route {
        GraphRoute::Summary(_) => {
            if token.kind == TokenKind::AppOnly {
                // "Application: Not supported" (graph-api.md section 0). The real error is
                // UNCERTAIN (9.3 item 6); 403 Authorization_RequestDenied is Graph's generic
                // "not allowed" answer and is what a client should classify as forbidden.
                return envelope::error(
                    &meta,
                    StatusCode::FORBIDDEN,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                );
            }
            token.has_permission(AUDIT_LOG)
        }
        _ => token.has_permission(AUDIT_LOG) || token.has_permission(USER_AUTH_METHOD),
    };
    if !permitted {
        return envelope::error(
            &meta,
            StatusCode::FORBIDDEN,
            "Authentication_MSGraphPermissionMissing",
            "Calling principal does not have required MSGraph permissions AuditLog.Read.All",
        );
    }
    if !tenant.licensed() {
        return envelope::error(
            &meta,
            StatusCode::FORBIDDEN,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Tenant is not a B2C tenant and doesn't have premium license",
        );
    }

    let base = base_url(shared, parts);
    let ctx = Ctx {
        shared,
        meta: &meta,
        tap,
        version,
        base: &base,
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query(),
    };
    let pop = tenant.population();
    match route {
        GraphRoute::List => {
            match parse_list_query(parts.uri.query(), version, &tenant.tenant_id) {
                Ok(q) => reports::list(&ctx, pop, &q),
                Err(QueryError::Bad(m)) => envelope::error(&meta, StatusCode::BAD_REQUEST, "BadRequest", &m),
                // The documented failure (graph-api.md 5.3) shows no HTTP status. It is a
                // deterministic consequence of the query, so it is served as 400: a client must
                // not retry it, and a 500 would invite pointless retries.
                Err(QueryError::NonEntityType) => envelope::error(
                    &meta,
                    StatusCode::BAD_REQUEST,
                    "UnknownError",
                    "Unable to find nonEntity type name",
                ),
            }
        }
        GraphRoute::Get(id) => reports::get(&ctx, &pop, &id),
        GraphRoute::Summary(call) => {
            let body = summary::body(&pop, call, &base, version);
            reports::summary(&ctx, body)
        }
    }
}
