//! Renders the store into the Prometheus text format (0.0.4). Runs once per state change, never per
//! scrape. Each render builds a fresh registry so that series that vanished from Graph vanish here.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::time::SystemTime;

use super::BuildInfo;
use super::families::*;
use super::progress::Phase;
use super::state::{ReloadStatus, ReportData, TenantStatus};
use crate::aggregation::RegistrationSummary;
use crate::aggregation::activity::{ActivityRow, DailyCounts, NativeBreakdown};
use crate::aggregation::events::EventSummary;
use crate::aggregation::legacy::STATUSES;
use crate::aggregation::registration::{FEATURES, METHOD_COUNT_BUCKETS, STRENGTHS};
use crate::health::FailureReason;

/// The `graph_code` label: Graph's and Entra's codes are short identifiers (`Authentication_…`,
/// `invalid_client`); anything else, which only a misbehaving endpoint sends, becomes `other`, so a
/// remote answer can neither put arbitrary text (an echoed header, say) into a label nor grow its
/// cardinality.
fn label_code(code: Option<&str>) -> &str {
    match code {
        None | Some("") => "none",
        Some(c) if c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') => c,
        Some(_) => "other",
    }
}

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn render(build: &BuildInfo, reload: &ReloadStatus, tenants: &[TenantStatus]) -> Vec<u8> {
    render_families(build, reload, tenants).encode()
}

/// [`render`] as of `now` (which decides what data is stale): with the times in `reload` and
/// `tenants` fixed too, the exposition depends on nothing else, as the golden test needs.
pub fn render_at(build: &BuildInfo, reload: &ReloadStatus, tenants: &[TenantStatus], now: SystemTime) -> Vec<u8> {
    render_families_at(build, reload, tenants, now).encode()
}

/// The exposition's samples grouped by family, not yet joined: the caller either joins them
/// ([`Families::encode`]) or streams them into a compressor ([`Families::write_to`]) without holding a
/// second, joined copy of the text.
pub(super) fn render_families(build: &BuildInfo, reload: &ReloadStatus, tenants: &[TenantStatus]) -> Families {
    render_families_at(build, reload, tenants, SystemTime::now())
}

fn render_families_at(build: &BuildInfo, reload: &ReloadStatus, tenants: &[TenantStatus], now: SystemTime) -> Families {
    let mut families = Families::new();
    render_into(&mut families, build, reload, tenants, now);
    families
}

/// Walks the store's state into `r` as of `now`: the direct writer, or in the reference test and the
/// benchmark the `prometheus` crate's data model (see [`super::reference`]).
pub(super) fn render_into(
    r: &mut impl Sink,
    build: &BuildInfo,
    reload: &ReloadStatus,
    tenants: &[TenantStatus],
    now: SystemTime,
) {
    render_global(r, build, reload);
    for t in tenants {
        render_tenant(r, t, now);
    }
}

/// The series of no tenant (build, reload): the first part of every family they are in.
pub(super) fn render_global(r: &mut impl Sink, build: &BuildInfo, reload: &ReloadStatus) {
    r.set(BUILD_INFO, &[build.version, build.revision], 1.0);
    r.set(CONFIG_RELOAD_SUCCESSFUL, &[], if reload.successful { 1.0 } else { 0.0 });
    r.set(CONFIG_RELOAD_SUCCESS_TIME, &[], unix_seconds(reload.last_success));
    for (audience, at) in SMS_VOICE_RETIREMENT_DATES {
        r.set(SMS_VOICE_RETIREMENT, &[audience], at as f64);
    }
}

