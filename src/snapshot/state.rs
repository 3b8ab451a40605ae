//! The store: fixed set of tenants and reports, their last good data and poll health, and the cached
//! exposition rendered from them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use bytes::Bytes;
use tokio::sync::watch;

use super::BuildInfo;
use super::render::render;
use super::telemetry::TenantTelemetry;
use crate::aggregation::RegistrationSummary;
use crate::aggregation::activity::{ActivityRow, DailyCounts, NativeBreakdown, SignInRow};
use crate::aggregation::events::EventSummary;
use crate::aggregation::legacy::CredentialDetailsSummary;
use crate::graph::{FailureReason, GraphError};
use crate::reports::ReportKind;

/// What a successful poll produced.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportData {
    Registration(RegistrationSummary),
    NativeSummary(Vec<NativeBreakdown>),
    CredentialRegistrationCount {
        total: i64,
        by_status: Vec<(String, i64)>,
    },
    CredentialUsage(Vec<ActivityRow>),
    CredentialDetails(CredentialDetailsSummary),
    CredentialUsageEvents(EventSummary),
    RegistrationActivity(Vec<ActivityRow>),
    SignInsByMethod(Vec<SignInRow>),
    UserEvents(EventSummary),
    MfaSignIns(Option<DailyCounts>),
    PasswordResets(Option<DailyCounts>),
    /// Graph answered that the report does not exist (retired, or not offered in this cloud).
    Unavailable(String),
}

