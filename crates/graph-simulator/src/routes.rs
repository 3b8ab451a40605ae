//! Request dispatch. One fallback handler routes by hand instead of axum's router, because Graph
//! paths contain OData function calls, are case-insensitive, and unknown segments must produce
//! Graph's own 400 envelope. [`graph`] is the one path every Graph request takes, including each
//! request inside a `$batch`, so authentication, permissions, faults and throttling apply to them
//! all alike.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;

use super::conn::ConnTap;
use super::envelope::{self, ReqMeta};
use super::faults::{Fault, Stage};
use super::query::{QueryError, parse_list_query, percent_decode};
use super::reports::{self, Ctx};
use super::resolve::{GraphRoute, RouteError, resolve};
use super::rows::ApiVersion;
use super::state::Shared;
use super::throttle::format_retry_after;
use super::{
    access, activity, batch, daily, device_code, directory_roles, enums, event_list, groups, legacy_reports,
    managed_identity, summary, tokens,
};

/// Token request bodies larger than this are not read (a token form is tiny).
const MAX_FORM_BYTES: usize = 64 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

/// One Graph request, from the wire or from inside a `$batch`.
pub(crate) struct GraphCall<'a> {
    pub(crate) method: &'a Method,
    /// The raw path, version included (`/v1.0/reports/…`), for nextLinks.
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    /// `http://host:port` as the client addressed the simulator.
    pub(crate) base: &'a str,
}

/// Split a raw path into percent-decoded segments, without the leading empty one and trailing
/// empty ones.
pub(crate) fn segments(path: &str) -> Vec<String> {
    let mut segs: Vec<String> = path.split('/').skip(1).map(|s| percent_decode(s, false)).collect();
    while segs.len() > 1 && segs.last().is_some_and(|s| s.is_empty()) {
        segs.pop();
    }
    segs
}

async fn dispatch(State(shared): State<Arc<Shared>>, ConnectInfo(tap): ConnectInfo<ConnTap>, req: Request) -> Response {
    let _in_flight = shared.stats.enter();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().trim_end_matches('/');
    let mi = if path.eq_ignore_ascii_case(managed_identity::IMDS_TOKEN_PATH) {
        Some(managed_identity::ManagedIdentityProtocol::Imds)
    } else if path.eq_ignore_ascii_case(managed_identity::APP_SERVICE_TOKEN_PATH) {
        Some(managed_identity::ManagedIdentityProtocol::AppService)
    } else {
        None
    };
    if let Some(protocol) = mi {
        return managed_identity::token(&shared, protocol, &parts.method, &parts.headers, parts.uri.query());
    }
    if path.eq_ignore_ascii_case(device_code::VERIFICATION_PATH) {
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.unwrap_or_default();
        return device_code::verification_page(&shared, &parts.method, &bytes);
    }
    let segs = segments(parts.uri.path());
    let identity = segs.len() == 4 && segs[1].eq_ignore_ascii_case("oauth2") && segs[2].eq_ignore_ascii_case("v2.0");
    let is = |name: &str| identity && segs[3].eq_ignore_ascii_case(name);
    if is("token") || is("devicecode") {
        if parts.method != Method::POST {
            shared.stats.token_failed();
            return super::entra::wrong_method(parts.method.as_str(), &parts.headers);
        }
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.unwrap_or_default();
        return if is("token") {
            tokens::token_endpoint(&shared, &segs[0], &parts.headers, &bytes)
        } else {
            device_code::devicecode_endpoint(
                &shared,
                &segs[0],
                &parts.headers,
                &bytes,
                &base_url(&shared, &parts.headers),
            )
        };
    }
    let first = segs.first().map(String::as_str).unwrap_or("");
    if let Some(version) = ApiVersion::parse(first) {
        let base = base_url(&shared, &parts.headers);
        if segs.len() == 2 && segs[1] == "$batch" {
            let bytes = axum::body::to_bytes(body, batch::MAX_BATCH_BYTES).await;
            return batch::handle(&shared, &tap, &parts, bytes, version, &base).await;
        }
        let call = GraphCall {
            method: &parts.method,
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: &parts.headers,
            base: &base,
        };
        let resp = graph(&shared, &tap, &call, version, &segs[1..]).await;
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
        "This Microsoft Graph simulator serves /v1.0/..., /beta/..., POST /{tenant}/oauth2/v2.0/token and /devicecode, GET /metadata/identity/oauth2/token and /msi/token.",
    )
}

/// `scheme://host` for absolute URLs in answers, from the `Host` the client used (so nextLinks
/// work through whatever address the client chose); the bound address if absent or odd.
pub(crate) fn base_url(shared: &Shared, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| shared.local_addr.to_string());
    format!("http://{host}")
}

