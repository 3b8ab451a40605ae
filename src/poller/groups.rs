//! The members of the tenant's `[[tenant.group]]` and `exclude_groups` groups, read before each
//! registration sweep: `GET /v1.0/groups/{id}/transitiveMembers?$select=id`, paged through
//! `@odata.nextLink`, keeping the members whose `@odata.type` is `#microsoft.graph.user` or missing (Microsoft
//! Graph, "List group transitive members", <https://learn.microsoft.com/graph/api/group-list-transitivemembers>).
//! Nested groups are expanded by Graph; the groups, devices and service principals among the members
//! are not users and do not count. The `/microsoft.graph.user` cast would filter on Graph's side, but
//! it is an advanced query (`ConsistencyLevel: eventual` with `$count=true`), so the type is checked
//! here instead. These are directory reads, paced apart from the reports quota (`graph::client`).
//!
//! The outcome is recorded as the report `group_members`: a group that cannot be read fails it
//! visibly, naming the group. A configured group that cannot be read is left out of this sweep; an
//! exclusion group that cannot be read fails the sweep too, so that the users it should exclude are
//! never counted and the last good numbers stay.

use std::fmt;

use tokio::time::Instant;

use super::TenantPoller;
use crate::aggregation::groups::{MemberSet, parse_object_id};
use crate::graph::GraphError;
use crate::health::{FailureReason, PollFailure};
use crate::reports::directory::DirectoryObject;
use crate::reports::{CredentialKind, ReportKind};
use crate::snapshot::ReportData;

/// Graph's largest `$top` for directory collections.
const MAX_TOP: u32 = 999;

/// The members read for one sweep.
#[derive(Clone)]
pub(crate) struct Memberships {
    /// Users of every exclusion group.
    pub(crate) excluded: MemberSet,
    /// Each `[[tenant.group]]` in configuration order, with its members or `None` if they could not be read.
    pub(crate) groups: Vec<(String, Option<MemberSet>)>,
}

/// Why some groups could not be read: the first failure decides the reason and Graph code; the
/// message names every group that failed and why.
struct GroupsFailure {
    first: GraphError,
    messages: Vec<String>,
}

impl fmt::Display for GroupsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.messages.join("; "))
    }
}

impl PollFailure for GroupsFailure {
    fn reason(&self) -> FailureReason {
        self.first.reason()
    }

    fn graph_code(&self) -> Option<&str> {
        self.first.graph_code()
    }

    fn hint(&self) -> &'static str {
        match self.first.reason() {
            FailureReason::NotFound => {
                "a configured group ID does not exist in this tenant: check [[tenant.group]] id and exclude_groups against the group's Object ID"
            }
            FailureReason::Forbidden => {
                "reading group members needs the application permission GroupMember.Read.All with admin consent (hidden-membership groups also Member.Read.Hidden)"
            }
            _ => self.first.hint(),
        }
    }
}

