//! Shared test fixtures: a simulator and an exporter on 127.0.0.1 ephemeral ports, a scraper, an
//! exposition parser, and the truth computed straight from the simulator's population — never with
//! the exporter's own aggregation code.
#![allow(dead_code)]

pub mod activity_truth;
pub mod group_truth;
pub mod truth;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use entra_authmethods_exporter::app::{self, RunningExporter};
use entra_authmethods_exporter::config::{self, Settings};
use graph_simulator::{self as simulator, RunningSimulator, SimulatorConfig};

pub const TENANT: &str = "contoso";

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A simulator with a quota high enough that pacing never matters unless a test wants it to.
pub async fn start_simulator(users: usize, seed: u64) -> RunningSimulator {
    let mut cfg = SimulatorConfig::single(users, seed);
    cfg.quota_requests = 10_000;
    simulator::start(cfg, loopback()).await.expect("simulator starts")
}

/// TOML for one tenant pointing at the simulator, with fast retries, polling only the
/// registration details; `extra_graph` and `extra_tenant` are appended to the [graph] and
/// [[tenant]] tables.
pub fn config_toml(sim: &RunningSimulator, extra_graph: &str, extra_tenant: &str) -> String {
    let mut only_details = String::new();
    for spec in entra_authmethods_exporter::reports::REPORTS.iter().filter(|s| s.name != "registration_details") {
        only_details.push_str(&format!("\n[tenant.reports.{}]\nenabled = false\n", spec.name));
    }
    config_toml_with_reports(sim, extra_graph, extra_tenant, &only_details)
}

/// Everything on for one tenant of `sim`: the retired reports served as if live, a signed-in user's
/// refresh token beside the app credential (as `--demo` runs), every report enabled and the
/// privilegedAdmin breakdown; `extra_tenant` adds keys to the tenant. The directory holds the token file.
pub fn everything_toml(sim: &RunningSimulator, extra_tenant: &str) -> (tempfile::TempDir, String) {
    for r in [
        simulator::RetirableReport::CredentialUsageSummary,
        simulator::RetirableReport::CredentialUserRegistrationDetails,
        simulator::RetirableReport::UserCredentialUsageDetails,
    ] {
        sim.set_retired(r, false);
    }
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("refresh-token");
    let refresh = config::Secret::new(sim.issue_refresh_token(simulator::DEMO_TENANT_ID));
    entra_authmethods_exporter::graph::token_file::write(&token, &refresh).unwrap();
    let tenant = format!(
        "refresh_token_file = {:?}\n{extra_tenant}\nuser_roles = [\"all\", \"admin\", \"user\", \"privilegedAdmin\"]",
        token.display().to_string()
    );
    let mut reports = String::new();
    for spec in entra_authmethods_exporter::reports::REPORTS {
        reports.push_str(&format!("\n[tenant.reports.{}]\nenabled = true\n", spec.name));
    }
    let toml = config_toml_with_reports(sim, "page_size = 200", &tenant, &reports);
    (dir, toml)
}

/// Like [`config_toml`], with `reports` (`[tenant.reports.*]` tables) instead of details only.
pub fn config_toml_with_reports(
    sim: &RunningSimulator,
    extra_graph: &str,
    extra_tenant: &str,
    reports: &str,
) -> String {
    format!(
        r#"[graph]
rate_limit_requests = 1000
rate_limit_period = "1s"
retry_backoff_base = "10ms"
retry_backoff_max = "50ms"
request_timeout = "5s"
{extra_graph}

[[tenant]]
name = "{TENANT}"
tenant_id = "{tid}"
client_id = "{cid}"
client_secret = "{secret}"
graph_endpoint = "{base}"
login_endpoint = "{base}"
{extra_tenant}
{reports}
"#,
        tid = simulator::DEMO_TENANT_ID,
        cid = simulator::DEMO_CLIENT_ID,
        secret = simulator::DEMO_CLIENT_SECRET,
        base = sim.base_url(),
    )
}

