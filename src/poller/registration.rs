//! The registration-details sweep: page through userRegistrationDetails and aggregate page by page;
//! with a privilegedAdmin breakdown, first read the members of the privileged directory roles.

use std::collections::HashSet;

use super::TenantPoller;
use super::groups::Memberships;
use crate::aggregation::fold::BoundedLabel;
use crate::aggregation::groups::GroupJoin;
use crate::aggregation::{RegistrationAggregator, RegistrationSummary};
use crate::config::UserRole;
use crate::graph::{FailureReason, GraphError, PageRead};
use crate::reports::directory::{DirectoryObject, DirectoryRole, PRIVILEGED_ROLE_TEMPLATES, ROLES_PATH, members_path};
use crate::reports::registration_details::{self, PATH, SELECT, UserRegistrationDetails};
use crate::reports::{CredentialKind, Page, ReportKind};

/// The sweep, joined with `memberships` (read by the caller once per poll, before any attempt: an
/// exclusion group that cannot be read ends the poll before the sweep).
pub(crate) async fn fetch(
    p: &TenantPoller,
    credential: CredentialKind,
    memberships: Option<Memberships>,
) -> Result<RegistrationSummary, GraphError> {
    let privileged = if p.settings.breakdowns.iter().any(|b| b.user_role == UserRole::PrivilegedAdmin) {
        privileged_members(p, credential).await?
    } else {
        None
    };
    let endpoint = ReportKind::RegistrationDetails.endpoint();
    let top = p.graph.page_size.to_string();
    let url = p.client.url("v1.0", PATH, &[("$top", &top), ("$select", SELECT)]);
    let mut aggregator = RegistrationAggregator::with_privileged(&p.settings.breakdowns, privileged)
        .with_strength(p.strength.clone())
        .with_folders(p.folder(BoundedLabel::Method), p.folder(BoundedLabel::DefaultMethod));
    let mut join = memberships.map(|m| GroupJoin::new(m.excluded, m.groups));
    // Rows borrow their strings from the page body, and the page is counted only once it decoded whole.
    let stats = p
        .client
        .for_each_page_body(endpoint, credential, url, |body| {
            let page = decode_page(body)?;
            match &mut join {
                Some(join) => join.add_page(&mut aggregator, &page.value),
                None => aggregator.add_page(&page.value),
            }
            Ok(PageRead { rows: page.value.len(), next_link: page.next_link })
        })
        .await?;
    if aggregator.folded_any() {
        p.warn_folding();
    }
    let mut summary = aggregator.finish();
    summary.groups = join.map(GroupJoin::finish);
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

/// One userRegistrationDetails page, its strings borrowed from `body`. The body is checked as UTF-8
/// once, in bulk, rather than string by string as `serde_json::from_slice` does: that check was a
/// fifth of the decoding time of a page.
pub fn decode_page(body: &[u8]) -> Result<Page<UserRegistrationDetails<'_>>, serde_json::Error> {
    let text = std::str::from_utf8(body).map_err(<serde_json::Error as serde::de::Error>::custom)?;
    registration_details::read_page(text)
}

/// Object ids of the users holding any of the nine privileged roles. `None` (with one warning) when
/// the credential may not read directory roles: the privilegedAdmin breakdown is then left out, not
/// reported as zero admins.
async fn privileged_members(
    p: &TenantPoller,
    credential: CredentialKind,
) -> Result<Option<HashSet<String>>, GraphError> {
    let endpoint = "directoryRoles";
    let url = p.client.url("v1.0", ROLES_PATH, &[]);
    let roles: Page<DirectoryRole> = match p.client.get_json(endpoint, credential, &url).await {
        Ok(page) => page,
        Err(e) if e.reason() == FailureReason::Forbidden => {
            p.warn_once(
                "privileged-roles",
                &format!(
                    "the privilegedAdmin breakdown is skipped: reading directory roles needs the application permission RoleManagement.Read.Directory ({e})"
                ),
            );
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    // directoryRoles lists only activated roles and is never long, but follow paging anyway.
    let mut all_roles = roles.value;
    if let Some(next) = roles.next_link {
        // The same rule as every other nextLink: the bearer token never leaves the Graph endpoint.
        let next = p.client.link_url(endpoint, &next)?;
        p.client.for_each_page::<DirectoryRole, _>(endpoint, credential, next, |r| all_roles.extend(r)).await?;
    }
    let mut members = HashSet::new();
    for role in all_roles.iter().filter(|r| {
        r.role_template_id
            .as_deref()
            .is_some_and(|t| PRIVILEGED_ROLE_TEMPLATES.iter().any(|(id, _)| t.eq_ignore_ascii_case(id)))
    }) {
        let url = p.client.url("v1.0", &members_path(&role.id), &[("$select", "id")]);
        p.client
            .for_each_page::<DirectoryObject, _>("directoryRoleMembers", credential, url, |objects| {
                members.extend(objects.into_iter().filter(DirectoryObject::is_user).map(|o| o.id));
            })
            .await?;
    }
    Ok(Some(members))
}
