//! The store: the tenants and reports being polled, their last good data and poll health, and the
//! cached exposition rendered from them. A reload swaps the list of tenants; each tenant's entry is
//! shared with its pollers, which write into it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use bytes::Bytes;
use tokio::sync::watch;

use super::BuildInfo;
use super::exposition::{Exposition, KEEP_PLAIN_UP_TO, Suffix};
use super::parts::{GLOBAL, Parts};
use super::process;
use super::render::{Families, render_global, render_tenant};
use crate::health::{FailureReason, PollFailure};
use crate::reports::ReportKind;

pub use super::report_data::ReportData;

#[derive(Debug, Clone)]
pub struct ReportSnapshot {
    pub data: ReportData,
    pub completed_at: SystemTime,
}

#[derive(Debug, Clone)]
pub struct LastError {
    pub(crate) reason: FailureReason,
    pub(crate) graph_code: Option<String>,
    pub(crate) message: String,
    pub(crate) hint: &'static str,
    pub at: SystemTime,
}

#[derive(Debug, Clone, Default)]
pub struct PollHealth {
    pub last_attempt_ok: Option<bool>,
    pub last_success: Option<SystemTime>,
    pub last_duration: Option<Duration>,
    pub polls_total: u64,
    pub(crate) failures: BTreeMap<FailureReason, u64>,
    pub last_error: Option<LastError>,
}

#[derive(Debug, Clone, Default)]
pub struct ReportState {
    /// The last good data; kept when a later poll fails.
    pub data: Option<Arc<ReportSnapshot>>,
    pub health: PollHealth,
    pub(crate) poll_interval: Duration,
    /// Data older than this is not exported.
    pub(crate) max_staleness: Duration,
}

impl ReportState {
    /// Whether the last good data is too old to be served (see `max_staleness`).
    pub(crate) fn is_stale(&self, now: SystemTime) -> bool {
        self.data.as_ref().is_some_and(|d| {
            !matches!(d.data, ReportData::Unavailable(_))
                && now.duration_since(d.completed_at).is_ok_and(|age| age > self.max_staleness)
        })
    }
}

pub use super::tenant::{Numbers, PlannedState, TenantEntry, TenantHandle, TenantInfo, TenantStatus};

/// The outcome of the last configuration reload, for `entra_authmethods_config_last_reload_*`.
#[derive(Debug, Clone, Copy)]
pub struct ReloadStatus {
    pub successful: bool,
    /// When the configuration now running was loaded (the start counts as the first load).
    pub last_success: SystemTime,
}

/// While a poll runs, the exposition is rendered again at most this often, so that its progress
/// (`poll_pages_read`, `graph_requests_total`) moves between scrapes. A page never renders: the
/// poller and the Graph client only update the tenant's progress, and the first scrape after this
/// interval renders once, whatever the number of pages and tenants. Renders stay bounded by the
/// scrapes too (none without one), so with Prometheus' usual 15 s or more every scrape during a sweep
/// sees fresh numbers at one render each, and a flood of scrapes (several Prometheus, a load test)
/// costs at most one render per interval however long the sweep.
pub(crate) const PROGRESS_RENDER_INTERVAL: Duration = Duration::from_secs(2);

/// A poll's end renders its tenant at once unless a render ran less than this ago; the next one (a
/// later poll's end or a scrape) then renders it with the others changed since.
const EAGER_RENDER_INTERVAL: Duration = Duration::from_millis(250);

/// How long the process metrics are served before /proc is read again.
pub const PROCESS_METRICS_MAX_AGE: Duration = Duration::from_secs(1);