/// Runs the real binary with `--config` pointing at `toml` written to a temporary file, plus `args`.
pub async fn run_binary(toml: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-authmethods-exporter"))
        .args(args)
        .arg("--config")
        .arg(&path)
        .output()
        .await
        .expect("the exporter binary runs")
}

/// Like [`run_binary`], with the Azure identity variables of this process removed and `env` set:
/// the child's environment is its own, so tests running in parallel do not see each other's.
pub async fn run_binary_env(toml: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-authmethods-exporter"));
    for var in ["AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_AUTHORITY_HOST"] {
        cmd.env_remove(var);
    }
    for var in ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied()).args(args).arg("--config").arg(&path);
    cmd.output().await.expect("the exporter binary runs")
}

pub fn settings(toml: &str) -> Settings {
    config::from_toml_str(toml).expect("test config is valid")
}

/// Starts the exporter and waits for its first poll to complete (success or failure).
pub async fn start_exporter(settings: &Settings) -> RunningExporter {
    let exporter = app::start(settings, loopback(), "/metrics", None).await.expect("exporter starts");
    exporter.wait_for_first_round().await;
    exporter
}

/// An HTTP client for the tests. reqwest is built without a default TLS provider, so one is installed
/// first, as the exporter does, even though the tests only speak plain http to 127.0.0.1.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let resp = client().get(format!("http://{addr}{path}")).send().await.expect("HTTP request");
    let status = resp.status().as_u16();
    let ctype = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ctype, resp.text().await.expect("body"))
}

pub async fn scrape(addr: SocketAddr) -> Exposition {
    let (status, ctype, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");
    Exposition::parse(&body)
}

/// A series: metric name and its labels, sorted.
pub type Key = (String, BTreeMap<String, String>);

/// Parsed text exposition (format 0.0.4).
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: BTreeMap<Key, f64>,
    pub text: String,
}

impl Exposition {
    pub fn parse(text: &str) -> Self {
        let mut samples = BTreeMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let (series, value) = line.rsplit_once(' ').expect("sample line has a value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line}"));
            let (name, labels) = match series.split_once('{') {
                None => (series.to_string(), BTreeMap::new()),
                Some((name, rest)) => (name.to_string(), parse_labels(rest.strip_suffix('}').expect("closing brace"))),
            };
            assert!(samples.insert((name, labels), value).is_none(), "duplicate series {line}");
        }
        Exposition { samples, text: text.to_string() }
    }

    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let key = (name.to_string(), labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        self.samples.get(&key).copied()
    }

    /// All series of one family.
    pub fn family(&self, name: &str) -> BTreeMap<BTreeMap<String, String>, f64> {
        self.samples.iter().filter(|((n, _), _)| n == name).map(|((_, l), v)| (l.clone(), *v)).collect()
    }
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if name.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => panic!("dangling escape"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        out.insert(name.trim_start_matches(',').to_string(), value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    out
}

/// Runs `promtool check metrics` on an exposition. Fails when promtool is missing on CI (CI=true),
/// and says loudly that it did not run elsewhere.
pub fn promtool_check_metrics(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("promtool is required on CI (apt-get install prometheus): {e}");
            }
            eprintln!("NOTE: promtool not installed; `promtool check metrics` was NOT run ({e})");
            return;
        }
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && report.trim().is_empty(), "promtool check metrics found problems:\n{report}");
}

impl Exposition {
    /// Every series of `family` equals `truth` (series absent from the truth must be 0) and every
    /// truth series is exported.
    pub fn assert_family(&self, family: &str, truth: &activity_truth::Series) {
        let got = self.family(family);
        for (labels, want) in truth {
            let key: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            assert_eq!(got.get(&key), Some(want), "{family}{key:?}");
        }
        for (labels, value) in &got {
            let key: Vec<(&str, String)> = labels.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            if !truth.keys().any(|t| t.iter().all(|(k, v)| labels.get(*k) == Some(v)) && t.len() == key.len()) {
                assert_eq!(*value, 0.0, "{family}{labels:?} exported as {value}, expected none or 0");
            }
        }
    }
}

