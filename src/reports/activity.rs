//! The 2025 beta reports on `authenticationMethods` (Microsoft Graph, "Authentication methods usage insights overview"
//! (<https://learn.microsoft.com/graph/api/resources/authenticationmethods-usage-insights-overview>)).

use serde::Deserialize;

/// `aggregationPeriod` values, lower case as the newer functions spell them.
pub(crate) const PERIODS: [&str; 3] = ["d1", "d7", "d30"];

pub(crate) fn registration_activity_path(period: &str) -> String {
    format!("reports/authenticationMethods/userRegistrationActivity(period='{period}')")
}

pub(crate) fn sign_ins_by_method_path(period: &str) -> String {
    format!("reports/authenticationMethods/userSignInsByAuthMethodSummary(period='{period}')")
}

pub(crate) const USER_EVENTS_PATH: &str = "reports/authenticationMethods/userEventsSummary";
pub(crate) const MFA_SIGN_IN_SUMMARY_PATH: &str = "reports/authenticationMethods/userMfaSignInSummary";
pub(crate) const PASSWORD_RESETS_PATH: &str = "reports/authenticationMethods/userPasswordResetsAndChangesSummary";

/// userSignInUsageByAuthMethodActivity: keyed by method, successes only.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignInsByMethod {
    pub(crate) authentication_method: String,
    #[serde(default)]
    pub(crate) success_activity_count: i64,
}

/// One day of userMfaSignInSummary; counts are nullable in the schema.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MfaSignInDay {
    pub(crate) created_date_time: String,
    #[serde(default)]
    pub(crate) total_sign_ins: Option<i64>,
    #[serde(default)]
    pub(crate) single_factor_sign_ins: Option<i64>,
    #[serde(default)]
    pub(crate) multi_factor_sign_ins: Option<i64>,
}

/// One day of userPasswordResetsAndChangesSummary.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PasswordResetsDay {
    pub(crate) aggregated_date_time: String,
    #[serde(default)]
    pub(crate) password_resets_by_admin_count: Option<i64>,
    #[serde(default)]
    pub(crate) password_resets_self_service_count: Option<i64>,
    #[serde(default)]
    pub(crate) change_password_self_service_count: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::Page;

    #[test]
    fn documented_examples_decode() {
        let s: Page<SignInsByMethod> = serde_json::from_str(
            r##"{"value":[{"@odata.type":"#microsoft.graph.userSignInUsageByAuthMethodActivity","authenticationMethod":"password","successActivityCount":1470}]}"##,
        )
        .unwrap();
        assert_eq!(s.value[0].success_activity_count, 1470);
        let m: Page<MfaSignInDay> = serde_json::from_str(
            r#"{"value":[{"id":"7","createdDateTime":"2025-07-16T16:19:18Z","totalSignIns":1000,"singleFactorSignIns":100,"multiFactorSignIns":9900}]}"#,
        )
        .unwrap();
        assert_eq!(m.value[0].multi_factor_sign_ins, Some(9900));
        let p: Page<PasswordResetsDay> = serde_json::from_str(
            r#"{"value":[{"id":"8","aggregatedDateTime":"2025-07-16T16:19:18Z","passwordResetsByAdminCount":100,"passwordResetsSelfServiceCount":75,"changePasswordSelfServiceCount":100}]}"#,
        )
        .unwrap();
        assert_eq!(p.value[0].password_resets_self_service_count, Some(75));
    }
}