impl ReportData {
    /// A short description for the poll log line.
    pub fn describe(&self) -> String {
        match self {
            ReportData::Registration(s) => format!("{} users", s.rows),
            ReportData::NativeSummary(b) => format!("{} breakdowns", b.len()),
            ReportData::CredentialRegistrationCount { total, .. } => format!("{total} users"),
            ReportData::CredentialUsage(r) | ReportData::RegistrationActivity(r) => format!("{} rows", r.len()),
            ReportData::CredentialDetails(d) => format!("{} users", d.users),
            ReportData::CredentialUsageEvents(e) | ReportData::UserEvents(e) => {
                format!("{} events", e.events.values().sum::<u64>())
            }
            ReportData::SignInsByMethod(r) => format!("{} rows", r.len()),
            ReportData::MfaSignIns(d) | ReportData::PasswordResets(d) => {
                if d.is_some() {
                    "1 day".into()
                } else {
                    "no data".into()
                }
            }
            ReportData::Unavailable(why) => format!("unavailable: {why}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReportSnapshot {
    pub data: ReportData,
    pub completed_at: SystemTime,
}

#[derive(Debug, Clone)]
pub struct LastError {
    pub reason: FailureReason,
    pub graph_code: Option<String>,
    pub message: String,
    pub hint: &'static str,
    pub at: SystemTime,
}

#[derive(Debug, Clone, Default)]
pub struct PollHealth {
    pub last_attempt_ok: Option<bool>,
    pub last_success: Option<SystemTime>,
    pub last_duration: Option<Duration>,
    pub polls_total: u64,
    pub failures: BTreeMap<FailureReason, u64>,
    pub last_error: Option<LastError>,
}

#[derive(Debug, Clone, Default)]
pub struct ReportState {
    /// The last good data; kept when a later poll fails.
    pub data: Option<Arc<ReportSnapshot>>,
    pub health: PollHealth,
    pub poll_interval: Duration,
    /// Data older than this is not exported.
    pub max_staleness: Duration,
}

impl ReportState {
    /// Whether the last good data is too old to be served (see `max_staleness`).
    pub fn is_stale(&self, now: SystemTime) -> bool {
        self.data.as_ref().is_some_and(|d| {
            !matches!(d.data, ReportData::Unavailable(_))
                && now.duration_since(d.completed_at).is_ok_and(|age| age > self.max_staleness)
        })
    }
}

#[derive(Debug, Clone)]
pub struct TenantInfo {
    pub name: String,
    pub tenant_id: String,
    pub cloud: &'static str,
    /// With the summary source, the registration families come from Microsoft's summaries and the
    /// same families from the details report are not exported (one source per family).
    pub summary_source: bool,
}

/// A consistent copy of one tenant's state, for rendering and the status page.
#[derive(Debug, Clone)]
pub struct TenantStatus {
    pub info: TenantInfo,
    pub reports: BTreeMap<ReportKind, ReportState>,
    pub requests: BTreeMap<(String, String), u64>,
    pub tokens: (u64, u64),
    /// Unix time of the client certificate's notAfter, once a token request has read it.
    pub certificate_expiry: Option<i64>,
}

struct TenantEntry {
    info: TenantInfo,
    reports: Mutex<BTreeMap<ReportKind, ReportState>>,
    telemetry: Arc<TenantTelemetry>,
}

/// A report of a tenant at start: its kind, interval, maximum staleness, and why it is
/// unavailable, if it is.
pub type PlannedState = (ReportKind, Duration, Duration, Option<String>);

pub struct Store {
    tenants: Vec<TenantEntry>,
    build: BuildInfo,
    exposition: ArcSwap<Bytes>,
    /// Serialises renders so that the last writer's state is the one that ends up cached.
    render_lock: Mutex<()>,
    /// State changes so far, and how many of them the cached exposition shows: when many polls end
    /// at once (a thousand tenants), one render covers all the changes made before it read the
    /// state, instead of one full render per poll.
    changes: AtomicU64,
    rendered: AtomicU64,
    /// Number of polls completed so far (success or failure); lets `--once` and tests wait for polls
    /// without sleeping.
    polls_completed: watch::Sender<u64>,
    /// Bumped whenever a report's data changes (a successful or "unavailable" poll); the state
    /// file writer follows it.
    data_version: watch::Sender<u64>,
}

impl Store {
    /// `tenants`: each tenant with the reports it polls and their intervals.
    /// `tenants`: each tenant with its reports, their intervals, and for reports that are not polled
    /// because this cloud does not offer them, the reason.
    pub fn new(tenants: Vec<(TenantInfo, Vec<PlannedState>)>, build: BuildInfo) -> Arc<Store> {
        let entries = tenants
            .into_iter()
            .map(|(info, reports)| TenantEntry {
                info,
                reports: Mutex::new(
                    reports
                        .into_iter()
                        .map(|(kind, poll_interval, max_staleness, unavailable)| {
                            let data = unavailable.map(|why| {
                                Arc::new(ReportSnapshot {
                                    data: ReportData::Unavailable(why),
                                    completed_at: SystemTime::now(),
                                })
                            });
                            (kind, ReportState { poll_interval, max_staleness, data, ..Default::default() })
                        })
                        .collect(),
                ),
                telemetry: Arc::new(TenantTelemetry::default()),
            })
            .collect();
        let store = Arc::new(Store {
            tenants: entries,
            build,
            exposition: ArcSwap::from_pointee(Bytes::new()),
            render_lock: Mutex::new(()),
            changes: AtomicU64::new(0),
            rendered: AtomicU64::new(0),
            polls_completed: watch::channel(0).0,
            data_version: watch::channel(0).0,
        });
        store.rerender();
        store
    }

    pub fn tenant_count(&self) -> usize {
        self.tenants.len()
    }

    /// The counters a tenant's Graph client reports into.
    pub fn telemetry(&self, tenant: usize) -> Arc<TenantTelemetry> {
        self.tenants[tenant].telemetry.clone()
    }

    /// The cached exposition; cloning `Bytes` is a reference-count increment.
    pub fn exposition(&self) -> Bytes {
        self.exposition.load().as_ref().clone()
    }

    pub fn subscribe_polls(&self) -> watch::Receiver<u64> {
        self.polls_completed.subscribe()
    }

    /// Replaces the report's data atomically and marks the poll healthy.
    pub fn record_success(&self, tenant: usize, report: ReportKind, data: ReportData, duration: Duration) {
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
    pub fn subscribe_data(&self) -> watch::Receiver<u64> {
        self.data_version.subscribe()
    }

    /// Puts data kept from an earlier run back, with the time of its successful poll, so it is served
    /// (and ages) as before the restart. Only reports that this configuration polls and that have no
    /// data yet are restored; returns whether this one was. Does not re-render: call
    /// [`Store::rerender`] after restoring.
    pub fn restore(
        &self,
        tenant: usize,
        report: ReportKind,
        snapshot: ReportSnapshot,
        last_success: Option<SystemTime>,
        last_duration: Option<Duration>,
    ) -> bool {
        let Some(entry) = self.tenants.get(tenant) else { return false };
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
        true
    }

    /// Keeps the last good data and records why this poll failed.
    pub fn record_failure(&self, tenant: usize, report: ReportKind, error: &GraphError, duration: Duration) {
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

    fn update(&self, tenant: usize, report: ReportKind, f: impl FnOnce(&mut ReportState)) {
        {
            let mut reports = self.tenants[tenant].reports.lock().unwrap_or_else(|p| p.into_inner());
            f(reports.entry(report).or_default());
        }
        let change = self.changes.fetch_add(1, Ordering::SeqCst) + 1;
        self.render_since(change);
        self.polls_completed.send_modify(|n| *n += 1);
    }

    /// Whether the report's latest data says Graph does not offer it.
    pub fn is_unavailable(&self, tenant: usize, report: ReportKind) -> bool {
        let reports = self.tenants[tenant].reports.lock().unwrap_or_else(|p| p.into_inner());
        reports.get(&report).and_then(|r| r.data.as_ref()).is_some_and(|d| matches!(d.data, ReportData::Unavailable(_)))
    }

    /// A consistent copy of every tenant's state.
    pub fn status(&self) -> Vec<TenantStatus> {
        self.tenants
            .iter()
            .map(|t| TenantStatus {
                info: t.info.clone(),
                reports: t.reports.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                requests: t.telemetry.requests(),
                tokens: t.telemetry.tokens(),
                certificate_expiry: t.telemetry.certificate_expiry(),
            })
            .collect()
    }

    /// Re-renders the exposition from the current state and swaps it in.
    pub fn rerender(&self) {
        let _guard = self.render_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.render_locked();
    }

    /// Renders unless a render that started after change number `change` already did.
    fn render_since(&self, change: u64) {
        let _guard = self.render_lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.rendered.load(Ordering::SeqCst) < change {
            self.render_locked();
        }
    }

    fn render_locked(&self) {
        // Read before the state: every change counted up to here is in the state read below.
        let covers = self.changes.load(Ordering::SeqCst);
        let text = render(&self.build, &self.status());
        self.exposition.store(Arc::new(Bytes::from(text)));
        self.rendered.store(covers, Ordering::SeqCst);
    }
}
