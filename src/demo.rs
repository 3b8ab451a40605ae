//! `--demo`: the built-in Graph simulator with a synthetic tenant whose registrations drift, exported
//! through the ordinary configuration path, so what the demo shows is what production runs.

use std::net::SocketAddr;
use std::time::Duration;

use crate::app;
use crate::config;
use crate::simulator::{self, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SimulatorConfig};

/// Users in the demo tenant: a few pages of userRegistrationDetails, so paging is exercised.
pub const DEMO_USERS: usize = 3000;
const DEMO_SEED: u64 = 20261127;
/// The simulated population changes this often, and the demo polls at the same pace (the minimum).
const DRIFT_EVERY: Duration = Duration::from_secs(60);

/// The configuration the demo runs with, as an operator would write it.
pub fn demo_config(simulator_base_url: &str) -> String {
    format!(
        r#"[[tenant]]
name = "demo"
tenant_id = "{DEMO_TENANT_ID}"
client_id = "{DEMO_CLIENT_ID}"
client_secret = "{DEMO_CLIENT_SECRET}"
graph_endpoint = "{simulator_base_url}"
login_endpoint = "{simulator_base_url}"
poll_interval = "1m"
"#
    )
}

pub async fn run(listen: SocketAddr, telemetry_path: &str) -> Result<(), String> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let sim = simulator::start(SimulatorConfig::single(DEMO_USERS, DEMO_SEED), loopback)
        .await
        .map_err(|e| format!("cannot start the Graph simulator: {e}"))?;
    let settings = config::from_toml_str(&demo_config(&sim.base_url())).map_err(|e| e.to_string())?;
    let exporter = app::start(&settings, listen, telemetry_path).await.map_err(|e| e.to_string())?;
    let shown = display_address(exporter.addr);
    println!("Demo running: a simulated tenant of {DEMO_USERS} users at {}", sim.base_url());
    println!("  metrics:      http://{shown}{telemetry_path}");
    println!("  status page:  http://{shown}/");
    println!("Press Ctrl-C to stop.");
    exporter.wait_for_polls(exporter.polled_reports()).await;
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
    Ok(())
}

/// `simulate`: the simulator alone, for trying the exporter with a hand-written config.
pub async fn simulate(listen: SocketAddr, users: usize, seed: u64) -> Result<(), String> {
    let sim = simulator::start(SimulatorConfig::single(users, seed), listen)
        .await
        .map_err(|e| format!("cannot start the Graph simulator on {listen}: {e}"))?;
    println!("Graph simulator listening on {} with {users} users (seed {seed})", sim.base_url());
    println!("Use this tenant in a config:\n\n{}", demo_config(&sim.base_url()));
    app::shutdown_signal().await;
    sim.shutdown().await;
    Ok(())
}

/// 0.0.0.0 is where we listen, not an address a browser can open.
fn display_address(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() { format!("localhost:{}", addr.port()) } else { addr.to_string() }
}