/// One tenant's series as of `now`, every one labelled with the tenant's (unique) name: a tenant's
/// part of each family, which depends on nothing but the tenant (see [`super::parts`]).
pub(super) fn render_tenant(r: &mut impl Sink, t: &TenantStatus, now: SystemTime) {
    {
        let tenant = t.info.name.as_str();
        r.set(TENANT_INFO, &[tenant, &t.info.tenant_id, t.info.cloud], 1.0);
        for ((endpoint, code), n) in &t.requests {
            r.add(GRAPH_REQUESTS, &[tenant, endpoint, code], *n);
        }
        r.add(TOKEN_REQUESTS, &[tenant, "success"], t.tokens.0);
        r.add(TOKEN_REQUESTS, &[tenant, "failure"], t.tokens.1);
        for (label, n) in t.folded {
            r.set(LABEL_VALUES_FOLDED, &[tenant, label.as_str()], n as f64);
        }
        if let Some(validity) = t.certificate_validity {
            r.set(CLIENT_CERTIFICATE_NOT_BEFORE, &[tenant], validity.not_before as f64);
            r.set(CLIENT_CERTIFICATE_EXPIRY, &[tenant], validity.not_after as f64);
        }

        for (kind, state) in &t.reports {
            let labels = [tenant, kind.as_str()];
            let h = &state.health;
            r.set(POLL_INTERVAL, &labels, state.poll_interval.as_secs_f64());
            let progress = t.progress.get(kind);
            let running = progress.is_some_and(|p| p.phase == Phase::Running);
            r.set(POLL_IN_PROGRESS, &labels, if running { 1.0 } else { 0.0 });
            r.add(POLL_PAGES_READ, &labels, progress.map_or(0, |p| p.pages));
            r.add(POLLS, &labels, h.polls_total);
            for reason in FailureReason::ALL {
                let n = h.failures.get(&reason).copied().unwrap_or(0);
                r.add(POLL_FAILURES, &[tenant, kind.as_str(), reason.as_str()], n);
            }
            if let Some(ok) = h.last_attempt_ok {
                r.set(POLL_SUCCESS, &labels, if ok { 1.0 } else { 0.0 });
            }
            if let Some(d) = h.last_duration {
                r.set(POLL_DURATION, &labels, d.as_secs_f64());
                r.set(POLL_OVERRUN, &labels, if d > state.poll_interval { 1.0 } else { 0.0 });
            }
            if let Some(ts) = h.last_success {
                r.set(LAST_SUCCESS, &labels, unix_seconds(ts));
            }
            if let Some(e) = &h.last_error {
                let code = label_code(e.graph_code.as_deref());
                r.set(LAST_ERROR_INFO, &[tenant, kind.as_str(), e.reason.as_str(), code], 1.0);
            }
            let Some(snapshot) = &state.data else { continue };
            if state.is_stale(now) {
                // Past max_staleness the numbers are not served as if current; health series stay.
                continue;
            }
            let available = !matches!(snapshot.data, ReportData::Unavailable(_));
            r.set(REPORT_AVAILABLE, &labels, if available { 1.0 } else { 0.0 });
            r.data(tenant, t.info.summary_source, &snapshot.data);
        }
    }
}

/// Label values escape backslash, double quote and newline (text format 0.0.4).
fn escape_label_value(buf: &mut Vec<u8>, value: &str) {
    for &b in value.as_bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\n' => buf.extend_from_slice(b"\\n"),
            _ => buf.push(b),
        }
    }
}

/// HELP text escapes backslash and newline (text format 0.0.4).
fn escape_help(help: &str) -> std::borrow::Cow<'_, str> {
    if help.contains(['\\', '\n']) { help.replace('\\', "\\\\").replace('\n', "\\n").into() } else { help.into() }
}

