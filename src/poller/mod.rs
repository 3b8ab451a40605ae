//! One task per tenant × report: poll at start, then every interval plus jitter; build a new
//! snapshot from a complete sweep and hand it to the store, or record why the sweep failed.
//! Polls of one report never overlap: the next waits for the current one to finish.

mod activity;
mod deadline;
mod error;
mod groups;
mod legacy;
mod plan;
mod progress;
pub mod registration;
mod summary;
mod supervise;
mod trouble;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

pub(crate) use error::PollError;
pub(crate) use plan::{PlannedReport, check_lines, plan};

use crate::aggregation::documented::documented;
use crate::aggregation::fold::{self, BoundedLabel, Folder};
use crate::aggregation::strength::StrengthTable;
use crate::config::{AppCredential, GraphSettings, TenantSettings};
use crate::graph::{FailureReason, GraphClient, GraphError};
use crate::reports::{CredentialKind, ReportKind};
use crate::snapshot::{ReportData, Store, TenantHandle};
use trouble::CredentialTrouble;

/// A retired or missing report is asked again only this often.
pub(crate) const UNAVAILABLE_RECHECK: Duration = Duration::from_secs(24 * 3600);

/// Everything one tenant's pollers share.
pub(crate) struct TenantPoller {
    /// This tenant's entry in the store, which the polls write into.
    pub(crate) entry: TenantHandle,
    pub(crate) settings: TenantSettings,
    pub(crate) graph: GraphSettings,
    pub(crate) client: GraphClient,
    pub(crate) store: Arc<Store>,
    pub(crate) reports: Vec<PlannedReport>,
    /// `[method_strength]` resolved over the default tiers once, for every sweep of this tenant.
    pub(crate) strength: Arc<StrengthTable>,
    /// One lock per report, held for the whole of a poll, so that a poll requested out of schedule
    /// (`poll_now`) waits for the running one instead of overlapping it.
    running: BTreeMap<ReportKind, tokio::sync::Mutex<()>>,
    /// Warnings already logged, so that a persistent condition is logged once, not every poll.
    warned: Mutex<HashSet<String>>,
    /// Shared by every poller: bounds the polls running at once (`graph.max_concurrent_polls`).
    limiter: Arc<tokio::sync::Semaphore>,
    /// Taken before a slot of `limiter`: a tenant polls one report at a time, so a tenant that hangs
    /// or fails slowly holds at most one slot and cannot starve the others. Its reports share one
    /// quota (per app and tenant) anyway, so running them in parallel would not make them faster.
    turn: tokio::sync::Mutex<()>,
    /// Token failures already logged, so that one shared cause is one warning, not one per report.
    trouble: CredentialTrouble,
    /// Set for `--once`: after the login endpoint failed with a network error, the tenant's other
    /// polls that need it fail at once rather than each retrying it.
    fail_fast: AtomicBool,
}

impl TenantPoller {
    pub(crate) fn new(
        entry: TenantHandle,
        settings: TenantSettings,
        graph: GraphSettings,
        client: GraphClient,
        store: Arc<Store>,
        limiter: Arc<tokio::sync::Semaphore>,
    ) -> Self {
        let (reports, skipped) = plan(&settings);
        for (kind, why) in &skipped {
            tracing::warn!(tenant = settings.name.as_str(), report = kind.as_str(), "report skipped: it {why}");
        }
        entry.set_skipped(skipped);
        let running = reports.iter().map(|r| (r.kind, tokio::sync::Mutex::new(()))).collect();
        let strength = Arc::new(StrengthTable::new(&settings.method_strength));
        TenantPoller {
            entry,
            strength,
            settings,
            graph,
            client,
            store,
            reports,
            running,
            warned: Mutex::new(HashSet::new()),
            limiter,
            turn: tokio::sync::Mutex::new(()),
            trouble: CredentialTrouble::default(),
            fail_fast: AtomicBool::new(false),
        }
    }

    /// For `--once`: a network failure of the login endpoint fails the tenant's remaining polls
    /// at once (see [`fail_fast`](Self::fail_fast)).
    pub(crate) fn fail_fast_on_login_outage(&self) {
        self.fail_fast.store(true, Ordering::Relaxed);
    }