pub struct Store {
    tenants: RwLock<Arc<[TenantHandle]>>,
    build: BuildInfo,
    reload: Mutex<ReloadStatus>,
    exposition: ArcSwap<Exposition>,
    /// The exposition's parts per family and tenant, from which `exposition` is joined.
    pub(super) parts: Mutex<Parts>,
    /// The process metrics that follow the exposition, and when they were read.
    process: Mutex<Option<(Instant, Arc<Suffix>)>>,
    /// The TLS serving certificate's notAfter, when the web configuration turns TLS on; instance-level
    /// and read at scrape time like the process metrics, so a rotation shows without a re-render.
    web_tls_not_after: std::sync::OnceLock<Arc<std::sync::atomic::AtomicI64>>,
    /// [`KEEP_PLAIN_UP_TO`]; lower in tests, to take the big exposition's path with a small one.
    keep_plain_up_to: AtomicUsize,
    /// The state changed since `exposition` was rendered.
    dirty: AtomicBool,
    /// When the next report's data passes its max_staleness, as of the last render.
    next_stale_at: Mutex<Option<SystemTime>>,
    /// Serialises renders so that the last writer's state is the one that ends up cached.
    render_lock: Mutex<()>,
    /// Polls running (holding their turn), across tenants: while any does, a render older than
    /// [`PROGRESS_RENDER_INTERVAL`] counts as out of date.
    polls_running: AtomicUsize,
    /// When the last render pass ran.
    passed_at: Mutex<Option<Instant>>,
    /// When running polls' progress was last rendered.
    rendered_at: Mutex<Option<Instant>>,
    /// Set while a render runs, so a scrape arriving after the render cleared `dirty` waits for it
    /// instead of serving the exposition from before the change.
    rendering: AtomicBool,
    /// Number of polls completed so far (success or failure); lets `--once` and tests wait for polls
    /// without sleeping.
    polls_completed: watch::Sender<u64>,
    /// Bumped whenever a report's data changes (a successful or "unavailable" poll); the state
    /// file writer follows it.
    data_version: watch::Sender<u64>,
}

impl Store {
    /// `tenants`: each tenant with its reports, their intervals, and for reports that are not polled
    /// because this cloud does not offer them, the reason.
    pub fn new(tenants: Vec<(TenantInfo, Vec<PlannedState>)>, build: BuildInfo) -> Arc<Store> {
        Self::with_tenants(tenants.into_iter().map(|(info, reports)| TenantEntry::new(info, reports)).collect(), build)
    }

    pub(crate) fn with_tenants(tenants: Vec<TenantHandle>, build: BuildInfo) -> Arc<Store> {
        let store = Arc::new(Store {
            tenants: RwLock::new(tenants.into()),
            build,
            reload: Mutex::new(ReloadStatus { successful: true, last_success: SystemTime::now() }),
            exposition: ArcSwap::from_pointee(Exposition::empty()),
            parts: Mutex::new(Parts::default()),
            process: Mutex::new(None),
            web_tls_not_after: std::sync::OnceLock::new(),
            keep_plain_up_to: AtomicUsize::new(KEEP_PLAIN_UP_TO),
            dirty: AtomicBool::new(true),
            next_stale_at: Mutex::new(None),
            render_lock: Mutex::new(()),
            rendering: AtomicBool::new(false),
            polls_running: AtomicUsize::new(0),
            passed_at: Mutex::new(None),
            rendered_at: Mutex::new(None),
            polls_completed: watch::channel(0).0,
            data_version: watch::channel(0).0,
        });
        // `dirty` starts true: the first read renders.
        store
    }

