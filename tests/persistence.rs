//! The state file: the last good data survives a restart and is served at once with its real age;
//! unusable files are ignored and left untouched until a good poll; writes are atomic and private.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use entra_authmethods_exporter::app;
use graph_simulator::{DEMO_CLIENT_SECRET, RunningSimulator};

/// Families holding report data (not poll health), and the age of that data.
const DATA_FAMILIES: &[&str] = &[
    "entra_authmethods_last_success_timestamp_seconds",
    "entra_authmethods_report_available",
    "entra_authmethods_users",
    "entra_authmethods_users_registered_by_feature",
    "entra_authmethods_users_registered_by_method",
    "entra_authmethods_users_by_default_method",
    "entra_authmethods_users_by_methods_registered",
    "entra_authmethods_report_refresh_timestamp_seconds",
    "entra_authmethods_credential_user_registrations",
    "entra_authmethods_credential_users",
    "entra_authmethods_credential_usage_activities",
    "entra_authmethods_credential_details_users",
    "entra_authmethods_credential_details_users_by_status",
    "entra_authmethods_credential_details_users_by_method",
    "entra_authmethods_credential_usage_events",
    "entra_authmethods_credential_usage_event_failures",
];

const DETAILS: [(&str, &str); 2] = [("tenant", TENANT), ("report", "registration_details")];

fn data(exp: &Exposition) -> BTreeMap<Key, f64> {
    exp.samples
        .iter()
        .filter(|((name, _), _)| DATA_FAMILIES.contains(&name.as_str()))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

fn users_all(exp: &Exposition) -> Option<f64> {
    exp.get("entra_authmethods_users", &[("tenant", TENANT), ("user_type", "all"), ("user_role", "all")])
}

fn with_state_file(toml: &str, path: &Path) -> String {
    format!("state_file = {:?}\n{toml}", path.to_str().unwrap())
}

/// Every report the tenant can poll with its application credential.
fn all_app_reports(sim: &RunningSimulator) -> String {
    config_toml_with_reports(sim, "", "", "")
}

/// The same tenant with Graph and the token endpoint on a port nothing listens on.
fn unreachable(toml: &str, sim: &RunningSimulator) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    toml.replace(&format!("\"{}\"", sim.base_url()), &format!("\"http://127.0.0.1:{port}\""))
        .replace("[graph]\n", "[graph]\nmax_attempts = 1\n")
}

/// Polls once against the simulator with a state file and returns the file and the exposition. It
/// polls each report exactly once, as `--once` does, so no later retry can change the file after the
/// exposition was taken.
async fn first_run(sim: &RunningSimulator, dir: &Path) -> (PathBuf, Exposition) {
    let path = dir.join("state.json");
    let (text, _) = app::run_once(&settings(&with_state_file(&all_app_reports(sim), &path))).await.unwrap();
    let exp = Exposition::parse(std::str::from_utf8(&text).unwrap());
    assert!(users_all(&exp).is_some_and(|n| n > 0.0), "the first run has data");
    (path, exp)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_restart_serves_the_last_known_numbers_at_once_with_their_real_age() {
    let sim = start_simulator(300, 71).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, before) = first_run(&sim, dir.path()).await;

    // The file: atomic (no temporary file left), private, versioned, aggregates only.
    assert_eq!(entries(dir.path()), ["state.json"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["format"], "entra-authmethods-exporter-state");
    assert_eq!(json["version"], 1);
    assert!(!text.contains(DEMO_CLIENT_SECRET), "no secret in the state file");

    // Graph is down after the restart: the last known numbers are served before any poll
    // completes, with the time of their real last success.
    let toml = with_state_file(&unreachable(&all_app_reports(&sim), &sim), &path);
    let exporter = app::start(&settings(&toml), loopback(), "/metrics", None).await.unwrap();
    let at_once = scrape(exporter.addr).await;
    assert!(!data(&before).is_empty());
    assert_eq!(data(&at_once), data(&before));
    exporter.wait_for_first_round().await;
    let after = scrape(exporter.addr).await;
    assert_eq!(after.get("entra_authmethods_poll_success", &DETAILS), Some(0.0));
    assert_eq!(
        after.get("entra_authmethods_poll_failures_total", &[DETAILS[0], DETAILS[1], ("reason", "network")]),
        Some(1.0)
    );
    assert_eq!(data(&after), data(&before), "the failed poll keeps the restored data");
    exporter.flush_state().await;
    exporter.shutdown().await;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "failed polls do not rewrite the file");
    sim.shutdown().await;
}

