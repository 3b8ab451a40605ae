//! The HTTP surface: the cached exposition, liveness, readiness, a status page and the reload
//! endpoint. No handler calls Graph or aggregates anything.

mod status_page;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

use crate::app::ReloadReply;
use crate::snapshot::{CONTENT_TYPE, Store};

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

async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.store.exposition();
    ([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], body).into_response()
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
/// whose data is older than its max_staleness.
pub fn not_ready(store: &Store) -> Vec<String> {
    let mut lines = Vec::new();
    let now = std::time::SystemTime::now();
    for t in store.status() {
        for (kind, state) in &t.reports {
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
pub fn lifecycle_router(reload: Option<mpsc::Sender<ReloadReply>>) -> Router {
    Router::new().route("/-/reload", post(reload_config).put(reload_config)).with_state(reload)
}

async fn reload_config(State(reload): State<Option<mpsc::Sender<ReloadReply>>>) -> Response {
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
