//! JSON batching (Microsoft Graph, "Combine multiple HTTP requests using JSON batching"
//! (<https://learn.microsoft.com/graph/json-batching>)): `POST /{v1.0|beta}/$batch` with
//! `{"requests":[{"id","method","url","headers"?,"body"?,"dependsOn"?}]}`.
//!
//! The batch itself is validated first; a malformed one is a 400 for the whole batch: not JSON or
//! no `requests` array, more than 20 requests, a request without `id`/`method`/`url`, a `body`
//! without a `Content-Type` header, duplicate ids (compared case-insensitively), or a `dependsOn`
//! naming an unknown id or forming a cycle (the messages are ours; Graph's exact wording is not in
//! the reference). The batch's own `Authorization` must be valid (401 otherwise) and is the one
//! every inner request uses; other outer headers do not reach inner requests, only their own
//! `headers` do (so `Prefer` must be set per request).
//!
//! Each inner request goes through the same handler as a direct request: authentication,
//! permissions, licence, injected faults and the reports quota all apply per inner request, so a
//! throttled one has `status: 429` and its `Retry-After` inside `headers`. A request whose
//! dependency did not succeed gets 424. The outer status is 200 whenever the batch parsed.
//! Responses come back in a shuffled (deterministic) order, never the request order for two or more
//! requests, to catch clients that match responses by position instead of by id.
//!
//! Inner bodies are embedded as they are: an injected `MalformedJson` makes the whole batch answer
//! malformed, and connection faults (`ResetConnection`, `TruncatedBody`) hit the batch's connection.

use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::conn::ConnTap;
use super::envelope::{self, ReqMeta};
use super::rng::hash_str;
use super::routes::{self, GraphCall};
use super::rows::{ApiVersion, write_str};
use super::state::Shared;

/// Larger batch bodies are refused (20 small GETs fit in a few KB).
pub(crate) const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// "JSON batch requests are currently limited to 20 individual requests."
const MAX_REQUESTS: usize = 20;

/// A validated inner request.
#[derive(Debug)]
struct Inner {
    id: String,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    depends_on: Vec<usize>,
}

/// Validate the batch body; `Err` is the 400 message.
fn parse(body: &[u8]) -> Result<Vec<Inner>, String> {
    let invalid = || "Invalid batch payload format.".to_owned();
    let v: Value = serde_json::from_slice(body).map_err(|_| invalid())?;
    let requests = v.get("requests").and_then(Value::as_array).ok_or_else(invalid)?;
    if requests.is_empty() {
        return Err(invalid());
    }
    if requests.len() > MAX_REQUESTS {
        return Err(format!(
            "The batch contains {} requests; a batch is limited to {MAX_REQUESTS} requests.",
            requests.len()
        ));
    }
    let mut out: Vec<Inner> = Vec::with_capacity(requests.len());
    let mut deps_raw: Vec<Vec<String>> = Vec::new();
    for r in requests {
        let field = |name: &str| r.get(name).and_then(Value::as_str).map(str::to_owned).filter(|s| !s.is_empty());
        let id = field("id").ok_or_else(|| "Every request in a batch needs a string 'id'.".to_owned())?;
        let method = field("method").ok_or_else(|| format!("Request '{id}' needs a 'method'."))?;
        let url = field("url").ok_or_else(|| format!("Request '{id}' needs a 'url'."))?;
        if out.iter().any(|o| o.id.eq_ignore_ascii_case(&id)) {
            return Err(format!("The batch contains more than one request with the id '{id}'."));
        }
        let mut headers = Vec::new();
        match r.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(h)) => {
                for (k, v) in h {
                    let v = v.as_str().ok_or_else(|| format!("Header '{k}' of request '{id}' must be a string."))?;
                    headers.push((k.clone(), v.to_owned()));
                }
            }
            Some(_) => return Err(format!("The 'headers' of request '{id}' must be an object.")),
        }
        if r.get("body").is_some_and(|b| !b.is_null())
            && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            return Err(format!("Request '{id}' has a body but no Content-Type header."));
        }
        let deps = match r.get("dependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|d| d.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("The 'dependsOn' of request '{id}' must list request ids."))?,
            Some(_) => return Err(format!("The 'dependsOn' of request '{id}' must be an array.")),
        };
        deps_raw.push(deps);
        out.push(Inner { id, method, url, headers, depends_on: Vec::new() });
    }
    for (i, deps) in deps_raw.into_iter().enumerate() {
        for d in deps {
            let j = out
                .iter()
                .position(|o| o.id.eq_ignore_ascii_case(&d))
                .filter(|&j| j != i)
                .ok_or_else(|| format!("Request '{}' depends on an unknown request '{d}'.", out[i].id))?;
            out[i].depends_on.push(j);
        }
    }
    Ok(out)
}

