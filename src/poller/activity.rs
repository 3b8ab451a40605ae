//! The newer beta authentication-methods reports (Microsoft Graph beta, "authenticationMethodsRoot
//! resource type", <https://learn.microsoft.com/graph/api/resources/authenticationmethodsroot?view=graph-rest-beta>).

use std::time::SystemTime;

use time::OffsetDateTime;

use super::TenantPoller;
use crate::aggregation::activity::{ActivityRow, DailyCounts, SignInRow, newest};
use crate::aggregation::events::{EventAggregator, EventSummary};
use crate::aggregation::fold::BoundedLabel;
use crate::aggregation::interned::Name;
use crate::config::ReportSettings;
use crate::graph::GraphError;
use crate::reports::activity::{
    MFA_SIGN_IN_SUMMARY_PATH, MfaSignInDay, PASSWORD_RESETS_PATH, PERIODS, PasswordResetsDay, SignInsByMethod,
    USER_EVENTS_PATH, registration_activity_path, sign_ins_by_method_path,
};
use crate::reports::legacy::{UsageEvent, UsageSummary};
use crate::reports::{CredentialKind, ReportKind};

pub(crate) async fn registration_activity(p: &TenantPoller, c: CredentialKind) -> Result<Vec<ActivityRow>, GraphError> {
    let kind = ReportKind::RegistrationActivity;
    let rows = period_rows(p, c, kind.endpoint(), &PERIODS, registration_activity_path).await?;
    Ok(fold_activity_rows(p, kind, rows))
}

/// Graph counted these activities: the folded methods' and features' counts are summed into
/// `other`, per period and the other label.
pub(crate) fn fold_activity_rows(p: &TenantPoller, kind: ReportKind, rows: Vec<ActivityRow>) -> Vec<ActivityRow> {
    let same =
        |a: &ActivityRow, b: &ActivityRow| a.period == b.period && a.feature == b.feature && a.method == b.method;
    let add = |a: &mut ActivityRow, b: &ActivityRow| {
        a.success += b.success;
        a.failure += b.failure;
    };
    let mut methods = p.folder(BoundedLabel::Method);
    let mut features = p.folder(BoundedLabel::Feature);
    let rows = methods.fold_sum(rows, |r| &mut r.method, same, add);
    let rows = features.fold_sum(rows, |r| &mut r.feature, same, add);
    p.folded(kind, [methods, features]);
    rows
}

/// Events, counted one by one with their method and feature values bounded as they arrive.
pub(crate) fn event_aggregator(p: &TenantPoller, since: Option<OffsetDateTime>, max_reasons: usize) -> EventAggregator {
    EventAggregator::new(since, max_reasons)
        .with_folders(p.folder(BoundedLabel::Method), p.folder(BoundedLabel::Feature))
}

/// The counts of a successful event sweep, recording what it folded.
pub(crate) fn finish_events(p: &TenantPoller, kind: ReportKind, mut agg: EventAggregator) -> EventSummary {
    p.folded(kind, agg.take_folders());
    agg.finish()
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
                    feature: Name::intern(&r.feature),
                    method: Name::intern(&r.auth_method),
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
                    method: Name::intern(&r.authentication_method),
                    success: r.success_activity_count,
                }))
            })
            .await?;
    }
    // Graph counted these sign-ins: the folded methods' counts are summed into `other`.
    let mut folder = p.folder(BoundedLabel::Method);
    let rows = folder.fold_sum(
        rows,
        |r| &mut r.method,
        |a, b| a.period == b.period && a.method == b.method,
        |a, b| a.success += b.success,
    );
    p.folded(ReportKind::SignInsByMethod, [folder]);
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
    let mut agg = event_aggregator(p, Some(since), s.max_failure_reasons);
    p.client.for_each_page::<UsageEvent, _>(endpoint, c, url, |rows| rows.iter().for_each(|e| agg.add(e))).await?;
    Ok(finish_events(p, ReportKind::UserEventsSummary, agg))
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
