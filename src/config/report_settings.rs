//! The `[tenant.reports.NAME]` tables: which reports are enabled and with what interval, lookback,
//! failure-reason cap and staleness, checked against the report catalog.

use std::collections::BTreeMap;
use std::time::Duration;

use super::raw::RawReport;
use super::{DEFAULT_LOOKBACK, DEFAULT_MAX_FAILURE_REASONS, MAX_POLL_INTERVAL, MIN_POLL_INTERVAL};
use super::{RegistrationSource, ReportSettings};
use crate::catalog::{CredentialKind, REPORTS, ReportKind};

pub(super) fn validate_reports(
    mut raw: BTreeMap<String, RawReport>,
    poll_interval: Duration,
    source: RegistrationSource,
    has_credential: &dyn Fn(CredentialKind) -> bool,
) -> Result<BTreeMap<ReportKind, ReportSettings>, (Vec<String>, String)> {
    // Unknown report names are rejected by the schema check; kept for settings built otherwise.
    if let Some(unknown) = raw.keys().find(|k| ReportKind::from_name(k).is_none()) {
        let names: Vec<&str> = REPORTS.iter().map(|r| r.name).collect();
        return Err((
            vec![format!("reports.{unknown}")],
            format!("reports.{unknown} is not a report; known reports: {}", names.join(", ")),
        ));
    }
    let mut out = BTreeMap::new();
    for spec in &REPORTS {
        let r = raw.remove(spec.name).unwrap_or_default();
        let key = |k: &str| format!("reports.{}.{k}", spec.name);
        let default_on = spec.default_enabled
            || (spec.kind == ReportKind::RegistrationSummary && source == RegistrationSource::Summary);
        let enabled = r.enabled.unwrap_or(default_on);
        if spec.kind == ReportKind::RegistrationSummary && source == RegistrationSource::Summary && !enabled {
            return Err((
                vec![key("enabled"), "registration_source".into()],
                format!("{} = false, but registration_source = \"summary\" needs it", key("enabled")),
            ));
        }
        if !enabled {
            continue;
        }
        let explicit = r.enabled == Some(true)
            || (spec.kind == ReportKind::RegistrationSummary && source == RegistrationSource::Summary);
        if explicit && !spec.credentials.iter().any(|&k| has_credential(k)) {
            let kinds: Vec<&str> = spec.credentials.iter().map(|k| k.as_str()).collect();
            return Err((
                vec![key("enabled")],
                format!(
                    "report {} needs a {} credential: {}",
                    spec.name,
                    kinds.join(" or "),
                    if spec.credentials == [CredentialKind::Delegated] {
                        "set refresh_token_file and run `entra-authmethods-exporter login`"
                    } else {
                        "set client_secret_file"
                    }
                ),
            ));
        }
        let interval = r.interval.or(spec.default_interval).unwrap_or(poll_interval);
        if interval < MIN_POLL_INTERVAL || interval > MAX_POLL_INTERVAL {
            return Err((
                vec![key("interval")],
                format!(
                    "{} = {:?} is outside 1m to 30days",
                    key("interval"),
                    humantime::format_duration(interval).to_string()
                ),
            ));
        }
        let lookback = r.lookback.unwrap_or(DEFAULT_LOOKBACK);
        if lookback < Duration::from_secs(3600) || lookback > Duration::from_secs(30 * 24 * 3600) {
            return Err((vec![key("lookback")], format!("{} must be between 1h and 30d", key("lookback"))));
        }
        let max_failure_reasons = r.max_failure_reasons.unwrap_or(DEFAULT_MAX_FAILURE_REASONS);
        if !(1..=100).contains(&max_failure_reasons) {
            return Err((
                vec![key("max_failure_reasons")],
                format!("{} = {max_failure_reasons} is out of range 1..=100", key("max_failure_reasons")),
            ));
        }
        let max_staleness = r.max_staleness.unwrap_or(interval.saturating_mul(3));
        if max_staleness < interval {
            return Err((
                vec![key("max_staleness"), key("interval")],
                format!(
                    "{} = {:?} is shorter than the report's interval {:?}: the data would vanish between two good polls",
                    key("max_staleness"),
                    humantime::format_duration(max_staleness).to_string(),
                    humantime::format_duration(interval).to_string()
                ),
            ));
        }
        out.insert(spec.kind, ReportSettings { interval, lookback, max_failure_reasons, max_staleness, explicit });
    }
    Ok(out)
}