/// The real binary in `--demo` mode on an ephemeral loopback port, with `extra` arguments, and its
/// standard output, where it prints its URLs (once the listener is bound) and when it is ready.
pub fn spawn_demo<S: AsRef<std::ffi::OsStr>>(
    extra: impl IntoIterator<Item = S>,
) -> (tokio::process::Child, tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-authmethods-exporter"))
        .args(["--demo", "--web.listen-address", "127.0.0.1:0"])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// The tenant-level families the exporter counts from userRegistrationDetails.
pub const DATA_FAMILIES: [&str; 6] = [
    "entra_authmethods_users",
    "entra_authmethods_users_registered_by_feature",
    "entra_authmethods_users_registered_by_method",
    "entra_authmethods_users_by_default_method",
    "entra_authmethods_users_by_methods_registered",
    "entra_authmethods_users_by_strongest_method",
];

/// Every expected series is present with its value, and every exported data series is expected
/// (known methods with no users are exported as 0).
pub fn assert_matches_truth(exp: &Exposition, truth: &truth::Truth) {
    let expected = [
        &truth.users,
        &truth.by_feature,
        &truth.by_method,
        &truth.by_default_method,
        &truth.by_method_count,
        &truth.by_strongest_method,
    ];
    for (family, want) in DATA_FAMILIES.iter().zip(expected) {
        let got = exp.family(family);
        assert!(!want.is_empty(), "{family}: no expected series");
        for (labels, value) in want {
            assert_eq!(got.get(labels), Some(value), "{family}{labels:?}");
        }
        for (labels, value) in &got {
            if !want.contains_key(labels) {
                assert_eq!(*value, 0.0, "{family}{labels:?} is exported as {value} but no user has it");
            }
        }
    }
    // The strength tiers partition each breakdown's users, and the top tier is the feature.
    for (labels, users) in &truth.users {
        let l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let tier = |s: &'static str| {
            let mut l = l.clone();
            l.push(("strength", s));
            exp.get("entra_authmethods_users_by_strongest_method", &l).unwrap()
        };
        assert_eq!(truth::STRENGTHS.iter().map(|s| tier(s)).sum::<f64>(), *users, "{labels:?}");
        let mut f = l.clone();
        f.push(("feature", "phishingResistantCapable"));
        assert_eq!(tier("phishingResistant"), exp.get("entra_authmethods_users_registered_by_feature", &f).unwrap());
    }
    let refresh = exp.get("entra_authmethods_report_refresh_timestamp_seconds", &[("tenant", TENANT)]);
    match (refresh, truth.refresh_timestamp) {
        (Some(got), Some(want)) => assert!((got - want).abs() < 1e-3, "refresh {got} != {want}"),
        (got, want) => assert_eq!(got, want, "refresh timestamp presence"),
    }
}

/// A generated tenant where a share of the users also has every method the strength tiers name
/// that the generator leaves out (the legacy `fido2`, both certificate spellings), `password`, and
/// names no table knows; checks that every named method and each of those is someone's.
pub fn with_every_named_method(users: usize, seed: u64) -> simulator::Population {
    let mut population = simulator::Population::generate(users, seed);
    let extra = [
        "fido2",
        "x509Certificate",
        "certificateBasedAuthentication",
        "password",
        "someNewMethod",
        "quantumEntanglementKey",
    ];
    population.add_methods(&extra.map(String::from), 7);
    for m in truth::named_methods().chain(extra) {
        assert!(population.listed().any(|u| u.methods_registered.iter().any(|x| x == m)), "nobody has {m}");
    }
    population
}
