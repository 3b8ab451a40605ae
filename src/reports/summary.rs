//! usersRegisteredByFeature / usersRegisteredByMethod (Microsoft Graph, "authenticationMethodsRoot:
//! usersRegisteredByFeature"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbyfeature>); Microsoft Graph,
//! "authenticationMethodsRoot: usersRegisteredByMethod"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbymethod>)): Microsoft's own counts,
//! delegated only. Counts are passed through as Graph returns them, even when they look inconsistent.

use serde::Deserialize;

/// `usersRegisteredByFeature(includedUserTypes='…',includedUserRoles='…')`.
pub(crate) fn feature_path(user_type: &str, user_role: &str) -> String {
    format!(
        "reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='{user_type}',includedUserRoles='{user_role}')"
    )
}

pub(crate) fn method_path(user_type: &str, user_role: &str) -> String {
    format!(
        "reports/authenticationMethods/usersRegisteredByMethod(includedUserTypes='{user_type}',includedUserRoles='{user_role}')"
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FeatureSummary {
    /// Non-nullable in the schema, yet absent from one documented example: tolerate absence.
    #[serde(default)]
    pub(crate) total_user_count: Option<i64>,
    #[serde(default)]
    pub(crate) user_registration_feature_counts: Vec<FeatureCount>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FeatureCount {
    pub(crate) feature: String,
    pub(crate) user_count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MethodSummary {
    #[serde(default)]
    pub(crate) total_user_count: Option<i64>,
    #[serde(default)]
    pub(crate) user_registration_method_counts: Vec<MethodCount>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MethodCount {
    pub(crate) authentication_method: String,
    pub(crate) user_count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples_decode() {
        let f: FeatureSummary = serde_json::from_str(
            r##"{"@odata.type":"#microsoft.graph.userRegistrationFeatureSummary","totalUserCount":23123,"userTypes":"all","userRoles":"all",
            "userRegistrationFeatureCounts":[{"feature":"ssprRegistered","userCount":23423},{"feature":"mfaCapable","userCount":3345}]}"##,
        )
        .unwrap();
        assert_eq!(f.total_user_count, Some(23123));
        assert_eq!(f.user_registration_feature_counts[0].user_count, 23423);
        let m: MethodSummary = serde_json::from_str(
            r#"{"userTypes":"all","userRoles":"all","userRegistrationMethodCounts":[{"authenticationMethod":"password","userCount":12209}]}"#,
        )
        .unwrap();
        assert_eq!(m.total_user_count, None, "the documented example omits it");
        assert_eq!(m.user_registration_method_counts[0].authentication_method, "password");
    }
}
