//! Managed-identity token endpoints (Microsoft Entra, "How to use managed identities for Azure resources on an Azure VM
//! to acquire an access token"
//! (<https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token>); Azure App
//! Service, "Managed identities for App Service and Azure Functions"
//! (<https://learn.microsoft.com/azure/app-service/overview-managed-identity>)): the Azure Instance Metadata Service
//! (IMDS) of VMs and scale sets, and the local identity endpoint App Service and Functions expose through
//! `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`.
//!
//! A managed identity is a service principal in one tenant; the tokens handed out here are ordinary
//! app-only [`TokenRecord`]s carrying that identity's application permissions, so the Graph routes
//! accept them exactly like client-credentials tokens. Both endpoints answer every value as a
//! string (`"expires_in": "3599"`), as the real ones do, so clients prove they cope with that.

use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use super::cloud::check_resource;
use super::entra::{EntraError, correlation_id};
use super::faults::{Fault, Stage, lock};
use super::query::split_query;
use super::rows::json_str;
use super::state::Shared;
use super::tokens::{TokenKind, TokenRecord, constant_time_eq};

/// IMDS's token path (on the link-local address 169.254.169.254 in Azure).
pub const IMDS_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
/// The App Service identity endpoint's path here (App Service itself uses `/MSI/token` on a local port).
pub const APP_SERVICE_TOKEN_PATH: &str = "/msi/token";

/// The oldest IMDS identity api-version (earlier ones did not exist for this route).
const IMDS_MIN_API_VERSION: &str = "2018-02-01";
/// The App Service protocol this simulator speaks; the legacy `2017-09-01` one (header `secret`) is
/// not simulated.
const APP_SERVICE_API_VERSION: &str = "2019-08-01";

/// A managed identity attached to the simulated host (VM, App Service, pod).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimManagedIdentity {
    /// The tenant its service principal lives in; must be one of the simulator's tenants.
    pub tenant_id: String,
    /// The identity's client (application) id.
    pub client_id: String,
    /// System-assigned (at most one per host; used when a request names no identity) or
    /// user-assigned (selected with `client_id`).
    pub system_assigned: bool,
    /// Application permissions granted to its service principal (the token's `roles`).
    pub app_roles: Vec<String>,
}

/// Which endpoint a managed-identity token request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedIdentityProtocol {
    /// `GET /metadata/identity/oauth2/token` with `Metadata: true`.
    Imds,
    /// `GET /msi/token` with `X-IDENTITY-HEADER`.
    AppService,
}

/// What the last successful managed-identity token request asked for, for test assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedIdentityRequestSeen {
    pub protocol: ManagedIdentityProtocol,
    pub api_version: String,
    pub resource: String,
    /// The `client_id` query parameter, if the client sent one.
    pub requested_client_id: Option<String>,
    /// The identity that received the token.
    pub client_id: String,
}

/// Checks the configured identities against the tenants: each in a known tenant, unique client
/// ids, at most one system-assigned identity.
pub(crate) fn validate(identities: &[SimManagedIdentity], tenant_known: impl Fn(&str) -> bool) -> Result<(), String> {
    for (i, mi) in identities.iter().enumerate() {
        if !tenant_known(&mi.tenant_id) {
            return Err(format!("managed identity {} is in unknown tenant {}", mi.client_id, mi.tenant_id));
        }
        if identities[..i].iter().any(|o| o.client_id.eq_ignore_ascii_case(&mi.client_id)) {
            return Err(format!("duplicate managed identity client id {}", mi.client_id));
        }
    }
    if identities.iter().filter(|m| m.system_assigned).count() > 1 {
        return Err("a host has at most one system-assigned managed identity".into());
    }
    Ok(())
}

