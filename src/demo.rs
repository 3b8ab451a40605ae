//! `--demo`: the built-in Graph simulator with a synthetic tenant whose registrations drift, exported
//! through the ordinary configuration path, so what the demo shows is what production runs.

use std::net::SocketAddr;
use std::time::Duration;

use crate::app;
use crate::config;
use graph_simulator::{
    self as simulator, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, RetirableReport, SimulatorConfig,
};

/// Users in the demo tenant: a few pages of userRegistrationDetails, so paging is exercised.
pub(crate) const DEMO_USERS: usize = 3000;
const DEMO_SEED: u64 = 20261127;
/// The simulated population changes this often, and the demo polls at the same pace (the minimum).
const DRIFT_EVERY: Duration = Duration::from_secs(60);
use crate::cli::DEMO_QUOTA;

/// The configuration the demo runs with, as an operator would write it: the app credential, plus
/// a signed-in user's refresh token when `refresh_token_file` is given, and every report on. Without
/// it (what `simulate` prints) the reports Microsoft retired are off.
pub(crate) fn demo_config(simulator_base_url: &str, refresh_token_file: Option<&std::path::Path>) -> String {
    let mut toml = format!(
        r#"# The demo's simulated Graph grants a quota 10 times Graph's real 5 requests per 10 seconds,
# so that every report shows data within seconds.
[graph]
rate_limit_requests = {DEMO_QUOTA}

[[tenant]]
name = "demo"
tenant_id = "{DEMO_TENANT_ID}"
client_id = "{DEMO_CLIENT_ID}"
client_secret = "{DEMO_CLIENT_SECRET}"
graph_endpoint = "{simulator_base_url}"
login_endpoint = "{simulator_base_url}"
poll_interval = "1m"
user_roles = ["all", "admin", "user", "privilegedAdmin"]
# Break-glass accounts leave every count made from userRegistrationDetails.
exclude_groups = ["{break_glass}"]
"#,
        break_glass = simulator::group_object_id(DEMO_TENANT_ID, "Break-glass accounts"),
    );
    let mut reports: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    if let Some(file) = refresh_token_file {
        toml.push_str(&format!("refresh_token_file = {:?}\n", file.display().to_string()));
        // The summaries run too (not feeding the main families), so every operation is exercised.
        reports.entry("registration_summary").or_default().push("enabled = true");
    }
    // Reports Microsoft retired: the demo's simulator serves them as if live; `simulate` (no signed-in
    // user) serves them retired, as Graph does, so the config it prints leaves them off rather than
    // have a first try log "unavailable" for each.
    let retired = if refresh_token_file.is_some() { "enabled = true" } else { "enabled = false" };
    for report in ["credential_usage_summary", "credential_user_registration_details", "user_credential_usage_details"]
    {
        reports.entry(report).or_default().push(retired);
    }
    // Every report at the demo's pace, so changes show within a minute or two.
    for report in crate::reports::REPORTS.iter().filter(|r| r.default_interval.is_some_and(|i| i > DRIFT_EVERY)) {
        reports.entry(report.name).or_default().push("interval = \"1m\"");
    }
    // A week of user events rather than the default day: a 3,000-user tenant has a handful of
    // registrations and resets a day, which some days include no failure at all, and the demo should
    // show the failure families whenever it is started.
    reports.entry("user_events_summary").or_default().push("lookback = \"7d\"");
    for (report, lines) in reports {
        toml.push_str(&format!("\n[tenant.reports.{report}]\n{}\n", lines.join("\n")));
    }
    // Two of the simulated directory's groups, counted on their own (All staff nests departments).
    for (name, group) in [("passkey-pilot", "Passkey pilot"), ("all-staff", "All staff")] {
        let id = simulator::group_object_id(DEMO_TENANT_ID, group);
        toml.push_str(&format!("\n[[tenant.group]]\nname = \"{name}\"\nid = \"{id}\"\n"));
    }
    toml
}