    /// Reports that are polled, each by a task of its own (not the ones this cloud lacks, and not
    /// `group_members`, which the registration poll reads before its sweep).
    pub(crate) fn polled(&self) -> impl Iterator<Item = &PlannedReport> {
        self.reports.iter().filter(|r| r.unavailable.is_none() && r.kind != ReportKind::GroupMembers)
    }

    /// Polls whose outcome a round records: [`polled`](Self::polled) plus `group_members`.
    pub(crate) fn recorded_polls(&self) -> usize {
        self.reports.iter().filter(|r| r.unavailable.is_none()).count()
    }

    /// A folder for one poll's values of `label`: the values any report documents for the label
    /// (documented.rs: one union per label, whichever report polls) and for methods every method
    /// `[method_strength]` names are kept; `graph.max_method_values` bounds the others of each label.
    pub(crate) fn folder(&self, label: BoundedLabel) -> Folder {
        let named = if label == BoundedLabel::Method { Some(self.strength.named()) } else { None };
        let kept = fold::kept(documented(label).into_iter().chain(named.into_iter().flatten()));
        self.entry.telemetry().labels.folder(label, kept, self.graph.max_method_values as usize)
    }

    /// Records what a successful poll of `report` folded, with one warning per tenant the first
    /// time anything is.
    pub(crate) fn folded(&self, report: ReportKind, folders: impl IntoIterator<Item = Folder>) {
        let mut any = false;
        for folder in folders {
            any |= folder.folded_any();
            folder.finish(report.as_str());
        }
        if any {
            self.warn_folding();
        }
    }

    pub(crate) fn warn_folding(&self) {
        self.warn_once(
            "label-values-folded",
            &format!(
                "Graph sent more values of a label (method names, default methods, features or statuses) beyond the documented ones than graph.max_method_values = {} allows; the others are exported as \"other\" (entra_authmethods_label_values_folded counts them by label). Raise max_method_values to keep more, or name the methods in [method_strength]",
                self.graph.max_method_values
            ),
        );
    }

