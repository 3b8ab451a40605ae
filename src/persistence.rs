//! The optional state file: the last good snapshot of every tenant and report, kept across restarts
//! so that a restart serves the last known numbers (with their real age) at once instead of a gap
//! while a large tenant is swept again.
//!
//! The file is JSON with a format marker and a version; it holds only aggregates and timestamps,
//! never credentials or per-user data. It is replaced atomically (temporary file in the same
//! directory, fsync, rename, fsync of the directory) with mode 0600, by a background task that
//! follows the store's data changes: scrapes never wait for it and the store's locks are never held
//! during I/O. A file that cannot be used is reported once and ignored, and left as it is until a
//! new good poll produces data to write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::watch;

use crate::reports::ReportKind;
use crate::snapshot::{ReportData, ReportSnapshot, Store, TenantStatus};

/// Value of the file's `format` key.
pub(crate) const FORMAT: &str = "entra-authmethods-exporter-state";
/// Value of the file's `version` key; another version is ignored.
pub(crate) const VERSION: u32 = 1;
/// Larger files are not read: the aggregates of even many tenants are far smaller.
const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;
/// How far past this host's clock a time in the file may lie: the clock of a host that wrote it may
/// have been a little ahead. Beyond that, data would be served as fresh until that time came.
const FUTURE_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(300);
/// The largest count a file may hold: every integer up to 2^53 is exact in the float an exposition
/// sample is, and no directory has more users.
const MAX_COUNT: u64 = 1 << 53;

#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    format: String,
    version: u32,
    written_at: String,
    tenants: Vec<TenantEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct TenantEntry {
    name: String,
    tenant_id: String,
    reports: Vec<ReportEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ReportEntry {
    report: String,
    /// When the poll that produced `data` completed (RFC 3339, nanoseconds).
    completed_at: String,
    /// The last successful poll (RFC 3339); usually the same instant.
    last_success: Option<String>,
    /// How long the most recent poll took: lets a restart warn at once when the interval is shorter
    /// than the sweep. Absent in files written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration_seconds: Option<f64>,
    /// The settings the numbers were made under ([`crate::snapshot::Numbers`]): an entry made under
    /// other settings is not restored. Absent in files written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    /// Read per entry, so that one entry this version cannot decode does not discard the rest.
    data: serde_json::Value,
}

fn format_time(t: SystemTime) -> String {
    OffsetDateTime::from(t).format(&Rfc3339).unwrap_or_default()
}

fn parse_time(text: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok().map(SystemTime::from)
}

/// The file's contents for the store's current state.
pub(crate) fn encode(status: &[TenantStatus]) -> Result<Vec<u8>, serde_json::Error> {
    let mut tenants = Vec::with_capacity(status.len());
    for t in status {
        let mut reports = Vec::new();
        for (kind, state) in &t.reports {
            let Some(snapshot) = &state.data else { continue };
            reports.push(ReportEntry {
                report: kind.as_str().to_string(),
                completed_at: format_time(snapshot.completed_at),
                last_success: state.health.last_success.map(format_time),
                duration_seconds: state.health.last_duration.map(|d| d.as_secs_f64()),
                fingerprint: t.info.numbers.fingerprints.get(kind).cloned(),
                data: serde_json::to_value(&snapshot.data)?,
            });
        }
        tenants.push(TenantEntry { name: t.info.name.clone(), tenant_id: t.info.tenant_id.clone(), reports });
    }
    let file =
        StateFile { format: FORMAT.into(), version: VERSION, written_at: format_time(SystemTime::now()), tenants };
    let mut bytes = serde_json::to_vec_pretty(&file)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Why a state file was not used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    /// Not read ([`crate::file_read`]: not a regular file, too large, unreadable, a hung read).
    #[error("{}", read_problem(.0))]
    Read(crate::file_read::Problem),
    #[error("it is not valid JSON (corrupt or truncated): {0}")]
    Json(serde_json::Error),
    #[error("it is not an entra-authmethods-exporter state file (format is not {FORMAT:?})")]
    Foreign,
    #[error("it has version {0}, this exporter reads version {VERSION}")]
    Version(String),
    #[error("its structure is invalid: {0}")]
    Structure(serde_json::Error),
    #[error("it holds an impossible value: {0}")]
    Value(String),
}

/// What [`load`] restored.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Restored {
    /// Reports whose data was put back.
    pub(crate) reports: usize,
    /// Entries for tenants or reports not in this configuration, or not decodable.
    pub(crate) ignored: usize,
}