/// Go's spelling of the special values; Rust's shortest round-trip form otherwise (never an exponent).
fn write_f64(buf: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        buf.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        buf.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else {
        let _ = write!(buf, "{v}");
    }
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Every family of [`FAMILIES`], each with the text of its samples so far. Written directly in the
/// text format: the `prometheus` crate's registry this replaced built a metric object, label maps and
/// sorted label pairs per series, which made a render of 100 tenants take a third of a second and a
/// thousand tenants' a few seconds, once per poll.
pub(super) struct Families {
    samples: Vec<Vec<u8>>,
    /// Hashes of the label values written so far, per family: a series is written once, the first
    /// time, so that malformed Graph data with a repeated key cannot produce a duplicate sample that
    /// Prometheus would reject the whole scrape for.
    seen: Vec<HashSet<u64>>,
}

/// Family index by name, the label order of each (sorted by name, as Prometheus' own clients write
/// them), and the families sorted by name, as the exposition lists them.
struct Layout {
    index: HashMap<&'static str, usize>,
    label_order: Vec<Vec<usize>>,
    by_name: Vec<usize>,
}

fn layout() -> &'static Layout {
    static LAYOUT: std::sync::OnceLock<Layout> = std::sync::OnceLock::new();
    LAYOUT.get_or_init(|| {
        let index = FAMILIES.iter().enumerate().map(|(i, f)| (f.name, i)).collect();
        let label_order = FAMILIES
            .iter()
            .map(|f| {
                let mut order: Vec<usize> = (0..f.labels.len()).collect();
                order.sort_by_key(|&i| f.labels[i]);
                order
            })
            .collect();
        let mut by_name: Vec<usize> = (0..FAMILIES.len()).collect();
        by_name.sort_by_key(|&i| FAMILIES[i].name);
        Layout { index, label_order, by_name }
    })
}

impl Sink for Families {
    fn set(&mut self, family: &str, labels: &[&str], value: f64) {
        if let Some(buf) = self.series(family, labels) {
            write_f64(buf, value);
            buf.push(b'\n');
        }
    }

    fn add(&mut self, family: &str, labels: &[&str], value: u64) {
        if let Some(buf) = self.series(family, labels) {
            let _ = write!(buf, "{value}");
            buf.push(b'\n');
        }
    }
}

impl Families {
    pub(super) fn new() -> Self {
        Families { samples: vec![Vec::new(); FAMILIES.len()], seen: vec![HashSet::new(); FAMILIES.len()] }
    }

    /// Writes `name{labels} ` and returns the buffer for the value, or `None` for a series already
    /// written.
    fn series(&mut self, family: &str, labels: &[&str]) -> Option<&mut Vec<u8>> {
        let layout = layout();
        let i = layout.index[family];
        let f = &FAMILIES[i];
        debug_assert_eq!(labels.len(), f.labels.len(), "label values of {family}");
        let mut h = DefaultHasher::new();
        labels.hash(&mut h);
        if !self.seen[i].insert(h.finish()) {
            return None;
        }
        let buf = &mut self.samples[i];
        buf.extend_from_slice(f.name.as_bytes());
        if !labels.is_empty() {
            buf.push(b'{');
            for (n, &l) in layout.label_order[i].iter().enumerate() {
                if n > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(f.labels[l].as_bytes());
                buf.extend_from_slice(b"=\"");
                escape_label_value(buf, labels[l]);
                buf.push(b'"');
            }
            buf.push(b'}');
        }
        buf.push(b' ');
        Some(buf)
    }

    /// The length of the exposition [`Families::encode`] would return, counted by writing it to a
    /// sink, so that the count cannot drift from the format.
    pub(super) fn len(&self) -> usize {
        struct Count(usize);
        impl Write for Count {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut count = Count(0);
        self.write_to(&mut count).expect("counting cannot fail");
        count.0
    }

    /// The samples of each family, in [`FAMILIES`]' order, without HELP and TYPE.
    pub(super) fn into_samples(self) -> Vec<Vec<u8>> {
        self.samples
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.write_to(&mut out).expect("writing to a Vec cannot fail");
        out
    }

    /// Writes the exposition, family by family, sorted by name.
    pub(super) fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        for &i in &layout().by_name {
            if self.samples[i].is_empty() {
                continue;
            }
            write_header(out, i)?;
            out.write_all(&self.samples[i])?;
        }
        Ok(())
    }
}

