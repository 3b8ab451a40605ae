//! The newer beta authentication-methods reports (Microsoft Graph beta, "authenticationMethodsRoot
//! resource type", <https://learn.microsoft.com/graph/api/resources/authenticationmethodsroot?view=graph-rest-beta>).

use std::time::SystemTime;

use time::OffsetDateTime;

use super::TenantPoller;
use crate::aggregation::activity::{ActivityRow, DailyCounts, SignInRow, newest};
use crate::aggregation::events::{EventAggregator, EventSummary};
use crate::config::ReportSettings;
use crate::graph::GraphError;
use crate::reports::activity::{
    MFA_SIGN_IN_SUMMARY_PATH, MfaSignInDay, PASSWORD_RESETS_PATH, PERIODS, PasswordResetsDay, SignInsByMethod,
    USER_EVENTS_PATH, registration_activity_path, sign_ins_by_method_path,
};
use crate::reports::legacy::{UsageEvent, UsageSummary};
use crate::reports::{CredentialKind, ReportKind};

pub(crate) async fn registration_activity(p: &TenantPoller, c: CredentialKind) -> Result<Vec<ActivityRow>, GraphError> {
    period_rows(p, c, ReportKind::RegistrationActivity.endpoint(), &PERIODS, registration_activity_path).await
}

/// Reads a period function (userRegistrationActivity, getCredentialUsageSummary) for every period.
pub(crate) async fn period_rows(
    p: &TenantPoller,
    c: CredentialKind,
    endpoint: &str,
    periods: &[&'static str],
    path: fn(&str) -> String,
) -> Result<Vec<ActivityRow>, GraphError> {
    let mut rows = Vec::new();
    for &period in periods {
        let url = p.client.url("beta", &path(period), &[]);
        p.client
            .for_each_page::<UsageSummary, _>(endpoint, c, url, |page| {
                rows.extend(page.into_iter().map(|r| ActivityRow {
                    period,
                    feature: r.feature,
                    method: r.auth_method,
                    success: r.successful_activity_count,
                    failure: r.failure_activity_count,
                }))
            })
            .await?;
    }
    Ok(rows)
}

pub(crate) async fn sign_ins_by_method(p: &TenantPoller, c: CredentialKind) -> Result<Vec<SignInRow>, GraphError> {
    let endpoint = ReportKind::SignInsByMethod.endpoint();
    let mut rows = Vec::new();
    for period in PERIODS {
        let url = p.client.url("beta", &sign_ins_by_method_path(period), &[]);
        p.client
            .for_each_page::<SignInsByMethod, _>(endpoint, c, url, |page| {
                rows.extend(page.into_iter().map(|r| SignInRow {
                    period,
                    method: r.authentication_method,
                    success: r.success_activity_count,
                }))
            })
            .await?;
    }
    Ok(rows)
}

/// Events within the lookback window, counted by feature, method and outcome. The window is
/// applied here: Graph documents no date filter for this report.
pub(crate) async fn user_events(
    p: &TenantPoller,
    c: CredentialKind,
    s: &ReportSettings,
) -> Result<EventSummary, GraphError> {
    let endpoint = ReportKind::UserEventsSummary.endpoint();
    let since = OffsetDateTime::from(SystemTime::now() - s.lookback);
    let top = p.graph.page_size.to_string();
    let url = p.client.url("beta", USER_EVENTS_PATH, &[("$top", &top)]);
    let mut agg = EventAggregator::new(Some(since), s.max_failure_reasons);
    p.client.for_each_page::<UsageEvent, _>(endpoint, c, url, |rows| rows.iter().for_each(|e| agg.add(e))).await?;
    Ok(agg.finish())
}

/// The newest day of userMfaSignInSummary.
pub(crate) async fn mfa_sign_ins(p: &TenantPoller, c: CredentialKind) -> Result<Option<DailyCounts>, GraphError> {
    let endpoint = ReportKind::MfaSignInSummary.endpoint();
    let url = p.client.url("beta", MFA_SIGN_IN_SUMMARY_PATH, &[]);
    let mut days = Vec::new();
    p.client.for_each_page::<MfaSignInDay, _>(endpoint, c, url, |rows| days.extend(rows)).await?;
    Ok(newest(days, |d| &d.created_date_time).map(|(day, d)| DailyCounts {
        day,
        counts: vec![
            ("total", d.total_sign_ins.unwrap_or(0)),
            ("multi_factor", d.multi_factor_sign_ins.unwrap_or(0)),
            ("single_factor", d.single_factor_sign_ins.unwrap_or(0)),
        ],
    }))
}

/// The newest day of userPasswordResetsAndChangesSummary.
pub(crate) async fn password_resets(p: &TenantPoller, c: CredentialKind) -> Result<Option<DailyCounts>, GraphError> {
    let endpoint = ReportKind::PasswordResetsAndChanges.endpoint();
    let url = p.client.url("beta", PASSWORD_RESETS_PATH, &[]);
    let mut days = Vec::new();
    p.client.for_each_page::<PasswordResetsDay, _>(endpoint, c, url, |rows| days.extend(rows)).await?;
    Ok(newest(days, |d| &d.aggregated_date_time).map(|(day, d)| DailyCounts {
        day,
        counts: vec![
            ("admin_reset", d.password_resets_by_admin_count.unwrap_or(0)),
            ("self_service_reset", d.password_resets_self_service_count.unwrap_or(0)),
            ("self_service_change", d.change_password_self_service_count.unwrap_or(0)),
        ],
    }))
}