    /// Logs `message` once per `key` for this tenant.
    pub(crate) fn warn_once(&self, key: &str, message: &str) {
        let first = self.warned.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string());
        if first {
            tracing::warn!(tenant = self.settings.name.as_str(), "{message}");
        }
    }

    /// Runs one complete poll of `report` bounded by the poll deadline, records the outcome in the
    /// store and logs one line. Returns whether it succeeded.
    pub(crate) async fn poll_once(&self, report: &PlannedReport) -> bool {
        self.poll(report).await.is_none()
    }

    /// One poll; `None` on success, else the failure reason (which decides how soon to retry).
    async fn poll(&self, report: &PlannedReport) -> Option<FailureReason> {
        let Some(lock) = self.running.get(&report.kind) else { return Some(FailureReason::Config) };
        let _running = lock.lock().await;
        // Queued only once this report's previous poll is over, so that a poll asked for out of
        // schedule does not mark the running one as waiting.
        self.store.poll_queued(&self.entry, report.kind);
        // Waiting for a slot is not part of the poll: the deadline and the duration start after it.
        // Each tenant keeps its own pacer, so a slow or failing tenant only holds its own slots.
        let _turn = self.turn.lock().await;
        let _slot = self.limiter.acquire().await.ok();
        let mut progress = self.store.poll_started(&self.entry, report.kind);
        let started = Instant::now();
        // At debug level the sweep's lines (each page, each retry) name the tenant and report.
        let span = tracing::debug_span!("poll", tenant = self.settings.name.as_str(), report = report.kind.as_str());
        let outcome = match self.unreachable_login(report) {
            Some(failed) => Err(failed),
            None => {
                let sweep = self.fetch_supervised(report).instrument(span);
                tokio::select! {
                    result = sweep => result,
                    expired = self.deadline(report.kind, started) => Err(expired),
                    () = self.log_progress(report.kind) => unreachable!(),
                }
            }
        };
        if outcome.is_ok() {
            progress.succeeded();
        }
        let elapsed = started.elapsed();
        let tenant = self.settings.name.as_str();
        let name = report.kind.as_str();
        if elapsed > report.settings.interval {
            self.warn_once(
                &format!("overrun:{name}"),
                &format!(
                    "report {name}: the poll took {}, longer than its interval of {}; polls now run back to back. Raise the interval (see entra_authmethods_poll_overrun)",
                    humantime::format_duration(Duration::from_secs(elapsed.as_secs())),
                    humantime::format_duration(report.settings.interval)
                ),
            );
        }
        match outcome {
            Ok(data) => {
                if let ReportData::Unavailable(why) = &data {
                    self.warn_once(
                        &format!("unavailable:{name}"),
                        &format!("report {name} is unavailable ({why}); it is checked again later"),
                    );
                }
                self.token_worked(report);
                tracing::info!(tenant, report = name, result = %data.describe(), duration_ms = elapsed.as_millis() as u64, "poll succeeded");
                self.store.record_success(&self.entry, report.kind, data, elapsed);
                None
            }
            Err(PollError::Credential { kind, error }) => {
                self.token_failed(report, kind, &error, elapsed);
                let error = PollError::Credential { kind, error };
                self.store.record_failure(&self.entry, report.kind, &error, elapsed);
                Some(error.reason())
            }
            Err(error) => {
                if matches!(&error, PollError::Graph(GraphError::Http { .. })) {
                    // Graph answered, so the token was obtained.
                    self.token_worked(report);
                }
                tracing::warn!(
                    tenant,
                    report = name,
                    reason = error.reason().as_str(),
                    graph_code = error.graph_code().unwrap_or(""),
                    duration_ms = elapsed.as_millis() as u64,
                    hint = error.hint(),
                    error = %error,
                    "poll failed; keeping the last good data"
                );
                self.store.record_failure(&self.entry, report.kind, &error, elapsed);
                Some(error.reason())
            }
        }
    }

    /// [`fetch_with_fallback`](Self::fetch_with_fallback), where a panic fails this poll with reason
    /// `internal` (logged as an error) and the poller goes on.
    async fn fetch_supervised(&self, report: &PlannedReport) -> Result<ReportData, PollError> {
        let result = supervise::catch_panic(self.fetch_with_fallback(report)).await;
        if let Err(e @ PollError::Panicked(_)) = &result {
            tracing::error!(tenant = self.settings.name.as_str(), report = report.kind.as_str(), error = %e, "poll panicked: this is a bug in the exporter; the poll counts as failed with reason internal and is retried");
        }
        result
    }

    /// Tries the report's credential kinds in order: Graph's support for application tokens is
    /// undocumented for some reports, so a 403 with the app token falls back to the delegated one.
    async fn fetch_with_fallback(&self, report: &PlannedReport) -> Result<ReportData, PollError> {
        let mut memberships = self.memberships(report).await?;
        let mut last = None;
        for (i, &credential) in report.credentials.iter().enumerate() {
            // Read once per poll and handed to each attempt (the last one takes them).
            let members = if i + 1 == report.credentials.len() { memberships.take() } else { memberships.clone() };
            match self.fetch(report, credential, members).await {
                Err(e) if e.reason() == FailureReason::Forbidden && credential == CredentialKind::App => {
                    last = Some(e);
                }
                // The v1.0 registration reports are not expected to disappear: a 404 there is a
                // misconfiguration and must fail loudly, not be hidden as "unavailable".
                Err(e)
                    if is_gone(&e)
                        && !matches!(
                            report.kind,
                            ReportKind::RegistrationDetails | ReportKind::RegistrationSummary
                        ) =>
                {
                    return Ok(ReportData::Unavailable(gone_reason(&e)));
                }
                Err(error) if error.token_source().is_some() => {
                    return Err(PollError::Credential { kind: credential, error });
                }
                other => return Ok(other?),
            }
        }
        let error = last.unwrap_or_else(|| GraphError::Config("no credential for this report".into()));
        if let Some(why) = optional_permission_missing(report.kind, &error) {
            return Ok(ReportData::Unavailable(why));
        }
        Err(error.into())
    }

    /// The group memberships a registration sweep joins with its rows, read once per poll (not per
    /// credential tried) with the application credential when the report has one: a group the app
    /// may not read is one failure of `group_members`, not asked again with the delegated token.
    async fn memberships(&self, report: &PlannedReport) -> Result<Option<groups::Memberships>, PollError> {
        if report.kind != ReportKind::RegistrationDetails || !self.settings.reads_groups() {
            return Ok(None);
        }
        let credentials = &report.credentials;
        let Some(credential) =
            credentials.iter().copied().find(|c| *c == CredentialKind::App).or(credentials.first().copied())
        else {
            return Ok(None);
        };
        match groups::read(self, credential).await {
            Ok(m) => Ok(Some(m)),
            Err(error) if error.token_source().is_some() => Err(PollError::Credential { kind: credential, error }),
            Err(e) => Err(e.into()),
        }
    }

    async fn fetch(
        &self,
        report: &PlannedReport,
        credential: CredentialKind,
        memberships: Option<groups::Memberships>,
    ) -> Result<ReportData, GraphError> {
        let c = credential;
        match report.kind {
            ReportKind::RegistrationDetails => {
                registration::fetch(self, c, memberships).await.map(ReportData::Registration)
            }
            ReportKind::RegistrationSummary => summary::fetch(self, c).await.map(ReportData::NativeSummary),
            ReportKind::CredentialUserRegistrationCount => legacy::registration_count(self, c).await,
            ReportKind::CredentialUsageSummary => legacy::usage_summary(self, c).await.map(ReportData::CredentialUsage),
            ReportKind::CredentialUserRegistrationDetails => {
                legacy::registration_details(self, c).await.map(ReportData::CredentialDetails)
            }
            ReportKind::UserCredentialUsageDetails => {
                legacy::usage_details(self, c, &report.settings).await.map(ReportData::CredentialUsageEvents)
            }
            ReportKind::RegistrationActivity => {
                activity::registration_activity(self, c).await.map(ReportData::RegistrationActivity)
            }
            ReportKind::SignInsByMethod => activity::sign_ins_by_method(self, c).await.map(ReportData::SignInsByMethod),
            ReportKind::UserEventsSummary => {
                activity::user_events(self, c, &report.settings).await.map(ReportData::UserEvents)
            }
            ReportKind::MfaSignInSummary => activity::mfa_sign_ins(self, c).await.map(ReportData::MfaSignIns),
            ReportKind::PasswordResetsAndChanges => {
                activity::password_resets(self, c).await.map(ReportData::PasswordResets)
            }
            // Read within the registration poll (see `polled`), never on its own.
            ReportKind::GroupMembers => {
                Err(GraphError::Config("group_members is read with registration_details".into()))
            }
        }
    }

    /// Polls `report` until `shutdown` turns true.
    pub(crate) async fn run(self: Arc<Self>, report: PlannedReport, mut shutdown: watch::Receiver<bool>) {
        let mut failures = 0;
        loop {
            // A poll in progress is abandoned at shutdown; its partial sweep is never published.
            let outcome = tokio::select! {
                outcome = self.poll(&report) => outcome,
                _ = shutdown.wait_for(|&stop| stop) => return,
            };
            let unavailable = self.store.unavailable_reason(&self.entry, report.kind);
            let next = match outcome {
                // A permission can be granted any time: look again at the usual interval.
                _ if unavailable.as_deref().is_some_and(|why| why.contains(OPTIONAL_PERMISSION)) => {
                    report.settings.interval
                }
                _ if unavailable.is_some() => UNAVAILABLE_RECHECK,
                None => {
                    failures = 0;
                    report.settings.interval
                }
                Some(reason) => {
                    failures += 1;
                    next_after_failure(reason, failures, report.settings.interval)
                }
            };
            let wait = with_jitter(next);
            self.store.poll_scheduled(&self.entry, report.kind, std::time::SystemTime::now() + wait);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait_for(|&stop| stop) => return,
            }
        }
    }
}

