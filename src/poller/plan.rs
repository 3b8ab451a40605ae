//! Which reports a tenant polls, with which credential, and which it cannot: decided once at start
//! from the configuration, so a missing credential is one warning, not a failure every interval.

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
    (planned, skipped)
}
