//! The metric contract: docs/metrics.md is the family table rendered, every family a
//! simulator-fed exporter serves is in it (and back), and a golden exposition of a fixed simulated
//! tenant at a fixed clock makes every rename, label change or new family a reviewed diff.
//!
//! Regenerate after an intended change:
//! `UPDATE_CONTRACT=1 cargo test --test contract` (docs/metrics.md) and
//! `UPDATE_GOLDEN=1 cargo test --test contract` (tests/testdata/golden/exposition.prom).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::*;
use entra_authmethods_exporter::app::RunningExporter;
use entra_authmethods_exporter::graph::FailureReason;
use entra_authmethods_exporter::snapshot::{
    self, BuildInfo, FAMILIES, LabelValues, ReloadStatus, ReportSnapshot, TenantStatus,
};
use graph_simulator::{DEMO_TENANT_ID, Population, RunningSimulator, SimulatorConfig};

/// The simulated tenant of the golden exposition: a few pages of users, so that paging and every
/// breakdown show, and a file that stays reviewable.
const USERS: usize = 300;
const SEED: u64 = 20_261_207;
/// The simulated report refresh, which is also the clock of the simulator's activity reports. It lies
/// in the future (2099-12-31T00:00:00Z) so that the exporter's `user_events_summary` window, which
/// ends at its own clock, holds every simulated event whenever the test runs.
const REFRESHED_AT: i64 = 4_102_358_400;
/// The clock of the golden render: when every poll completed and the configuration was loaded.
fn clock() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(REFRESHED_AT as u64 + 600)
}
/// The wall time of every poll in the golden render.
const POLL_TIME: Duration = Duration::from_millis(1250);
const REVISION: &str = "golden";
/// Families whose values are the clock or a measured duration: the golden file has the fixed
/// clock's, a live scrape its own.
const CLOCK_FAMILIES: [&str; 3] = [
    "entra_authmethods_last_success_timestamp_seconds",
    "entra_authmethods_poll_duration_seconds",
    "entra_authmethods_config_last_reload_success_timestamp_seconds",
];

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Compares `got` with the committed file, or writes it when `update_var` is set.
fn compare_with_committed(relative: &str, got: &str, update_var: &str) {
    let path = repo_file(relative);
    if std::env::var_os(update_var).is_some() {
        // On CI the committed file is what is checked; regenerating it there would check nothing.
        assert!(std::env::var_os("CI").is_none(), "{update_var} is set on CI: regenerate locally and commit");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        eprintln!("NOTE: wrote {relative} ({update_var} is set)");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if want == got {
        return;
    }
    let first = want
        .lines()
        .zip(got.lines())
        .position(|(w, g)| w != g)
        .unwrap_or(want.lines().count().min(got.lines().count()));
    panic!(
        "{relative} is out of date: it differs from what the code produces from line {line} on\n  committed: {w:?}\n  produced:  {g:?}\n\
         If the change is intended, regenerate it with `{update_var}=1 cargo test --test contract` and review the diff.",
        line = first + 1,
        w = want.lines().nth(first),
        g = got.lines().nth(first),
    );
}

#[test]
fn docs_metrics_md_is_the_family_table_rendered() {
    for f in FAMILIES {
        for label in f.labels {
            assert!(f.label_values(label).is_some(), "{}: the values of label {label} are not documented", f.name);
        }
        for (label, _) in f.values {
            assert!(f.labels.contains(label), "{}: values given for {label}, which it does not have", f.name);
        }
    }
    // The closed sets of `report` and of the failure `reason` are the catalog's and the classifier's.
    let closed =
        |family: &str, label: &str| match FAMILIES.iter().find(|f| f.name == family).unwrap().label_values(label) {
            Some(LabelValues::Closed(set)) => set.to_vec(),
            _ => panic!("{family}: {label} is a closed set"),
        };
    // Every report of the catalog, and the group-membership reads the registration poll records.
    let mut reports: Vec<&str> = entra_authmethods_exporter::reports::REPORTS.iter().map(|r| r.name).collect();
    reports.push(entra_authmethods_exporter::reports::GROUP_MEMBERS.name);
    assert_eq!(closed("entra_authmethods_polls_total", "report"), reports);
    let reasons: Vec<&str> = FailureReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(closed("entra_authmethods_poll_failures_total", "reason"), reasons);
    assert_eq!(closed("entra_authmethods_last_error_info", "reason"), reasons);
    compare_with_committed("docs/metrics.md", &snapshot::contract_markdown(), "UPDATE_CONTRACT");
}

#[test]
fn the_readme_links_to_the_contract() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    assert!(readme.contains("(docs/metrics.md)"), "README.md links to docs/metrics.md");
}