/// Serve one Graph request (`segs` are the decoded segments after the version).
pub(crate) async fn graph(
    shared: &Shared,
    tap: &ConnTap,
    call: &GraphCall<'_>,
    version: ApiVersion,
    segs: &[String],
) -> Response {
    let meta = ReqMeta::new(call.headers);
    let route = match resolve(segs, version) {
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
    if route.retirable().is_some_and(|r| shared.is_retired(r)) {
        // A removed API answers like a segment no longer in the schema. The real answer after the
        // stop dates is UNCERTAIN (Microsoft does not document it); 400 with Graph's unknown-segment envelope is
        // what Graph returns for names its metadata does not contain, and clients must not retry it.
        return envelope::bad_segment(&meta, route.name());
    }
    if *call.method != Method::GET {
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

    let token = match shared.tokens.authenticate(call.headers) {
        Ok(t) => t,
        Err(p) => return envelope::unauthorized(&meta, p.message()),
    };
    // The token decides the tenant, as on real Graph (URLs carry no tenant).
    let Some(tenant) = shared.tenant(&token.tenant_id) else {
        return envelope::unauthorized(&meta, "Access token validation failure. Invalid audience.");
    };
    let policy = access::policy(&route);
    // The quota is the identity-reports one; directory reads have far larger limits of their own.
    if policy.report
        && let Err(wait) = shared.throttle.check(&token.client_id, &tenant.tenant_id, Instant::now())
    {
        shared.stats.throttled();
        return envelope::throttled(&meta, Some(&format_retry_after(wait)));
    }
    if let Some(refused) = policy.refusal(&token, &meta) {
        return refused;
    }
    if policy.report && !tenant.licensed() {
        return envelope::error(
            &meta,
            StatusCode::FORBIDDEN,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Tenant is not a B2C tenant and doesn't have premium license",
        );
    }

    let ctx = Ctx {
        shared,
        meta: &meta,
        tap,
        version,
        base: call.base,
        raw_path: call.path,
        raw_query: call.query,
        tenant_id: &tenant.tenant_id,
        include_unknown: enums::include_unknown(call.headers),
    };
    let pop = tenant.population();
    match route {
        GraphRoute::List => match parse_list_query(call.query, version, &tenant.tenant_id) {
            Ok(q) => reports::list(&ctx, pop, &q),
            Err(QueryError::Bad(m)) => ctx.bad_request(&m),
            // The documented failure (Microsoft Graph, "List userRegistrationDetails"
            // (https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails)) shows no
            // HTTP status. It is a deterministic consequence of the query, so it is served as 400: a client must not
            // retry it, and a 500 would invite pointless retries.
            Err(QueryError::NonEntityType) => {
                envelope::error(&meta, StatusCode::BAD_REQUEST, "UnknownError", "Unable to find nonEntity type name")
            }
        },
        GraphRoute::Get(id) => reports::get(&ctx, &pop, &id),
        GraphRoute::Summary(c) => reports::answer(&ctx, summary::body(&pop, c, call.base, version)),
        GraphRoute::CredentialUserRegistrationCount => legacy_reports::registration_count(&ctx, &pop),
        GraphRoute::CredentialUsageSummary(p) => activity::credential_usage_summary(&ctx, &pop, p),
        GraphRoute::CredentialUserRegistrationDetails => legacy_reports::registration_details(&ctx, &pop),
        GraphRoute::UserCredentialUsageDetails => event_list::list(&ctx, &pop, event_list::Flavor::Legacy),
        GraphRoute::UserRegistrationActivity(p) => activity::registration_activity(&ctx, &pop, p),
        GraphRoute::UserSignInsByAuthMethodSummary(p) => activity::sign_ins_by_method(&ctx, &pop, p),
        GraphRoute::UserEventsSummary => event_list::list(&ctx, &pop, event_list::Flavor::Summary),
        GraphRoute::UserMfaSignInSummary => daily::mfa_sign_ins(&ctx, &pop),
        GraphRoute::UserPasswordResetsAndChangesSummary => daily::password_resets(&ctx, &pop),
        GraphRoute::DirectoryRoles => directory_roles::list(&ctx, &pop),
        GraphRoute::DirectoryRole(r) => directory_roles::get(&ctx, &pop, &r),
        GraphRoute::DirectoryRoleMembers(r) => directory_roles::members(&ctx, &pop, &r),
        GraphRoute::GroupTransitiveMembers { id, users_only } => {
            let eventual = call
                .headers
                .get("consistencylevel")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"));
            groups::transitive_members(&ctx, &pop, &id, users_only, eventual)
        }
    }
}
