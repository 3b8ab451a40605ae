//! What a successful poll of each report produced: the data a snapshot holds, renders and persists.

use crate::aggregation::RegistrationSummary;
use crate::aggregation::activity::{ActivityRow, DailyCounts, NativeBreakdown, SignInRow};
use crate::aggregation::events::EventSummary;
use crate::aggregation::legacy::CredentialDetailsSummary;

/// What a successful poll produced.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportData {
    Registration(RegistrationSummary),
    NativeSummary(Vec<NativeBreakdown>),
    CredentialRegistrationCount {
        total: i64,
        by_status: Vec<(String, i64)>,
    },
    CredentialUsage(Vec<ActivityRow>),
    CredentialDetails(CredentialDetailsSummary),
    CredentialUsageEvents(EventSummary),
    RegistrationActivity(Vec<ActivityRow>),
    SignInsByMethod(Vec<SignInRow>),
    UserEvents(EventSummary),
    MfaSignIns(Option<DailyCounts>),
    PasswordResets(Option<DailyCounts>),
    /// Graph answered that the report does not exist (retired, or not offered in this cloud).
    Unavailable(String),
    /// The group memberships read before a registration sweep: groups read and the user members
    /// they hold (the counts themselves are part of the sweep's [`RegistrationSummary`]).
    GroupMembers {
        groups: u64,
        members: u64,
    },
}

impl ReportData {
    /// A short description for the poll log line.
    pub(crate) fn describe(&self) -> String {
        match self {
            ReportData::Registration(s) => format!("{} users", s.rows),
            ReportData::NativeSummary(b) => format!("{} breakdowns", b.len()),
            ReportData::CredentialRegistrationCount { total, .. } => format!("{total} users"),
            ReportData::CredentialUsage(r) | ReportData::RegistrationActivity(r) => format!("{} rows", r.len()),
            ReportData::CredentialDetails(d) => format!("{} users", d.users),
            ReportData::CredentialUsageEvents(e) | ReportData::UserEvents(e) => {
                format!("{} events", e.events.values().sum::<u64>())
            }
            ReportData::SignInsByMethod(r) => format!("{} rows", r.len()),
            ReportData::MfaSignIns(d) | ReportData::PasswordResets(d) => {
                if d.is_some() {
                    "1 day".into()
                } else {
                    "no data".into()
                }
            }
            ReportData::Unavailable(why) => format!("unavailable: {why}"),
            ReportData::GroupMembers { groups, members } => format!("{groups} groups, {members} user members"),
        }
    }
}