/// Graph's answer for an API it no longer has (or never had here): the segment is unknown (400),
/// or the resource is not found or gone (404, 410). The exact answer of retired reports is
/// undocumented, so all three are accepted.
fn is_gone(e: &GraphError) -> bool {
    match e {
        GraphError::Http { status: 404 | 410, .. } => true,
        GraphError::Http { status: 400, message: Some(m), .. } => m.contains("Resource not found for the segment"),
        _ => false,
    }
}

/// The legacy credential reports need `Reports.Read.All`, which the setup lists as optional: without
/// it they are exported as unavailable (with one warning naming the permission) rather than failing
/// every poll, which would keep the exporter unready and the tenant alerting for a choice the
/// operator made. The licence error is a 403 too, but never hidden.
fn optional_permission_missing(kind: ReportKind, e: &GraphError) -> Option<String> {
    let permission = kind.spec().permission;
    if permission != OPTIONAL_PERMISSION || e.reason() != FailureReason::Forbidden {
        return None;
    }
    let code = e.graph_code()?;
    PERMISSION_MISSING_CODES.contains(&code).then(|| {
        format!("the application lacks the optional permission {permission} (Graph: {code}); grant it with admin consent to poll this report, or disable the report")
    })
}

/// The application permission of the legacy credential reports, the only optional one a whole
/// report depends on.
const OPTIONAL_PERMISSION: &str = "Reports.Read.All";

