//! The poll deadline: `graph.poll_timeout` plus one pacing interval for every page the poll has read.
//!
//! A fixed deadline cannot fit every tenant: at Graph's reports quota (5 requests per 10 s, see
//! Microsoft Graph, "Microsoft Graph service-specific throttling limits",
//! <https://learn.microsoft.com/graph/throttling-limits>), a tenant of 2,000,000 users is 2,000 pages
//! of userRegistrationDetails and takes about 67 minutes, longer than the default `poll_timeout` of
//! one hour, and the pacer, not Graph, decides most of that time. So the time the pacer makes a poll
//! wait for the pages it actually reads is not held against it: each page read extends the deadline
//! by `rate_limit_period / rate_limit_requests`. What `poll_timeout` still bounds is everything else:
//! a poll that reads no page (Graph hangs, retries that never succeed) ends after `poll_timeout`, and
//! one that reads pages slower than the quota allows (slow answers, long Retry-After waits) ends once
//! its extra time passes `poll_timeout`. Runaway paging is bounded by `graph.max_pages` as before.
//!
//! Only the report's own pages count: the group and role member pages a registration poll reads
//! first are directory reads (`TenantProgress::page_read` leaves them out), paced by the directory's
//! own, faster pacer rather than the reports quota, so `poll_timeout` covers them (1,000 pages of
//! members take about 200 s at 50 requests per 10 s) and they do not extend the deadline.

use std::time::Duration;

use tokio::time::Instant;

use super::TenantPoller;
use super::error::PollError;
use crate::config::GraphSettings;
use crate::reports::ReportKind;

/// The time one page may take at the configured pacing.
pub(crate) fn page_pace(graph: &GraphSettings) -> Duration {
    graph.rate_limit_period / graph.rate_limit_requests.max(1)
}

/// How long a poll that has read `pages` pages may run in all.
pub(crate) fn allowed(graph: &GraphSettings, pages: u64) -> Duration {
    let paced = page_pace(graph).saturating_mul(u32::try_from(pages).unwrap_or(u32::MAX));
    graph.poll_timeout.saturating_add(paced)
}

impl TenantPoller {
    /// Resolves when the running poll of `report`, started at `started`, is past its deadline; the
    /// deadline is checked again whenever it comes, since the pages read meanwhile moved it.
    pub(super) async fn deadline(&self, report: ReportKind, started: Instant) -> PollError {
        let telemetry = self.entry.telemetry();
        loop {
            let pages = telemetry.progress.pages(report);
            let allowed = allowed(&self.graph, pages);
            let until = started.checked_add(allowed).unwrap_or_else(far_future);
            if Instant::now() >= until {
                return PollError::Deadline {
                    poll_timeout: humantime::format_duration(self.graph.poll_timeout).to_string(),
                    pages,
                    pace: humantime::format_duration(page_pace(&self.graph)).to_string(),
                };
            }
            tokio::time::sleep_until(until).await;
        }
    }
}

/// A deadline beyond what an `Instant` holds: about thirty years on, which no poll reaches.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(poll_timeout: Duration, requests: u32, period: Duration) -> GraphSettings {
        GraphSettings {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            poll_timeout,
            max_attempts: 5,
            retry_backoff_base: Duration::from_secs(1),
            retry_backoff_max: Duration::from_secs(60),
            page_size: 1000,
            max_pages: 10_000,
            rate_limit_requests: requests,
            rate_limit_period: period,
            max_concurrent_polls: 16,
            max_method_values: 64,
        }
    }

    #[test]
    fn a_two_million_user_sweep_at_the_reports_quota_fits_the_default_deadline() {
        let g = graph(Duration::from_secs(3600), 5, Duration::from_secs(10));
        // 2,000,000 users in pages of 1,000, one request every 2 s: 4,000 s of pacing alone.
        let pages = 2_000_000 / 1_000;
        let sweep = page_pace(&g) * pages;
        assert_eq!(sweep, Duration::from_secs(4_000));
        assert!(sweep > g.poll_timeout, "a fixed deadline of poll_timeout would cut it");
        assert_eq!(allowed(&g, u64::from(pages)), Duration::from_secs(3_600 + 4_000));
        // At every point of the sweep, the time used so far by pacing is within the deadline so far.
        for read in [0, 1, 500, 1_999, 2_000] {
            assert!(page_pace(&g) * read < allowed(&g, u64::from(read)));
        }
    }

    #[test]
    fn a_poll_that_reads_nothing_ends_after_poll_timeout() {
        let g = graph(Duration::from_secs(300), 5, Duration::from_secs(10));
        assert_eq!(allowed(&g, 0), Duration::from_secs(300));
    }

    #[test]
    fn absurd_page_counts_and_paces_saturate_rather_than_overflow() {
        let g = graph(Duration::from_secs(300), 1, Duration::from_secs(u64::MAX / 4));
        assert_eq!(allowed(&g, u64::MAX), Duration::MAX);
    }
}