/// Serves one managed-identity token request.
pub(crate) fn token(
    shared: &Shared,
    protocol: ManagedIdentityProtocol,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Response {
    let response = issue(shared, protocol, method, headers, query);
    if response.status().is_success() {
        shared.stats.token_ok();
    } else {
        shared.stats.token_failed();
    }
    response
}

fn issue(
    shared: &Shared,
    protocol: ManagedIdentityProtocol,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Response {
    if let Some(Fault::ManagedIdentityUnavailable { status, .. }) = shared.faults.take(Stage::ManagedIdentity) {
        // IMDS answers 404 while updating, 410 and 5xx while starting, with no documented body;
        // plain text makes clients prove they do not insist on JSON.
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return plain(status, "The managed identity endpoint is temporarily unavailable.");
    }
    let err = |status: StatusCode, code: &str, message: &str| error(protocol, status, code, message);
    if *method != Method::GET {
        return err(StatusCode::METHOD_NOT_ALLOWED, "invalid_request", "Only GET is supported.");
    }
    match protocol {
        ManagedIdentityProtocol::Imds => {
            // The SSRF guard: a request relayed by some other server will not carry this header.
            let ok = headers.get("metadata").and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == "true");
            if !ok {
                return err(StatusCode::BAD_REQUEST, "bad_request_102", "Required metadata header not specified");
            }
        }
        ManagedIdentityProtocol::AppService => {
            if shared.identity_header.is_empty() {
                return plain(StatusCode::NOT_FOUND, "No identity endpoint is configured.");
            }
            let Some(sent) = headers.get("x-identity-header").and_then(|v| v.to_str().ok()) else {
                return err(StatusCode::BAD_REQUEST, "invalid_request", "The X-IDENTITY-HEADER header is required.");
            };
            if !constant_time_eq(sent.as_bytes(), shared.identity_header.as_bytes()) {
                return err(StatusCode::UNAUTHORIZED, "unauthorized", "The X-IDENTITY-HEADER value is not valid.");
            }
        }
    }
    let params = split_query(query.unwrap_or(""));
    let param = |name: &str| params.iter().find(|p| p.key == name).map(|p| p.value.clone()).filter(|v| !v.is_empty());
    let Some(api_version) = param("api-version") else {
        return err(StatusCode::BAD_REQUEST, "invalid_request", "Required query variable 'api-version' is missing");
    };
    let version_ok = match protocol {
        ManagedIdentityProtocol::Imds => is_date(&api_version) && api_version.as_str() >= IMDS_MIN_API_VERSION,
        ManagedIdentityProtocol::AppService => api_version == APP_SERVICE_API_VERSION,
    };
    if !version_ok {
        let shown: String = api_version.chars().take(40).collect();
        return err(StatusCode::BAD_REQUEST, "invalid_request", &format!("Invalid api-version '{shown}'."));
    }
    let Some(resource) = param("resource") else {
        return err(StatusCode::BAD_REQUEST, "invalid_request", "Required query variable 'resource' is missing");
    };
    if ["object_id", "msi_res_id", "principal_id", "mi_res_id"].iter().any(|k| param(k).is_some()) {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The simulator selects user-assigned identities by client_id only.",
        );
    }
    let requested = param("client_id");
    let identity = match select(&shared.managed_identities, requested.as_deref()) {
        Ok(identity) => identity,
        Err(m) => return err(StatusCode::BAD_REQUEST, "invalid_request", m),
    };
    // The identity's service principal lives in one tenant, hence one cloud: only that cloud's
    // Graph is a resource it can get tokens for (another cloud's Graph is unknown there too).
    let cloud = shared.tenant(&identity.tenant_id).map(|t| t.cloud).unwrap_or_default();
    if check_resource(cloud, &resource).is_err() {
        let shown: String = resource.chars().take(200).collect();
        return invalid_resource(protocol, &shown, &identity.tenant_id, headers);
    }
    let lifetime = shared.token_lifetime;
    let token = shared.tokens.issue(TokenRecord {
        tenant_id: identity.tenant_id.clone(),
        client_id: identity.client_id.clone(),
        kind: TokenKind::AppOnly,
        roles: identity.app_roles.clone(),
        scopes: Vec::new(),
        user_roles: Vec::new(),
        expires_at: Instant::now() + lifetime,
    });
    *lock(&shared.last_managed_identity) = Some(ManagedIdentityRequestSeen {
        protocol,
        api_version,
        resource: resource.clone(),
        requested_client_id: requested,
        client_id: identity.client_id.clone(),
    });
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
    let secs = lifetime.as_secs();
    let expires_on = now + secs;
    let (token, resource, client) = (json_str(&token), json_str(&resource), json_str(&identity.client_id));
    let body = match protocol {
        ManagedIdentityProtocol::Imds => format!(
            r#"{{"access_token":{token},"client_id":{client},"expires_in":"{secs}","expires_on":"{expires_on}","ext_expires_in":"{secs}","not_before":"{now}","refresh_token":"","resource":{resource},"token_type":"Bearer"}}"#
        ),
        ManagedIdentityProtocol::AppService => format!(
            r#"{{"access_token":{token},"expires_on":"{expires_on}","resource":{resource},"token_type":"Bearer","client_id":{client}}}"#
        ),
    };
    tracing::debug!(client_id = %identity.client_id, "simulator: managed identity token issued");
    json(StatusCode::OK, body)
}

