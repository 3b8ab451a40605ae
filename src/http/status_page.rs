//! The `/` page: what an operator wants to see first when an alert fires. Every value from Graph or
//! the config is HTML-escaped; no secret is ever part of the state it renders.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use crate::aggregation::registration::{FEATURES, STRENGTHS};
use crate::catalog::ReportKind;
use crate::config::{UserRole, UserType};
use crate::snapshot::{Phase, ReloadStatus, ReportData, ReportProgress, ReportState, TenantStatus};

const HEADLINES: [&str; 5] =
    ["mfaCapable", "ssprCapable", "passwordlessCapable", "phishingResistantCapable", "mfaRegistered"];

pub fn render(tenants: &[TenantStatus], reload: &ReloadStatus, telemetry_path: &str) -> String {
    let mut html = String::with_capacity(4096);
    html.push_str(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Entra authentication-methods exporter</title>\
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
.ok{color:#1a7f37}.fail{color:#cf222e}</style></head><body>\n<h1>Entra authentication-methods exporter</h1>\n",
    );
    let _ = writeln!(
        html,
        "<p>Version {} · <a href=\"{}\">Metrics</a> · <a href=\"/healthz\">Health</a> · <a href=\"/readyz\">Readiness</a></p>",
        escape(crate::VERSION),
        escape(telemetry_path)
    );
    let _ = writeln!(
        html,
        "<p>Configuration loaded at {}{}</p>",
        format_time(reload.last_success),
        if reload.successful {
            ""
        } else {
            " · <span class=\"fail\">the last reload was rejected; this configuration is still running (see the log)</span>"
        }
    );
    for t in tenants {
        let _ = writeln!(
            html,
            "<h2>Tenant {} <small>({}, {})</small></h2>",
            escape(&t.info.name),
            escape(&t.info.tenant_id),
            t.info.cloud
        );
        html.push_str(
            "<table><tr><th>Report</th><th>Status</th><th>Last success</th><th>Next poll</th><th>Last error</th><th>What to do</th></tr>\n",
        );
        let now = SystemTime::now();
        for (kind, state) in &t.reports {
            let h = &state.health;
            let progress = t.progress.get(kind);
            let (err, hint) = match &h.last_error {
                Some(e) => (format!("{} at {}: {}", e.reason, format_time(e.at), e.message), e.hint.to_string()),
                None => (String::new(), String::new()),
            };
            let next = match progress.and_then(|p| p.next_poll.filter(|_| p.phase == Phase::Idle)) {
                Some(at) => format!("{} (in {})", format_time(at), age(at.duration_since(now).unwrap_or_default())),
                // Read by the registration poll, just before its sweep.
                None if *kind == ReportKind::GroupMembers => "with registration_details".to_string(),
                None => String::new(),
            };
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{next}</td><td>{}</td><td>{}</td></tr>",
                kind.as_str(),
                report_status(state, progress, now),
                h.last_success
                    .map(|at| format!("{} ({} ago)", format_time(at), age(now.duration_since(at).unwrap_or_default())))
                    .unwrap_or_else(|| "never".into()),
                escape(&err),
                escape(&hint)
            );
        }
        for (kind, why) in &t.skipped {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>skipped: {}</td><td>never</td><td>not polled</td><td></td><td>{}</td></tr>",
                kind.as_str(),
                escape(why),
                escape(&format!("it {why}; or disable the report"))
            );
        }
        html.push_str("</table>\n");
        for state in t.reports.values() {
            let Some(snapshot) = &state.data else { continue };
            let ReportData::Registration(summary) = &snapshot.data else { continue };
            let Some(all) = summary
                .breakdowns
                .iter()
                .find(|b| b.breakdown.user_type == UserType::All && b.breakdown.user_role == UserRole::All)
            else {
                continue;
            };
            let _ = writeln!(
                html,
                "<p>{} users in scope</p><table><tr><th>Feature</th><th>Users</th><th>Share</th></tr>",
                all.users
            );
            for name in HEADLINES {
                let i = FEATURES.iter().position(|f| *f == name).expect("headline is a feature");
                let n = all.features[i];
                let share = if all.users == 0 {
                    "–".to_string()
                } else {
                    format!("{:.1}%", 100.0 * n as f64 / all.users as f64)
                };
                let _ = writeln!(html, "<tr><td>{name}</td><td>{n}</td><td>{share}</td></tr>");
            }
            html.push_str("</table>\n");
            if let Some(tiers) = all.strength {
                // The number the SMS and voice retirement campaign brings to zero comes first.
                let _ = writeln!(
                    html,
                    "<p>{} users can only do phone MFA (strongest method a phone: SMS and voice stop on 2027-02-01). Strongest method: {}</p>",
                    tiers[PHONE],
                    STRENGTHS.iter().zip(tiers).map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(" · ")
                );
            }
            let Some(groups) = &summary.groups else { continue };
            let _ = writeln!(
                html,
                "<p>{} users left out by exclude_groups</p><table><tr><th>Group</th><th>Users</th><th>Phone only</th><th>Members read</th></tr>",
                groups.excluded_users
            );
            for g in &groups.groups {
                let (users, phone, read) = if g.available {
                    (g.users.to_string(), g.strength[PHONE].to_string(), "yes")
                } else {
                    ("–".to_string(), "–".to_string(), "no: see group_members above")
                };
                let _ = writeln!(
                    html,
                    "<tr><td>{}</td><td>{users}</td><td>{phone}</td><td>{read}</td></tr>",
                    escape(&g.name)
                );
            }
            html.push_str("</table>\n");
        }
    }
    html.push_str("</body></html>\n");
    html
}

