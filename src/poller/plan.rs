//! Which reports a tenant polls, with which credential, and which it cannot: decided once at start
//! from the configuration, so a missing credential is one warning, not a failure every interval.

use crate::catalog::REPORTS;
use crate::config::{Cloud, ReportSettings, TenantSettings};
use crate::reports::{CredentialKind, ReportKind};

#[derive(Debug, Clone)]
pub(crate) struct PlannedReport {
    pub(crate) kind: ReportKind,
    pub(crate) settings: ReportSettings,
    /// Credential kinds to use, in order: the first is tried, the next after a 403.
    pub(crate) credentials: Vec<CredentialKind>,
    /// Set when the report is not polled because this cloud does not offer it.
    pub(crate) unavailable: Option<String>,
}

/// The reports of a tenant. Reports whose credential kinds are all missing are left out and
/// reported in `skipped` with the reason, for one warning at startup.
pub(crate) fn plan(tenant: &TenantSettings) -> (Vec<PlannedReport>, Vec<(ReportKind, String)>) {
    let mut planned = Vec::new();
    let mut skipped = Vec::new();
    for (&kind, settings) in &tenant.reports {
        let spec = kind.spec();
        let credentials: Vec<CredentialKind> = spec
            .credentials
            .iter()
            .copied()
            .filter(|k| match k {
                CredentialKind::App => tenant.has_app_credential(),
                CredentialKind::Delegated => tenant.delegated.is_some(),
            })
            .collect();
        let unavailable = (spec.global_only && tenant.cloud != Cloud::Global)
            .then(|| format!("not offered in the {} cloud", tenant.cloud.as_str()));
        if credentials.is_empty() && unavailable.is_none() {
            let needs = if spec.credentials == [CredentialKind::Delegated] {
                "a signed-in user's token: set refresh_token_file and run `entra-authmethods-exporter login`"
            } else {
                "a credential"
            };
            skipped.push((kind, format!("needs {needs}")));
            continue;
        }
        planned.push(PlannedReport { kind, settings: settings.clone(), credentials, unavailable });
    }
    // Group memberships are read by the registration poll, with its interval and credentials.
    if tenant.reads_groups()
        && let Some(details) = planned.iter().find(|r| r.kind == ReportKind::RegistrationDetails)
    {
        planned.push(PlannedReport { kind: ReportKind::GroupMembers, ..details.clone() });
    }
    (planned, skipped)
}

/// The permission a whole report depends on that the setup lists as optional: without it the
/// report is exported as unavailable, which the configuration cannot tell in advance.
const OPTIONAL_PERMISSION: &str = "Reports.Read.All";

/// For `--check-config`: one line per report of the catalog, in catalog order, saying whether this
/// tenant polls it (how often, with which credential, needing which permission) or skips it and why.
/// Only what the configuration decides: a retired report or a missing permission shows at the first poll.
pub(crate) fn check_lines(tenant: &TenantSettings) -> Vec<String> {
    let (planned, skipped) = plan(tenant);
    REPORTS
        .iter()
        .map(|spec| {
            let name = spec.name;
            if let Some(r) = planned.iter().find(|r| r.kind == spec.kind) {
                return match &r.unavailable {
                    Some(why) => format!("skip {name}: {why}"),
                    None => format!(
                        "poll {name}: every {}, {}, needs {}{}",
                        humantime::format_duration(r.settings.interval),
                        credential_words(&r.credentials),
                        spec.permission,
                        if spec.permission == OPTIONAL_PERMISSION {
                            " (optional: without it the report is exported as unavailable)"
                        } else {
                            ""
                        }
                    ),
                };
            }
            if let Some((_, why)) = skipped.iter().find(|(k, _)| *k == spec.kind) {
                return format!("skip {name}: it {why}");
            }
            let off = if spec.default_enabled { "disabled in the configuration" } else { "off by default" };
            format!("skip {name}: {off} (enable with [tenant.reports.{name}] enabled = true)")
        })
        .chain(planned.iter().filter(|r| r.kind == ReportKind::GroupMembers && r.unavailable.is_none()).map(|r| {
            format!(
                "poll group_members: before each registration_details sweep, {} group(s) and {} exclusion group(s), {}, needs {}",
                tenant.groups.len(),
                tenant.exclude_groups.len(),
                credential_words(&r.credentials),
                r.kind.spec().permission
            )
        }))
        .collect()
}

fn credential_words(kinds: &[CredentialKind]) -> &'static str {
    match kinds {
        [CredentialKind::App] => "application credential",
        [CredentialKind::App, CredentialKind::Delegated] => {
            "application credential (the signed-in user's token after a 403)"
        }
        _ => "signed-in user's token",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_read_with_the_registration_poll_and_listed_after_the_catalog() {
        let toml = "[[tenant]]\nname = \"c\"\ntenant_id = \"00000000-0000-0000-0000-000000000001\"\nclient_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\nclient_secret = \"s\"\nexclude_groups = [\"00000000-0000-0000-0000-0000000000e1\"]\n\n[[tenant.group]]\nname = \"pilot\"\nid = \"00000000-0000-0000-0000-0000000000a1\"\n";
        let settings = crate::config::from_toml_str(toml).unwrap();
        let (planned, _) = plan(&settings.tenants[0]);
        let details = planned.iter().find(|r| r.kind == ReportKind::RegistrationDetails).unwrap();
        let groups = planned.iter().find(|r| r.kind == ReportKind::GroupMembers).unwrap();
        assert_eq!((groups.settings.interval, &groups.credentials), (details.settings.interval, &details.credentials));
        let lines = check_lines(&settings.tenants[0]);
        assert_eq!(lines.len(), REPORTS.len() + 1);
        assert_eq!(
            lines.last().unwrap(),
            "poll group_members: before each registration_details sweep, 1 group(s) and 1 exclusion group(s), application credential, needs GroupMember.Read.All"
        );
    }

    #[test]
    fn with_a_refresh_token_the_delegated_reports_are_polled_and_the_fallback_named() {
        let toml = "[[tenant]]\nname = \"c\"\ntenant_id = \"00000000-0000-0000-0000-000000000001\"\nclient_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\nclient_secret = \"s\"\nrefresh_token_file = \"/nonexistent/token\"\n";
        let settings = crate::config::from_toml_str(toml).unwrap();
        let lines = check_lines(&settings.tenants[0]);
        assert_eq!(lines.len(), REPORTS.len());
        assert!(
            lines.contains(
                &"poll registration_activity: every 1h, signed-in user's token, needs AuditLog.Read.All".to_string()
            ),
            "{lines:#?}"
        );
        assert!(
            lines[0].starts_with(
                "poll registration_details: every 30m, application credential (the signed-in user's token after a 403)"
            ),
            "{lines:#?}"
        );
    }
}
