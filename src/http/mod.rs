//! The HTTP surface: the cached exposition, liveness, readiness, a status page and the reload
//! endpoint. No handler calls Graph or aggregates anything.

mod chunks;
mod inflate;
mod status_page;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

use crate::reports::ReportKind;
use crate::snapshot::{CONTENT_TYPE, Store};

/// One reload request: the channel its answer comes back on, what changed (`O`, shown as
/// `configuration reloaded: {outcome}`) or why the new configuration was rejected. The app serves
/// the requests; the lifecycle route only asks and reports, so it needs nothing of the app.
pub type ReloadReply<O> = oneshot::Sender<Result<O, String>>;

#[derive(Clone)]
struct AppState {
    store: Arc<Store>,
    telemetry_path: Arc<str>,
}

/// Routes: `{telemetry_path}` (default /metrics), `/healthz` and `/readyz` (with the Prometheus-style
/// aliases `/-/healthy` and `/-/ready`), and `/` the status page.
pub fn router(store: Arc<Store>, telemetry_path: &str) -> Router {
    let state = AppState { store, telemetry_path: Arc::from(telemetry_path) };
    Router::new()
        .route(telemetry_path, get(metrics))
        .route("/healthz", get(healthz))
        .route("/-/healthy", get(healthz))
        .route("/readyz", get(readyz))
        .route("/-/ready", get(readyz))
        .route("/", get(status))
        .fallback(not_found)
        .with_state(state)
}

/// The cached exposition followed by the process metrics, gzip-compressed when the client accepts it
/// (Prometheus does), as client_golang's handler answers. Either way the response is made of the
/// cached bytes and the few of the process metrics, neither rendered nor compressed again (see
/// [`crate::snapshot::Exposition`]). `Vary` is sent either way, so that a cache between the two keeps
/// the encodings apart.
async fn metrics(State(state): State<AppState>, request: HeaderMap) -> Response {
    let exposition = state.store.cached_exposition();
    let process = state.store.process_metrics();
    let gzip = accepts_gzip(&request);
    let body = if gzip {
        Body::new(chunks::Chunks::new(exposition.gzip_chunks(&process)))
    } else {
        match exposition.plain_cached() {
            Some(plain) => Body::new(chunks::Chunks::new([plain, process.plain()])),
            None => Body::new(inflate::Inflate::new(
                exposition.terminated_deflate(),
                exposition.plain_len(),
                process.plain(),
            )),
        }
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// Whether the request's Accept-Encoding (RFC 9110 §12.5.3; any number of headers, each a list)
/// admits gzip: `gzip` (or its alias `x-gzip`) with a weight above 0, or else `*` with a weight above
/// 0. An explicit `gzip;q=0` refuses it whatever `*` says; no header means no content coding.
fn accepts_gzip(request: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    let codings = request.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok());
    for coding in codings.flat_map(|v| v.split(',')) {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let mut weight = Some(1.0);
        for param in parts {
            if let Some((key, value)) = param.split_once('=')
                && key.trim().eq_ignore_ascii_case("q")
            {
                weight = value.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q));
            }
        }
        // An unparsable weight makes the element invalid: it is ignored rather than guessed at.
        let Some(weight) = weight else { continue };
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(weight);
        } else if name == "*" {
            any = Some(weight);
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

/// Alive as long as the process serves HTTP; deliberately independent of Graph, so an outage
/// does not make Kubernetes restart a healthy exporter.
async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    let waiting = not_ready(&state.store);
    if waiting.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("not ready:\n{}\n", waiting.join("\n"))).into_response()
    }
}