fn read_problem(p: &crate::file_read::Problem) -> String {
    use crate::file_read::Problem;
    match p {
        Problem::Io { message, .. } => format!("cannot read it: {message}"),
        Problem::TooLarge { .. } => format!("it is larger than {MAX_FILE_SIZE} bytes"),
        other => other.to_string(),
    }
}

/// Reads the file off the async runtime ([`crate::file_read`]); `None` when there is none yet.
async fn read(path: &Path) -> Result<Option<StateFile>, LoadError> {
    let label = format!("state_file {}", path.display());
    match crate::file_read::read(path, label, MAX_FILE_SIZE).await {
        Ok(bytes) => decode(&bytes).map(Some),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(LoadError::Read(e.problem)),
    }
}

/// The state file in `bytes`, checked.
fn decode(bytes: &[u8]) -> Result<StateFile, LoadError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(LoadError::Json)?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(LoadError::Foreign);
    }
    match value.get("version") {
        Some(v) if v.as_u64() == Some(u64::from(VERSION)) => {}
        Some(v) => return Err(LoadError::Version(v.to_string())),
        None => return Err(LoadError::Version("none".into())),
    }
    let file: StateFile = serde_json::from_value(value).map_err(LoadError::Structure)?;
    check_values(&file)?;
    Ok(file)
}

/// Numbers that no exporter writes mean the file was damaged or edited: it is not used at all, and
/// the first value at fault is named (docs/configuration.md, "state_file", lists the rules).
fn check_values(file: &StateFile) -> Result<(), LoadError> {
    let latest = SystemTime::now() + FUTURE_TOLERANCE;
    let not_future = |what: &str, text: &str| match parse_time(text) {
        Some(t) if t > latest => Err(format!("{what} {text} lies in the future")),
        _ => Ok(()),
    };
    not_future("written_at", &file.written_at).map_err(LoadError::Value)?;
    for tenant in &file.tenants {
        for entry in &tenant.reports {
            let at =
                |why: String| LoadError::Value(format!("tenant {:?}, report {:?}: {why}", tenant.name, entry.report));
            not_future("completed_at", &entry.completed_at).map_err(at)?;
            if let Some(last) = &entry.last_success {
                not_future("last_success", last).map_err(at)?;
            }
            if let Some(path) = bad_count(&entry.data) {
                return Err(at(format!("data{path} is not a count (an integer from 0 to 2^53)")));
            }
            if let Ok(ReportData::Registration(summary)) = ReportData::deserialize(&entry.data) {
                check_counted(&summary).map_err(at)?;
            }
            if let Some(d) = entry.duration_seconds
                && std::time::Duration::try_from_secs_f64(d).is_err()
            {
                return Err(LoadError::Value(format!(
                    "tenant {:?}, report {:?}: duration_seconds {d:?} is not a duration",
                    tenant.name, entry.report
                )));
            }
        }
    }
    Ok(())
}

/// Where in `data` the first integer outside 0..=2^53 is (`.breakdowns[0].users`), if any. Every
/// integer in the aggregates is a count; timestamps are floats or strings.
fn bad_count(data: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match data {
        Value::Number(n) if !n.is_f64() => n.as_u64().is_none_or(|c| c > MAX_COUNT).then(|| format!(" = {n}")),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| bad_count(v).map(|p| format!("[{i}]{p}"))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| bad_count(v).map(|p| format!(".{k}{p}"))),
        _ => None,
    }
}

