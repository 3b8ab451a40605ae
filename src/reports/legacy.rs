//! The legacy beta reports on `reportRoot` (Microsoft Graph, "reportRoot: getCredentialUserRegistrationCount"
//! (<https://learn.microsoft.com/graph/api/reportroot-getcredentialuserregistrationcount?view=graph-rest-beta>) and its
//! siblings): Reports.Read.All, global cloud only, mostly retired by Microsoft.

use serde::Deserialize;

pub const REGISTRATION_COUNT_PATH: &str = "reports/getCredentialUserRegistrationCount";
pub const USER_REGISTRATION_DETAILS_PATH: &str = "reports/credentialUserRegistrationDetails";
pub const USAGE_DETAILS_PATH: &str = "reports/userCredentialUsageDetails";

/// Periods of getCredentialUsageSummary as `period` label values: `d1`, `d7`, `d30`, the spelling
/// every family shares. The period is a parameter the exporter sends, not a value Graph returns, so
/// the label need not follow the parameter's upper case.
pub const USAGE_PERIODS: [&str; 3] = ["d1", "d7", "d30"];

/// The request for one period; the `period` parameter is an upper-case string (`'D30'`).
pub fn usage_summary_path(period: &str) -> String {
    format!("reports/getCredentialUsageSummary(period='{}')", period.to_ascii_uppercase())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialUserRegistrationCount {
    #[serde(default)]
    pub total_user_count: i64,
    #[serde(default)]
    pub user_registration_counts: Vec<UserRegistrationCount>,
}

/// The documented example misspells the properties (`userRegistrationStatus`, `userRegistationCount`);
/// both spellings are accepted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistrationCount {
    #[serde(alias = "userRegistrationStatus")]
    pub registration_status: String,
    #[serde(alias = "userRegistationCount", alias = "userRegistrationCount")]
    pub registration_count: i64,
}

/// One row of getCredentialUsageSummary (and, with the same shape, of userRegistrationActivity).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageSummary {
    pub feature: String,
    pub auth_method: String,
    #[serde(default)]
    pub successful_activity_count: i64,
    #[serde(default)]
    pub failure_activity_count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialUserRegistrationDetails {
    #[serde(default)]
    pub auth_methods: Vec<String>,
    #[serde(default)]
    pub is_registered: bool,
    #[serde(default)]
    pub is_enabled: bool,
    #[serde(default)]
    pub is_capable: bool,
    #[serde(default)]
    pub is_mfa_registered: bool,
}

/// One event of userCredentialUsageDetails, and with the same shape of the newer userEventsSummary.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageEvent {
    pub feature: String,
    #[serde(default)]
    pub auth_method: String,
    #[serde(default)]
    pub is_success: bool,
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub event_date_time: Option<String>,
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
