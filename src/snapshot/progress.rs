//! Live progress of the polls of one tenant: which report runs, how many pages it has read, whether
//! it waits for Graph's quota, and when each report polls next. The poller and the Graph client (as
//! the [`RequestObserver`](crate::health::RequestObserver)) write here once per page; the status page
//! and the exposition read it.
//!
//! Cost: one uncontended lock of this tenant's small map per page, nothing else. A page never renders
//! anything; the store re-renders the exposition at most once per
//! [`PROGRESS_RENDER_INTERVAL`](super::state::PROGRESS_RENDER_INTERVAL) while a poll runs, so the pages of a
//! sweep cost no more renders than a few-second scrape would see anyway.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::catalog::DIRECTORY_ENDPOINTS;
use crate::reports::ReportKind;

/// Where a report's poll stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Phase {
    /// No poll runs.
    #[default]
    Idle,
    /// A poll was asked for and waits for its turn (another report of the tenant, or a slot of
    /// `graph.max_concurrent_polls`).
    Queued,
    /// The poll runs: requests are sent and pages read.
    Running,
}

/// One report's progress, copied out for rendering.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReportProgress {
    pub(crate) phase: Phase,
    /// Pages read by the running poll, or by the last one while idle.
    pub(crate) pages: u64,
    /// Rows in those pages.
    pub(crate) rows: u64,
    /// A request of the running poll waits for the pacer (Graph's quota).
    pub(crate) waiting_for_quota: bool,
    /// When the running poll got its turn.
    pub(crate) started: Option<SystemTime>,
    /// Pages the last completed poll read, for "page N of about M".
    pub(crate) last_sweep_pages: Option<u64>,
    /// When the report is polled next, once its poller scheduled it.
    pub(crate) next_poll: Option<SystemTime>,
}

impl ReportProgress {
    /// The running poll's estimated end: its pace so far over the pages the last sweep read. `None`
    /// without a last sweep, before the first page, or once past the last sweep's page count.
    pub(crate) fn estimated_finish(&self, now: SystemTime) -> Option<SystemTime> {
        let (started, total) = (self.started?, self.last_sweep_pages?);
        if self.phase != Phase::Running || self.pages == 0 || self.pages >= total {
            return None;
        }
        let elapsed = now.duration_since(started).unwrap_or(Duration::ZERO);
        let per_page = elapsed.div_f64(self.pages as f64);
        Some(now + per_page.mul_f64((total - self.pages) as f64))
    }
}

/// Progress of every report of a tenant. A tenant polls one report at a time (see the poller's
/// `turn`), so the Graph client's page and quota events go to the one report marked current.
#[derive(Debug, Default)]
pub(crate) struct TenantProgress {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    current: Option<ReportKind>,
    reports: BTreeMap<ReportKind, ReportProgress>,
}

impl TenantProgress {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn queued(&self, report: ReportKind) {
        self.with(|i| i.reports.entry(report).or_default().phase = Phase::Queued);
    }

    /// The poll got its turn: its pages count from zero, and Graph's events are its own.
    pub(crate) fn started(&self, report: ReportKind) {
        self.with(|i| {
            i.current = Some(report);
            let p = i.reports.entry(report).or_default();
            p.phase = Phase::Running;
            p.pages = 0;
            p.rows = 0;
            p.waiting_for_quota = false;
            p.started = Some(SystemTime::now());
        });
    }

    /// The poll ended; a successful one's page count is the estimate for the next.
    pub(crate) fn finished(&self, report: ReportKind, success: bool) {
        self.with(|i| {
            if i.current == Some(report) {
                i.current = None;
            }
            let p = i.reports.entry(report).or_default();
            p.phase = Phase::Idle;
            p.waiting_for_quota = false;
            if success {
                p.last_sweep_pages = Some(p.pages);
            }
        });
    }

    pub(crate) fn next_poll(&self, report: ReportKind, at: SystemTime) {
        self.with(|i| i.reports.entry(report).or_default().next_poll = Some(at));
    }