/// What counting guarantees, for the numbers the exporter counted itself from userRegistrationDetails:
/// no feature, method, default-method or method-count bucket above its breakdown's users, and no
/// breakdown above the tenant's all/all users. Graph's own summaries are not held to this: Graph
/// sends a feature count above its total, and they are restored as it sent them.
fn check_counted(summary: &crate::aggregation::RegistrationSummary) -> Result<(), String> {
    use crate::config::{UserRole, UserType};
    let all = summary
        .breakdowns
        .iter()
        .find(|b| b.breakdown.user_type == UserType::All && b.breakdown.user_role == UserRole::All)
        .map(|b| b.users);
    for b in &summary.breakdowns {
        let name = format!("{}/{}", b.breakdown.user_type.as_str(), b.breakdown.user_role.as_str());
        if let Some(all) = all.filter(|all| b.users > *all) {
            return Err(format!("breakdown {name} has {} users, more than the tenant's {all}", b.users));
        }
        let counts = crate::aggregation::registration::FEATURES
            .iter()
            .zip(b.features)
            .map(|(f, c)| (*f, c))
            .chain(b.methods.iter().chain(b.default_methods.iter()))
            .chain(b.method_counts.iter().map(|c| ("a method-count bucket", *c)));
        if let Some((what, count)) = counts.into_iter().find(|(_, c)| *c > b.users) {
            return Err(format!("breakdown {name}: {what} counts {count} users of its {}", b.users));
        }
        // Every user is in exactly one strength tier.
        if let Some(tiers) = b.strength
            && tiers.iter().sum::<u64>() != b.users
        {
            return Err(format!(
                "breakdown {name}: its strength tiers sum to {}, not its {} users",
                tiers.iter().sum::<u64>(),
                b.users
            ));
        }
    }
    if let Some(groups) = &summary.groups {
        check_groups(groups, all)?;
    }
    Ok(())
}

/// The group counts: no feature above the group's users, tiers that sum to them, no group above the
/// tenant's all/all users, and no numbers for a group whose members were not read.
fn check_groups(summary: &crate::aggregation::groups::GroupSummary, all: Option<u64>) -> Result<(), String> {
    for g in &summary.groups {
        let name = &g.name;
        if !g.available && (g.users > 0 || g.features.iter().chain(&g.strength).any(|c| *c > 0)) {
            return Err(format!("group {name:?} was not read but has counts"));
        }
        if let Some(all) = all.filter(|all| g.users > *all) {
            return Err(format!("group {name:?} has {} users, more than the tenant's {all}", g.users));
        }
        let features = crate::aggregation::registration::FEATURES.iter().zip(g.features);
        if let Some((feature, count)) = features.into_iter().find(|(_, c)| *c > g.users) {
            return Err(format!("group {name:?}: {feature} counts {count} users of its {}", g.users));
        }
        let tiers: u64 = g.strength.iter().sum();
        if tiers != g.users {
            return Err(format!("group {name:?}: its strength tiers sum to {tiers}, not its {} users", g.users));
        }
    }
    Ok(())
}

/// Restores the data of `path` into `store` (before the first poll). Problems are logged, never
/// fatal; the file is not modified.
pub(crate) async fn load(path: &Path, store: &Store) -> Restored {
    let file = match read(path).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            tracing::info!(file = %path.display(), "no state file yet; it is written after the first successful poll");
            return Restored::default();
        }
        Err(e) => {
            tracing::warn!(
                file = %path.display(),
                reason = %e,
                "state file ignored; starting without the last known data (the file is replaced after the next successful poll)"
            );
            return Restored::default();
        }
    };
    let entries = store.tenants();
    let mut restored = Restored::default();
    let mut other_settings = Vec::new();
    for tenant in file.tenants {
        let target = entries.iter().find(|t| t.info().name == tenant.name && t.info().tenant_id == tenant.tenant_id);
        let Some(target) = target else {
            restored.ignored += tenant.reports.len();
            continue;
        };
        for entry in tenant.reports {
            let kind = ReportKind::from_label(&entry.report);
            let completed_at = parse_time(&entry.completed_at);
            let (Some(kind), Some(completed_at)) = (kind, completed_at) else {
                restored.ignored += 1;
                continue;
            };
            if !same_settings(&target.info().numbers, kind, entry.fingerprint.as_deref()) {
                other_settings.push(format!("{}/{}", tenant.name, entry.report));
                restored.ignored += 1;
                continue;
            }
            let data: ReportData = match serde_json::from_value(entry.data) {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(file = %path.display(), tenant = %tenant.name, report = %entry.report, reason = %e, "state file entry ignored");
                    restored.ignored += 1;
                    continue;
                }
            };
            let last_success = entry.last_success.as_deref().and_then(parse_time);
            let duration = entry.duration_seconds.and_then(|d| std::time::Duration::try_from_secs_f64(d).ok());
            if store.restore(target, kind, ReportSnapshot { data, completed_at }, last_success, duration) {
                restored.reports += 1;
            } else {
                restored.ignored += 1;
            }
        }
    }
    store.invalidate();
    if !other_settings.is_empty() {
        tracing::info!(
            file = %path.display(),
            entries = other_settings.join(", ").as_str(),
            "state file entries made under other settings (groups, exclude_groups, [method_strength], breakdowns, registration_source, cloud, lookback or max_failure_reasons) ignored: these reports are exported again after their first successful poll"
        );
    }
    tracing::info!(
        file = %path.display(),
        restored = restored.reports,
        ignored = restored.ignored,
        "restored the last known data from the state file"
    );
    restored
}

