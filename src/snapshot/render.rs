//! Renders the store into the Prometheus text format (0.0.4). Runs once per state change, never per
//! scrape. Each render builds a fresh registry so that series that vanished from Graph vanish here.

use std::time::SystemTime;

use prometheus::{Encoder, GaugeVec, IntCounterVec, Opts, Registry, TextEncoder};

use super::BuildInfo;
use super::state::{ReportData, TenantStatus};
use crate::aggregation::RegistrationSummary;
use crate::aggregation::registration::{FEATURES, METHOD_COUNT_BUCKETS};
use crate::graph::FailureReason;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const CACHED: &str = "Cached from the last successful background poll of Microsoft Graph";
const BREAKDOWN: [&str; 3] = ["tenant", "user_type", "user_role"];

pub fn render(build: &BuildInfo, tenants: &[TenantStatus]) -> Vec<u8> {
    let r = Families::new();
    r.build_info.with_label_values(&[build.version, build.revision]).set(1.0);
    for t in tenants {
        let tenant = t.info.name.as_str();
        r.tenant_info.with_label_values(&[tenant, &t.info.tenant_id, t.info.cloud]).set(1.0);
        for ((endpoint, code), n) in &t.requests {
            r.graph_requests.with_label_values(&[tenant, endpoint, code]).inc_by(*n);
        }
        r.token_requests.with_label_values(&[tenant, "success"]).inc_by(t.tokens.0);
        r.token_requests.with_label_values(&[tenant, "failure"]).inc_by(t.tokens.1);

        for (kind, state) in &t.reports {
            let labels = [tenant, kind.as_str()];
            let h = &state.health;
            r.poll_interval.with_label_values(&labels).set(state.poll_interval.as_secs_f64());
            r.polls_total.with_label_values(&labels).inc_by(h.polls_total);
            for reason in FailureReason::ALL {
                let n = h.failures.get(&reason).copied().unwrap_or(0);
                r.poll_failures.with_label_values(&[tenant, kind.as_str(), reason.as_str()]).inc_by(n);
            }
            if let Some(ok) = h.last_attempt_ok {
                r.poll_success.with_label_values(&labels).set(if ok { 1.0 } else { 0.0 });
            }
            if let Some(d) = h.last_duration {
                r.poll_duration.with_label_values(&labels).set(d.as_secs_f64());
            }
            if let Some(ts) = h.last_success {
                r.last_success.with_label_values(&labels).set(unix_seconds(ts));
            }
            if let Some(snapshot) = &state.data {
                match &snapshot.data {
                    ReportData::Registration(summary) => r.registration(tenant, summary),
                }
            }
        }
    }
    let mut buf = Vec::with_capacity(64 * 1024);
    // Encoding into a Vec cannot fail for valid metric names, which are all constants here.
    if let Err(e) = TextEncoder::new().encode(&r.registry.gather(), &mut buf) {
        tracing::error!(error = %e, "rendering the exposition failed");
    }
    buf
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

struct Families {
    registry: Registry,
    build_info: GaugeVec,
    tenant_info: GaugeVec,
    poll_success: GaugeVec,
    last_success: GaugeVec,
    poll_duration: GaugeVec,
    poll_interval: GaugeVec,
    polls_total: IntCounterVec,
    poll_failures: IntCounterVec,
    graph_requests: IntCounterVec,
    token_requests: IntCounterVec,
    users: GaugeVec,
    by_feature: GaugeVec,
    by_method: GaugeVec,
    by_default_method: GaugeVec,
    by_method_count: GaugeVec,
    refresh: GaugeVec,
}

impl Families {
    fn new() -> Self {
        let registry = Registry::new();
        let gauge = |name: &str, help: String, labels: &[&str]| {
            let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition");
            registry.register(Box::new(g.clone())).expect("unique metric name");
            g
        };
        let counter = |name: &str, help: String, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
            registry.register(Box::new(c.clone())).expect("unique metric name");
            c
        };
        let with_label = |extra: &'static str| -> Vec<&'static str> {
            let mut v = BREAKDOWN.to_vec();
            v.push(extra);
            v
        };
        Families {
            build_info: gauge(
                "entra_authmethods_build_info",
                "Always 1; labels carry the exporter's version and source revision.".into(),
                &["version", "revision"],
            ),
            tenant_info: gauge(
                "entra_authmethods_tenant_info",
                "Always 1; maps the tenant label to its Entra tenant ID and cloud.".into(),
                &["tenant", "tenant_id", "cloud"],
            ),
            poll_success: gauge(
                "entra_authmethods_poll_success",
                "1 if the most recent background poll of the report succeeded, 0 if it failed.".into(),
                &["tenant", "report"],
            ),
            last_success: gauge(
                "entra_authmethods_last_success_timestamp_seconds",
                "Unix time at which the last successful poll of the report completed.".into(),
                &["tenant", "report"],
            ),
            poll_duration: gauge(
                "entra_authmethods_poll_duration_seconds",
                "Wall time of the most recent poll of the report, successful or not.".into(),
                &["tenant", "report"],
            ),
            poll_interval: gauge(
                "entra_authmethods_poll_interval_seconds",
                "Configured interval between polls of the report.".into(),
                &["tenant", "report"],
            ),
            polls_total: counter(
                "entra_authmethods_polls_total",
                "Polls of the report completed since the exporter started.".into(),
                &["tenant", "report"],
            ),
            poll_failures: counter(
                "entra_authmethods_poll_failures_total",
                "Failed polls of the report since the exporter started, by failure reason.".into(),
                &["tenant", "report", "reason"],
            ),
            graph_requests: counter(
                "entra_authmethods_graph_requests_total",
                "HTTP requests sent to Microsoft Graph by endpoint and status code (network or timeout when none); updated when a poll completes.".into(),
                &["tenant", "endpoint", "code"],
            ),
            token_requests: counter(
                "entra_authmethods_token_requests_total",
                "Access-token requests to the Microsoft identity platform by outcome.".into(),
                &["tenant", "outcome"],
            ),
            users: gauge(
                "entra_authmethods_users",
                format!("Users in scope (listed by userRegistrationDetails: enabled users) by user type and role. {CACHED}."),
                &BREAKDOWN,
            ),
            by_feature: gauge(
                "entra_authmethods_users_registered_by_feature",
                format!("Users registered for or capable of a feature (mfaCapable, ssprRegistered, passwordlessCapable, phishingResistantCapable, ...). {CACHED}."),
                &with_label("feature"),
            ),
            by_method: gauge(
                "entra_authmethods_users_registered_by_method",
                format!("Users who registered an authentication method, by Graph's method name. {CACHED}."),
                &with_label("method"),
            ),
            by_default_method: gauge(
                "entra_authmethods_users_by_default_method",
                format!("Users by their preferred method for secondary authentication (unset when Graph has none). {CACHED}."),
                &with_label("method"),
            ),
            by_method_count: gauge(
                "entra_authmethods_users_by_methods_registered",
                format!("Users by number of distinct registered methods (0, 1, 2, 3, 4+). {CACHED}."),
                &with_label("methods"),
            ),
            refresh: gauge(
                "entra_authmethods_report_refresh_timestamp_seconds",
                format!("Newest lastUpdatedDateTime in userRegistrationDetails: when Microsoft last refreshed the report data. {CACHED}."),
                &["tenant"],
            ),
            registry,
        }
    }

    fn registration(&self, tenant: &str, summary: &RegistrationSummary) {
        if let Some(ts) = summary.refresh_timestamp {
            self.refresh.with_label_values(&[tenant]).set(ts);
        }
        for b in &summary.breakdowns {
            let (ut, ur) = (b.breakdown.user_type.as_str(), b.breakdown.user_role.as_str());
            self.users.with_label_values(&[tenant, ut, ur]).set(b.users as f64);
            for (feature, n) in FEATURES.iter().zip(b.features) {
                self.by_feature.with_label_values(&[tenant, ut, ur, feature]).set(n as f64);
            }
            for (method, n) in &b.methods {
                self.by_method.with_label_values(&[tenant, ut, ur, method]).set(*n as f64);
            }
            for (method, n) in &b.default_methods {
                self.by_default_method.with_label_values(&[tenant, ut, ur, method]).set(*n as f64);
            }
            for (bucket, n) in METHOD_COUNT_BUCKETS.iter().zip(b.method_counts) {
                self.by_method_count.with_label_values(&[tenant, ut, ur, bucket]).set(n as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::aggregation::registration::BreakdownSummary;
    use crate::config::{Breakdown, UserRole, UserType};
    use crate::reports::ReportKind;
    use crate::snapshot::{PollHealth, ReportSnapshot, ReportState, TenantInfo};

    fn tenant_with(methods: BTreeMap<String, u64>) -> TenantStatus {
        let summary = RegistrationSummary {
            breakdowns: vec![BreakdownSummary {
                breakdown: Breakdown { user_type: UserType::All, user_role: UserRole::All },
                users: 3,
                features: [3, 3, 2, 1, 1, 0, 2, 1],
                methods,
                default_methods: BTreeMap::from([("unset".to_string(), 3)]),
                method_counts: [0, 1, 1, 1, 0],
            }],
            refresh_timestamp: Some(1_700_000_000.5),
            rows: 3,
            unparsable_timestamps: 0,
        };
        let state = ReportState {
            data: Some(Arc::new(ReportSnapshot {
                data: ReportData::Registration(summary),
                completed_at: SystemTime::now(),
            })),
            health: PollHealth {
                last_attempt_ok: Some(true),
                last_success: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_100)),
                last_duration: Some(Duration::from_millis(1500)),
                polls_total: 1,
                ..Default::default()
            },
            poll_interval: Duration::from_secs(1800),
        };
        TenantStatus {
            info: TenantInfo { name: "contoso".into(), tenant_id: "t-id".into(), cloud: "global" },
            reports: BTreeMap::from([(ReportKind::RegistrationDetails, state)]),
            requests: BTreeMap::from([(("userRegistrationDetails".to_string(), "200".to_string()), 4)]),
            tokens: (1, 0),
        }
    }

    #[test]
    fn renders_every_family_with_help_and_type() {
        let methods = BTreeMap::from([("fido2SecurityKey".to_string(), 1), ("email".to_string(), 2)]);
        let text = String::from_utf8(render(&BuildInfo { version: "1.2.3", revision: "abc" }, &[tenant_with(methods)]))
            .unwrap();
        for line in [
            "# TYPE entra_authmethods_users gauge",
            "entra_authmethods_users{tenant=\"contoso\",user_role=\"all\",user_type=\"all\"} 3",
            "entra_authmethods_users_registered_by_feature{feature=\"phishingResistantCapable\",tenant=\"contoso\",user_role=\"all\",user_type=\"all\"} 1",
            "entra_authmethods_users_registered_by_method{method=\"email\",tenant=\"contoso\",user_role=\"all\",user_type=\"all\"} 2",
            "entra_authmethods_users_by_methods_registered{methods=\"4+\",tenant=\"contoso\",user_role=\"all\",user_type=\"all\"} 0",
            "entra_authmethods_report_refresh_timestamp_seconds{tenant=\"contoso\"} 1700000000.5",
            "entra_authmethods_build_info{revision=\"abc\",version=\"1.2.3\"} 1",
            "# TYPE entra_authmethods_polls_total counter",
            "entra_authmethods_poll_failures_total{reason=\"throttled\",report=\"registration_details\",tenant=\"contoso\"} 0",
            "entra_authmethods_last_success_timestamp_seconds{report=\"registration_details\",tenant=\"contoso\"} 1700000100",
            "entra_authmethods_graph_requests_total{code=\"200\",endpoint=\"userRegistrationDetails\",tenant=\"contoso\"} 4",
        ] {
            assert!(text.lines().any(|l| l == line), "missing line {line}\n{text}");
        }
        assert!(text.contains("# HELP entra_authmethods_users Users in scope"));
        assert!(text.contains("Cached from the last successful background poll"));
    }

    #[test]
    fn label_values_from_graph_are_escaped() {
        let methods = BTreeMap::from([("we\"ird\\name\nx".to_string(), 1)]);
        let text =
            String::from_utf8(render(&BuildInfo { version: "v", revision: "r" }, &[tenant_with(methods)])).unwrap();
        assert!(text.contains(r#"method="we\"ird\\name\nx""#), "{text}");
    }
}
