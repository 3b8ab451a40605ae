//! Who may call what (the permissions tables of each report's Graph reference page; Microsoft Graph, "Microsoft Graph
//! permissions reference" (<https://learn.microsoft.com/graph/permissions-reference>)): the permission each route needs,
//! whether app-only tokens are allowed, and the directory roles a signed-in user needs for the reports. Each refusal is
//! the documented 403 body (Microsoft Graph, "Microsoft Graph error responses and resource types"
//! (<https://learn.microsoft.com/graph/errors>), with the codes the report pages and live tenants show).

use axum::http::StatusCode;
use axum::response::Response;

use super::envelope::{self, ReqMeta};
use super::resolve::GraphRoute;
use super::tokens::{TokenKind, TokenRecord};

pub(crate) const AUDIT_LOG: &str = "AuditLog.Read.All";
pub(crate) const REPORTS: &str = "Reports.Read.All";
/// The documented higher-privileged alternative for userRegistrationDetails.
const USER_AUTH_METHOD: &str = "UserAuthenticationMethod.Read.All";
pub(crate) const ROLE_MANAGEMENT: &str = "RoleManagement.Read.Directory";

/// Permissions that let a caller read directory roles and their members (least privileged first).
const DIRECTORY_READ: &[&str] = &[
    ROLE_MANAGEMENT,
    "Directory.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
];

/// Permissions that let a caller read group memberships (least privileged first; Microsoft Graph,
/// "List group transitive members", Permissions).
pub(crate) const GROUP_MEMBER_READ: &str = "GroupMember.Read.All";
const GROUP_READ: &[&str] =
    &[GROUP_MEMBER_READ, "Group.Read.All", "Directory.Read.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"];

/// Directory roles that let a signed-in user read the reports. The Graph reference pages (e.g. Microsoft Graph, "List
/// userRegistrationDetails"
/// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails>)) list Reports Reader,
/// Security Reader, Security Administrator and Global Reader, and Microsoft Entra, "Authentication Methods Activity"
/// (<https://learn.microsoft.com/entra/identity/authentication/howto-authentication-methods-activity>) more; the union is
/// accepted.
pub(crate) const REPORT_ROLES: &[&str] = &[
    "Reports Reader",
    "Security Reader",
    "Security Administrator",
    "Global Reader",
    "Security Operator",
    "Application Administrator",
    "Cloud Application Administrator",
    "Global Administrator",
];

/// Which 403 a missing permission produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// `Authentication_MSGraphPermissionMissing` naming the permission (as live tenants answer).
    Named(&'static str),
    /// `Authorization_RequestDenied`, the directory's answer (Microsoft Graph, "Microsoft Graph error
    /// responses and resource types", <https://learn.microsoft.com/graph/errors>).
    Denied,
}

/// What a route demands of the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// A report: counts against the reports quota, needs the P1/P2 licence, and signed-in users need
    /// one of [`REPORT_ROLES`].
    pub(crate) report: bool,
    /// Graph documents "Application: Not supported".
    delegated_only: bool,
    /// Any one of these.
    permissions: &'static [&'static str],
    missing: Missing,
}

pub(crate) fn policy(route: &GraphRoute) -> Policy {
    use GraphRoute::*;
    let audit =
        Policy { report: true, delegated_only: false, permissions: &[AUDIT_LOG], missing: Missing::Named(AUDIT_LOG) };
    match route {
        List | Get(_) => Policy { permissions: &[AUDIT_LOG, USER_AUTH_METHOD], ..audit },
        Summary(_) | UserRegistrationActivity(_) | UserSignInsByAuthMethodSummary(_) => {
            Policy { delegated_only: true, ..audit }
        }
        // userMfaSignInSummary and userPasswordResetsAndChangesSummary: the application permission is
        // UNCERTAIN (their pages name none); they are treated like their sibling userEventsSummary, which
        // documents AuditLog.Read.All for applications.
        UserEventsSummary | UserMfaSignInSummary | UserPasswordResetsAndChangesSummary => audit,
        CredentialUserRegistrationCount
        | CredentialUsageSummary(_)
        | CredentialUserRegistrationDetails
        | UserCredentialUsageDetails => Policy { permissions: &[REPORTS], missing: Missing::Named(REPORTS), ..audit },
        DirectoryRoles | DirectoryRole(_) | DirectoryRoleMembers(_) => {
            Policy { report: false, delegated_only: false, permissions: DIRECTORY_READ, missing: Missing::Denied }
        }
        GroupTransitiveMembers { .. } => {
            Policy { report: false, delegated_only: false, permissions: GROUP_READ, missing: Missing::Denied }
        }
    }
}

fn denied(meta: &ReqMeta) -> Response {
    envelope::error(
        meta,
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

impl Policy {
    /// The 403 to answer if the token may not call the route.
    pub(crate) fn refusal(&self, token: &TokenRecord, meta: &ReqMeta) -> Option<Response> {
        if self.delegated_only && token.kind == TokenKind::AppOnly {
            // "Application: Not supported" (Microsoft Graph, "authenticationMethodsRoot: usersRegisteredByFeature"
            // (https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbyfeature),
            // "Permissions"). The real error is UNCERTAIN (undocumented); 403 Authorization_RequestDenied is Graph's
            // generic "not allowed" answer and is what a client should classify as forbidden.
            return Some(denied(meta));
        }
        if !self.permissions.iter().any(|p| token.has_permission(p)) {
            return Some(match self.missing {
                Missing::Named(p) => envelope::error(
                    meta,
                    StatusCode::FORBIDDEN,
                    "Authentication_MSGraphPermissionMissing",
                    &format!("Calling principal does not have required MSGraph permissions {p}"),
                ),
                Missing::Denied => denied(meta),
            });
        }
        if self.report
            && token.kind == TokenKind::Delegated
            && !token.user_roles.iter().any(|r| REPORT_ROLES.iter().any(|a| a.eq_ignore_ascii_case(r)))
        {
            return Some(envelope::error(
                meta,
                StatusCode::FORBIDDEN,
                "Authentication_RequestFromUnsupportedUserRole",
                "User is not in the allowed roles",
            ));
        }
        None
    }
}