    /// The tenants in configuration order.
    pub fn tenants(&self) -> Arc<[TenantHandle]> {
        self.tenants.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the list of tenants (after a reload) and records the reload as successful.
    pub(crate) fn set_tenants(&self, tenants: Vec<TenantHandle>) {
        *self.tenants.write().unwrap_or_else(|p| p.into_inner()) = tenants.into();
        *self.reload.lock().unwrap_or_else(|p| p.into_inner()) =
            ReloadStatus { successful: true, last_success: SystemTime::now() };
        self.invalidate();
        // The state file follows the tenant list too: removed tenants leave it.
        self.data_version.send_modify(|v| *v += 1);
    }

    /// Records a reload that was rejected; the running configuration stays.
    pub(crate) fn reload_failed(&self) {
        self.reload.lock().unwrap_or_else(|p| p.into_inner()).successful = false;
        self.invalidate();
    }

    pub fn reload_status(&self) -> ReloadStatus {
        *self.reload.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The exposition, rendered (and compressed) only if the state changed since the last call.
    /// Scrapes copy its `Bytes`, a reference-count increment.
    pub fn cached_exposition(&self) -> Arc<Exposition> {
        self.render_if_dirty();
        self.exposition.load_full()
    }

    /// The process metrics (`process_cpu_seconds_total`, …) that every scrape appends to the cached
    /// exposition. Read from /proc at most once per [`PROCESS_METRICS_MAX_AGE`], so that a flood of
    /// scrapes (a load test) does not read /proc for each one; a concurrent scrape waits for the read
    /// in progress.
    pub(crate) fn process_metrics(&self) -> Arc<Suffix> {
        let mut cached = self.process.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((read_at, suffix)) = &*cached
            && read_at.elapsed() < PROCESS_METRICS_MAX_AGE
        {
            return suffix.clone();
        }
        let mut text = process::render();
        if let Some(not_after) = self.web_tls_not_after.get().map(|n| n.load(Ordering::Relaxed)) {
            process::render_web_tls_expiry(&mut text, not_after);
        }
        let suffix = Arc::new(Suffix::new(Bytes::from(text)));
        *cached = Some((Instant::now(), suffix.clone()));
        suffix
    }

    /// Exports the TLS serving certificate's notAfter from now on (see `entra_authmethods_web_tls_certificate_expiry_timestamp_seconds`).
    pub fn watch_web_tls_certificate(&self, not_after: Arc<std::sync::atomic::AtomicI64>) {
        let _ = self.web_tls_not_after.set(not_after);
        *self.process.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Keeps the plain text next to the gzip copy only up to this size from the next render on, in
    /// place of [`KEEP_PLAIN_UP_TO`]: lets tests and benchmarks take the path of an exposition of
    /// hundreds of tenants with a small one.
    pub fn set_keep_plain_up_to(&self, bytes: usize) {
        self.keep_plain_up_to.store(bytes, Ordering::Relaxed);
        self.invalidate();
    }

    /// The plain text of the exposition, decompressed if only the compressed copy is kept; without
    /// the process metrics that a scrape appends (see [`Store::process_metrics`]).
    pub fn exposition(&self) -> Bytes {
        self.cached_exposition().plain()
    }

    pub fn subscribe_polls(&self) -> watch::Receiver<u64> {
        self.polls_completed.subscribe()
    }

    /// Replaces the report's data atomically and marks the poll healthy.
    pub fn record_success(&self, tenant: &TenantEntry, report: ReportKind, data: ReportData, duration: Duration) {
        let now = SystemTime::now();
        self.update(tenant, report, |state| {
            state.data = Some(Arc::new(ReportSnapshot { data, completed_at: now }));
            state.health.last_attempt_ok = Some(true);
            state.health.last_success = Some(now);
            state.health.last_duration = Some(duration);
            state.health.polls_total += 1;
        });
        self.data_version.send_modify(|v| *v += 1);
    }

    /// Follows changes of the data (not of the health alone): one increment per successful poll.
    pub(crate) fn subscribe_data(&self) -> watch::Receiver<u64> {
        self.data_version.subscribe()
    }

    /// Puts data kept from an earlier run back, with the time of its successful poll, so it is served
    /// (and ages) as before the restart. Only reports that this configuration polls and that have no
    /// data yet are restored; returns whether this one was. Does not re-render: call
    /// [`Store::invalidate`] after restoring.
    pub(crate) fn restore(
        &self,
        entry: &TenantEntry,
        report: ReportKind,
        snapshot: ReportSnapshot,
        last_success: Option<SystemTime>,
        last_duration: Option<Duration>,
    ) -> bool {
        let mut reports = entry.reports.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = reports.get_mut(&report) else { return false };
        if state.data.is_some() {
            return false;
        }
        if let Some(d) = last_duration.filter(|d| *d > state.poll_interval) {
            // Known before the first poll of this run: say it at startup, not a sweep later.
            tracing::warn!(
                tenant = entry.info.name.as_str(),
                report = report.as_str(),
                "the last sweep took {}, longer than the interval of {}: polls will run back to back; raise the interval",
                humantime::format_duration(Duration::from_secs(d.as_secs())),
                humantime::format_duration(state.poll_interval)
            );
        }
        state.data = Some(Arc::new(snapshot));
        state.health.last_success = last_success;
        state.health.last_duration = last_duration;
        entry.dirty.store(true, Ordering::Release);
        true
    }

    /// Keeps the last good data and records why this poll failed.
    pub(crate) fn record_failure(
        &self,
        tenant: &TenantEntry,
        report: ReportKind,
        error: &dyn PollFailure,
        duration: Duration,
    ) {
        let reason = error.reason();
        self.update(tenant, report, |state| {
            state.health.last_attempt_ok = Some(false);
            state.health.last_duration = Some(duration);
            state.health.polls_total += 1;
            *state.health.failures.entry(reason).or_insert(0) += 1;
            state.health.last_error = Some(LastError {
                reason,
                graph_code: error.graph_code().map(str::to_string),
                message: error.to_string(),
                hint: error.hint(),
                at: SystemTime::now(),
            });
        });
    }

    fn update(&self, tenant: &TenantEntry, report: ReportKind, f: impl FnOnce(&mut ReportState)) {
        {
            let mut reports = tenant.reports.lock().unwrap_or_else(|p| p.into_inner());
            f(reports.entry(report).or_default());
        }
        self.invalidate_tenant(tenant);
        self.polls_completed.send_modify(|n| *n += 1);
    }

    /// Why the report is unavailable, if its latest data says it is (retired, not offered in this
    /// cloud, an optional permission missing).
    pub(crate) fn unavailable_reason(&self, tenant: &TenantEntry, report: ReportKind) -> Option<String> {
        let reports = tenant.reports.lock().unwrap_or_else(|p| p.into_inner());
        match &reports.get(&report)?.data.as_ref()?.data {
            ReportData::Unavailable(why) => Some(why.clone()),
            _ => None,
        }
    }

    /// A consistent copy of every tenant's state.
    pub fn status(&self) -> Vec<TenantStatus> {
        self.tenants().iter().map(|t| t.status()).collect()
    }

    /// Marks the exposition out of date; the next read renders what changed (the tenants marked, those
    /// not rendered yet, those whose data went stale) and joins the parts. A poll's end renders its
    /// own tenant at once, in the poller (see [`RunningPoll`]), so that scrapes only join.
    pub fn invalidate(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// Marks one tenant's parts out of date; the next render renders that tenant again.
    fn invalidate_tenant(&self, tenant: &TenantEntry) {
        tenant.dirty.store(true, Ordering::Release);
        self.invalidate();
    }

    /// Marks the exposition out of date if some data has passed its max_staleness since the last
    /// render (it must then stop being exported).
    pub(crate) fn check_staleness(&self) {
        let next = *self.next_stale_at.lock().unwrap_or_else(|p| p.into_inner());
        if next.is_some_and(|at| SystemTime::now() >= at) {
            self.invalidate();
        }
    }

    /// A poll of `report` waits for its turn (shown on the status page).
    pub(crate) fn poll_queued(&self, tenant: &TenantEntry, report: ReportKind) {
        tenant.telemetry.progress.queued(report);
    }

    /// A poll of `report` got its turn; its progress is live until the returned guard is dropped
    /// (after [`Store::record_success`] or [`Store::record_failure`], or when the poll is abandoned).
    pub(crate) fn poll_started<'a>(&'a self, tenant: &'a TenantEntry, report: ReportKind) -> RunningPoll<'a> {
        tenant.telemetry.progress.started(report);
        self.polls_running.fetch_add(1, Ordering::AcqRel);
        tenant.running.fetch_add(1, Ordering::AcqRel);
        self.invalidate_tenant(tenant);
        RunningPoll { store: self, tenant, report, succeeded: false }
    }

    /// When `report` is polled next, for the status page.
    pub(crate) fn poll_scheduled(&self, tenant: &TenantEntry, report: ReportKind, at: SystemTime) {
        tenant.telemetry.progress.next_poll(report, at);
    }

    /// Whether a poll runs and the cached exposition is older than [`PROGRESS_RENDER_INTERVAL`].
    fn progress_due(&self) -> bool {
        self.polls_running.load(Ordering::Acquire) > 0
            && self
                .rendered_at
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_none_or(|at| at.elapsed() >= PROGRESS_RENDER_INTERVAL)
    }

    fn render_if_dirty(&self) {
        // `rendering` is set before `dirty` is cleared and reset after the new exposition is stored,
        // so whoever sees `dirty` cleared also sees a render in progress, or its result.
        if !self.dirty.load(Ordering::Acquire) && !self.rendering.load(Ordering::Acquire) {
            if !self.progress_due() {
                return;
            }
            self.invalidate();
        }
        // A concurrent scrape waits here for the render in progress rather than serve older bytes.
        let _guard = self.render_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.rendering.store(true, Ordering::Release);
        // Cleared before the state is read: a change recorded during the render marks it again.
        if !self.dirty.swap(false, Ordering::AcqRel) {
            self.rendering.store(false, Ordering::Release);
            return;
        }
        let now = SystemTime::now();
        *self.passed_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        let progress = self.progress_due();
        if progress {
            *self.rendered_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        let tenants = self.tenants();
        let mut parts = self.parts.lock().unwrap_or_else(|p| p.into_inner());
        // The global series are three lines: rendered every time, compressed only when they changed.
        let mut global = Families::new();
        render_global(&mut global, &self.build, &self.reload_status());
        let mut fresh = std::collections::HashMap::from([(GLOBAL, global.into_samples())]);
        for t in tenants.iter() {
            // Swapped first: a change recorded during this render marks the tenant again.
            let changed = t.dirty.swap(false, Ordering::AcqRel);
            let due = changed
                || !parts.has(t.id)
                || (progress && t.running.load(Ordering::Acquire) > 0)
                || parts.stale_at.get(&t.id).is_some_and(|at| now >= *at);
            if !due {
                continue;
            }
            let status = t.status();
            let next_stale = status
                .reports
                .values()
                .filter_map(|r| {
                    let d = r.data.as_ref().filter(|d| !matches!(d.data, ReportData::Unavailable(_)))?;
                    // None (never stale) where a huge max_staleness goes past what a SystemTime holds.
                    d.completed_at.checked_add(r.max_staleness).filter(|at| *at > now)
                })
                .min();
            match next_stale {
                Some(at) => parts.stale_at.insert(t.id, at),
                None => parts.stale_at.remove(&t.id),
            };
            let mut families = Families::new();
            render_tenant(&mut families, &status, now);
            fresh.insert(t.id, families.into_samples());
        }
        parts.update(std::iter::once(GLOBAL).chain(tenants.iter().map(|t| t.id)).collect(), &fresh);
        drop(fresh);
        *self.next_stale_at.lock().unwrap_or_else(|p| p.into_inner()) = parts.stale_at.values().min().copied();
        self.exposition.store(Arc::new(parts.join(self.keep_plain_up_to.load(Ordering::Relaxed))));
        drop(parts);
        // A render frees what it allocated, but free memory between blocks still in use would stay
        // in the RSS: given back within a second, off this thread (see `crate::allocator`).
        crate::allocator::release_free_memory_soon();
        self.rendering.store(false, Ordering::Release);
    }
}

/// A running poll (see [`Store::poll_started`]); dropping it ends the poll's progress.
pub(crate) struct RunningPoll<'a> {
    store: &'a Store,
    tenant: &'a TenantEntry,
    report: ReportKind,
    succeeded: bool,
}

impl RunningPoll<'_> {
    /// The poll succeeded: its page count is the estimate for the next sweep.
    pub(crate) fn succeeded(&mut self) {
        self.succeeded = true;
    }
}

impl Drop for RunningPoll<'_> {
    fn drop(&mut self) {
        self.tenant.telemetry.progress.finished(self.report, self.succeeded);
        self.store.polls_running.fetch_sub(1, Ordering::AcqRel);
        self.tenant.running.fetch_sub(1, Ordering::AcqRel);
        // The poll's end renders its tenant's parts now, in the poller, so that a scrape only joins
        // the cached parts (poll_in_progress falls to 0 at once, not a render interval later); not
        // more often than EAGER_RENDER_INTERVAL, so that a burst of polls (a first round) is rendered
        // in a few passes rather than one per poll, each of which may regroup families.
        self.store.invalidate_tenant(self.tenant);
        let due = self.store.passed_at.lock().unwrap_or_else(|p| p.into_inner());
        if due.is_none_or(|at| at.elapsed() >= EAGER_RENDER_INTERVAL) {
            drop(due);
            self.store.render_if_dirty();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregation::activity::ActivityRow;

    /// Pages never render; while a poll runs, a scrape renders again only once the cached
    /// exposition is PROGRESS_RENDER_INTERVAL old, and the end of the poll shows at once.
    #[test]
    fn progress_renders_at_most_once_per_interval_while_a_poll_runs() {
        use crate::health::RequestObserver;
        let info = TenantInfo {
            name: "t".into(),
            tenant_id: "id".into(),
            cloud: "global",
            summary_source: false,
            numbers: Default::default(),
        };
        let hour = Duration::from_secs(3600);
        let kind = ReportKind::RegistrationDetails;
        let store = Store::new(vec![(info, vec![(kind, hour, hour, None)])], BuildInfo { version: "v", revision: "r" });
        let entry = store.tenants()[0].clone();
        let pages = |store: &Store| {
            let text = String::from_utf8(store.exposition().to_vec()).unwrap();
            let line = text.lines().find(|l| l.starts_with("entra_authmethods_poll_pages_read{")).unwrap().to_string();
            let running =
                text.contains("entra_authmethods_poll_in_progress{report=\"registration_details\",tenant=\"t\"} 1");
            (line.rsplit(' ').next().unwrap().parse::<u64>().unwrap(), running)
        };
        let mut poll = store.poll_started(&entry, kind);
        assert_eq!(pages(&store), (0, true));
        entry.telemetry().page_read("userRegistrationDetails", 10);
        entry.telemetry().graph_request("userRegistrationDetails", "200");
        assert_eq!(pages(&store), (0, true), "a page alone does not render");
        let back = Instant::now().checked_sub(PROGRESS_RENDER_INTERVAL).unwrap();
        *store.rendered_at.lock().unwrap() = Some(back);
        assert_eq!(pages(&store), (1, true), "an interval later the next scrape renders");
        assert!(String::from_utf8(store.exposition().to_vec()).unwrap().contains("code=\"200\""));
        entry.telemetry().page_read("userRegistrationDetails", 10);
        poll.succeeded();
        drop(poll);
        assert_eq!(pages(&store), (2, false), "the end of the poll renders at once");
        *store.rendered_at.lock().unwrap() = Some(back);
        let before = store.cached_exposition();
        assert!(Arc::ptr_eq(&before, &store.cached_exposition()), "no poll runs: no render however old");
    }

    #[test]
    fn a_max_staleness_beyond_what_a_time_holds_means_never_stale() {
        let info = TenantInfo {
            name: "t".into(),
            tenant_id: "id".into(),
            cloud: "global",
            summary_source: false,
            numbers: Default::default(),
        };
        let huge = Duration::from_secs(u64::MAX);
        let store = Store::new(
            vec![(info, vec![(ReportKind::RegistrationActivity, huge, huge, None)])],
            BuildInfo { version: "v", revision: "r" },
        );
        let rows = vec![ActivityRow { period: "d1", feature: "f".into(), method: "m".into(), success: 1, failure: 0 }];
        let data = ReportData::RegistrationActivity(rows);
        store.record_success(&store.tenants()[0], ReportKind::RegistrationActivity, data, Duration::ZERO);
        let text = String::from_utf8(store.exposition().to_vec()).unwrap();
        assert!(text.contains("period=\"d1\""), "{text}");
    }
}
