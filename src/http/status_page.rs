//! The `/` page: what an operator wants to see first when an alert fires. Every value from Graph or
//! the config is HTML-escaped; no secret is ever part of the state it renders.

use std::fmt::Write;
use std::time::SystemTime;

use crate::aggregation::registration::FEATURES;
use crate::config::{UserRole, UserType};
use crate::snapshot::{ReloadStatus, ReportData, TenantStatus};

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
        html.push_str("<table><tr><th>Report</th><th>Status</th><th>Last success</th><th>Last error</th><th>What to do</th></tr>\n");
        for (kind, state) in &t.reports {
            let h = &state.health;
            let unavailable = state.data.as_ref().and_then(|d| match &d.data {
                ReportData::Unavailable(why) => Some(why.clone()),
                _ => None,
            });
            let status = match h.last_attempt_ok {
                _ if unavailable.is_some() => {
                    format!("unavailable: {}", escape(unavailable.as_deref().unwrap_or_default()))
                }
                _ if state.is_stale(SystemTime::now()) => {
                    "<span class=\"fail\">stale: data not exported</span>".to_string()
                }
                Some(true) => "<span class=\"ok\">ok</span>".to_string(),
                Some(false) => "<span class=\"fail\">failing</span>".to_string(),
                None => "first poll running".to_string(),
            };
            let (err, hint) = match &h.last_error {
                Some(e) => (format!("{} at {}: {}", e.reason, format_time(e.at), e.message), e.hint.to_string()),
                None => (String::new(), String::new()),
            };
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{status}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                kind.as_str(),
                h.last_success.map(format_time).unwrap_or_else(|| "never".into()),
                escape(&err),
                escape(&hint)
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
        }
    }
    html.push_str("</body></html>\n");
    html
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
    fn escape_neutralises_markup() {
        assert_eq!(super::escape("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
    }
}