/// Whether an entry with `fingerprint` was made under the settings the tenant has now. An entry
/// without one comes from a file written before fingerprints: the settings it was made under are
/// unknown, so a `registration_details` entry is refused when the tenant now counts with groups,
/// exclusions or `[method_strength]` (numbers made without them would be served as if made with
/// them), and restored otherwise.
fn same_settings(now: &crate::snapshot::Numbers, kind: ReportKind, fingerprint: Option<&str>) -> bool {
    match fingerprint {
        Some(f) => now.fingerprints.get(&kind).is_some_and(|n| n == f),
        None => !(now.customised && kind == ReportKind::RegistrationDetails),
    }
}

/// Encodes the store's state and writes it; one warning naming the file on failure.
fn save(path: &Path, status: &[TenantStatus]) {
    let result = encode(status)
        .map_err(std::io::Error::other)
        .and_then(|bytes| crate::atomic_file::replace(path, |f| f.write_all(&bytes)));
    match result {
        Ok(()) => tracing::debug!(file = %path.display(), "state file written"),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot write the state file; will retry after the next successful poll")
        }
    }
}

/// Writes the state file after data changes, coalescing bursts: while a write runs, further changes
/// are collected into the next single write.
pub(crate) struct StateWriter {
    path: PathBuf,
    store: Arc<Store>,
    /// The store's data version last written (or attempted).
    written: watch::Sender<u64>,
}

impl StateWriter {
    pub(crate) fn new(path: PathBuf, store: Arc<Store>) -> Arc<StateWriter> {
        let current = *store.subscribe_data().borrow();
        Arc::new(StateWriter { path, store, written: watch::channel(current).0 })
    }