/// The families' indices in [`FAMILIES`], sorted by name: the order of the exposition.
pub(super) fn families_by_name() -> &'static [usize] {
    &layout().by_name
}

/// The HELP and TYPE lines of family `i` of [`FAMILIES`].
pub(super) fn write_header(out: &mut impl Write, i: usize) -> std::io::Result<()> {
    let f = &FAMILIES[i];
    out.write_all(b"# HELP ")?;
    out.write_all(f.name.as_bytes())?;
    out.write_all(b" ")?;
    out.write_all(escape_help(f.help).as_bytes())?;
    out.write_all(b"\n# TYPE ")?;
    out.write_all(f.name.as_bytes())?;
    out.write_all(if f.counter { b" counter\n" } else { b" gauge\n" })
}

/// Receives a render's samples: `family` is one of [`FAMILIES`], `labels` its label values in the
/// table's order. A series already received is ignored (the first value stays), so that malformed
/// Graph data with a repeated key cannot produce a duplicate sample.
pub(super) trait Sink {
    fn set(&mut self, family: &str, labels: &[&str], value: f64);

    fn add(&mut self, family: &str, labels: &[&str], value: u64);

    fn data(&mut self, tenant: &str, summary_source: bool, data: &ReportData) {
        match data {
            ReportData::Registration(s) => self.registration(tenant, s, !summary_source),
            ReportData::NativeSummary(b) if summary_source => self.native(tenant, b),
            ReportData::NativeSummary(_) => {}
            ReportData::CredentialRegistrationCount { total, by_status } => {
                self.set(CREDENTIAL_USERS, &[tenant], *total as f64);
                for (status, n) in by_status {
                    self.set(CREDENTIAL_REGISTRATIONS, &[tenant, status], *n as f64);
                }
            }
            ReportData::CredentialUsage(rows) => self.activity(CREDENTIAL_USAGE, tenant, rows),
            ReportData::CredentialDetails(d) => {
                self.set(CREDENTIAL_DETAILS_USERS, &[tenant], d.users as f64);
                for (status, n) in STATUSES.iter().zip(d.by_status) {
                    self.set(CREDENTIAL_DETAILS_BY_STATUS, &[tenant, status], n as f64);
                }
                for (method, n) in &d.by_method {
                    self.set(CREDENTIAL_DETAILS_BY_METHOD, &[tenant, method], *n as f64);
                }
            }
            ReportData::CredentialUsageEvents(e) => {
                self.events(CREDENTIAL_USAGE_EVENTS, CREDENTIAL_USAGE_FAILURES, tenant, e)
            }
            ReportData::RegistrationActivity(rows) => self.activity(REGISTRATION_ACTIVITIES, tenant, rows),
            ReportData::SignInsByMethod(rows) => {
                for row in rows {
                    self.set(SIGN_INS_BY_METHOD, &[tenant, row.period, row.method.as_str()], row.success as f64);
                }
            }
            ReportData::UserEvents(e) => self.events(USER_EVENTS, USER_EVENT_FAILURES, tenant, e),
            ReportData::MfaSignIns(d) => self.daily(MFA_SIGN_INS, MFA_SIGN_INS_DAY, tenant, d.as_ref()),
            ReportData::PasswordResets(d) => self.daily(PASSWORD_RESETS, PASSWORD_RESETS_DAY, tenant, d.as_ref()),
            // The group counts are part of the registration sweep's summary.
            ReportData::Unavailable(_) | ReportData::GroupMembers { .. } => {}
        }
    }

