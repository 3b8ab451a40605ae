//! usersRegisteredByFeature / usersRegisteredByMethod (Microsoft Graph, "authenticationMethodsRoot:
//! usersRegisteredByFeature"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbyfeature>); Microsoft Graph,
//! "authenticationMethodsRoot: usersRegisteredByMethod"
//! (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-usersregisteredbymethod>)): Microsoft's own counts,
//! delegated only. Counts are passed through as Graph returns them, even when they look inconsistent.

use serde::Deserialize;

/// `usersRegisteredByFeature(includedUserTypes='…',includedUserRoles='…')`.
pub fn feature_path(user_type: &str, user_role: &str) -> String {
    format!(
        "reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='{user_type}',includedUserRoles='{user_role}')"
    )
}

pub fn method_path(user_type: &str, user_role: &str) -> String {
    format!(
        "reports/authenticationMethods/usersRegisteredByMethod(includedUserTypes='{user_type}',includedUserRoles='{user_role}')"
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureSummary {
    /// Non-nullable in the schema, yet absent from one documented example: tolerate absence.
    #[serde(default)]
    pub total_user_count: Option<i64>,
    #[serde(default)]
    pub user_registration_feature_counts: Vec<FeatureCount>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureCount {
    pub feature: String,
    pub user_count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodSummary {
    #[serde(default)]
    pub total_user_count: Option<i64>,
    #[serde(default)]
    pub user_registration_method_counts: Vec<MethodCount>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodCount {
    pub authentication_method: String,
    pub user_count: i64,
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