/// An execution order honouring `dependsOn` (request order otherwise); `Err` on a cycle.
fn order(reqs: &[Inner]) -> Result<Vec<usize>, String> {
    let mut done = vec![false; reqs.len()];
    let mut out = Vec::with_capacity(reqs.len());
    while out.len() < reqs.len() {
        let before = out.len();
        for (i, r) in reqs.iter().enumerate() {
            if !done[i] && r.depends_on.iter().all(|&d| done[d]) {
                done[i] = true;
                out.push(i);
            }
        }
        if out.len() == before {
            return Err("The dependsOn of the batch's requests form a cycle.".into());
        }
    }
    Ok(out)
}

/// The order responses are written in: by a hash of the ids, reversed if that happens to be the
/// request order.
fn response_order(reqs: &[Inner]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..reqs.len()).collect();
    idx.sort_by_key(|&i| (hash_str(&reqs[i].id.to_ascii_lowercase(), 0xba7c), i));
    if idx.len() > 1 && idx.windows(2).all(|w| w[0] < w[1]) {
        idx.reverse();
    }
    idx
}

/// Response headers copied into an inner response, with Graph's spelling.
const INNER_HEADERS: [(&str, &str); 6] = [
    ("content-type", "Content-Type"),
    ("retry-after", "Retry-After"),
    ("cache-control", "Cache-Control"),
    ("odata-version", "OData-Version"),
    ("www-authenticate", "WWW-Authenticate"),
    ("allow", "Allow"),
];

/// One finished inner response, as JSON text.
fn inner_json(id: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 256);
    out.extend_from_slice(b"{\"id\":");
    write_str(&mut out, id);
    out.extend_from_slice(format!(",\"status\":{status},\"headers\":{{").as_bytes());
    let mut first = true;
    for (name, shown) in INNER_HEADERS {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            if !first {
                out.push(b',');
            }
            first = false;
            write_str(&mut out, shown);
            out.push(b':');
            write_str(&mut out, v);
        }
    }
    out.push(b'}');
    let trimmed = body.iter().position(|b| !b.is_ascii_whitespace()).map_or(&body[..0], |p| &body[p..]);
    if trimmed.first().is_some_and(|b| *b == b'{' || *b == b'[') {
        out.extend_from_slice(b",\"body\":");
        out.extend_from_slice(body);
    } else if !trimmed.is_empty() {
        out.extend_from_slice(b",\"body\":");
        write_str(&mut out, &String::from_utf8_lossy(body));
    }
    out.push(b'}');
    out
}

/// A Graph error envelope as an inner response.
fn inner_error(meta: &ReqMeta, status: StatusCode, code: &str, message: &str) -> Response {
    envelope::error(meta, status, code, message)
}

/// Run one inner request through the ordinary Graph handler.
async fn run(
    shared: &Shared,
    tap: &ConnTap,
    outer: &HeaderMap,
    version: ApiVersion,
    base: &str,
    req: &Inner,
) -> Response {
    let mut headers = HeaderMap::new();
    for (k, v) in &req.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            headers.append(k, v);
        }
    }
    for name in [header::AUTHORIZATION, header::HOST] {
        match outer.get(&name) {
            Some(v) => {
                headers.insert(name, v.clone());
            }
            None => {
                headers.remove(name);
            }
        }
    }
    let meta = ReqMeta::new(&headers);
    let url = req.url.trim();
    if url.contains("://") {
        return inner_error(
            &meta,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Only relative URLs are supported in a batch.",
        );
    }
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (url, None),
    };
    let raw_path = format!("/{}/{}", version.as_str(), path.trim_start_matches('/'));
    let segs = routes::segments(&raw_path);
    if segs.get(1).is_some_and(|s| s.eq_ignore_ascii_case("$batch")) {
        return inner_error(&meta, StatusCode::BAD_REQUEST, "BadRequest", "A batch cannot contain another batch.");
    }
    let Ok(method) = Method::from_bytes(req.method.to_ascii_uppercase().as_bytes()) else {
        return inner_error(&meta, StatusCode::BAD_REQUEST, "BadRequest", "Invalid HTTP method.");
    };
    let call = GraphCall { method: &method, path: &raw_path, query, headers: &headers, base };
    routes::graph(shared, tap, &call, version, &segs[1..]).await
}