/// Graph's codes for a caller lacking a permission (Microsoft Graph, "Microsoft Graph error responses
/// and resource types", <https://learn.microsoft.com/graph/errors>, and the codes the reports' pages name).
const PERMISSION_MISSING_CODES: [&str; 3] = [
    "Authentication_MSGraphPermissionMissing",
    "Authentication_ApplicationHasNoReadAuditLogDataAccess",
    "Authorization_RequestDenied",
];

fn gone_reason(e: &GraphError) -> String {
    match e {
        GraphError::Http { status, code, .. } => {
            format!(
                "Graph answered HTTP {status} {}: the API is retired or not offered here",
                code.as_deref().unwrap_or("")
            )
        }
        _ => e.to_string(),
    }
}

/// First retry after a failed sweep that may succeed on its own (Graph or network trouble).
pub(crate) const FAILURE_RETRY_BASE: Duration = Duration::from_secs(60);

/// When to sweep again after the `failures`-th failure in a row: transient failures are retried
/// from the start with exponential backoff (1, 2, 4 … minutes) capped at the interval, so a sweep
/// broken mid-way does not leave the data a whole interval older; licence, permission and
/// configuration failures wait the normal interval, since retrying sooner cannot help.
fn next_after_failure(reason: FailureReason, failures: u32, interval: Duration) -> Duration {
    match reason {
        FailureReason::Throttled
        | FailureReason::ServerError
        | FailureReason::Timeout
        | FailureReason::Network
        | FailureReason::Decode
        | FailureReason::Internal => {
            FAILURE_RETRY_BASE.saturating_mul(1 << failures.saturating_sub(1).min(16)).min(interval)
        }
        FailureReason::Unauthorized | FailureReason::Forbidden | FailureReason::NotFound | FailureReason::Config => {
            interval
        }
    }
}

/// Adds up to 10% so that tenants configured with the same interval drift apart instead of
/// hitting Graph in the same second forever.
fn with_jitter(interval: Duration) -> Duration {
    let extra = rand::rng().random_range(0.0..=0.1);
    interval.saturating_add(interval.mul_f64(extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = with_jitter(Duration::from_secs(600));
            assert!(d >= Duration::from_secs(600) && d <= Duration::from_secs(660));
        }
    }

    #[test]
    fn transient_failures_are_retried_sooner_with_backoff() {
        let interval = Duration::from_secs(1800);
        let minutes = |n: u32| next_after_failure(FailureReason::Network, n, interval).as_secs() / 60;
        assert_eq!([minutes(1), minutes(2), minutes(3), minutes(5), minutes(6), minutes(40)], [1, 2, 4, 16, 30, 30]);
        assert_eq!(next_after_failure(FailureReason::Forbidden, 1, interval), interval);
        assert_eq!(next_after_failure(FailureReason::Decode, 1, Duration::from_secs(60)), Duration::from_secs(60));
    }

    #[test]
    fn retired_apis_are_recognised() {
        let http = |status, message: &str| GraphError::Http {
            endpoint: "x".into(),
            status,
            code: Some("BadRequest".into()),
            message: Some(message.into()),
            request_id: None,
        };
        assert!(is_gone(&http(400, "Resource not found for the segment 'credentialUserRegistrationDetails'.")));
        assert!(is_gone(&http(410, "")));
        assert!(!is_gone(&http(400, "Invalid filter clause")));
        assert!(!is_gone(&http(403, "")));
    }
}