    /// A page of `endpoint` was read. The directory reads a registration poll makes first (group and
    /// role members, [`DIRECTORY_ENDPOINTS`]) are not the report's pages: they would make "page N of
    /// about M", the estimated finish and `poll_pages_read` count pages the report does not have,
    /// and extend the poll deadline by the reports' pace for reads paced faster by the directory's.
    pub(crate) fn page_read(&self, endpoint: &str, rows: usize) {
        if DIRECTORY_ENDPOINTS.contains(&endpoint) {
            return;
        }
        self.with(|i| {
            if let Some(p) = i.current.and_then(|c| i.reports.get_mut(&c)) {
                p.pages += 1;
                p.rows += rows as u64;
            }
        });
    }

    /// Pages the running (or last) poll of `report` has read: the poll deadline grows with them.
    pub(crate) fn pages(&self, report: ReportKind) -> u64 {
        self.with(|i| i.reports.get(&report).map_or(0, |p| p.pages))
    }

    pub(crate) fn waiting_for_quota(&self, waiting: bool) {
        self.with(|i| {
            if let Some(p) = i.current.and_then(|c| i.reports.get_mut(&c)) {
                p.waiting_for_quota = waiting;
            }
        });
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<ReportKind, ReportProgress> {
        self.with(|i| i.reports.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_go_to_the_running_report_and_the_last_count_stays() {
        let p = TenantProgress::default();
        let kind = ReportKind::RegistrationDetails;
        p.page_read("userRegistrationDetails", 5);
        assert!(p.snapshot().is_empty(), "no poll runs: nothing to count");
        p.queued(kind);
        assert_eq!(p.snapshot()[&kind].phase, Phase::Queued);
        p.started(kind);
        p.page_read("userRegistrationDetails", 10);
        p.page_read("userRegistrationDetails", 7);
        p.waiting_for_quota(true);
        let s = p.snapshot()[&kind].clone();
        assert_eq!((s.phase, s.pages, s.rows, s.waiting_for_quota), (Phase::Running, 2, 17, true));
        p.finished(kind, true);
        let s = p.snapshot()[&kind].clone();
        assert_eq!((s.phase, s.pages, s.last_sweep_pages, s.waiting_for_quota), (Phase::Idle, 2, Some(2), false));
        p.started(kind);
        assert_eq!(p.snapshot()[&kind].pages, 0);
        p.finished(kind, false);
        assert_eq!(p.snapshot()[&kind].last_sweep_pages, Some(2), "a failed sweep is no estimate");
    }

    /// The group and role member pages a registration poll reads before its sweep are not the
    /// report's pages: not in its page count, not in the next sweep's estimate.
    #[test]
    fn directory_pages_are_not_the_report_s_pages() {
        let p = TenantProgress::default();
        let kind = ReportKind::RegistrationDetails;
        p.started(kind);
        for endpoint in DIRECTORY_ENDPOINTS {
            p.page_read(endpoint, 999);
        }
        p.page_read(ReportKind::GroupMembers.endpoint(), 999);
        assert_eq!((p.pages(kind), p.snapshot()[&kind].rows), (0, 0));
        p.page_read(kind.endpoint(), 300);
        p.page_read(kind.endpoint(), 12);
        p.finished(kind, true);
        let s = p.snapshot()[&kind].clone();
        assert_eq!((s.pages, s.rows, s.last_sweep_pages), (2, 312, Some(2)));
    }

    #[test]
    fn the_finish_is_estimated_from_the_pace_so_far() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut p = ReportProgress {
            phase: Phase::Running,
            pages: 10,
            started: Some(now - Duration::from_secs(20)),
            last_sweep_pages: Some(30),
            ..Default::default()
        };
        assert_eq!(p.estimated_finish(now), Some(now + Duration::from_secs(40)));
        p.pages = 30;
        assert_eq!(p.estimated_finish(now), None);
        p.pages = 0;
        assert_eq!(p.estimated_finish(now), None);
    }
}