/// Index of `phone` in [`STRENGTHS`].
const PHONE: usize = 3;

/// The Status cell: a running or queued poll first (what the exporter does now), then what the
/// last poll left. Escaped where it quotes Graph.
fn report_status(state: &ReportState, progress: Option<&ReportProgress>, now: SystemTime) -> String {
    let unavailable = state.data.as_ref().and_then(|d| match &d.data {
        ReportData::Unavailable(why) => Some(why.as_str()),
        _ => None,
    });
    if let Some(why) = unavailable {
        return format!("unavailable: {}", escape(why));
    }
    let before = match state.health.last_attempt_ok {
        _ if state.is_stale(now) => "<span class=\"fail\">stale: data not exported</span>",
        Some(true) => "<span class=\"ok\">ok</span>",
        Some(false) => "<span class=\"fail\">failing</span>",
        None => "",
    };
    let live = match progress {
        Some(p) if p.phase == Phase::Queued => "queued (waiting for its turn)".to_string(),
        Some(p) if p.phase == Phase::Running => running(p, now),
        _ if before.is_empty() => return "not polled yet".into(),
        _ => return before.into(),
    };
    if before.is_empty() { live } else { format!("{live}; last poll {before}") }
}

/// "page 12 of about 30, done in about 40s", or that a request waits for Graph's quota.
fn running(p: &ReportProgress, now: SystemTime) -> String {
    let mut s = format!("polling: page {}", p.pages);
    if let Some(total) = p.last_sweep_pages.filter(|&m| m >= p.pages) {
        let _ = write!(s, " of about {total} (from the last sweep)");
    }
    if let Some(at) = p.estimated_finish(now) {
        let _ = write!(s, ", done in about {} ({})", age(at.duration_since(now).unwrap_or_default()), format_time(at));
    }
    if p.waiting_for_quota {
        s.push_str(", waiting for Graph's quota");
    }
    s
}

/// A duration to the second, as people read it ("3m 20s").
fn age(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

fn format_time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_phone_index_is_the_phone_tier() {
        assert_eq!(super::STRENGTHS[super::PHONE], "phone");
    }

    use super::*;

    #[test]
    fn a_running_poll_shows_its_page_its_estimate_and_the_quota() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let p = ReportProgress {
            phase: Phase::Running,
            pages: 10,
            started: Some(now - Duration::from_secs(20)),
            last_sweep_pages: Some(30),
            waiting_for_quota: true,
            ..Default::default()
        };
        let text = running(&p, now);
        assert!(text.starts_with("polling: page 10 of about 30 (from the last sweep), done in about 40s ("), "{text}");
        assert!(text.ends_with(", waiting for Graph's quota"), "{text}");
        let first = ReportProgress { phase: Phase::Running, pages: 3, ..Default::default() };
        assert_eq!(running(&first, now), "polling: page 3");
        let state = ReportState::default();
        let queued = ReportProgress { phase: Phase::Queued, ..Default::default() };
        assert_eq!(report_status(&state, Some(&queued), now), "queued (waiting for its turn)");
        assert_eq!(report_status(&state, None, now), "not polled yet");
    }

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(super::escape("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
    }
}
