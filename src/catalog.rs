//! Every report the exporter can poll, with what it needs: Graph operation, API version, which
//! credential kinds Graph accepts for it, the permission, the clouds that offer it and sensible
//! defaults. One table, so the poller, the config validation and docs/reports.md agree. A neutral
//! module: config validates report names against it without importing the reports layer.

use std::time::Duration;

/// A report: the `report` label value of the health metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportKind {
    RegistrationDetails,
    RegistrationSummary,
    CredentialUserRegistrationCount,
    CredentialUsageSummary,
    CredentialUserRegistrationDetails,
    UserCredentialUsageDetails,
    RegistrationActivity,
    SignInsByMethod,
    UserEventsSummary,
    MfaSignInSummary,
    PasswordResetsAndChanges,
    /// The members of the tenant's `[[tenant.group]]` and `exclude_groups` groups, read before each
    /// registration sweep by the same poll ([`GROUP_MEMBERS`]): not in [`REPORTS`], so it has no
    /// `[tenant.reports.*]` table and no task of its own, but its own poll health.
    GroupMembers,
}

/// Which kind of token a report is read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CredentialKind {
    /// Application permissions (client credentials): no signed-in user.
    App,
    /// A signed-in user's token from `login` (refresh-token grant).
    Delegated,
}

impl CredentialKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CredentialKind::App => "app",
            CredentialKind::Delegated => "delegated",
        }
    }
}

/// What the exporter knows about a report.
#[derive(Debug)]
pub struct ReportSpec {
    pub(crate) kind: ReportKind,
    /// `report` label value and config table name.
    pub name: &'static str,
    /// Graph's operation name: the `endpoint` label value.
    pub(crate) endpoint: &'static str,
    /// Credential kinds Graph accepts, in order of preference. A report whose kinds are all missing
    /// from the tenant's configuration is skipped with one warning.
    pub(crate) credentials: &'static [CredentialKind],
    pub(crate) permission: &'static str,
    /// Only the global cloud offers it (the national-cloud table of each legacy credential report's page, e.g.
    /// Microsoft Graph, "reportRoot: getCredentialUserRegistrationCount"
    /// (<https://learn.microsoft.com/graph/api/reportroot-getcredentialuserregistrationcount?view=graph-rest-beta>)).
    pub(crate) global_only: bool,
    pub(crate) default_enabled: bool,
    /// `None`: the tenant's `poll_interval`.
    pub(crate) default_interval: Option<Duration>,
}

const HOUR: Duration = Duration::from_secs(3600);
const APP_FIRST: &[CredentialKind] = &[CredentialKind::App, CredentialKind::Delegated];
const DELEGATED_ONLY: &[CredentialKind] = &[CredentialKind::Delegated];