/// A simulator with every report live and the fixed population, and an exporter polling all of
/// them (the app credential and a signed-in user's refresh token, as `--demo` runs), after its
/// first round of polls.
async fn fixed_tenant() -> (RunningSimulator, RunningExporter, tempfile::TempDir) {
    let mut cfg = SimulatorConfig::single(USERS, SEED);
    cfg.quota_requests = 10_000;
    let sim = graph_simulator::start(cfg, loopback()).await.unwrap();
    let refreshed_at = time::OffsetDateTime::from_unix_timestamp(REFRESHED_AT).unwrap();
    sim.set_population(DEMO_TENANT_ID, Population::generate_at(USERS, SEED, refreshed_at));
    // A group and an exclusion, so the group families are served (and golden) too.
    let id = |name: &str| graph_simulator::group_object_id(DEMO_TENANT_ID, name);
    let (dir, mut toml) = everything_toml(&sim, &format!("exclude_groups = [{:?}]", id("Break-glass accounts")));
    toml.push_str(&format!("\n[[tenant.group]]\nname = \"passkey-pilot\"\nid = {:?}\n", id("Passkey pilot")));
    let exporter = start_exporter(&settings(&toml)).await;
    (sim, exporter, dir)
}

/// The tenants' state with every time the fixed clock's and every poll [`POLL_TIME`] long.
fn at_fixed_clock(mut tenants: Vec<TenantStatus>) -> Vec<TenantStatus> {
    for t in &mut tenants {
        for state in t.reports.values_mut() {
            if let Some(d) = &state.data {
                state.data = Some(Arc::new(ReportSnapshot { data: d.data.clone(), completed_at: clock() }));
            }
            let h = &mut state.health;
            h.last_success = h.last_success.map(|_| clock());
            h.last_duration = h.last_duration.map(|_| POLL_TIME);
            if let Some(e) = &mut h.last_error {
                e.at = clock();
            }
        }
    }
    tenants
}

fn series_keys(exp: &Exposition) -> BTreeSet<Key> {
    exp.samples.keys().cloned().collect()
}