/// Reads every configured group and records the outcome as `group_members`. Fails (with the first
/// error, naming the group) only when an exclusion group could not be read.
pub(crate) async fn read(p: &TenantPoller, credential: CredentialKind) -> Result<Memberships, GraphError> {
    let started = Instant::now();
    let mut failures: Vec<(GraphError, String)> = Vec::new();
    let mut excluded = Vec::with_capacity(p.settings.exclude_groups.len());
    let mut users = 0u64;
    for id in &p.settings.exclude_groups {
        match members(p, credential, id).await {
            Ok(set) => {
                users += set.len() as u64;
                excluded.push(set);
            }
            Err(e) => {
                let message = format!("exclude_groups group {id}: {e}");
                failures.push((e, message));
            }
        }
    }
    let mut groups = Vec::with_capacity(p.settings.groups.len());
    let exclusion_failed = !failures.is_empty();
    // Not worth reading when the sweep will not run.
    if !exclusion_failed {
        for g in &p.settings.groups {
            match members(p, credential, &g.id).await {
                Ok(set) => {
                    users += set.len() as u64;
                    groups.push((g.name.clone(), Some(set)));
                }
                Err(e) => {
                    let message = format!("group {:?} ({}): {e}", g.name, g.id);
                    failures.push((e, message));
                    groups.push((g.name.clone(), None));
                }
            }
        }
    }
    let elapsed = started.elapsed();
    let mut failures = failures.into_iter();
    let Some((first, first_message)) = failures.next() else {
        let read = (p.settings.groups.len() + p.settings.exclude_groups.len()) as u64;
        let bytes: usize =
            excluded.iter().chain(groups.iter().filter_map(|(_, m)| m.as_ref())).map(MemberSet::heap_bytes).sum();
        tracing::debug!(tenant = p.settings.name.as_str(), groups = read, members = users, bytes, "group members read");
        let data = ReportData::GroupMembers { groups: read, members: users };
        p.store.record_success(&p.entry, ReportKind::GroupMembers, data, elapsed);
        return Ok(Memberships { excluded: MemberSet::union(excluded), groups });
    };
    let failure = GroupsFailure {
        first: first.clone(),
        messages: std::iter::once(first_message).chain(failures.map(|(_, m)| m)).collect(),
    };
    tracing::warn!(
        tenant = p.settings.name.as_str(),
        report = ReportKind::GroupMembers.as_str(),
        reason = failure.reason().as_str(),
        graph_code = failure.graph_code().unwrap_or(""),
        hint = failure.hint(),
        error = %failure,
        "poll failed"
    );
    p.store.record_failure(&p.entry, ReportKind::GroupMembers, &failure, elapsed);
    if exclusion_failed {
        return Err(with_context(first, &failure.messages[0]));
    }
    Ok(Memberships { excluded: MemberSet::union(excluded), groups })
}

/// The user members of group `id` (a GUID, checked by the configuration).
async fn members(p: &TenantPoller, credential: CredentialKind, id: &str) -> Result<MemberSet, GraphError> {
    let top = p.graph.page_size.min(MAX_TOP).to_string();
    let url = p.client.url("v1.0", &format!("groups/{id}/transitiveMembers"), &[("$select", "id"), ("$top", &top)]);
    let mut ids = Vec::new();
    p.client
        .for_each_page::<DirectoryObject, _>(ReportKind::GroupMembers.endpoint(), credential, url, |objects| {
            ids.extend(objects.iter().filter(|o| is_user(o)).filter_map(|o| parse_object_id(&o.id)));
        })
        .await?;
    Ok(MemberSet::from_ids(ids))
}

/// A user, or a member whose type Graph did not name: kept, like [`DirectoryObject::is_user`] does,
/// because dropping it would let an exclusion group fail open (its user counted), while keeping a
/// device's or group's id costs nothing (no report row has it).
fn is_user(o: &DirectoryObject) -> bool {
    o.is_user()
}

/// The error of an exclusion group, as the registration poll reports it: the same reason and
/// Graph code, with a message that names the group and says why the sweep did not run.
fn with_context(e: GraphError, what: &str) -> GraphError {
    let why = format!("the sweep was not run, so the last good numbers stay: {what}");
    match e {
        GraphError::Http { endpoint, status, code, request_id, .. } => {
            GraphError::Http { endpoint, status, code, message: Some(why), request_id }
        }
        GraphError::Network { endpoint, .. } => GraphError::Network { endpoint, message: why },
        GraphError::Timeout { endpoint, .. } => GraphError::Timeout { endpoint, message: why },
        GraphError::Decode { endpoint, .. } => GraphError::Decode { endpoint, message: why },
        GraphError::Paging { endpoint, .. } => GraphError::Paging { endpoint, message: why },
        // Token and credential errors keep their form: the poller recognises and logs them once.
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Members Graph types as users count, and so do members without a type (an exclusion group
    /// must not fail open); groups, devices, service principals and contacts do not.
    #[test]
    fn users_and_untyped_members_are_members() {
        let member = |t: Option<&str>| DirectoryObject { id: "x".into(), odata_type: t.map(str::to_string) };
        assert!(is_user(&member(Some("#microsoft.graph.user"))));
        assert!(is_user(&member(Some("#Microsoft.Graph.User"))));
        for other in [
            "#microsoft.graph.group",
            "#microsoft.graph.device",
            "#microsoft.graph.servicePrincipal",
            "#microsoft.graph.orgContact",
        ] {
            assert!(!is_user(&member(Some(other))), "{other}");
        }
        assert!(is_user(&member(None)), "a member without @odata.type is kept");
    }
}
