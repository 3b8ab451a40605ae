//! Wiring: settings → store, Graph clients and pollers → HTTP server. Used by the daemon, `--once`,
//! `--demo` and the integration tests, so all of them run the same code.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::RegistrationSource;
use crate::config::Settings;
use crate::graph::{GraphClient, GraphError, http_client};
use crate::poller::{TenantPoller, plan};
use crate::snapshot::{BuildInfo, Store, TenantInfo};

/// How often the exposition is re-rendered to apply max_staleness between polls.
const STALENESS_CHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// Builds the store and one poller per tenant.
fn build(settings: &Settings) -> Result<(Arc<Store>, Vec<Arc<TenantPoller>>), GraphError> {
    let tenants = settings
        .tenants
        .iter()
        .map(|t| {
            let info = TenantInfo {
                name: t.name.clone(),
                tenant_id: t.tenant_id.clone(),
                cloud: t.cloud.as_str(),
                summary_source: t.registration_source == RegistrationSource::Summary,
            };
            let reports = plan(t)
                .0
                .into_iter()
                .map(|r| (r.kind, r.settings.interval, r.settings.max_staleness, r.unavailable))
                .collect();
            (info, reports)
        })
        .collect();
    let store = Store::new(tenants, BuildInfo::current());
    // Before the first poll: the last known numbers are served at once, with their real age.
    if let Some(path) = &settings.state_file {
        crate::persistence::load(path, &store);
    }
    let http = http_client(&settings.graph)?;
    let mut pollers = Vec::with_capacity(settings.tenants.len());
    let limiter = Arc::new(tokio::sync::Semaphore::new(settings.graph.max_concurrent_polls as usize));
    for (index, tenant) in settings.tenants.iter().enumerate() {
        let client = GraphClient::new(http.clone(), tenant, &settings.graph, store.telemetry(index))?;
        pollers.push(Arc::new(TenantPoller::new(
            index,
            tenant.clone(),
            settings.graph.clone(),
            client,
            store.clone(),
            limiter.clone(),
        )));
    }
    Ok((store, pollers))
}

/// Polls every tenant and report once, concurrently, and returns the exposition and whether every
/// poll succeeded (for `--once`).
pub async fn run_once(settings: &Settings) -> Result<(Bytes, bool), GraphError> {
    let (store, pollers) = build(settings)?;
    // Created before the polls: it writes the data they produce (and nothing if they all fail).
    let state = settings.state_file.as_ref().map(|p| crate::persistence::StateWriter::new(p.clone(), store.clone()));
    let mut set = JoinSet::new();
    for p in pollers {
        for report in p.polled().cloned().collect::<Vec<_>>() {
            let p = p.clone();
            set.spawn(async move { p.poll_once(&report).await });
        }
    }
    let mut all_ok = true;
    while let Some(result) = set.join_next().await {
        all_ok &= result.unwrap_or(false);
    }
    if let Some(writer) = state {
        writer.save_pending().await;
    }
    Ok((store.exposition(), all_ok))
}

/// A running exporter: pollers in the background and the HTTP server on `addr`.
pub struct RunningExporter {
    pub addr: SocketAddr,
    pub store: Arc<Store>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    pollers: Vec<Arc<TenantPoller>>,
    state: Option<Arc<crate::persistence::StateWriter>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// Starts the pollers (first poll immediately) and the HTTP server.
pub async fn start(
    settings: &Settings,
    listen: SocketAddr,
    telemetry_path: &str,
    web: Option<crate::http::web::WebConfig>,
) -> Result<RunningExporter, StartError> {
    let (store, pollers) = build(settings)?;
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|source| StartError::Listen { addr: listen, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: listen, source })?;
    let (shutdown, _) = watch::channel(false);
    let mut tasks = JoinSet::new();
    // Started before the pollers so that no data change is missed; it writes only after a change,
    // so an unusable state file stays as it is until a good poll.
    let state = settings.state_file.as_ref().map(|path| {
        let writer = crate::persistence::StateWriter::new(path.clone(), store.clone());
        tasks.spawn(writer.clone().run(shutdown.subscribe()));
        writer
    });
    for p in &pollers {
        for report in p.polled().cloned() {
            tasks.spawn(p.clone().run(report, shutdown.subscribe()));
        }
    }
    // Staleness depends on the clock, not only on polls: re-render periodically so data past its
    // max_staleness disappears even while a poll hangs.
    let ticker_store = store.clone();
    let mut ticker_stop = shutdown.subscribe();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(STALENESS_CHECK);
        loop {
            tokio::select! {
                _ = tick.tick() => ticker_store.rerender(),
                _ = ticker_stop.wait_for(|&s| s) => return,
            }
        }
    });
    let router = crate::http::router(store.clone(), telemetry_path);
    let mut stop = shutdown.subscribe();
    tasks.spawn(async move {
        let stop = async move {
            let _ = stop.wait_for(|&s| s).await;
        };
        if let Err(e) = crate::http::web::serve(listener, router, web, stop).await {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    tracing::info!(address = %addr, path = telemetry_path, tenants = settings.tenants.len(), "exporter listening");
    Ok(RunningExporter { addr, store, shutdown, tasks, pollers, state })
}

impl RunningExporter {
    /// Resolves once every polled report has completed at least one poll (successful or not).
    pub async fn wait_for_first_round(&self) {
        let mut rx = self.store.subscribe_polls();
        loop {
            // Data restored from the state file does not count as a poll of this run.
            let status = self.store.status();
            let all_done = self
                .pollers
                .iter()
                .zip(&status)
                .all(|(p, t)| p.polled().all(|r| t.reports.get(&r.kind).is_some_and(|s| s.health.polls_total > 0)));
            if all_done || rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Polls every tenant and report now, outside the schedule (after the running poll, never
    /// overlapping it); returns whether every poll succeeded.
    pub async fn poll_now(&self) -> bool {
        let mut all_ok = true;
        for p in &self.pollers {
            for report in p.polled() {
                all_ok &= p.poll_once(report).await;
            }
        }
        all_ok
    }

    /// Resolves once every data change so far is written to the state file (or its write failed);
    /// at once without a state file.
    pub async fn flush_state(&self) {
        if let Some(writer) = &self.state {
            writer.flush().await;
        }
    }

    /// Stops the pollers and the server and waits for them (the state file writer writes what is
    /// pending first).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

/// Parses a listen address, accepting the Prometheus convention `:PORT` for all interfaces.
pub fn parse_listen_address(s: &str) -> Result<SocketAddr, String> {
    let full = if s.starts_with(':') { format!("0.0.0.0{s}") } else { s.to_string() };
    full.parse().map_err(|e| format!("--web.listen-address {s:?}: {e} (expected HOST:PORT or :PORT)"))
}
