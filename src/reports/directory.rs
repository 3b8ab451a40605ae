//! Directory roles, for the privilegedAdmin breakdown under app-only access: the members of the
//! nine roles Microsoft's summaries count as privileged (Microsoft Graph, "authenticationMethodsRoot:
//! usersRegisteredByFeature"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbyfeature>)).

use serde::Deserialize;

pub(crate) const ROLES_PATH: &str = "directoryRoles";

/// Role template ids are fixed across tenants; names are not (they can be localised).
pub(crate) const PRIVILEGED_ROLE_TEMPLATES: [(&str, &str); 9] = [
    ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator"),
    ("194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator"),
    ("b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", "Conditional Access Administrator"),
    ("29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator"),
    ("f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "SharePoint Administrator"),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator"),
    ("b0f54661-2d74-4c50-afa3-1ec803f12efe", "Billing Administrator"),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    ("c4e39bd9-1100-46d3-8c65-fb160da0071f", "Authentication Administrator"),
];

pub(crate) fn members_path(role_id: &str) -> String {
    format!("directoryRoles/{role_id}/members")
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DirectoryRole {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) role_template_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DirectoryObject {
    pub(crate) id: String,
    /// Members can be users, groups or service principals; only users are in the report.
    #[serde(rename = "@odata.type", default)]
    pub(crate) odata_type: Option<String>,
}

impl DirectoryObject {
    pub(crate) fn is_user(&self) -> bool {
        self.odata_type.as_deref().is_none_or(|t| t.eq_ignore_ascii_case("#microsoft.graph.user"))
    }
}