/// `--demo`: the simulator and an exporter polling it. The web config and connection limit given on
/// the command line apply as they would to the daemon, so TLS and basic auth can be tried here too.
pub(crate) async fn run(
    listen: SocketAddr,
    telemetry_path: &str,
    web: Option<crate::http::web::WebConfig>,
    limits: crate::http::web::ConnectionLimits,
) -> Result<(), String> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut sim_config = SimulatorConfig::single(DEMO_USERS, DEMO_SEED);
    sim_config.quota_requests = DEMO_QUOTA;
    let sim =
        simulator::start(sim_config, loopback).await.map_err(|e| format!("cannot start the Graph simulator: {e}"))?;
    // The demo shows every report: the ones Microsoft retired are served as if they were live, and
    // a signed-in user's refresh token is minted directly (as `login` would store it).
    for report in [
        RetirableReport::CredentialUsageSummary,
        RetirableReport::CredentialUserRegistrationDetails,
        RetirableReport::UserCredentialUsageDetails,
    ] {
        sim.set_retired(report, false);
    }
    let state_dir = std::env::temp_dir().join(format!("entra-authmethods-demo-{}", std::process::id()));
    std::fs::create_dir_all(&state_dir).map_err(|e| format!("cannot create {}: {e}", state_dir.display()))?;
    let token_file = state_dir.join("demo.refresh-token");
    crate::graph::token_file::write(&token_file, &crate::config::Secret::new(sim.issue_refresh_token(DEMO_TENANT_ID)))?;
    let settings =
        config::from_toml_str(&demo_config(&sim.base_url(), Some(&token_file))).map_err(|e| e.to_string())?;
    let scheme = if web.as_ref().is_some_and(|w| w.tls().is_some()) { "https" } else { "http" };
    let exporter =
        app::start_with(&settings, listen, telemetry_path, web, None, limits).await.map_err(|e| e.to_string())?;
    let shown = display_address(exporter.addr);
    println!("Demo running: a simulated tenant of {DEMO_USERS} users at {}", sim.base_url());
    println!("  metrics:      {scheme}://{shown}{telemetry_path}");
    println!("  status page:  {scheme}://{shown}/");
    println!("Press Ctrl-C to stop.");
    exporter.wait_for_first_round().await;
    let waiting = crate::http::not_ready(&exporter.store);
    let ready = if waiting.is_empty() {
        "first poll completed".to_string()
    } else {
        format!("first poll FAILED, see the log: {}", waiting.join("; "))
    };
    println!("Ready: {ready}; the simulated tenant drifts every minute and is polled every minute.");

    let drift = async {
        let mut tick = tokio::time::interval(DRIFT_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            sim.drift(DEMO_TENANT_ID);
        }
    };
    tokio::select! {
        _ = app::shutdown_signal() => {}
        _ = drift => {}
    }
    exporter.shutdown().await;
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    Ok(())
}

/// The simulator's reports quota for `simulate`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quota {
    pub(crate) requests: u32,
    /// `Duration::ZERO` turns throttling off.
    pub(crate) window: Duration,
}

/// `simulate`: the simulator alone, for trying the exporter with a hand-written config. At Ctrl-C
/// or SIGTERM it prints what it served, so a benchmark can count requests and 429s on Graph's side.
pub(crate) async fn simulate(listen: SocketAddr, users: usize, seed: u64, quota: Quota) -> Result<(), String> {
    let mut sim_config = SimulatorConfig::single(users, seed);
    sim_config.quota_requests = quota.requests;
    sim_config.quota_window = quota.window;
    let sim = simulator::start(sim_config, listen)
        .await
        .map_err(|e| format!("cannot start the Graph simulator on {listen}: {e}"))?;
    let quota_text = if quota.window.is_zero() {
        "no quota".to_string()
    } else {
        format!("quota {} requests per {}", quota.requests, humantime::format_duration(quota.window))
    };
    println!("Graph simulator listening on {} with {users} users (seed {seed}), {quota_text}", sim.base_url());
    println!("Use this tenant in a config:\n\n{}", demo_config(&sim.base_url(), None));
    let base = sim.base_url();
    println!(
        "Or, instead of client_id and client_secret, a managed identity (system-assigned; client_id = \"{}\" for the user-assigned one):\n\ncredential = \"managed_identity\"\nmanaged_identity_endpoint = \"{base}{}\"\n\nor App Service's endpoint with managed_identity_endpoint = \"{base}{}\" and managed_identity_header = \"{}\".",
        simulator::DEMO_USER_ASSIGNED_CLIENT_ID,
        simulator::IMDS_TOKEN_PATH,
        simulator::APP_SERVICE_TOKEN_PATH,
        simulator::DEMO_IDENTITY_HEADER,
    );
    println!(
        "\nDelegated reports (a signed-in user's token): add the line refresh_token_file = \"/tmp/entra-sim.refresh-token\" \
         to its [[tenant]] table, run\n\n  entra-authmethods-exporter login --config FILE --tenant demo\n\nand enter the code it \
         prints at {base}/devicelogin (this simulator's sign-in page; real tenants use Microsoft's).",
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    app::shutdown_signal().await;
    let stats = sim.stats();
    println!(
        "simulator stats: graph_requests={} throttled={} pages_served={} rows_served={} token_requests_ok={}",
        stats.graph_requests_total(),
        stats.throttled,
        stats.pages_served,
        stats.rows_served,
        stats.token_requests_ok
    );
    sim.shutdown().await;
    Ok(())
}

/// 0.0.0.0 is where we listen, not an address a browser can open.
fn display_address(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() { format!("localhost:{}", addr.port()) } else { addr.to_string() }
}

#[cfg(test)]
mod tests {
    use crate::reports::ReportKind;

    #[test]
    fn the_printed_config_for_simulate_leaves_the_retired_reports_off_and_the_demo_on() {
        let retired = [
            ReportKind::CredentialUsageSummary,
            ReportKind::CredentialUserRegistrationDetails,
            ReportKind::UserCredentialUsageDetails,
        ];
        let printed = crate::config::from_toml_str(&super::demo_config("http://127.0.0.1:8990", None)).unwrap();
        let reports = &printed.tenants[0].reports;
        assert!(retired.iter().all(|r| !reports.contains_key(r)), "{:?}", reports.keys());
        assert!(reports.contains_key(&ReportKind::CredentialUserRegistrationCount));
        let demo = crate::config::from_toml_str(&super::demo_config(
            "http://127.0.0.1:8990",
            Some(std::path::Path::new("/tmp/demo.refresh-token")),
        ))
        .unwrap();
        assert!(retired.iter().all(|r| demo.tenants[0].reports.contains_key(r)));
    }
}
