//! Many tenants in one exporter: concurrent polls under a global limit, and sharding across replicas.

mod common;

use std::collections::BTreeSet;

use common::*;
use entra_authmethods_exporter::simulator::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID};

/// `names` tenants against one simulator (the same directory under different names, as an MSP's
/// multi-tenant app would see several), details only.
fn many(sim: &entra_authmethods_exporter::simulator::RunningSimulator, names: &[&str], graph: &str) -> String {
    let mut toml = format!(
        "[graph]\nrate_limit_requests = 1000\nrate_limit_period = \"1s\"\nretry_backoff_base = \"10ms\"\nretry_backoff_max = \"50ms\"\n{graph}\n"
    );
    for name in names {
        toml.push_str(&format!(
            "\n[[tenant]]\nname = \"{name}\"\ntenant_id = \"{DEMO_TENANT_ID}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret = \"{DEMO_CLIENT_SECRET}\"\ngraph_endpoint = \"{base}\"\nlogin_endpoint = \"{base}\"\n",
            base = sim.base_url()
        ));
        for spec in entra_authmethods_exporter::reports::REPORTS.iter().filter(|s| s.name != "registration_details") {
            toml.push_str(&format!("[tenant.reports.{}]\nenabled = false\n", spec.name));
        }
    }
    toml
}

fn tenants_in(exp: &Exposition) -> BTreeSet<String> {
    exp.family("entra_authmethods_tenant_info").keys().map(|l| l["tenant"].clone()).collect()
}

const NAMES: [&str; 6] = ["contoso", "fabrikam", "northwind", "adatum", "litware", "proseware"];

#[tokio::test]
async fn every_tenant_is_polled_under_a_concurrency_limit_of_one() {
    let sim = start_simulator(150, 71).await;
    let exporter = start_exporter(&settings(&many(&sim, &NAMES, "max_concurrent_polls = 1"))).await;
    let exp = scrape(exporter.addr).await;
    let listed = sim.population(DEMO_TENANT_ID).users.iter().filter(|u| u.enabled).count() as f64;
    for name in NAMES {
        assert_eq!(
            exp.get("entra_authmethods_poll_success", &[("tenant", name), ("report", "registration_details")]),
            Some(1.0)
        );
        assert_eq!(
            exp.get("entra_authmethods_users", &[("tenant", name), ("user_type", "all"), ("user_role", "all")]),
            Some(listed)
        );
    }
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn shards_partition_the_tenants() {
    let sim = start_simulator(20, 72).await;
    let toml = many(&sim, &NAMES, "");
    let mut seen = BTreeSet::new();
    for index in ["0", "1", "2"] {
        let out = run_binary(&toml, &["--once", "--shard.count", "3", "--shard.index", index]).await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mine = tenants_in(&Exposition::parse(&String::from_utf8(out.stdout).unwrap()));
        assert!(seen.is_disjoint(&mine), "a tenant is polled by two shards: {mine:?}");
        seen.extend(mine);
    }
    let all: BTreeSet<String> = NAMES.iter().map(|s| s.to_string()).collect();
    assert_eq!(seen, all, "every tenant is polled by exactly one shard");

    let bad = run_binary(&toml, &["--once", "--shard.count", "3", "--shard.index", "3"]).await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("shard index 3 is out of range for 3 shards"));
    sim.shutdown().await;
}