    /// `core`: also the users, by-feature and by-method families (not when the summary source feeds them).
    fn registration(&mut self, tenant: &str, summary: &RegistrationSummary, core: bool) {
        if let Some(ts) = summary.refresh_timestamp {
            self.set(REFRESH, &[tenant], ts);
        }
        for b in &summary.breakdowns {
            let (ut, ur) = (b.breakdown.user_type.as_str(), b.breakdown.user_role.as_str());
            if core {
                self.set(USERS, &[tenant, ut, ur], b.users as f64);
                for (feature, n) in FEATURES.iter().zip(b.features) {
                    self.set(BY_FEATURE, &[tenant, ut, ur, feature], n as f64);
                }
                for (method, n) in b.methods.iter() {
                    self.set(BY_METHOD, &[tenant, ut, ur, method], n as f64);
                }
            }
            for (method, n) in b.default_methods.iter() {
                self.set(BY_DEFAULT_METHOD, &[tenant, ut, ur, method], n as f64);
            }
            for (bucket, n) in METHOD_COUNT_BUCKETS.iter().zip(b.method_counts) {
                self.set(BY_METHODS_REGISTERED, &[tenant, ut, ur, bucket], n as f64);
            }
            // Counted from the details rows whatever the source of the core families.
            for (strength, n) in STRENGTHS.iter().zip(b.strength.iter().flatten()) {
                self.set(BY_STRONGEST_METHOD, &[tenant, ut, ur, strength], *n as f64);
            }
        }
        let Some(groups) = &summary.groups else { return };
        self.set(EXCLUDED_USERS, &[tenant], groups.excluded_users as f64);
        for g in &groups.groups {
            let group = g.name.as_str();
            self.set(GROUP_AVAILABLE, &[tenant, group], if g.available { 1.0 } else { 0.0 });
            // A group whose members were not read has no numbers, rather than zeros.
            if !g.available {
                continue;
            }
            self.set(GROUP_USERS, &[tenant, group], g.users as f64);
            for (feature, n) in FEATURES.iter().zip(g.features) {
                self.set(GROUP_BY_FEATURE, &[tenant, group, feature], n as f64);
            }
            for (strength, n) in STRENGTHS.iter().zip(g.strength) {
                self.set(GROUP_BY_STRONGEST_METHOD, &[tenant, group, strength], n as f64);
            }
        }
    }

    fn native(&mut self, tenant: &str, breakdowns: &[NativeBreakdown]) {
        for b in breakdowns {
            let (ut, ur) = (b.breakdown.user_type.as_str(), b.breakdown.user_role.as_str());
            if let Some(total) = b.total_users {
                self.set(USERS, &[tenant, ut, ur], total as f64);
            }
            for (feature, n) in &b.features {
                self.set(BY_FEATURE, &[tenant, ut, ur, feature.as_str()], *n as f64);
            }
            for (method, n) in &b.methods {
                self.set(BY_METHOD, &[tenant, ut, ur, method.as_str()], *n as f64);
            }
        }
    }

    fn activity(&mut self, family: &str, tenant: &str, rows: &[ActivityRow]) {
        for row in rows {
            let base = [tenant, row.period, row.feature.as_str(), row.method.as_str()];
            self.set(family, &[base[0], base[1], base[2], base[3], "success"], row.success as f64);
            self.set(family, &[base[0], base[1], base[2], base[3], "failure"], row.failure as f64);
        }
    }

    fn events(&mut self, events: &str, failures: &str, tenant: &str, e: &EventSummary) {
        for ((feature, method, outcome), n) in &e.events {
            self.set(events, &[tenant, feature, method, outcome], *n as f64);
        }
        for ((feature, reason), n) in &e.failures {
            self.set(failures, &[tenant, feature, reason], *n as f64);
        }
    }

