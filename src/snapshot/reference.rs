//! The exposition rendered through the `prometheus` crate's data model (a `MetricFamily` per family,
//! a `Metric` with sorted label pairs per series) and its `TextEncoder`: the reference the direct
//! writer of [`super::render`] is tested against, and the other side of its benchmark. Never served:
//! per series it allocates a metric and its labels, which is what the direct writer exists to avoid
//! (BENCHMARKS.md has both costs).

use std::collections::{HashMap, HashSet};

use prometheus::proto::{self, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};

use super::BuildInfo;
use super::families::FAMILIES;
use super::render::{Sink, render_into};
use super::state::{ReloadStatus, TenantStatus};

/// The same state as [`super::render`] renders, encoded by `TextEncoder`.
#[doc(hidden)]
pub fn render_with_text_encoder(build: &BuildInfo, reload: &ReloadStatus, tenants: &[TenantStatus]) -> Vec<u8> {
    let mut protos = Protos::new();
    render_into(&mut protos, build, reload, tenants, std::time::SystemTime::now());
    let mut families: Vec<MetricFamily> = protos.families.into_iter().filter(|f| !f.get_metric().is_empty()).collect();
    families.sort_by(|a, b| a.name().cmp(b.name()));
    let mut text = Vec::new();
    TextEncoder::new().encode(&families, &mut text).expect("every family has a name and a metric");
    text
}

struct Protos {
    index: HashMap<&'static str, usize>,
    families: Vec<MetricFamily>,
    seen: Vec<HashSet<Vec<String>>>,
}

impl Protos {
    fn new() -> Self {
        let families = FAMILIES
            .iter()
            .map(|f| {
                let mut family = MetricFamily::default();
                family.set_name(f.name.to_string());
                family.set_help(f.help.to_string());
                family.set_field_type(if f.counter { MetricType::COUNTER } else { MetricType::GAUGE });
                family
            })
            .collect();
        Protos {
            index: FAMILIES.iter().enumerate().map(|(i, f)| (f.name, i)).collect(),
            families,
            seen: vec![HashSet::new(); FAMILIES.len()],
        }
    }

    /// A new series with its label pairs sorted by name, as the crate's own metric vectors make them;
    /// `None` for a series already received.
    fn metric(&mut self, family: &str, labels: &[&str]) -> Option<(&mut MetricFamily, Metric)> {
        let i = self.index[family];
        if !self.seen[i].insert(labels.iter().map(|l| l.to_string()).collect()) {
            return None;
        }
        let mut pairs: Vec<LabelPair> = FAMILIES[i]
            .labels
            .iter()
            .zip(labels)
            .map(|(name, value)| {
                let mut pair = LabelPair::default();
                pair.set_name(name.to_string());
                pair.set_value(value.to_string());
                pair
            })
            .collect();
        pairs.sort_by(|a, b| a.name().cmp(b.name()));
        let mut metric = Metric::default();
        metric.set_label(pairs);
        Some((&mut self.families[i], metric))
    }
}

impl Sink for Protos {
    fn set(&mut self, family: &str, labels: &[&str], value: f64) {
        let Some((family, mut metric)) = self.metric(family, labels) else { return };
        if family.get_field_type() == MetricType::COUNTER {
            let mut counter = proto::Counter::default();
            counter.set_value(value);
            metric.set_counter(counter);
        } else {
            let mut gauge = proto::Gauge::default();
            gauge.set_value(value);
            metric.set_gauge(gauge);
        }
        family.mut_metric().push(metric);
    }

