//! The legacy beta reports on `reportRoot` (Microsoft Graph, "reportRoot: getCredentialUserRegistrationCount"
//! (<https://learn.microsoft.com/graph/api/reportroot-getcredentialuserregistrationcount?view=graph-rest-beta>) and its
//! siblings): Reports.Read.All, global cloud only, mostly retired by Microsoft.

use serde::Deserialize;

pub(crate) const REGISTRATION_COUNT_PATH: &str = "reports/getCredentialUserRegistrationCount";
pub(crate) const USER_REGISTRATION_DETAILS_PATH: &str = "reports/credentialUserRegistrationDetails";
pub(crate) const USAGE_DETAILS_PATH: &str = "reports/userCredentialUsageDetails";

/// Periods of getCredentialUsageSummary as `period` label values: `d1`, `d7`, `d30`, the spelling
/// every family shares. The period is a parameter the exporter sends, not a value Graph returns, so
/// the label need not follow the parameter's upper case.
pub(crate) const USAGE_PERIODS: [&str; 3] = ["d1", "d7", "d30"];

/// The request for one period; the `period` parameter is an upper-case string (`'D30'`).
pub(crate) fn usage_summary_path(period: &str) -> String {
    format!("reports/getCredentialUsageSummary(period='{}')", period.to_ascii_uppercase())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CredentialUserRegistrationCount {
    #[serde(default)]
    pub(crate) total_user_count: i64,
    #[serde(default)]
    pub(crate) user_registration_counts: Vec<UserRegistrationCount>,
}

/// The documented example misspells the properties (`userRegistrationStatus`, `userRegistationCount`);
/// both spellings are accepted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserRegistrationCount {
    #[serde(alias = "userRegistrationStatus")]
    pub(crate) registration_status: String,
    #[serde(alias = "userRegistationCount", alias = "userRegistrationCount")]
    pub(crate) registration_count: i64,
}

/// One row of getCredentialUsageSummary (and, with the same shape, of userRegistrationActivity).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageSummary {
    pub(crate) feature: String,
    pub(crate) auth_method: String,
    #[serde(default)]
    pub(crate) successful_activity_count: i64,
    #[serde(default)]
    pub(crate) failure_activity_count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CredentialUserRegistrationDetails {
    #[serde(default)]
    pub(crate) auth_methods: Vec<String>,
    #[serde(default)]
    pub(crate) is_registered: bool,
    #[serde(default)]
    pub(crate) is_enabled: bool,
    #[serde(default)]
    pub(crate) is_capable: bool,
    #[serde(default)]
    pub(crate) is_mfa_registered: bool,
}

/// One event of userCredentialUsageDetails, and with the same shape of the newer userEventsSummary.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageEvent {
    pub(crate) feature: String,
    #[serde(default)]
    pub(crate) auth_method: String,
    #[serde(default)]
    pub(crate) is_success: bool,
    #[serde(default)]
    pub(crate) failure_reason: Option<String>,
    #[serde(default)]
    pub(crate) event_date_time: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::Page;

    #[test]
    fn both_spellings_of_the_registration_count_decode() {
        let doc: Page<CredentialUserRegistrationCount> = serde_json::from_str(
            r#"{"value":[{"id":"x","totalUserCount":23123,"userRegistrationCounts":[{"userRegistrationStatus":"registered","userRegistationCount":23423}]}]}"#,
        )
        .unwrap();
        assert_eq!(doc.value[0].user_registration_counts[0].registration_count, 23423);
        let schema: CredentialUserRegistrationCount = serde_json::from_str(
            r#"{"id":"String","totalUserCount":1,"userRegistrationCounts":[{"registrationStatus":"mfaRegistered","registrationCount":33}]}"#,
        )
        .unwrap();
        assert_eq!(schema.user_registration_counts[0].registration_status, "mfaRegistered");
    }

    #[test]
    fn documented_usage_rows_decode() {
        let p: Page<UsageSummary> = serde_json::from_str(
            r#"{"value":[{"id":"id-value","feature":"registration","successfulActivityCount":12345,"failureActivityCount":123,"authMethod":"email"}]}"#,
        )
        .unwrap();
        assert_eq!(p.value[0].failure_activity_count, 123);
        let e: Page<UsageEvent> = serde_json::from_str(
            r#"{"value":[{"id":"i","feature":"registration","userPrincipalName":"u","userDisplayName":"d","isSuccess":true,"authMethod":"microsoftAuthenticatorPush","failureReason":"","eventDateTime":"2025-07-16T16:19:18Z"}]}"#,
        )
        .unwrap();
        assert!(e.value[0].is_success);
    }
}