    fn daily(&mut self, family: &str, day_family: &str, tenant: &str, d: Option<&DailyCounts>) {
        let Some(d) = d else { return };
        self.set(day_family, &[tenant], d.day);
        for (kind, n) in &d.counts {
            self.set(family, &[tenant, kind], *n as f64);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    #[test]
    fn error_codes_become_labels_only_when_they_look_like_codes() {
        use super::label_code;
        assert_eq!(label_code(None), "none");
        assert_eq!(label_code(Some("")), "none");
        assert_eq!(
            label_code(Some("Authentication_MSGraphPermissionMissing")),
            "Authentication_MSGraphPermissionMissing"
        );
        assert_eq!(label_code(Some("invalid_client")), "invalid_client");
        assert_eq!(label_code(Some("EchoBearer eyJ0eXAi")), "other");
        assert_eq!(label_code(Some(&"A".repeat(65))), "other");
        assert_eq!(label_code(Some("a\"}\n")), "other");
    }

    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::aggregation::fold::BoundedLabel;
    use crate::aggregation::registration::BreakdownSummary;
    use crate::config::{Breakdown, UserRole, UserType};
    use crate::reports::ReportKind;
    use crate::snapshot::{PollHealth, ReportSnapshot, ReportState, TenantInfo};

    pub(in crate::snapshot) fn tenant_with(methods: BTreeMap<String, u64>) -> TenantStatus {
        let summary = RegistrationSummary {
            breakdowns: vec![BreakdownSummary {
                breakdown: Breakdown { user_type: UserType::All, user_role: UserRole::All },
                users: 3,
                features: [3, 3, 2, 1, 1, 0, 2, 1],
                methods: methods.into_iter().collect(),
                default_methods: [("unset", 3)].into_iter().collect(),
                method_counts: [0, 1, 1, 1, 0],
                strength: Some([1, 0, 1, 1, 0]),
            }],
            refresh_timestamp: Some(1_700_000_000.5),
            rows: 3,
            unparsable_timestamps: 0,
            groups: None,
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
            max_staleness: Duration::from_secs(5400),
        };
        TenantStatus {
            info: TenantInfo {
                name: "contoso".into(),
                tenant_id: "t-id".into(),
                cloud: "global",
                summary_source: false,
                numbers: Default::default(),
            },
            reports: BTreeMap::from([(ReportKind::RegistrationDetails, state)]),
            requests: BTreeMap::from([(("userRegistrationDetails".to_string(), "200".to_string()), 4)]),
            tokens: (1, 0),
            certificate_validity: None,
            progress: BTreeMap::new(),
            skipped: Vec::new(),
            folded: BoundedLabel::ALL.map(|l| (l, 0)),
        }
    }

    pub(in crate::snapshot) fn loaded() -> ReloadStatus {
        ReloadStatus { successful: true, last_success: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) }
    }

    #[test]
    fn renders_every_family_with_help_and_type() {
        let methods = BTreeMap::from([("fido2SecurityKey".to_string(), 1), ("email".to_string(), 2)]);
        let text = String::from_utf8(render(
            &BuildInfo { version: "1.2.3", revision: "abc" },
            &loaded(),
            &[tenant_with(methods)],
        ))
        .unwrap();
        for line in [
            "# TYPE entra_authmethods_users gauge",
            "entra_authmethods_users{tenant=\"contoso\",user_role=\"all\",user_type=\"all\"} 3",
            "entra_authmethods_users_registered_by_feature{feature=\"phishingResistantCapable\",tenant=\"contoso\",user_role=\"all\",user_type=\"all\"} 1",
            "entra_authmethods_users_registered_by_method{method=\"email\",tenant=\"contoso\",user_role=\"all\",user_type=\"all\"} 2",
            "entra_authmethods_users_by_methods_registered{methods=\"4+\",tenant=\"contoso\",user_role=\"all\",user_type=\"all\"} 0",
            "entra_authmethods_report_refresh_timestamp_seconds{tenant=\"contoso\"} 1700000000.5",
            "entra_authmethods_build_info{revision=\"abc\",version=\"1.2.3\"} 1",
            "entra_authmethods_config_last_reload_successful 1",
            "entra_authmethods_config_last_reload_success_timestamp_seconds 1700000000",
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
    fn the_client_certificate_validity_is_rendered_only_when_known() {
        let mut t = tenant_with(BTreeMap::new());
        let render_one = |t: &TenantStatus| {
            String::from_utf8(render(&BuildInfo { version: "v", revision: "r" }, &loaded(), std::slice::from_ref(t)))
                .unwrap()
        };
        assert!(!render_one(&t).contains("\nentra_authmethods_client_certificate_"), "secret credential: no series");
        t.certificate_validity = Some(crate::snapshot::telemetry::CertificateValidity {
            not_before: 1_800_000_000,
            not_after: 1_900_000_000,
        });
        let text = render_one(&t);
        for line in [
            "entra_authmethods_client_certificate_not_before_timestamp_seconds{tenant=\"contoso\"} 1800000000",
            "entra_authmethods_client_certificate_expiry_timestamp_seconds{tenant=\"contoso\"} 1900000000",
            "# TYPE entra_authmethods_client_certificate_not_before_timestamp_seconds gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "missing line {line}\n{text}");
        }
    }

    #[test]
    fn label_values_from_graph_are_escaped() {
        let methods = BTreeMap::from([("we\"ird\\name\nx".to_string(), 1)]);
        let text =
            String::from_utf8(render(&BuildInfo { version: "v", revision: "r" }, &loaded(), &[tenant_with(methods)]))
                .unwrap();
        assert!(text.contains(r#"method="we\"ird\\name\nx""#), "{text}");
    }

    #[test]
    fn stale_data_is_dropped_and_health_kept() {
        let mut t = tenant_with(BTreeMap::from([("email".to_string(), 2)]));
        let state = t.reports.get_mut(&ReportKind::RegistrationDetails).unwrap();
        let old = SystemTime::now() - Duration::from_secs(5401);
        let data = state.data.as_ref().unwrap().data.clone();
        state.data = Some(Arc::new(ReportSnapshot { data, completed_at: old }));
        assert!(state.is_stale(SystemTime::now()));
        state.health.last_error = Some(crate::snapshot::LastError {
            reason: FailureReason::Network,
            graph_code: None,
            message: "down".into(),
            hint: "h",
            at: SystemTime::now(),
        });
        let text = String::from_utf8(render(&BuildInfo { version: "v", revision: "r" }, &loaded(), &[t])).unwrap();
        assert!(!text.contains("\nentra_authmethods_users{"), "data series dropped:\n{text}");
        assert!(!text.contains("\nentra_authmethods_report_refresh_timestamp_seconds{"));
        assert!(text.contains("entra_authmethods_poll_success{report=\"registration_details\",tenant=\"contoso\"} 1"));
        assert!(text.contains(
            "entra_authmethods_last_error_info{graph_code=\"none\",reason=\"network\",report=\"registration_details\",tenant=\"contoso\"} 1"
        ));
    }

    #[test]
    fn a_poll_longer_than_its_interval_is_an_overrun() {
        let mut t = tenant_with(BTreeMap::new());
        let render_overrun = |t: &TenantStatus| {
            let text = String::from_utf8(render(
                &BuildInfo { version: "v", revision: "r" },
                &loaded(),
                std::slice::from_ref(t),
            ))
            .unwrap();
            text.lines()
                .find(|l| l.starts_with("entra_authmethods_poll_overrun{"))
                .map(|l| l.rsplit(' ').next().unwrap().to_string())
        };
        assert_eq!(render_overrun(&t).as_deref(), Some("0"));
        t.reports.get_mut(&ReportKind::RegistrationDetails).unwrap().health.last_duration =
            Some(Duration::from_secs(1801));
        assert_eq!(render_overrun(&t).as_deref(), Some("1"));
    }

    #[test]
    fn fresh_data_is_not_stale() {
        let t = tenant_with(BTreeMap::new());
        assert!(!t.reports[&ReportKind::RegistrationDetails].is_stale(SystemTime::now()));
    }
}
