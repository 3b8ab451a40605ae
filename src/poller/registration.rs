//! The registration-details sweep: page through userRegistrationDetails and aggregate page by page.

use super::TenantPoller;
use crate::aggregation::{RegistrationAggregator, RegistrationSummary};
use crate::graph::GraphError;
use crate::reports::ReportKind;
use crate::reports::registration_details::{PATH, SELECT, UserRegistrationDetails};

pub async fn fetch(p: &TenantPoller) -> Result<RegistrationSummary, GraphError> {
    let endpoint = ReportKind::RegistrationDetails.endpoint();
    let top = p.graph.page_size.to_string();
    let url = p.client.url("v1.0", PATH, &[("$top", &top), ("$select", SELECT)]);
    let mut aggregator = RegistrationAggregator::new(&p.settings.breakdowns);
    let stats =
        p.client.for_each_page::<UserRegistrationDetails, _>(endpoint, url, |rows| aggregator.add_page(&rows)).await?;
    let summary = aggregator.finish();
    if summary.unparsable_timestamps > 0 {
        tracing::debug!(
            tenant = p.settings.name.as_str(),
            rows = summary.unparsable_timestamps,
            "lastUpdatedDateTime values that are not RFC 3339 were ignored"
        );
    }
    tracing::debug!(tenant = p.settings.name.as_str(), pages = stats.pages, rows = stats.rows, "sweep complete");
    Ok(summary)
}
