//! A tenant's entry in the store: its configured identity, its reports' state and counters, shared
//! with its pollers, and the consistent copy of it that renders and the status page read.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::parts::{GLOBAL, MemberId};
use super::progress::ReportProgress;
use super::state::{ReportData, ReportSnapshot, ReportState};
use super::telemetry::{CertificateValidity, TenantTelemetry};
use crate::aggregation::fold::BoundedLabel;
use crate::reports::ReportKind;

#[derive(Debug, Clone)]
pub struct TenantInfo {
    pub name: String,
    pub tenant_id: String,
    pub cloud: &'static str,
    /// With the summary source, the registration families come from Microsoft's summaries and the
    /// same families from the details report are not exported (one source per family).
    pub summary_source: bool,
    /// What gives the numbers their meaning, for the state file.
    pub numbers: Numbers,
}

/// Per report, a fingerprint of the settings that give its numbers their meaning (the inputs a
/// reload compares before carrying data over): the state file records it with each entry, and an
/// entry made under other settings is not restored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Numbers {
    pub(crate) fingerprints: BTreeMap<ReportKind, String>,
    /// Whether the tenant counts with groups, exclusions or `[method_strength]`: a registration
    /// entry without a fingerprint (a file written before fingerprints) is then not restored.
    pub(crate) customised: bool,
}

/// A consistent copy of one tenant's state, for rendering and the status page.
#[derive(Debug, Clone)]
pub struct TenantStatus {
    pub(crate) info: TenantInfo,
    pub reports: BTreeMap<ReportKind, ReportState>,
    pub(crate) requests: BTreeMap<(String, String), u64>,
    pub(crate) tokens: (u64, u64),
    /// The client certificate's notBefore and notAfter, once a token request has read it.
    pub(crate) certificate_validity: Option<CertificateValidity>,
    /// Live progress of the reports' polls.
    pub(crate) progress: BTreeMap<ReportKind, ReportProgress>,
    /// Reports configured but not polled (no credential for them), with the reason.
    pub(crate) skipped: Vec<(ReportKind, String)>,
    /// Distinct values folded into `other`, per bounded label.
    pub(crate) folded: [(BoundedLabel, usize); 4],
}

/// One tenant's reports and counters. Its pollers hold it, so that a reload that leaves a tenant alone
/// leaves its pollers and data alone too.
pub struct TenantEntry {
    /// This entry's parts in the exposition ([`super::parts`]); a replanned tenant is a new member.
    pub(super) id: MemberId,
    /// Changed since its parts were rendered.
    pub(super) dirty: AtomicBool,
    /// Polls of this tenant running, whose progress is rendered again every
    /// [`PROGRESS_RENDER_INTERVAL`].
    pub(super) running: AtomicUsize,
    pub(super) info: TenantInfo,
    pub(super) reports: Mutex<BTreeMap<ReportKind, ReportState>>,
    pub(super) telemetry: Arc<TenantTelemetry>,
    /// Reports left out of the plan, for the status page (set by the poller, which plans).
    pub(super) skipped: Mutex<Vec<(ReportKind, String)>>,
}

/// A tenant's entry in the store, shared with its pollers.
pub type TenantHandle = Arc<TenantEntry>;

/// A report of a tenant at start: its kind, interval, maximum staleness, and why it is
/// unavailable, if it is.
pub type PlannedState = (ReportKind, Duration, Duration, Option<String>);

impl TenantEntry {
    /// A tenant with no data yet; reports that are not polled because this cloud does not offer
    /// them start as unavailable, with the reason.
    pub(crate) fn new(info: TenantInfo, reports: Vec<PlannedState>) -> TenantHandle {
        Self::carrying(info, reports, &BTreeMap::new(), Arc::new(TenantTelemetry::default()))
    }

    /// The same tenant under new settings that leave its numbers meaning the same (a new credential,
    /// interval or report list): the data, health and counters of reports still polled carry over.
    pub(crate) fn replanned(&self, info: TenantInfo, reports: Vec<PlannedState>) -> TenantHandle {
        let old = self.reports.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Self::carrying(info, reports, &old, self.telemetry.clone())
    }

    fn carrying(
        info: TenantInfo,
        reports: Vec<PlannedState>,
        old: &BTreeMap<ReportKind, ReportState>,
        telemetry: Arc<TenantTelemetry>,
    ) -> TenantHandle {
        let reports = reports
            .into_iter()
            .map(|(kind, poll_interval, max_staleness, unavailable)| {
                let mut state = match unavailable {
                    Some(why) => ReportState {
                        data: Some(Arc::new(ReportSnapshot {
                            data: ReportData::Unavailable(why),
                            completed_at: SystemTime::now(),
                        })),
                        ..Default::default()
                    },
                    None => old.get(&kind).cloned().unwrap_or_default(),
                };
                state.poll_interval = poll_interval;
                state.max_staleness = max_staleness;
                (kind, state)
            })
            .collect();
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(GLOBAL + 1);
        Arc::new(TenantEntry {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            dirty: AtomicBool::new(true),
            running: AtomicUsize::new(0),
            info,
            reports: Mutex::new(reports),
            telemetry,
            skipped: Mutex::new(Vec::new()),
        })
    }

    pub fn info(&self) -> &TenantInfo {
        &self.info
    }

    /// The counters this tenant's Graph client reports into.
    pub(crate) fn telemetry(&self) -> Arc<TenantTelemetry> {
        self.telemetry.clone()
    }

    /// Records the reports the plan left out and why.
    pub(crate) fn set_skipped(&self, skipped: Vec<(ReportKind, String)>) {
        *self.skipped.lock().unwrap_or_else(|p| p.into_inner()) = skipped;
    }

    /// A consistent copy of this tenant's state.
    pub fn status(&self) -> TenantStatus {
        TenantStatus {
            info: self.info.clone(),
            reports: self.reports.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            requests: self.telemetry.requests(),
            tokens: self.telemetry.tokens(),
            certificate_validity: self.telemetry.certificate_validity(),
            progress: self.telemetry.progress.snapshot(),
            skipped: self.skipped.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            folded: self.telemetry.labels.folded_counts(),
        }
    }
}