/// The identity a request means: the named one, else the system-assigned one, else the only
/// user-assigned one (IMDS's rules).
fn select<'a>(
    identities: &'a [SimManagedIdentity],
    client_id: Option<&str>,
) -> Result<&'a SimManagedIdentity, &'static str> {
    if let Some(id) = client_id {
        return identities.iter().find(|m| m.client_id.eq_ignore_ascii_case(id)).ok_or("Identity not found");
    }
    if let Some(system) = identities.iter().find(|m| m.system_assigned) {
        return Ok(system);
    }
    match identities {
        [] => Err("Identity not found"),
        [only] => Ok(only),
        _ => Err(
            "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request",
        ),
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// 400 `invalid_resource` AADSTS50001 (the text is that of the error table of Microsoft Entra, "How to use managed
/// identities for Azure resources on an Azure VM to acquire an access token"
/// (<https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token>)). IMDS relays
/// Entra's refusal, so its body is Entra's full error shape (Microsoft identity platform, "Microsoft Entra
/// authentication and authorization error codes"
/// (<https://learn.microsoft.com/entra/identity-platform/reference-error-codes>)); App Service wraps the text in its own
/// shape.
fn invalid_resource(protocol: ManagedIdentityProtocol, resource: &str, tenant: &str, headers: &HeaderMap) -> Response {
    let text = format!(
        "The application named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
    );
    match protocol {
        ManagedIdentityProtocol::Imds => EntraError::new(StatusCode::BAD_REQUEST, "invalid_resource", 50001, text)
            .into_response(&correlation_id(headers)),
        ManagedIdentityProtocol::AppService => {
            error(protocol, StatusCode::BAD_REQUEST, "invalid_resource", &format!("AADSTS50001: {text}"))
        }
    }
}

/// IMDS answers errors as `{"error", "error_description"}`; App Service as
/// `{"statusCode", "message", "correlationId"}`.
fn error(protocol: ManagedIdentityProtocol, status: StatusCode, code: &str, message: &str) -> Response {
    let body = match protocol {
        ManagedIdentityProtocol::Imds => {
            format!(r#"{{"error":{},"error_description":{}}}"#, json_str(code), json_str(message))
        }
        ManagedIdentityProtocol::AppService => format!(
            r#"{{"statusCode":{},"message":{},"correlationId":"{}"}}"#,
            status.as_u16(),
            json_str(message),
            uuid::Uuid::new_v4()
        ),
    };
    json(status, body)
}

fn json(status: StatusCode, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    r
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mi(client_id: &str, system_assigned: bool) -> SimManagedIdentity {
        SimManagedIdentity { tenant_id: "t".into(), client_id: client_id.into(), system_assigned, app_roles: vec![] }
    }

    #[test]
    fn identity_selection_follows_imds_rules() {
        let both = [mi("user", false), mi("system", true)];
        assert_eq!(select(&both, None).unwrap().client_id, "system");
        assert_eq!(select(&both, Some("USER")).unwrap().client_id, "user");
        assert_eq!(select(&both, Some("other")).unwrap_err(), "Identity not found");
        assert_eq!(select(&[mi("only", false)], None).unwrap().client_id, "only");
        assert!(select(&[mi("a", false), mi("b", false)], None).unwrap_err().starts_with("Multiple user assigned"));
        assert!(select(&[], None).is_err());
    }

    #[test]
    fn configuration_is_checked() {
        assert!(validate(&[mi("a", true)], |t| t == "t").is_ok());
        assert!(validate(&[mi("a", true)], |_| false).unwrap_err().contains("unknown tenant"));
        assert!(validate(&[mi("a", true), mi("A", false)], |_| true).unwrap_err().contains("duplicate"));
        assert!(validate(&[mi("a", true), mi("b", true)], |_| true).unwrap_err().contains("at most one"));
    }

    #[test]
    fn api_versions_are_dates() {
        assert!(is_date("2018-02-01") && is_date("2019-08-01"));
        assert!(!is_date("2018-2-01") && !is_date("latest") && !is_date("2018-02-01x"));
    }
}
