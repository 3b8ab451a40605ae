//! What every Graph answer carries: the correlation headers (Microsoft Graph, "Best practices for working with
//! Microsoft Graph" (<https://learn.microsoft.com/graph/best-practices-concept>), "Reliability and support"), the OData
//! content type on success, and the error envelope `{"error":{"code","message","innerError":{…}}}` (Microsoft Graph,
//! "Microsoft Graph error responses and resource types") with `Content-Type: application/json` on failure.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use time::OffsetDateTime;

use super::rows::json_str;
use super::timefmt::graph_inner_date;

/// Content type of successful Graph JSON answers.
pub(crate) const ODATA_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// `x-ms-ags-diagnostic`: the same shape as the real header, naming a simulated data centre.
const AGS_DIAGNOSTIC: &str =
    r#"{"ServerInfo":{"DataCenter":"Simulator","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"SIM-LOCAL"}}"#;

/// `WWW-Authenticate` exactly as captured on a real 401 (the 401 of Microsoft Graph, "Microsoft Graph error responses
/// and resource types" (<https://learn.microsoft.com/graph/errors>)).
const WWW_AUTHENTICATE: &str = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000""#;

/// Per-request correlation ids. Graph echoes `client-request-id`, or sets it to `request-id`
/// when the client sent none.
#[derive(Debug, Clone)]
pub(crate) struct ReqMeta {
    pub(crate) request_id: String,
    pub(crate) client_request_id: String,
}

impl ReqMeta {
    pub(crate) fn new(headers: &HeaderMap) -> Self {
        let request_id = uuid::Uuid::new_v4().to_string();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 200)
            .map(str::to_owned)
            .unwrap_or_else(|| request_id.clone());
        ReqMeta { request_id, client_request_id }
    }
}

fn set(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(HeaderName::from_static(name), v);
    }
}

fn response(meta: &ReqMeta, status: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    set(h, "request-id", &meta.request_id);
    set(h, "client-request-id", &meta.client_request_id);
    set(h, "x-ms-ags-diagnostic", AGS_DIAGNOSTIC);
    set(h, "date", &httpdate::fmt_http_date(std::time::SystemTime::now()));
    set(h, "cache-control", "no-cache");
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    r
}

/// 200 with an OData JSON body.
pub(crate) fn ok_json(meta: &ReqMeta, body: Vec<u8>) -> Response {
    let mut r = response(meta, StatusCode::OK, ODATA_JSON, body);
    set(r.headers_mut(), "odata-version", "4.0");
    r
}

/// The `innerError` object shared by all envelopes.
fn inner(meta: &ReqMeta) -> String {
    format!(
        r#"{{"date":{},"request-id":{},"client-request-id":{}}}"#,
        json_str(&graph_inner_date(OffsetDateTime::now_utc())),
        json_str(&meta.request_id),
        json_str(&meta.client_request_id)
    )
}

/// A Graph error envelope.
pub(crate) fn error(meta: &ReqMeta, status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        r#"{{"error":{{"code":{},"message":{},"innerError":{}}}}}"#,
        json_str(code),
        json_str(message),
        inner(meta)
    );
    response(meta, status, "application/json", body.into_bytes())
}

/// 429 with the exact `TooManyRequests` body of Microsoft Graph, "Microsoft Graph throttling guidance"
/// (<https://learn.microsoft.com/graph/throttling>) and, when given, a `Retry-After` header carrying `retry_after`
/// verbatim (values that are not valid header text are dropped, like a proxy would).
pub(crate) fn throttled(meta: &ReqMeta, retry_after: Option<&str>) -> Response {
    let body = format!(
        r#"{{"error":{{"code":"TooManyRequests","innerError":{{"code":"429","date":{},"message":"Please retry after","request-id":{},"status":"429"}},"message":"Please retry again later."}}}}"#,
        json_str(&graph_inner_date(OffsetDateTime::now_utc())),
        json_str(&meta.request_id)
    );
    let mut r = response(meta, StatusCode::TOO_MANY_REQUESTS, "application/json", body.into_bytes());
    if let Some(v) = retry_after {
        set(r.headers_mut(), "retry-after", v);
    }
    r
}

/// 401 `InvalidAuthenticationToken` with the real `WWW-Authenticate` challenge.
pub(crate) fn unauthorized(meta: &ReqMeta, message: &str) -> Response {
    let mut r = error(meta, StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message);
    set(r.headers_mut(), "www-authenticate", WWW_AUTHENTICATE);
    r
}

/// 405 for a known Graph path with a method other than GET. Code and message are the ones the
/// directory APIs return; the reports' own wording is not in the reference.
pub(crate) fn method_not_allowed(meta: &ReqMeta) -> Response {
    let mut r = error(
        meta,
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
    );
    set(r.headers_mut(), "allow", "GET");
    r
}

/// 400 for a path segment Graph does not know.
pub(crate) fn bad_segment(meta: &ReqMeta, segment: &str) -> Response {
    let seg: String = segment.chars().take(200).collect();
    error(meta, StatusCode::BAD_REQUEST, "BadRequest", &format!("Resource not found for the segment '{seg}'."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_request_id_is_echoed_or_minted() {
        let mut h = HeaderMap::new();
        let m = ReqMeta::new(&h);
        assert_eq!(m.request_id, m.client_request_id);
        h.insert("client-request-id", HeaderValue::from_static("abc"));
        let m = ReqMeta::new(&h);
        assert_eq!(m.client_request_id, "abc");
        assert_ne!(m.request_id, "abc");
    }

    #[test]
    fn error_headers() {
        let m = ReqMeta::new(&HeaderMap::new());
        let r = throttled(&m, Some("2.128"));
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "2.128");
        assert_eq!(r.headers()["content-type"], "application/json");
        let r = throttled(&m, Some("bad\nvalue"));
        assert!(r.headers().get("retry-after").is_none());
        let r = unauthorized(&m, "x");
        assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    }
}
