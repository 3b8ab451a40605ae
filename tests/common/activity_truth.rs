//! Truth for the activity reports, straight from the simulator's event log and users, with the
//! rules the simulator documents (window `(refreshed_at - days, refreshed_at]`, legacy method names,
//! UTC days) and docs/metrics-guide.md states for the exporter (top-N failure reasons, outcomes).

use std::collections::BTreeMap;

use graph_simulator::{EventKind, Population, legacy_registration_auth_methods, legacy_usage_auth_method};
use time::{Duration, OffsetDateTime};

pub type Series = BTreeMap<Vec<(&'static str, String)>, f64>;

fn feature(kind: EventKind) -> Option<&'static str> {
    match kind {
        EventKind::Registration => Some("registration"),
        EventKind::Reset => Some("reset"),
        _ => None,
    }
}

fn outcome(success: bool) -> &'static str {
    if success { "success" } else { "failure" }
}

fn valid(pop: &Population, user: u32) -> bool {
    (user as usize) < pop.users.len()
}

/// registration_activities (modern method names) or credential_usage_activities (legacy method names).
pub fn activities(tenant: &str, pop: &Population, legacy: bool) -> Series {
    let mut out = Series::new();
    for (days, period) in [(1, "d1"), (7, "d7"), (30, "d30")] {
        let period = period.to_string();
        let lower = pop.refreshed_at - Duration::days(days);
        for e in pop.events.iter().filter(|e| e.at > lower && e.at <= pop.refreshed_at && valid(pop, e.user)) {
            let Some(f) = feature(e.kind) else { continue };
            let method = if legacy { legacy_usage_auth_method(e.kind, e.method) } else { e.method };
            let key = vec![
                ("tenant", tenant.to_string()),
                ("period", period.clone()),
                ("feature", f.to_string()),
                ("method", method.to_string()),
                ("outcome", outcome(e.success).to_string()),
            ];
            *out.entry(key).or_insert(0.0) += 1.0;
        }
    }
    out
}

pub fn sign_ins(tenant: &str, pop: &Population) -> Series {
    let mut out = Series::new();
    for (days, period) in [(1, "d1"), (7, "d7"), (30, "d30")] {
        let lower = pop.refreshed_at - Duration::days(days);
        for e in pop.events.iter().filter(|e| e.at > lower && e.at <= pop.refreshed_at && valid(pop, e.user)) {
            if e.kind == EventKind::SignIn && e.success {
                let key = vec![
                    ("tenant", tenant.to_string()),
                    ("period", period.to_string()),
                    ("method", e.method.to_string()),
                ];
                *out.entry(key).or_insert(0.0) += 1.0;
            }
        }
    }
    out
}

/// Events and failures of the registration/reset listings since `since` (None: all), with
/// `legacy` method names, failure reasons capped to `top` per feature plus `other`.
pub fn event_list(
    tenant: &str,
    pop: &Population,
    since: Option<OffsetDateTime>,
    legacy: bool,
    top: usize,
) -> (Series, Series) {
    let mut events = Series::new();
    let mut reasons: BTreeMap<&'static str, BTreeMap<String, f64>> = BTreeMap::new();
    for e in pop.events.iter().filter(|e| e.at <= pop.refreshed_at && valid(pop, e.user)) {
        let Some(f) = feature(e.kind) else { continue };
        if since.is_some_and(|s| e.at < s) {
            continue;
        }
        let method = if legacy { legacy_usage_auth_method(e.kind, e.method) } else { e.method };
        let key = vec![
            ("tenant", tenant.to_string()),
            ("feature", f.to_string()),
            ("method", method.to_string()),
            ("outcome", outcome(e.success).to_string()),
        ];
        *events.entry(key).or_insert(0.0) += 1.0;
        if !e.success {
            let reason = e.failure_reason.filter(|r| !r.is_empty()).unwrap_or("unspecified").to_string();
            *reasons.entry(f).or_default().entry(reason).or_insert(0.0) += 1.0;
        }
    }
    let mut failures = Series::new();
    for (f, by_reason) in reasons {
        let mut sorted: Vec<(String, f64)> = by_reason.into_iter().collect();
        sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let other: f64 = sorted.iter().skip(top).map(|(_, n)| n).sum();
        for (reason, n) in sorted.into_iter().take(top) {
            failures.insert(vec![("tenant", tenant.to_string()), ("feature", f.to_string()), ("reason", reason)], n);
        }
        if other > 0.0 {
            failures.insert(
                vec![("tenant", tenant.to_string()), ("feature", f.to_string()), ("reason", "other".into())],
                other,
            );
        }
    }
    (events, failures)
}

/// Newest UTC day (the day of refreshed_at): successful sign-ins by factor, successful resets/changes.
pub fn newest_day(tenant: &str, pop: &Population) -> (Series, Series, f64) {
    let day = pop.refreshed_at.to_offset(time::UtcOffset::UTC).date();
    let start = day.midnight().assume_utc();
    let (mut total, mut multi, mut admin, mut sspr, mut change) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for e in pop.events.iter().filter(|e| e.at >= start && e.at <= pop.refreshed_at && valid(pop, e.user) && e.success)
    {
        match e.kind {
            EventKind::SignIn => {
                total += 1.0;
                if e.multi_factor {
                    multi += 1.0;
                }
            }
            EventKind::AdminPasswordReset => admin += 1.0,
            EventKind::Reset => sspr += 1.0,
            EventKind::PasswordChange => change += 1.0,
            EventKind::Registration => {}
        }
    }
    let k = |kind: &str| vec![("tenant", tenant.to_string()), ("kind", kind.to_string())];
    let mfa = Series::from([(k("total"), total), (k("multi_factor"), multi), (k("single_factor"), total - multi)]);
    let resets =
        Series::from([(k("admin_reset"), admin), (k("self_service_reset"), sspr), (k("self_service_change"), change)]);
    (mfa, resets, start.unix_timestamp() as f64)
}

/// getCredentialUserRegistrationCount and credentialUserRegistrationDetails over enabled users.
pub fn legacy_registration(tenant: &str, pop: &Population) -> (f64, Series, Series) {
    let mut users = 0.0;
    let mut status = Series::new();
    let mut methods = Series::new();
    for u in pop.users.iter().filter(|u| u.enabled) {
        users += 1.0;
        for (name, on) in [
            ("registered", u.is_sspr_registered),
            ("enabled", u.is_sspr_enabled),
            ("capable", u.is_sspr_capable || u.is_mfa_capable),
            ("mfaRegistered", u.is_mfa_registered),
        ] {
            *status.entry(vec![("tenant", tenant.to_string()), ("status", name.to_string())]).or_insert(0.0) +=
                f64::from(u8::from(on));
        }
        let mut legacy = legacy_registration_auth_methods(&u.methods_registered);
        legacy.sort_unstable();
        legacy.dedup();
        for m in legacy {
            *methods.entry(vec![("tenant", tenant.to_string()), ("method", m.to_string())]).or_insert(0.0) += 1.0;
        }
    }
    (users, status, methods)
}