pub const REPORTS: [ReportSpec; 11] = [
    ReportSpec {
        kind: ReportKind::RegistrationDetails,
        name: "registration_details",
        endpoint: "userRegistrationDetails",
        credentials: APP_FIRST,
        permission: "AuditLog.Read.All",
        global_only: false,
        default_enabled: true,
        default_interval: None,
    },
    ReportSpec {
        kind: ReportKind::RegistrationSummary,
        name: "registration_summary",
        endpoint: "usersRegisteredByFeature",
        credentials: DELEGATED_ONLY,
        permission: "AuditLog.Read.All",
        global_only: false,
        // Polled when `registration_source = "summary"`.
        default_enabled: false,
        default_interval: None,
    },
    ReportSpec {
        kind: ReportKind::CredentialUserRegistrationCount,
        name: "credential_user_registration_count",
        endpoint: "getCredentialUserRegistrationCount",
        credentials: APP_FIRST,
        permission: "Reports.Read.All",
        global_only: true,
        default_enabled: true,
        default_interval: Some(Duration::from_secs(6 * 3600)),
    },
    ReportSpec {
        kind: ReportKind::CredentialUsageSummary,
        name: "credential_usage_summary",
        endpoint: "getCredentialUsageSummary",
        credentials: APP_FIRST,
        permission: "Reports.Read.All",
        global_only: true,
        default_enabled: true,
        default_interval: Some(Duration::from_secs(6 * 3600)),
    },
    ReportSpec {
        kind: ReportKind::CredentialUserRegistrationDetails,
        name: "credential_user_registration_details",
        endpoint: "credentialUserRegistrationDetails",
        credentials: APP_FIRST,
        permission: "Reports.Read.All",
        global_only: true,
        default_enabled: true,
        default_interval: Some(Duration::from_secs(6 * 3600)),
    },
    ReportSpec {
        kind: ReportKind::UserCredentialUsageDetails,
        name: "user_credential_usage_details",
        endpoint: "userCredentialUsageDetails",
        credentials: APP_FIRST,
        permission: "Reports.Read.All",
        global_only: true,
        default_enabled: true,
        default_interval: Some(Duration::from_secs(6 * 3600)),
    },
    ReportSpec {
        kind: ReportKind::RegistrationActivity,
        name: "registration_activity",
        endpoint: "userRegistrationActivity",
        credentials: DELEGATED_ONLY,
        permission: "AuditLog.Read.All",
        global_only: false,
        default_enabled: true,
        default_interval: Some(HOUR),
    },
    ReportSpec {
        kind: ReportKind::SignInsByMethod,
        name: "sign_ins_by_method",
        endpoint: "userSignInsByAuthMethodSummary",
        credentials: DELEGATED_ONLY,
        permission: "AuditLog.Read.All",
        global_only: false,
        default_enabled: true,
        default_interval: Some(HOUR),
    },
    ReportSpec {
        kind: ReportKind::UserEventsSummary,
        name: "user_events_summary",
        endpoint: "userEventsSummary",
        credentials: APP_FIRST,
        permission: "AuditLog.Read.All",
        global_only: false,
        default_enabled: true,
        default_interval: Some(HOUR),
    },
    ReportSpec {
        kind: ReportKind::MfaSignInSummary,
        name: "mfa_sign_in_summary",
        endpoint: "userMfaSignInSummary",
        // Application support is undocumented (UNCERTAIN): try the app token, fall back to delegated.
        credentials: APP_FIRST,
        permission: "AuditLog.Read.All",
        global_only: false,
        default_enabled: true,
        default_interval: Some(Duration::from_secs(6 * 3600)),
    },
    ReportSpec {
        kind: ReportKind::PasswordResetsAndChanges,
        name: "password_resets_and_changes",
        endpoint: "userPasswordResetsAndChangesSummary",
        credentials: APP_FIRST,
        permission: "AuditLog.Read.All",
        global_only: false,
        default_enabled: true,
        default_interval: Some(Duration::from_secs(6 * 3600)),
    },
];

/// The `endpoint` names of directory reads (role and group members): paced by their own pacer in the
/// Graph client, and not counted as a report's pages in a poll's progress.
pub(crate) const DIRECTORY_ENDPOINTS: [&str; 3] = ["directoryRoles", "directoryRoleMembers", "transitiveMembers"];

/// The group-membership reads: directory reads, not a report, so they have their own pacing and do
/// not spend the reports quota (Microsoft Graph, "List group transitive members",
/// <https://learn.microsoft.com/graph/api/group-list-transitivemembers>).
pub const GROUP_MEMBERS: ReportSpec = ReportSpec {
    kind: ReportKind::GroupMembers,
    name: "group_members",
    endpoint: "transitiveMembers",
    credentials: APP_FIRST,
    permission: "GroupMember.Read.All",
    global_only: false,
    default_enabled: false,
    default_interval: None,
};

impl ReportKind {
    pub(crate) fn spec(self) -> &'static ReportSpec {
        if self == ReportKind::GroupMembers {
            return &GROUP_MEMBERS;
        }
        REPORTS.iter().find(|s| s.kind == self).expect("every kind but GroupMembers is in REPORTS")
    }

    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    pub(crate) fn endpoint(self) -> &'static str {
        self.spec().endpoint
    }

    /// The report of a `[tenant.reports.NAME]` table: [`REPORTS`] only.
    pub fn from_name(name: &str) -> Option<ReportKind> {
        REPORTS.iter().find(|s| s.name == name).map(|s| s.kind)
    }

    /// Any `report` label value, [`GROUP_MEMBERS`] included (for the state file).
    pub(crate) fn from_label(name: &str) -> Option<ReportKind> {
        Self::from_name(name).or((name == GROUP_MEMBERS.name).then_some(ReportKind::GroupMembers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for spec in &REPORTS {
            assert_eq!(ReportKind::from_name(spec.name), Some(spec.kind));
            assert_eq!(spec.kind.spec().name, spec.name);
            assert_eq!(REPORTS.iter().filter(|s| s.name == spec.name).count(), 1);
            assert_eq!(ReportKind::from_label(spec.name), Some(spec.kind));
        }
        assert_eq!(ReportKind::GroupMembers.as_str(), "group_members");
        assert_eq!(ReportKind::from_label("group_members"), Some(ReportKind::GroupMembers));
        assert_eq!(ReportKind::from_name("group_members"), None, "no [tenant.reports.group_members] table");
    }
}