/// The golden exposition: the exporter's state after polling the fixed tenant over HTTP, rendered
/// at the fixed clock, equals the committed file byte for byte; promtool accepts it; and a live
/// scrape of the same exporter serves the same series with the same values, but for the clock's.
#[tokio::test]
async fn the_golden_exposition_of_a_fixed_tenant_is_unchanged() {
    let (sim, exporter, _dir) = fixed_tenant().await;
    for (report, state) in &exporter.store.status()[0].reports {
        assert_eq!(state.health.last_attempt_ok, Some(true), "the first poll of {} succeeded", report.as_str());
    }
    let build = BuildInfo { version: entra_authmethods_exporter::VERSION, revision: REVISION };
    let reload = ReloadStatus { successful: true, last_success: clock() };
    let golden = snapshot::render_at(&build, &reload, &at_fixed_clock(exporter.store.status()), clock());
    let golden = String::from_utf8(golden).unwrap();
    compare_with_committed("tests/testdata/golden/exposition.prom", &golden, "UPDATE_GOLDEN");
    promtool_check_metrics(&golden);

    let live = scrape(exporter.addr).await;
    let golden = Exposition::parse(&golden);
    let mut live_keys: BTreeMap<Key, f64> = BTreeMap::new();
    for ((name, mut labels), value) in live.samples.clone() {
        if name.starts_with("process_") {
            continue;
        }
        if name == "entra_authmethods_build_info" {
            labels.insert("revision".into(), REVISION.into());
        }
        live_keys.insert((name, labels), value);
    }
    let golden_keys = series_keys(&golden);
    let live_set: BTreeSet<Key> = live_keys.keys().cloned().collect();
    assert_eq!(
        live_set.symmetric_difference(&golden_keys).collect::<Vec<_>>(),
        Vec::<&Key>::new(),
        "the live scrape and the golden render have the same series"
    );
    for (key, value) in &live_keys {
        if !CLOCK_FAMILIES.contains(&key.0.as_str()) {
            assert_eq!(Some(value), golden.samples.get(key), "{key:?}: live and golden values");
        }
    }
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// One row of the families table of docs/metrics.md: name, type and when it is exported.
fn contract_rows() -> Vec<(String, String, String)> {
    let md = std::fs::read_to_string(repo_file("docs/metrics.md")).expect("docs/metrics.md exists");
    let table = md.split("## Families").nth(1).expect("a Families section").split("\n## ").next().unwrap();
    table
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(" | ").map(|c| c.trim_matches(|c| c == '|' || c == ' ')).collect();
            let name = cells.first()?.strip_prefix("[`")?.split('`').next()?.to_string();
            Some((name, cells[1].to_string(), cells[cells.len() - 1].to_string()))
        })
        .collect()
}

/// Every family a simulator-fed exporter serves is in docs/metrics.md with its type, and every
/// family there is served, but for those the contract says appear only after a failure or with a
/// certificate credential. Every label value of a closed set is one the table lists.
#[tokio::test]
async fn every_served_family_is_in_the_contract_and_back() {
    let (sim, exporter, _dir) = fixed_tenant().await;
    let live = scrape(exporter.addr).await;
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    for line in live.text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let (name, kind) = line.split_once(' ').unwrap();
        types.insert(name.to_string(), kind.to_string());
    }
    let rows = contract_rows();
    assert!(rows.len() > 40, "docs/metrics.md lists the families: {rows:?}");
    let documented: BTreeMap<&str, (&str, &str)> =
        rows.iter().map(|(n, t, p)| (n.as_str(), (t.as_str(), p.as_str()))).collect();
    for (name, kind) in &types {
        let Some((doc_kind, _)) = documented.get(name.as_str()) else {
            panic!("{name} is served but not in docs/metrics.md");
        };
        assert_eq!(doc_kind, kind, "{name}: type in docs/metrics.md");
    }
    for (name, (_, presence)) in &documented {
        let optional = presence.starts_with("only after a poll of the report failed")
            || presence.starts_with("only for tenants with a certificate credential")
            || presence.starts_with("only when the web configuration turns TLS on")
            || (presence.starts_with("on Linux only") && !cfg!(target_os = "linux"));
        assert!(optional || types.contains_key(*name), "{name} is in docs/metrics.md ({presence}) but not served");
    }
    for (name, labels) in live.samples.keys() {
        let Some(family) = FAMILIES.iter().find(|f| f.name == name) else {
            assert!(name.starts_with("process_"), "{name} is not in the family table");
            continue;
        };
        let names: BTreeSet<&str> = labels.keys().map(String::as_str).collect();
        assert_eq!(names, family.labels.iter().copied().collect(), "{name}: label names");
        for (label, value) in labels {
            if let Some(LabelValues::Closed(set)) = family.label_values(label) {
                assert!(set.contains(&value.as_str()), "{name}{{{label}={value:?}}} is not among {set:?}");
            }
        }
    }
    exporter.shutdown().await;
    sim.shutdown().await;
}
