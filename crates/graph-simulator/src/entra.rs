//! What the Microsoft identity platform's endpoints have in common: the error body of
//! Microsoft identity platform, "Microsoft Entra authentication and authorization error codes"
//! (<https://learn.microsoft.com/entra/identity-platform/reference-error-codes>) (`error`, `error_description` with the
//! AADSTS number and trace lines, `error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`) and the
//! response headers. Shared by the token endpoint (every grant) and the device-code endpoint.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use time::OffsetDateTime;

use super::faults::TokenError;
use super::rows::json_str;
use super::timefmt::entra_timestamp;

/// An Entra error: HTTP status, `error`, AADSTS number and description text.
#[derive(Debug)]
pub(crate) struct EntraError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) code: u32,
    pub(crate) text: String,
}

impl EntraError {
    pub(crate) fn new(status: StatusCode, error: &'static str, code: u32, text: impl Into<String>) -> Self {
        EntraError { status, error, code, text: text.into() }
    }

    pub(crate) fn missing(param: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{param}'."),
        )
    }

    /// AADSTS70011 for `scope` (already cut to a printable length by the caller).
    pub(crate) fn invalid_scope(scope: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            format!("The provided value for the input parameter 'scope' isn't valid. The scope {scope} isn't valid."),
        )
    }

    pub(crate) fn unknown_tenant(tenant: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    /// AADSTS90038: the tenant lives in another national cloud than the one asked (Microsoft identity platform,
    /// "Microsoft Entra authentication and authorization error codes"
    /// (<https://learn.microsoft.com/entra/identity-platform/reference-error-codes>); Microsoft Graph, "National cloud
    /// deployments" (<https://learn.microsoft.com/graph/deployments>)). Entra's `error` is `invalid_request` and the text
    /// names the tenant as sent and the tenant's cloud instance, as in real answers ("Tenant 'contoso.com' request is
    /// being redirected to the National Cloud 'microsoftonline.us'.").
    pub(crate) fn national_cloud_redirect(tenant: &str, home: super::SimCloud) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90038,
            format!("Tenant '{tenant}' request is being redirected to the National Cloud '{}'.", home.instance()),
        )
    }

    pub(crate) fn unknown_client(client: &str, tenant: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        )
    }

    pub(crate) fn invalid_secret(client: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client}'."
            ),
        )
    }

    pub(crate) fn expired_secret(client: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000222,
            format!(
                "The provided client secret keys for app '{client}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
            ),
        )
    }

    pub(crate) fn from_fault(e: TokenError, client: &str, tenant: &str) -> Self {
        match e {
            TokenError::InvalidSecret => Self::invalid_secret(client),
            TokenError::ExpiredSecret => Self::expired_secret(client),
            TokenError::UnknownClient => Self::unknown_client(client, tenant),
            TokenError::UnknownTenant => Self::unknown_tenant(tenant),
            TokenError::ServerError => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                90033,
                "A transient error has occurred. Please try again.",
            ),
        }
    }

    /// The exact Entra body shape of Microsoft identity platform, "Microsoft Entra authentication and authorization
    /// error codes" (<https://learn.microsoft.com/entra/identity-platform/reference-error-codes>).
    pub(crate) fn into_response(self, correlation_id: &str) -> Response {
        let trace_id = uuid::Uuid::new_v4().to_string();
        let ts = entra_timestamp(OffsetDateTime::now_utc());
        let description = format!(
            "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {ts}",
            self.code, self.text
        );
        let body = format!(
            r#"{{"error":{},"error_description":{},"error_codes":[{}],"timestamp":{},"trace_id":{},"correlation_id":{},"error_uri":{}}}"#,
            json_str(self.error),
            json_str(&description),
            self.code,
            json_str(&ts),
            json_str(&trace_id),
            json_str(correlation_id),
            json_str(&format!("https://login.microsoftonline.com/error?code={}", self.code)),
        );
        entra_response(self.status, body, &trace_id, correlation_id)
    }
}

pub(crate) fn entra_response(status: StatusCode, body: String, request_id: &str, correlation_id: &str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    for (name, value) in [("x-ms-request-id", request_id), ("client-request-id", correlation_id)] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    r
}

/// Entra uses the caller's `client-request-id` as correlation id when it is a GUID.
pub(crate) fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| uuid::Uuid::parse_str(v.trim()).ok())
        .unwrap_or_else(uuid::Uuid::new_v4)
        .to_string()
}

/// 405 for anything but POST (AADSTS900561).
pub(crate) fn wrong_method(method: &str, headers: &HeaderMap) -> Response {
    let m: String = method.chars().take(16).collect();
    let mut r = EntraError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        900561,
        format!("The endpoint only accepts POST, OPTIONS requests. Received a {m} request."),
    )
    .into_response(&correlation_id(headers));
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
    r
}
