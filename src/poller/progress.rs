//! The log side of a long sweep's progress: at info level, one line at most every
//! [`PROGRESS_LOG_EVERY`] once a sweep has run for [`PROGRESS_LOG_AFTER`], so a first sweep of a large
//! tenant (minutes at Graph's quota) is not silent, and a short one adds no line. The numbers come
//! from the tenant's progress, which the Graph client updates page by page.

use std::time::{Duration, SystemTime};

use super::TenantPoller;
use crate::reports::ReportKind;

/// Sweeps shorter than this log only their outcome.
pub(crate) const PROGRESS_LOG_AFTER: Duration = Duration::from_secs(60);
/// At most one progress line per sweep this often.
pub(crate) const PROGRESS_LOG_EVERY: Duration = Duration::from_secs(30);

impl TenantPoller {
    /// Logs the progress of the running poll of `report` until dropped (it never ends by itself:
    /// the caller races it against the poll).
    pub(super) async fn log_progress(&self, report: ReportKind) {
        tokio::time::sleep(PROGRESS_LOG_AFTER).await;
        let started = tokio::time::Instant::now() - PROGRESS_LOG_AFTER;
        let mut tick = tokio::time::interval(PROGRESS_LOG_EVERY);
        loop {
            tick.tick().await;
            let status = self.entry.status();
            let Some(p) = status.progress.get(&report) else { continue };
            let estimate =
                p.estimated_finish(SystemTime::now()).and_then(|at| at.duration_since(SystemTime::now()).ok());
            tracing::info!(
                tenant = self.settings.name.as_str(),
                report = report.as_str(),
                pages = p.pages,
                rows = p.rows,
                of_about = p.last_sweep_pages,
                waiting_for_quota = p.waiting_for_quota,
                elapsed_s = started.elapsed().as_secs(),
                remaining_s = estimate.map(|d| d.as_secs()),
                "poll in progress"
            );
        }
    }
}