/// `POST /{v}/$batch`.
pub(crate) async fn handle(
    shared: &Shared,
    tap: &ConnTap,
    parts: &Parts,
    body: Result<Bytes, axum::Error>,
    version: ApiVersion,
    base: &str,
) -> Response {
    shared.stats.route(&format!("{}/$batch", version.as_str()));
    let meta = ReqMeta::new(&parts.headers);
    if parts.method != Method::POST {
        let mut r = envelope::error(
            &meta,
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        );
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    if let Err(p) = shared.tokens.authenticate(&parts.headers) {
        return envelope::unauthorized(&meta, p.message());
    }
    let Ok(body) = body else {
        return envelope::error(
            &meta,
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "The batch body is too large.",
        );
    };
    let bad = |m: &str| envelope::error(&meta, StatusCode::BAD_REQUEST, "BadRequest", m);
    let reqs = match parse(&body) {
        Ok(r) => r,
        Err(m) => return bad(&m),
    };
    let exec = match order(&reqs) {
        Ok(o) => o,
        Err(m) => return bad(&m),
    };
    let mut results: Vec<Option<(u16, Vec<u8>)>> = (0..reqs.len()).map(|_| None).collect();
    for i in exec {
        let req = &reqs[i];
        let failed_dep =
            req.depends_on.iter().any(|&d| results[d].as_ref().is_none_or(|(s, _)| !(200..300).contains(s)));
        let resp = if failed_dep {
            inner_error(
                &ReqMeta::new(&HeaderMap::new()),
                StatusCode::FAILED_DEPENDENCY,
                "FailedDependency",
                "The request depends on a request of this batch that failed.",
            )
        } else {
            run(shared, tap, &parts.headers, version, base, req).await
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap_or_default();
        results[i] = Some((status, inner_json(&req.id, status, &headers, &bytes)));
    }
    let mut out = b"{\"responses\":[".to_vec();
    for (n, i) in response_order(&reqs).into_iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        if let Some((_, json)) = &results[i] {
            out.extend_from_slice(json);
        }
    }
    out.extend_from_slice(b"]}");
    envelope::ok_json(&meta, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reqs(json: &str) -> Result<Vec<Inner>, String> {
        parse(json.as_bytes())
    }

    #[test]
    fn validation() {
        assert!(reqs("nope").is_err());
        assert!(reqs("{}").is_err());
        assert!(reqs(r#"{"requests":[]}"#).is_err());
        assert!(reqs(r#"{"requests":[{"id":"1","method":"GET"}]}"#).is_err());
        assert!(reqs(r#"{"requests":[{"id":1,"method":"GET","url":"/x"}]}"#).is_err());
        let dup = r#"{"requests":[{"id":"a","method":"GET","url":"/x"},{"id":"A","method":"GET","url":"/y"}]}"#;
        assert!(reqs(dup).unwrap_err().contains("more than one"));
        let body = r#"{"requests":[{"id":"a","method":"POST","url":"/x","body":{}}]}"#;
        assert!(reqs(body).is_err());
        let many: Vec<String> = (0..21).map(|i| format!(r#"{{"id":"{i}","method":"GET","url":"/x"}}"#)).collect();
        assert!(reqs(&format!(r#"{{"requests":[{}]}}"#, many.join(","))).unwrap_err().contains("20"));
        let unknown_dep = r#"{"requests":[{"id":"a","method":"GET","url":"/x","dependsOn":["b"]}]}"#;
        assert!(reqs(unknown_dep).is_err());
        let cycle = r#"{"requests":[{"id":"a","method":"GET","url":"/x","dependsOn":["b"]},{"id":"b","method":"GET","url":"/y","dependsOn":["a"]}]}"#;
        assert!(order(&reqs(cycle).unwrap()).is_err());
        let chain = r#"{"requests":[{"id":"a","method":"GET","url":"/x","dependsOn":["b"]},{"id":"b","method":"GET","url":"/y","headers":{"Prefer":"x"}}]}"#;
        let r = reqs(chain).unwrap();
        assert_eq!(order(&r).unwrap(), vec![1, 0]);
        assert_eq!(r[1].headers, vec![("Prefer".to_owned(), "x".to_owned())]);
    }

    #[test]
    fn responses_never_come_back_in_request_order() {
        for n in 2..=20 {
            let items: Vec<String> = (0..n).map(|i| format!(r#"{{"id":"{i}","method":"GET","url":"/x"}}"#)).collect();
            let r = reqs(&format!(r#"{{"requests":[{}]}}"#, items.join(","))).unwrap();
            let o = response_order(&r);
            assert_ne!(o, (0..n).collect::<Vec<_>>());
            let mut sorted = o.clone();
            sorted.sort();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn inner_json_shapes() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2.5"));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("request-id", HeaderValue::from_static("x"));
        let j: Value = serde_json::from_slice(&inner_json("7", 429, &h, br#"{"error":{}}"#)).unwrap();
        assert_eq!(j["id"], "7");
        assert_eq!(j["status"], 429);
        assert_eq!(j["headers"]["Retry-After"], "2.5");
        assert!(j["headers"].get("request-id").is_none());
        let j: Value = serde_json::from_slice(&inner_json("8", 204, &HeaderMap::new(), b"")).unwrap();
        assert!(j.get("body").is_none());
    }
}