/// One line per tenant × report that has not had a successful poll yet (with its last error) or
/// whose data is older than its max_staleness. `group_members` is not among them: a
/// `[[tenant.group]]` that cannot be read (a typo in its id, `GroupMember.Read.All` missing) shows in
/// `group_available`, `poll_success` and the status page but must not hold a rollout back, and an
/// `exclude_groups` group that cannot be read already fails `registration_details`, which is here.
pub(crate) fn not_ready(store: &Store) -> Vec<String> {
    let mut lines = Vec::new();
    let now = std::time::SystemTime::now();
    for t in store.status() {
        for (kind, state) in t.reports.iter().filter(|(kind, _)| **kind != ReportKind::GroupMembers) {
            if state.is_stale(now) {
                lines.push(format!(
                    "tenant {} report {}: data older than max_staleness ({}); the data series are no longer exported",
                    t.info.name,
                    kind.as_str(),
                    humantime::format_duration(state.max_staleness)
                ));
                continue;
            }
            if state.data.is_some() {
                continue;
            }
            let why = match &state.health.last_error {
                Some(e) => format!("last poll failed ({}): {}", e.reason, e.hint),
                None => "first poll still running".to_string(),
            };
            lines.push(format!("tenant {} report {}: no successful poll yet; {why}", t.info.name, kind.as_str()));
        }
    }
    lines
}

async fn status(State(state): State<AppState>) -> Html<String> {
    Html(status_page::render(&state.store.status(), &state.store.reload_status(), &state.telemetry_path))
}

async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found\n")
}

/// `POST /-/reload` (also PUT, as Prometheus accepts): reloads the configuration when the lifecycle
/// API is enabled (`--web.enable-lifecycle`), else 403.
pub(crate) fn lifecycle_router<O: std::fmt::Display + Send + 'static>(
    reload: Option<mpsc::Sender<ReloadReply<O>>>,
) -> Router {
    Router::new().route("/-/reload", post(reload_config).put(reload_config)).with_state(reload)
}

async fn reload_config<O: std::fmt::Display + Send + 'static>(
    State(reload): State<Option<mpsc::Sender<ReloadReply<O>>>>,
) -> Response {
    let Some(reload) = reload else {
        return (StatusCode::FORBIDDEN, "Lifecycle API is not enabled (start with --web.enable-lifecycle).\n")
            .into_response();
    };
    let (reply, answer) = oneshot::channel();
    if reload.send(reply).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match answer.await {
        Ok(Ok(outcome)) => (StatusCode::OK, format!("configuration reloaded: {outcome}\n")).into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("configuration reload rejected; the previous configuration keeps running: {e}\n"),
        )
            .into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use axum::http::header::ACCEPT_ENCODING;

    use super::accepts_gzip;

    fn accepts(values: &[&str]) -> bool {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(ACCEPT_ENCODING, v.parse().unwrap());
        }
        accepts_gzip(&headers)
    }

    #[test]
    fn gzip_is_accepted_when_listed_with_a_positive_weight() {
        for yes in [
            "gzip", // what Prometheus sends
            "GZip",
            "deflate, gzip;q=1.0, *;q=0.5",
            "br;q=1, gzip;q=0.001",
            "gzip ; q=0.5",
            "gzip;Q=1",
            "x-gzip",
            "identity, *",
            "*;q=0.1",
        ] {
            assert!(accepts(&[yes]), "{yes}");
        }
        // Several headers make one list.
        assert!(accepts(&["deflate", "gzip"]));
        assert!(accepts(&["identity", "br, gzip;q=0.8"]));
    }

    #[test]
    fn gzip_is_refused_when_absent_or_weighted_zero() {
        assert!(!accepts(&[]), "no header: no content coding");
        for no in [
            "",
            "identity",
            "deflate, br",
            "gzip;q=0",
            "gzip;q=0.000",
            "gzip;q=0, *",
            "*;q=0",
            "*, gzip;q=0",
            "gzipx",
            "gzip;q=2",
            "gzip;q=abc",
        ] {
            assert!(!accepts(&[no]), "{no}");
        }
        assert!(!accepts(&["*", "gzip;q=0"]), "a refusal in a second header counts");
    }
}