    fn add(&mut self, family: &str, labels: &[&str], value: u64) {
        self.set(family, labels, value as f64);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::aggregation::activity::{ActivityRow, DailyCounts, SignInRow};
    use crate::aggregation::events::EventSummary;
    use crate::graph::FailureReason;
    use crate::reports::ReportKind;
    use crate::snapshot::render::render;
    use crate::snapshot::render::tests::{loaded, tenant_with};
    use crate::snapshot::telemetry::CertificateValidity;
    use crate::snapshot::{LastError, ReportData, ReportSnapshot};

    const AWKWARD: &str = "back\\slash \"quoted\"\nnew line";

    fn with_report(t: &mut TenantStatus, kind: ReportKind, data: ReportData) {
        let mut state = t.reports[&ReportKind::RegistrationDetails].clone();
        state.data = Some(Arc::new(ReportSnapshot { data, completed_at: SystemTime::now() }));
        t.reports.insert(kind, state);
    }

    /// Tenants with every kind of series: label values from Graph with a backslash, a quote and a
    /// newline, methods this exporter does not know, NaN and infinite values, a failed poll, a
    /// certificate, and a repeated key (rendered once, the first value).
    fn representative(tenants: usize) -> Vec<TenantStatus> {
        (0..tenants)
            .map(|i| {
                let methods = BTreeMap::from([
                    ("email".to_string(), i as u64),
                    ("someFutureMethod".to_string(), 1),
                    (AWKWARD.to_string(), 2),
                    ("unknownFutureValue".to_string(), 3),
                ]);
                let mut t = tenant_with(methods);
                t.info.name = if i == 0 { AWKWARD.to_string() } else { format!("tenant-{i}") };
                t.certificate_validity = Some(CertificateValidity { not_before: 1_800_000_000, not_after: -1 });
                t.requests.insert(("$batch".to_string(), "429".to_string()), u64::MAX);
                let registration = t.reports.get_mut(&ReportKind::RegistrationDetails).unwrap();
                registration.health.last_error = Some(LastError {
                    reason: FailureReason::Throttled,
                    graph_code: Some("TooManyRequests".into()),
                    message: "slow down".into(),
                    hint: "",
                    at: SystemTime::now(),
                });
                if let Some(snapshot) = registration.data.as_mut()
                    && let ReportData::Registration(summary) = &mut Arc::make_mut(snapshot).data
                {
                    summary.refresh_timestamp = Some(f64::NAN);
                }
                let row = |method: &str, success| ActivityRow {
                    period: "d1",
                    feature: "mfa".into(),
                    method: method.into(),
                    success,
                    failure: -1,
                };
                let rows = vec![row(AWKWARD, 5), row("sms", 7), row(AWKWARD, 9)];
                with_report(&mut t, ReportKind::RegistrationActivity, ReportData::RegistrationActivity(rows));
                let sign_ins = vec![SignInRow { period: "d7", method: AWKWARD.into(), success: 1 << 40 }];
                with_report(&mut t, ReportKind::SignInsByMethod, ReportData::SignInsByMethod(sign_ins));
                let events = EventSummary {
                    events: BTreeMap::from([(("sspr".into(), AWKWARD.into(), "failure"), 3)]),
                    failures: BTreeMap::from([(("sspr".into(), AWKWARD.into()), 3)]),
                };
                with_report(&mut t, ReportKind::UserEventsSummary, ReportData::UserEvents(events));
                let day = DailyCounts { day: f64::INFINITY, counts: vec![("mfa", 12)] };
                with_report(&mut t, ReportKind::MfaSignInSummary, ReportData::MfaSignIns(Some(day)));
                let day = DailyCounts { day: f64::NEG_INFINITY, counts: vec![("reset", 0)] };
                with_report(&mut t, ReportKind::PasswordResetsAndChanges, ReportData::PasswordResets(Some(day)));
                let by_status = vec![("registered".to_string(), 4), (AWKWARD.to_string(), 1)];
                with_report(
                    &mut t,
                    ReportKind::CredentialUserRegistrationCount,
                    ReportData::CredentialRegistrationCount { total: 1 << 53, by_status },
                );
                t
            })
            .collect()
    }

    /// The direct writer and the `prometheus` crate write the same exposition, byte for byte, but for
    /// two spellings of a value. Infinities: the direct writer uses Go's `+Inf` and `-Inf`, as
    /// client_golang and Prometheus itself write them, `TextEncoder` Rust's `inf` and `-inf`
    /// (Prometheus parses both); NaN is `NaN` in both. Counters above 2^53: the direct writer writes
    /// the `u64` exactly, the crate's data model holds an `f64` and writes it rounded (no counter of
    /// this exporter comes near that).
    #[test]
    fn the_direct_writer_matches_the_prometheus_text_encoder() {
        let build = BuildInfo { version: "1.2.3", revision: "a\"b" };
        let mut reload = loaded();
        reload.last_success = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let tenants = representative(200);
        let direct = String::from_utf8(render(&build, &reload, &tenants)).unwrap();
        let reference = String::from_utf8(render_with_text_encoder(&build, &reload, &tenants)).unwrap();
        let (direct_lines, reference_lines): (Vec<&str>, Vec<&str>) =
            (direct.lines().collect(), reference.lines().collect());
        assert_eq!(direct_lines.len(), reference_lines.len());
        let mut respelled = 0;
        for (d, r) in direct_lines.iter().zip(&reference_lines) {
            if d == r {
                continue;
            }
            let ((d_series, d_value), (r_series, r_value)) = (d.rsplit_once(' ').unwrap(), r.rsplit_once(' ').unwrap());
            assert_eq!(d_series, r_series, "only values may be spelled differently");
            let documented = match (d_value, r_value) {
                ("+Inf", "inf") | ("-Inf", "-inf") => true,
                (exact, rounded) => {
                    exact.parse::<u64>().is_ok_and(|n| n > 1 << 53 && (n as f64).to_string() == rounded)
                }
            };
            assert!(documented, "{d}\n{r}");
            respelled += 1;
        }
        // Per tenant: the two infinities and the huge counter.
        assert_eq!(respelled, 3 * tenants.len());
        // What the comparison covered.
        for sample in [
            r#"entra_authmethods_users_registered_by_method{method="back\\slash \"quoted\"\nnew line",tenant="back\\slash \"quoted\"\nnew line",user_role="all",user_type="all"} 2"#,
            r#"entra_authmethods_users_registered_by_method{method="someFutureMethod",tenant="tenant-199",user_role="all",user_type="all"} 1"#,
            r#"entra_authmethods_report_refresh_timestamp_seconds{tenant="tenant-1"} NaN"#,
            r#"entra_authmethods_mfa_sign_ins_day_timestamp_seconds{tenant="tenant-1"} +Inf"#,
            r#"entra_authmethods_password_resets_and_changes_day_timestamp_seconds{tenant="tenant-1"} -Inf"#,
            r#"entra_authmethods_graph_requests_total{code="429",endpoint="$batch",tenant="tenant-1"} 18446744073709551615"#,
            r#"entra_authmethods_registration_activities{feature="mfa",method="back\\slash \"quoted\"\nnew line",outcome="success",period="d1",tenant="tenant-1"} 5"#,
            "entra_authmethods_config_last_reload_success_timestamp_seconds 1700000000.123",
            r#"entra_authmethods_build_info{revision="a\"b",version="1.2.3"} 1"#,
        ] {
            assert!(direct_lines.contains(&sample), "{sample}");
        }
    }
}
