//! Configuration reload (SIGHUP, `POST /-/reload`): the new file is loaded and validated in full
//! before anything changes; then tenants that did not change keep running untouched, changed ones
//! restart, new ones start and removed ones stop. A rejected file leaves everything as it was.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::fleet::{Fleet, Inner, Parts, RunningTenant, fingerprints, planned_states, tenant_info};
use crate::config::{Settings, TenantSettings};
use crate::graph::GraphClient;
use crate::reports::ReportKind;
use crate::snapshot::{TenantEntry, TenantHandle};

/// Reads the configuration again (the file and environment, with the command line's overrides).
#[derive(Clone)]
pub struct ConfigSource(Arc<dyn Fn() -> Result<Settings, String> + Send + Sync>);

impl ConfigSource {
    pub fn new(load: impl Fn() -> Result<Settings, String> + Send + Sync + 'static) -> Self {
        ConfigSource(Arc::new(load))
    }
}

/// How reloads are asked for.
#[derive(Clone)]
pub struct ReloadOptions {
    pub source: ConfigSource,
    /// Serve `POST /-/reload` (`--web.enable-lifecycle`); off by default because anyone who can
    /// reach the port could otherwise make the exporter re-read its files.
    pub http_endpoint: bool,
    /// Reload on SIGHUP (the daemon; tests leave the process's signals alone).
    pub sighup: bool,
}

/// What a reload changed, by tenant name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadOutcome {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Restarted with new settings; their data carried over when their numbers mean the same.
    pub changed: Vec<String>,
    pub unchanged: usize,
}

impl fmt::Display for ReloadOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |names: &[String]| if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) };
        write!(
            f,
            "{} tenants added{}, {} removed{}, {} changed{}, {} unchanged",
            self.added.len(),
            list(&self.added),
            self.removed.len(),
            list(&self.removed),
            self.changed.len(),
            list(&self.changed),
            self.unchanged
        )
    }
}

/// The answer to one reload request: the outcome, or why the new configuration was rejected.
pub type ReloadReply = crate::http::ReloadReply<ReloadOutcome>;

/// Loads the configuration from `source` on the blocking pool: its file reads wait for at most
/// their deadline ([`crate::file_read`]), never on a worker of the runtime.
async fn load(source: &ConfigSource) -> Result<Settings, String> {
    let load = source.0.clone();
    tokio::task::spawn_blocking(move || load())
        .await
        .map_err(|e| format!("loading the configuration did not finish: {e}"))?
}

/// Applies what [`load`] gave, or records and logs why it was rejected.
async fn apply(fleet: &Fleet, loaded: Result<Settings, String>) -> Result<ReloadOutcome, String> {
    match loaded {
        Ok(settings) => fleet.apply(settings).await,
        Err(e) => {
            fleet.store.reload_failed();
            tracing::error!(error = %e, "configuration reload rejected; the previous configuration keeps running");
            Err(e)
        }
    }
}

/// A reload whose files are being read, and the requests waiting for its outcome.
struct Loading {
    waiting: Vec<ReloadReply>,
    load: Pin<Box<dyn Future<Output = Result<Settings, String>> + Send>>,
}

/// Serves reload requests from the HTTP endpoint (through the returned sender) and SIGHUP until
/// shutdown, applying one configuration at a time. A request that comes while the files of an
/// earlier one are still being read starts a new load, which replaces the earlier one (its reads
/// may hang on a file that has been fixed since): every request waiting is answered with the
/// outcome of the latest load, which read the files after all of them were made.
pub(super) fn spawn_listener(
    tasks: &mut JoinSet<()>,
    fleet: Arc<Fleet>,
    options: ReloadOptions,
    mut shutdown: watch::Receiver<bool>,
) -> mpsc::Sender<ReloadReply> {
    let (tx, mut rx) = mpsc::channel::<ReloadReply>(4);
    // Installed before the exporter says it is listening: until then SIGHUP would end the process.
    let mut hup = if options.sighup { hangup_signal() } else { None };
    tasks.spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|&s| s).await;
        };
        tokio::pin!(stop);
        let mut loading: Option<Loading> = None;
        loop {
            let waiting = async {
                match loading.as_mut() {
                    Some(l) => l.load.as_mut().await,
                    None => std::future::pending().await,
                }
            };
            let requested = tokio::select! {
                Some(reply) = rx.recv() => Some(reply),
                Some(()) = next_hangup(&mut hup) => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    None
                }
                loaded = waiting => {
                    let waiting = loading.take().map(|l| l.waiting).unwrap_or_default();
                    let outcome = apply(&fleet, loaded).await;
                    for reply in waiting {
                        let _ = reply.send(outcome.clone());
                    }
                    continue;
                }
                _ = &mut stop => return,
            };
            let mut waiting = match loading.take() {
                Some(earlier) => {
                    tracing::info!(
                        "a reload was asked for while the previous one was still reading its files; starting over"
                    );
                    earlier.waiting
                }
                None => Vec::new(),
            };
            waiting.extend(requested);
            let source = options.source.clone();
            loading = Some(Loading { waiting, load: Box::pin(async move { load(&source).await }) });
        }
    });
    tx
}

#[cfg(unix)]
type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn hangup_signal() -> Option<Hangup> {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; reload with POST /-/reload instead");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signal() -> Option<Hangup> {
    None
}