    /// Follows the store until `shutdown`, then writes what is still pending and returns.
    pub(crate) async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut changes = self.store.subscribe_data();
        loop {
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                _ = shutdown.wait_for(|&s| s) => break,
            }
            self.save_pending().await;
        }
        self.save_pending().await;
    }

    /// Writes the current state if data changed since the last write.
    pub(crate) async fn save_pending(&self) {
        let version = *self.store.subscribe_data().borrow();
        if version <= *self.written.borrow() {
            return;
        }
        // A consistent copy taken under the store's locks briefly; encoding and I/O happen outside.
        let status = self.store.status();
        let path = self.path.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || save(&path, &status)).await {
            tracing::warn!(file = %self.path.display(), error = %e, "state file writer failed");
        }
        self.written.send_modify(|w| *w = (*w).max(version));
    }

    /// Resolves once every data change made before the call has been written (or its write failed).
    pub(crate) async fn flush(&self) {
        let target = *self.store.subscribe_data().borrow();
        let mut rx = self.written.subscribe();
        let _ = rx.wait_for(|&w| w >= target).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregation::activity::{ActivityRow, DailyCounts};
    use crate::aggregation::events::EventSummary;
    use crate::snapshot::{BuildInfo, TenantInfo};
    use std::time::Duration;

    fn store() -> Arc<Store> {
        let info = TenantInfo {
            name: "t".into(),
            tenant_id: "id".into(),
            cloud: "global",
            summary_source: false,
            numbers: Default::default(),
        };
        let h = Duration::from_secs(3600);
        Store::new(
            vec![(
                info,
                vec![
                    (ReportKind::RegistrationActivity, h, 3 * h, None),
                    (ReportKind::UserEventsSummary, h, 3 * h, None),
                    (ReportKind::MfaSignInSummary, h, 3 * h, None),
                ],
            )],
            BuildInfo { version: "v", revision: "r" },
        )
    }

    #[tokio::test]
    async fn a_state_round_trips_through_the_file() {
        let a = store();
        let rows = vec![ActivityRow { period: "d7", feature: "f".into(), method: "m".into(), success: 3, failure: 1 }];
        a.record_success(
            &a.tenants()[0],
            ReportKind::RegistrationActivity,
            ReportData::RegistrationActivity(rows),
            Duration::ZERO,
        );
        let mut events = EventSummary::default();
        events.events.insert(("f".into(), "m".into(), "failure"), 2);
        events.failures.insert(("f".into(), "why \"quoted\"".into()), 2);
        a.record_success(
            &a.tenants()[0],
            ReportKind::UserEventsSummary,
            ReportData::UserEvents(events),
            Duration::ZERO,
        );
        let daily = DailyCounts { day: 1.5e9, counts: vec![("total", 4), ("single_factor", 1)] };
        a.record_success(
            &a.tenants()[0],
            ReportKind::MfaSignInSummary,
            ReportData::MfaSignIns(Some(daily)),
            Duration::ZERO,
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        save(&path, &a.status());
        let b = store();
        assert_eq!(load(&path, &b).await, Restored { reports: 3, ignored: 0 });
        for (sa, sb) in a.status()[0].reports.values().zip(b.status()[0].reports.values()) {
            let (da, db) = (sa.data.as_ref().unwrap(), sb.data.as_ref().unwrap());
            assert_eq!(da.data, db.data);
            assert_eq!(da.completed_at, db.completed_at);
            assert_eq!(sa.health.last_success, sb.health.last_success);
            assert_eq!(sb.health.polls_total, 0);
        }
        let text = String::from_utf8(b.exposition().to_vec()).unwrap();
        assert!(text.contains("period=\"d7\""), "restored data is rendered at once:\n{text}");
    }

    #[test]
    fn entries_made_under_other_settings_are_not_restored() {
        let details = ReportKind::RegistrationDetails;
        let mut now = crate::snapshot::Numbers::default();
        now.fingerprints.insert(details, "a".into());
        assert!(same_settings(&now, details, Some("a")));
        assert!(!same_settings(&now, details, Some("b")));
        // A file written before fingerprints: restored while the tenant counts without groups,
        // exclusions or [method_strength]; then only its reports other than the details.
        assert!(same_settings(&now, details, None));
        now.customised = true;
        assert!(!same_settings(&now, details, None));
        assert!(same_settings(&now, ReportKind::RegistrationActivity, None));
    }

    #[test]
    fn fractional_timestamps_come_back_exactly() {
        // Each of these came back one unit in the last place off with serde_json's default parser.
        for t in [1764266948.5583227, 1764266965.9413161] {
            let data = ReportData::Registration(crate::aggregation::registration::RegistrationSummary {
                breakdowns: Vec::new(),
                refresh_timestamp: Some(t),
                rows: 0,
                unparsable_timestamps: 0,
                groups: None,
            });
            let back: ReportData = serde_json::from_slice(&serde_json::to_vec(&data).unwrap()).unwrap();
            assert_eq!(back, data, "{t}");
        }
    }

    #[tokio::test]
    async fn a_sweep_longer_than_the_interval_is_reported_right_after_a_restart() {
        let a = store();
        let rows = vec![ActivityRow { period: "d1", feature: "f".into(), method: "m".into(), success: 1, failure: 0 }];
        let slow = Duration::from_secs(2 * 3600);
        a.record_success(
            &a.tenants()[0],
            ReportKind::RegistrationActivity,
            ReportData::RegistrationActivity(rows),
            slow,
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        save(&path, &a.status());
        let b = store();
        assert_eq!(load(&path, &b).await.reports, 1);
        let text = String::from_utf8(b.exposition().to_vec()).unwrap();
        assert!(
            text.contains("entra_authmethods_poll_overrun{report=\"registration_activity\",tenant=\"t\"} 1"),
            "overrun visible before the first poll:\n{text}"
        );
    }

    #[tokio::test]
    async fn unknown_label_values_are_ignored_per_entry() {
        let a = store();
        let daily = DailyCounts { day: 1.5e9, counts: vec![("total", 4)] };
        a.record_success(
            &a.tenants()[0],
            ReportKind::MfaSignInSummary,
            ReportData::MfaSignIns(Some(daily)),
            Duration::ZERO,
        );
        let rows = vec![ActivityRow { period: "d7", feature: "f".into(), method: "m".into(), success: 3, failure: 1 }];
        a.record_success(
            &a.tenants()[0],
            ReportKind::RegistrationActivity,
            ReportData::RegistrationActivity(rows),
            Duration::ZERO,
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let text = String::from_utf8(encode(&a.status()).unwrap()).unwrap().replace("\"d7\"", "\"d99\"");
        std::fs::write(&path, text).unwrap();
        assert_eq!(load(&path, &store()).await, Restored { reports: 1, ignored: 1 });
    }

    #[tokio::test]
    async fn bad_files_are_rejected_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for (text, expect) in [
            ("{\"format\": \"entra-authmethods-exporter-state\", \"vers", "not valid JSON"),
            ("{\"format\": \"other\", \"version\": 1}", "format is not"),
            ("{\"format\": \"entra-authmethods-exporter-state\", \"version\": 2}", "version 2"),
            ("{\"format\": \"entra-authmethods-exporter-state\", \"version\": 1}", "structure"),
            ("[1,2]", "format is not"),
            (
                "{\"format\": \"entra-authmethods-exporter-state\", \"version\": 1, \"written_at\": \"x\", \"tenants\": [{\"name\": \"t\", \"tenant_id\": \"i\", \"reports\": [{\"report\": \"r\", \"completed_at\": \"x\", \"last_success\": null, \"duration_seconds\": 1e300, \"data\": null}]}]}",
                "impossible value: tenant \"t\", report \"r\": duration_seconds 1e300 is not a duration",
            ),
            (
                "{\"format\": \"entra-authmethods-exporter-state\", \"version\": 1, \"written_at\": \"x\", \"tenants\": [{\"name\": \"t\", \"tenant_id\": \"i\", \"reports\": [{\"report\": \"r\", \"completed_at\": \"x\", \"last_success\": null, \"duration_seconds\": -1, \"data\": null}]}]}",
                "duration_seconds -1.0 is not a duration",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = read(&path).await.err().unwrap().to_string();
            assert!(err.contains(expect), "{text}: {err}");
        }
        assert!(read(&dir.path().join("missing.json")).await.unwrap().is_none());
    }

    /// A state file of one entry for tenant "t", report "r", whose `data` is `data`.
    fn file_with(data: serde_json::Value, completed_at: &str) -> String {
        serde_json::json!({
            "format": FORMAT, "version": VERSION, "written_at": "2026-01-01T00:00:00Z",
            "tenants": [{"name": "t", "tenant_id": "i", "reports": [{
                "report": "r", "completed_at": completed_at, "last_success": completed_at, "data": data
            }]}]
        })
        .to_string()
    }

    /// The details source's summary for all/all and member/all, as the aggregator writes it.
    fn counted(users: u64, members: u64) -> serde_json::Value {
        use crate::config::{Breakdown, UserRole, UserType};
        let breakdowns = [
            Breakdown { user_type: UserType::All, user_role: UserRole::All },
            Breakdown { user_type: UserType::Member, user_role: UserRole::All },
        ];
        let summary = crate::aggregation::RegistrationAggregator::new(&breakdowns).finish();
        let mut data = serde_json::to_value(ReportData::Registration(summary)).unwrap();
        // Users with no tiered method: the strength tiers stay a partition of the users.
        data["registration"]["breakdowns"][0]["users"] = users.into();
        data["registration"]["breakdowns"][0]["strength"] = serde_json::json!([0, 0, 0, 0, users]);
        data["registration"]["breakdowns"][1]["users"] = members.into();
        data["registration"]["breakdowns"][1]["strength"] = serde_json::json!([0, 0, 0, 0, members]);
        data
    }

    fn verdict(text: String) -> Result<(), String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, text).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        decode(&bytes).map(|_| ()).map_err(|e| e.to_string())
    }

    const PAST: &str = "2026-01-01T00:00:00Z";

    #[test]
    fn times_in_the_future_are_refused_beyond_the_tolerance() {
        let at = |t: SystemTime| format_time(t);
        let soon = at(SystemTime::now() + std::time::Duration::from_secs(60));
        let later = at(SystemTime::now() + std::time::Duration::from_secs(3600));
        assert_eq!(verdict(file_with(counted(10, 5), &soon)), Ok(()), "a minute of clock skew is fine");
        let err = verdict(file_with(counted(10, 5), &later)).unwrap_err();
        assert!(
            err.contains("tenant \"t\", report \"r\": completed_at") && err.contains("lies in the future"),
            "{err}"
        );
        let decade = file_with(counted(10, 5), PAST).replace(PAST, "2036-01-01T00:00:00Z");
        assert!(verdict(decade).unwrap_err().contains("written_at 2036-01-01T00:00:00Z lies in the future"));
    }

    #[test]
    fn counts_are_integers_from_zero_to_two_to_the_53() {
        assert_eq!(verdict(file_with(counted(MAX_COUNT, 5), PAST)), Ok(()));
        let err = verdict(file_with(counted(u64::MAX, 5), PAST)).unwrap_err();
        assert!(
            err.contains("data.registration.breakdowns[0].") && err.contains(" = 18446744073709551615 is not a count"),
            "{err}"
        );
        let native = serde_json::json!({"credential_registration_count": {"total": -1, "by_status": []}});
        let err = verdict(file_with(native, PAST)).unwrap_err();
        assert!(err.contains("data.credential_registration_count.total = -1 is not a count"), "{err}");
    }

    #[test]
    fn what_the_exporter_counted_obeys_counting_and_graph_s_summaries_are_kept_as_sent() {
        let mut data = counted(10, 5);
        data["registration"]["breakdowns"][1]["features"][0] = 6.into();
        let err = verdict(file_with(data, PAST)).unwrap_err();
        assert!(err.contains("breakdown member/all: ") && err.contains("counts 6 users of its 5"), "{err}");
        let mut data = counted(10, 5);
        data["registration"]["breakdowns"][0]["methods"]["fido2"] = 11.into();
        let err = verdict(file_with(data, PAST)).unwrap_err();
        assert!(err.contains("breakdown all/all: fido2 counts 11 users of its 10"), "{err}");
        // `other` (users with a method folded by max_method_values) is a method count like any other.
        let mut data = counted(10, 5);
        data["registration"]["breakdowns"][0]["methods"]["other"] = 10.into();
        assert!(verdict(file_with(data, PAST)).is_ok());
        let mut data = counted(10, 5);
        data["registration"]["breakdowns"][0]["methods"]["other"] = 11.into();
        let err = verdict(file_with(data, PAST)).unwrap_err();
        assert!(err.contains("breakdown all/all: other counts 11 users of its 10"), "{err}");
        let mut data = counted(10, 5);
        data["registration"]["breakdowns"][0]["strength"] = serde_json::json!([1, 0, 0, 0, 0]);
        let err = verdict(file_with(data, PAST)).unwrap_err();
        assert!(err.contains("breakdown all/all: its strength tiers sum to 1, not its 10 users"), "{err}");
        let err = verdict(file_with(counted(10, 42), PAST)).unwrap_err();
        assert!(err.contains("breakdown member/all has 42 users, more than the tenant's 10"), "{err}");
        // Group counts obey the same rules, within the tenant's all/all users.
        let group = |users: u64, features: [u64; 8], strength: [u64; 5]| {
            let mut data = counted(10, 5);
            data["registration"]["groups"] = serde_json::json!({"excluded_users": 3, "groups": [
                {"name": "pilot", "available": true, "users": users, "features": features, "strength": strength}
            ]});
            verdict(file_with(data, PAST))
        };
        assert_eq!(group(4, [4, 3, 0, 0, 0, 0, 0, 1], [1, 0, 2, 1, 0]), Ok(()));
        let err = group(4, [5, 0, 0, 0, 0, 0, 0, 0], [1, 0, 2, 1, 0]).unwrap_err();
        assert!(err.contains("group \"pilot\": mfaCapable counts 5 users of its 4"), "{err}");
        let err = group(4, [0; 8], [1, 0, 0, 1, 0]).unwrap_err();
        assert!(err.contains("group \"pilot\": its strength tiers sum to 2, not its 4 users"), "{err}");
        let err = group(11, [0; 8], [11, 0, 0, 0, 0]).unwrap_err();
        assert!(err.contains("group \"pilot\" has 11 users, more than the tenant's 10"), "{err}");
        // Graph's own summary with a feature count above its total (as Graph sends) is restored.
        let native = serde_json::json!({"native_summary": [{
            "breakdown": counted(10, 5)["registration"]["breakdowns"][0]["breakdown"],
            "total_users": 10, "features": [["mfaCapable", 12]], "methods": []
        }]});
        assert_eq!(verdict(file_with(native, PAST)), Ok(()));
    }
}
