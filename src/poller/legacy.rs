//! The legacy beta credential reports on `reportRoot` (Microsoft Graph beta, "reportRoot:
//! getCredentialUsageSummary" and its siblings, <https://learn.microsoft.com/graph/api/resources/report?view=graph-rest-beta>).

use super::TenantPoller;
use crate::aggregation::activity::ActivityRow;
use crate::aggregation::events::EventSummary;
use crate::aggregation::fold::BoundedLabel;
use crate::aggregation::legacy::CredentialDetailsSummary;
use crate::config::ReportSettings;
use crate::graph::GraphError;
use crate::reports::legacy::{
    CredentialUserRegistrationCount, CredentialUserRegistrationDetails, REGISTRATION_COUNT_PATH, USAGE_DETAILS_PATH,
    USAGE_PERIODS, USER_REGISTRATION_DETAILS_PATH, UsageEvent, usage_summary_path,
};
use crate::reports::{CredentialKind, Page, ReportKind};
use crate::snapshot::ReportData;

pub(crate) async fn registration_count(p: &TenantPoller, c: CredentialKind) -> Result<ReportData, GraphError> {
    let url = p.client.url("beta", REGISTRATION_COUNT_PATH, &[]);
    let page: Page<CredentialUserRegistrationCount> =
        p.client.get_json(ReportKind::CredentialUserRegistrationCount.endpoint(), c, &url).await?;
    // A collection with one element in every documented answer; sum defensively if there are more.
    let mut total = 0;
    let mut by_status: Vec<(String, i64)> = Vec::new();
    // Graph counted these: the folded statuses' counts are summed into `other`.
    let mut folder = p.folder(BoundedLabel::Status);
    for row in page.value {
        total += row.total_user_count;
        for count in row.user_registration_counts {
            match by_status.iter_mut().find(|(s, _)| *s == count.registration_status) {
                Some((_, n)) => *n += count.registration_count,
                None => by_status.push((count.registration_status, count.registration_count)),
            }
        }
    }
    let by_status = folder.fold_sum(by_status, |r| &mut r.0, |a, b| a.0 == b.0, |a, b| a.1 += b.1);
    p.folded(ReportKind::CredentialUserRegistrationCount, [folder]);
    Ok(ReportData::CredentialRegistrationCount { total, by_status })
}

pub(crate) async fn usage_summary(p: &TenantPoller, c: CredentialKind) -> Result<Vec<ActivityRow>, GraphError> {
    let endpoint = ReportKind::CredentialUsageSummary.endpoint();
    let rows = super::activity::period_rows(p, c, endpoint, &USAGE_PERIODS, usage_summary_path).await?;
    Ok(super::activity::fold_activity_rows(p, ReportKind::CredentialUsageSummary, rows))
}

pub(crate) async fn registration_details(
    p: &TenantPoller,
    c: CredentialKind,
) -> Result<CredentialDetailsSummary, GraphError> {
    let endpoint = ReportKind::CredentialUserRegistrationDetails.endpoint();
    let top = p.graph.page_size.to_string();
    let url = p.client.url("beta", USER_REGISTRATION_DETAILS_PATH, &[("$top", &top)]);
    let mut summary = CredentialDetailsSummary::default();
    let mut folder = p.folder(BoundedLabel::Method);
    p.client
        .for_each_page::<CredentialUserRegistrationDetails, _>(endpoint, c, url, |rows| {
            rows.iter().for_each(|r| summary.add(r, &mut folder))
        })
        .await?;
    p.folded(ReportKind::CredentialUserRegistrationDetails, [folder]);
    Ok(summary)
}

/// Every event the report still returns (Microsoft keeps a bounded history); no window is applied
/// because the report has no documented date filter.
pub(crate) async fn usage_details(
    p: &TenantPoller,
    c: CredentialKind,
    s: &ReportSettings,
) -> Result<EventSummary, GraphError> {
    let endpoint = ReportKind::UserCredentialUsageDetails.endpoint();
    let top = p.graph.page_size.to_string();
    let url = p.client.url("beta", USAGE_DETAILS_PATH, &[("$top", &top)]);
    let mut agg = super::activity::event_aggregator(p, None, s.max_failure_reasons);
    p.client.for_each_page::<UsageEvent, _>(endpoint, c, url, |rows| rows.iter().for_each(|e| agg.add(e))).await?;
    Ok(super::activity::finish_events(p, ReportKind::UserCredentialUsageDetails, agg))
}