async fn next_hangup(hup: &mut Option<Hangup>) -> Option<()> {
    #[cfg(unix)]
    if let Some(signal) = hup {
        return signal.recv().await;
    }
    let _ = hup;
    std::future::pending().await
}

/// What happens to one tenant of the new configuration.
enum Step {
    /// Same settings: its pollers keep running.
    Keep(usize),
    /// New settings under which its numbers mean the same: restart, keeping its data.
    Carry { old: usize, client: GraphClient },
    /// A new tenant, or one whose numbers would change meaning: start afresh.
    Fresh { old: Option<usize>, entry: TenantHandle, client: GraphClient },
}

impl Fleet {
    /// Applies new settings; see the module documentation.
    pub(super) async fn apply(&self, new: Settings) -> Result<ReloadOutcome, String> {
        let mut inner = self.inner.lock().await;
        let result = self.apply_locked(&mut inner, new).await;
        match &result {
            Ok(outcome) => tracing::info!(%outcome, "configuration reloaded"),
            Err(e) => {
                self.store.reload_failed();
                tracing::error!(error = %e, "configuration reload rejected; the previous configuration keeps running");
            }
        }
        result
    }

    async fn apply_locked(&self, inner: &mut Inner, new: Settings) -> Result<ReloadOutcome, String> {
        if new.state_file != inner.state_file {
            tracing::warn!("state_file changed: the new path takes effect at the next restart");
        }
        // Everything that can fail is built before anything stops.
        let graph_changed = new.graph != inner.parts.graph;
        let new_parts =
            if graph_changed { Some(Parts::new(&new.graph).map_err(|e| format!("[graph]: {e}"))?) } else { None };
        let parts = new_parts.as_ref().unwrap_or(&inner.parts);
        let mut steps = Vec::with_capacity(new.tenants.len());
        for t in &new.tenants {
            let old = inner.tenants.iter().position(|r| r.settings.name == t.name);
            let fail = |e| format!("tenant {}: {e}", t.name);
            let step = match old {
                Some(i) if !graph_changed && inner.tenants[i].settings == *t => Step::Keep(i),
                Some(i) if same_numbers(&inner.tenants[i].settings, t) => {
                    let telemetry = inner.tenants[i].poller.entry.telemetry();
                    Step::Carry { old: i, client: parts.client(t, telemetry).map_err(fail)? }
                }
                _ => {
                    let entry = TenantEntry::new(tenant_info(t), planned_states(t));
                    let client = parts.client(t, entry.telemetry()).map_err(fail)?;
                    Step::Fresh { old, entry, client }
                }
            };
            steps.push(step);
        }

        if let Some(parts) = new_parts {
            inner.parts = parts;
        }
        let mut old: Vec<Option<RunningTenant>> = inner.tenants.drain(..).map(Some).collect();
        let mut outcome = ReloadOutcome::default();
        for (t, step) in new.tenants.iter().zip(steps) {
            let running = match step {
                Step::Keep(i) => {
                    outcome.unchanged += 1;
                    old[i].take().expect("each old tenant is matched by one name")
                }
                Step::Carry { old: i, client } => {
                    let previous = stop(old[i].take().expect("each old tenant is matched by one name")).await;
                    outcome.changed.push(t.name.clone());
                    let entry = previous.poller.entry.replanned(tenant_info(t), planned_states(t));
                    self.started(inner.parts.tenant(t, entry, client, &self.store))
                }
                Step::Fresh { old: previous, entry, client } => {
                    match previous.and_then(|i| old[i].take()) {
                        Some(previous) => {
                            stop(previous).await;
                            outcome.changed.push(t.name.clone());
                        }
                        None => outcome.added.push(t.name.clone()),
                    }
                    self.started(inner.parts.tenant(t, entry, client, &self.store))
                }
            };
            inner.tenants.push(running);
        }
        for removed in old.into_iter().flatten() {
            outcome.removed.push(removed.settings.name.clone());
            stop(removed).await;
        }
        self.store.set_tenants(inner.tenants.iter().map(|t| t.poller.entry.clone()).collect());
        Ok(outcome)
    }

    fn started(&self, mut t: RunningTenant) -> RunningTenant {
        self.start(&mut t);
        t
    }
}

/// Stops a tenant's polls (one in progress is abandoned, never published) and waits until they
/// have ended, so nothing writes to its old entry afterwards.
async fn stop(mut t: RunningTenant) -> RunningTenant {
    t.tasks.abort_all();
    while t.tasks.join_next().await.is_some() {}
    t
}

/// Whether a tenant's numbers mean the same under new settings (same directory, Graph, breakdowns,
/// registration source, `[method_strength]`, groups, exclusions and report parameters), so its last
/// data can be served until the restarted polls replace it. The same fingerprints decide what a
/// restart restores from the state file ([`fingerprints`]): the shared part (`group_members`', which
/// has no parameters) must match, and each report both configure must match.
fn same_numbers(old: &TenantSettings, new: &TenantSettings) -> bool {
    let (a, b) = (fingerprints(old), fingerprints(new));
    old.graph_endpoint == new.graph_endpoint
        && a.get(&ReportKind::GroupMembers) == b.get(&ReportKind::GroupMembers)
        && old.reports.keys().filter(|k| new.reports.contains_key(*k)).all(|k| a.get(k) == b.get(k))
}
