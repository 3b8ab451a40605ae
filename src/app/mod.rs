//! Wiring: settings → store, Graph clients and pollers → HTTP server. Used by the daemon, `--once`,
//! `--demo` and the integration tests, so all of them run the same code.

mod fleet;
mod once;
mod reload;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Settings;
use crate::graph::GraphError;
use crate::http::web::ConnectionLimits;
use crate::snapshot::{BuildInfo, Store};

use fleet::Fleet;
pub use once::run_once;
pub use reload::{ConfigSource, ReloadOptions, ReloadOutcome, ReloadReply};

/// How often the store checks whether some data passed its max_staleness between polls.
const STALENESS_CHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// A running exporter: pollers in the background and the HTTP server on `addr`.
pub struct RunningExporter {
    pub addr: SocketAddr,
    pub store: Arc<Store>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    fleet: Arc<Fleet>,
    state: Option<Arc<crate::persistence::StateWriter>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// Starts the pollers (first poll immediately) and the HTTP server, without reloads.
pub async fn start(
    settings: &Settings,
    listen: SocketAddr,
    telemetry_path: &str,
    web: Option<crate::http::web::WebConfig>,
) -> Result<RunningExporter, StartError> {
    start_with(settings, listen, telemetry_path, web, None, ConnectionLimits::default()).await
}

/// Starts the pollers and the HTTP server; with `reload`, the configuration can be reloaded from
/// its source on SIGHUP and (if enabled) `POST /-/reload`. `limits` bound what clients can hold.
pub async fn start_with(
    settings: &Settings,
    listen: SocketAddr,
    telemetry_path: &str,
    web: Option<crate::http::web::WebConfig>,
    reload: Option<ReloadOptions>,
    limits: ConnectionLimits,
) -> Result<RunningExporter, StartError> {
    let store = Store::with_tenants(Vec::new(), BuildInfo::current());
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|source| StartError::Listen { addr: listen, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: listen, source })?;
    let (shutdown, _) = watch::channel(false);
    let fleet = Arc::new(Fleet::new(settings, store.clone(), shutdown.subscribe()).await?);
    let mut tasks = JoinSet::new();
    // Started before the pollers so that no data change is missed; it writes only after a change,
    // so an unusable state file stays as it is until a good poll.
    let state = settings.state_file.as_ref().map(|path| {
        let writer = crate::persistence::StateWriter::new(path.clone(), store.clone());
        tasks.spawn(writer.clone().run(shutdown.subscribe()));
        writer
    });
    fleet.start_all().await;
    // Staleness depends on the clock, not only on polls: check periodically so data past its
    // max_staleness disappears even while a poll hangs.
    let ticker_store = store.clone();
    let mut ticker_stop = shutdown.subscribe();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(STALENESS_CHECK);
        loop {
            tokio::select! {
                _ = tick.tick() => ticker_store.check_staleness(),
                _ = ticker_stop.wait_for(|&s| s) => return,
            }
        }
    });
    if let Some(not_after) = web.as_ref().and_then(|w| w.tls_certificate_expiry()) {
        store.watch_web_tls_certificate(not_after);
    }
    let mut router = crate::http::router(store.clone(), telemetry_path);
    if let Some(options) = reload {
        let requests = reload::spawn_listener(&mut tasks, fleet.clone(), options.clone(), shutdown.subscribe());
        router = router.merge(crate::http::lifecycle_router(options.http_endpoint.then_some(requests)));
    } else {
        router = router.merge(crate::http::lifecycle_router::<ReloadOutcome>(None));
    }
    let mut stop = shutdown.subscribe();
    tasks.spawn(async move {
        let stop = async move {
            let _ = stop.wait_for(|&s| s).await;
        };
        if let Err(e) = crate::http::web::serve(listener, router, web, limits, stop).await {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    tracing::info!(address = %addr, path = telemetry_path, tenants = settings.tenants.len(), "exporter listening");
    Ok(RunningExporter { addr, store, shutdown, tasks, fleet, state })
}

impl RunningExporter {
    /// Resolves once every polled report has completed at least one poll (successful or not).
    pub async fn wait_for_first_round(&self) {
        self.fleet.wait_for_first_round().await
    }

    /// Polls every tenant and report now, outside the schedule (after the running poll, never
    /// overlapping it); returns whether every poll succeeded.
    pub async fn poll_now(&self) -> bool {
        self.fleet.poll_now().await
    }

    /// Applies `settings` as a reload would: tenants that did not change keep running untouched.
    pub async fn reload(&self, settings: Settings) -> Result<ReloadOutcome, String> {
        self.fleet.apply(settings).await
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
        self.fleet.stop_all().await;
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
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