#[tokio::test]
async fn restored_data_still_ages_out_past_max_staleness() {
    let sim = start_simulator(50, 72).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = first_run(&sim, dir.path()).await;
    // Pretend the data is two hours old, with a max_staleness of one hour.
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let old = time::OffsetDateTime::now_utc() - time::Duration::hours(2);
    let old = old.format(&time::format_description::well_known::Rfc3339).unwrap();
    for report in json["tenants"][0]["reports"].as_array_mut().unwrap() {
        report["completed_at"] = old.clone().into();
        report["last_success"] = old.clone().into();
    }
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    let toml = with_state_file(
        &unreachable(&config_toml(&sim, "", "[tenant.reports.registration_details]\nmax_staleness = \"1h\"\n"), &sim),
        &path,
    );
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(users_all(&exp), None, "stale restored data is not served");
    let last = exp.get("entra_authmethods_last_success_timestamp_seconds", &DETAILS).unwrap();
    let age = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64() - last;
    assert!((7000.0..7400.0).contains(&age), "last success shows the real age: {age}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn unusable_state_files_are_ignored_and_kept_until_a_good_poll() {
    let sim = start_simulator(60, 73).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = first_run(&sim, dir.path()).await;
    let good = std::fs::read_to_string(&path).unwrap();
    let foreign = good.replacen("\"version\": 1", "\"version\": 2", 1);
    assert_ne!(foreign, good);
    // A duration beyond what a Duration holds (from_secs_f64 panicked on it at startup).
    let at =
        good.find("\"duration_seconds\": ").expect("the file has a poll duration") + "\"duration_seconds\": ".len();
    let end = at + good[at..].find(',').unwrap();
    let absurd_duration = format!("{}1e300{}", &good[..at], &good[end..]);
    let cases = [
        ("impossible duration", absurd_duration),
        ("corrupt", "\u{0}\u{1}not json at all".to_string()),
        ("truncated", good[..good.len() / 2].to_string()),
        ("foreign version", foreign),
        ("foreign format", good.replacen("entra-authmethods-exporter-state", "something-else", 1)),
        ("empty", String::new()),
    ];
    let down = unreachable(&config_toml(&sim, "", ""), &sim);
    for (what, content) in cases {
        std::fs::write(&path, &content).unwrap();
        let exporter = start_exporter(&settings(&with_state_file(&down, &path))).await;
        let exp = scrape(exporter.addr).await;
        assert_eq!(users_all(&exp), None, "{what}: nothing restored");
        assert_eq!(exp.get("entra_authmethods_poll_success", &DETAILS), Some(0.0), "{what}");
        exporter.flush_state().await;
        exporter.shutdown().await;
        assert_eq!(std::fs::read_to_string(&path).unwrap(), content, "{what}: the file is left as it was");
    }
    // The next good poll replaces it.
    let exporter = start_exporter(&settings(&with_state_file(&config_toml(&sim, "", ""), &path))).await;
    exporter.flush_state().await;
    exporter.shutdown().await;
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["tenants"][0]["reports"][0]["report"], "registration_details");
    assert_eq!(entries(dir.path()), ["state.json"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn tenants_and_reports_no_longer_configured_are_ignored() {
    let sim = start_simulator(40, 74).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, before) = first_run(&sim, dir.path()).await;
    let original = std::fs::read_to_string(&path).unwrap();

    // Same tenant under another name: its entries do not belong to it.
    let renamed = unreachable(&config_toml(&sim, "", ""), &sim).replace("name = \"contoso\"", "name = \"fabrikam\"");
    let exporter = start_exporter(&settings(&with_state_file(&renamed, &path))).await;
    let exp = scrape(exporter.addr).await;
    assert!(exp.family("entra_authmethods_users").is_empty(), "nothing restored for another tenant");
    exporter.shutdown().await;

    // Only registration_details configured now: the other reports' entries are ignored.
    let exporter =
        start_exporter(&settings(&with_state_file(&unreachable(&config_toml(&sim, "", ""), &sim), &path))).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(users_all(&exp), users_all(&before));
    assert!(
        before.family("entra_authmethods_credential_users").len()
            + before.family("entra_authmethods_credential_user_registrations").len()
            > 0,
        "the first run had other reports"
    );
    assert!(exp.family("entra_authmethods_credential_users").is_empty());
    assert!(exp.family("entra_authmethods_credential_user_registrations").is_empty());
    exporter.shutdown().await;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    sim.shutdown().await;
}

#[tokio::test]
async fn once_mode_writes_the_state_file_too() {
    let sim = start_simulator(30, 75).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (exposition, ok) = app::run_once(&settings(&with_state_file(&config_toml(&sim, "", ""), &path))).await.unwrap();
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["format"], "entra-authmethods-exporter-state");
    assert!(String::from_utf8_lossy(&exposition).contains("entra_authmethods_users{"));
    assert_eq!(entries(dir.path()), ["state.json"]);
    sim.shutdown().await;
}
