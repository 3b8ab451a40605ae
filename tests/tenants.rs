//! Many tenants in one exporter: concurrent polls under a global limit, sharding across replicas, and
//! configuration reloads that add, change and remove tenants while the others keep running.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::*;
use entra_authmethods_exporter::app;
use entra_authmethods_exporter::snapshot::TenantHandle;
use graph_simulator::{self, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SimTenantConfig, SimulatorConfig};

/// `names` tenants against one simulator (the same directory under different names, as an MSP's
/// multi-tenant app would see several), details only.
fn many(sim: &graph_simulator::RunningSimulator, names: &[&str], graph: &str) -> String {
    with_tenant_lines(sim, names, graph, |_| String::new())
}

/// Like [`many`], with extra lines for some tenants (`extra(name)` is inserted in its table).
fn with_tenant_lines(
    sim: &graph_simulator::RunningSimulator,
    names: &[&str],
    graph: &str,
    extra: impl Fn(&str) -> String,
) -> String {
    let mut toml = format!(
        "[graph]\nrate_limit_requests = 1000\nrate_limit_period = \"1s\"\nretry_backoff_base = \"10ms\"\nretry_backoff_max = \"50ms\"\n{graph}\n"
    );
    for name in names {
        toml.push_str(&format!(
            "\n[[tenant]]\nname = \"{name}\"\ntenant_id = \"{DEMO_TENANT_ID}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret = \"{DEMO_CLIENT_SECRET}\"\ngraph_endpoint = \"{base}\"\nlogin_endpoint = \"{base}\"\n{extra}\n",
            base = sim.base_url(),
            extra = extra(name)
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
    // Seen from Graph's side: six tenants started at once, yet never two requests at a time.
    assert_eq!(sim.stats().max_in_flight, 1, "one poll at a time, its token request included");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// A tenant whose login endpoint accepts connections and never answers polls one report at a time,
/// so it holds one of the two slots and every other tenant is polled with the other, while its own
/// polls still hang (their request timeout is far away).
#[tokio::test]
async fn a_hanging_tenant_holds_one_slot_and_never_delays_the_others() {
    let sim = start_simulator(150, 79).await;
    let hang = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let hang_url = format!("http://{}", hang.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = hang.accept().await {
            sockets.push(socket);
        }
    });
    let others = many(&sim, &NAMES, "max_concurrent_polls = 2\nrequest_timeout = \"10m\"");
    let (graph_table, other_tenants) = others.split_once("\n[[tenant]]").unwrap();
    // First in the file, so its polls start first; with every report Graph offers with the app's
    // credential it has more polls than there are slots.
    let toml = format!(
        "{graph_table}\n[[tenant]]\nname = \"hung\"\ntenant_id = \"{DEMO_TENANT_ID}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret = \"{DEMO_CLIENT_SECRET}\"\ngraph_endpoint = \"{}\"\nlogin_endpoint = \"{hang_url}\"\n\n[[tenant]]{other_tenants}",
        sim.base_url()
    );
    let exporter = app::start(&settings(&toml), loopback(), "/metrics", None).await.unwrap();
    let hung_reports = entry_of(&exporter, "hung").status().reports.len();
    assert!(hung_reports > 2, "the hung tenant must have more reports than there are slots");

    let mut polls = exporter.store.subscribe_polls();
    let all_polled = async {
        loop {
            let done = NAMES.iter().all(|name| {
                entry_of(&exporter, name).status().reports.values().all(|r| r.health.last_attempt_ok == Some(true))
            });
            if done {
                return;
            }
            polls.changed().await.unwrap();
        }
    };
    // Without the one-slot-per-tenant rule the hung tenant's polls take both slots for 10 minutes.
    // The timeout only turns that into a failure with a message; nothing waits on it.
    if tokio::time::timeout(std::time::Duration::from_secs(120), all_polled).await.is_err() {
        panic!("the other tenants were not polled while one tenant hung");
    }
    let hung = entry_of(&exporter, "hung").status();
    assert!(
        hung.reports.values().all(|r| r.health.polls_total == 0),
        "the hung tenant's polls are still waiting for its login endpoint"
    );
    let exp = scrape(exporter.addr).await;
    let listed = sim.population(DEMO_TENANT_ID).users.iter().filter(|u| u.enabled).count() as f64;
    for name in NAMES {
        assert_eq!(users_of(&exp, name), Some(listed), "{name}");
    }
    exporter.shutdown().await;
    held.abort();
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

fn users_of(exp: &Exposition, tenant: &str) -> Option<f64> {
    exp.get("entra_authmethods_users", &[("tenant", tenant), ("user_type", "all"), ("user_role", "all")])
}

fn entry_of(exporter: &entra_authmethods_exporter::app::RunningExporter, name: &str) -> TenantHandle {
    exporter.store.tenants().iter().find(|t| t.info().name == name).cloned().expect("tenant is in the store")
}

#[tokio::test]
async fn a_reload_adds_changes_and_removes_tenants_and_leaves_the_others_running() {
    let sim = start_simulator(90, 73).await;
    let listed = sim.population(DEMO_TENANT_ID).users.iter().filter(|u| u.enabled).count() as f64;
    let exporter = start_exporter(&settings(&many(&sim, &["keep", "drop", "retune", "move"], ""))).await;
    let before = scrape(exporter.addr).await;
    let started_at = before.get("entra_authmethods_config_last_reload_success_timestamp_seconds", &[]).unwrap();
    assert_eq!(before.get("entra_authmethods_config_last_reload_successful", &[]), Some(1.0));
    let (keep, retune, moved) =
        (entry_of(&exporter, "keep"), entry_of(&exporter, "retune"), entry_of(&exporter, "move"));

    // retune: a new interval and a client secret Entra refuses (its numbers mean the same, so its
    // data carries over and stays while its polls fail); move: other user types (its numbers change
    // meaning, so it starts afresh); drop: gone; add: new.
    let toml = with_tenant_lines(&sim, &["keep", "retune", "move", "add"], "", |name| match name {
        "retune" => "poll_interval = \"2h\"".into(),
        "move" => "user_types = [\"member\"]".into(),
        _ => String::new(),
    });
    let retune_block = format!(
        "name = \"retune\"\ntenant_id = \"{DEMO_TENANT_ID}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret = \""
    );
    assert!(toml.contains(&retune_block));
    let toml = toml.replace(&format!("{retune_block}{DEMO_CLIENT_SECRET}"), &format!("{retune_block}not-the-secret"));
    let outcome = exporter.reload(settings(&toml)).await.expect("the new configuration is valid");
    assert_eq!(outcome.added, ["add"]);
    assert_eq!(outcome.removed, ["drop"]);
    assert_eq!(outcome.changed, ["retune", "move"]);
    assert_eq!(outcome.unchanged, 1);

    // The unchanged tenant is the same entry with its pollers; the dropped one is gone at once.
    assert!(Arc::ptr_eq(&keep, &entry_of(&exporter, "keep")), "an unchanged tenant is left alone");
    assert!(
        !Arc::ptr_eq(&retune, &entry_of(&exporter, "retune")) && !Arc::ptr_eq(&moved, &entry_of(&exporter, "move"))
    );
    let now = scrape(exporter.addr).await;
    assert_eq!(tenants_in(&now), BTreeSet::from(["keep", "retune", "move", "add"].map(String::from)));
    let interval = [("tenant", "retune"), ("report", "registration_details")];
    assert_eq!(now.get("entra_authmethods_poll_interval_seconds", &interval), Some(7200.0));
    assert_eq!(now.get("entra_authmethods_config_last_reload_successful", &[]), Some(1.0));
    assert!(now.get("entra_authmethods_config_last_reload_success_timestamp_seconds", &[]).unwrap() >= started_at);

    // Every tenant of the new configuration is polled with its own settings; retune's polls fail,
    // and its numbers from before the reload are still served.
    assert!(!exporter.poll_now().await, "retune's secret is refused");
    let after = scrape(exporter.addr).await;
    for name in ["keep", "retune", "add"] {
        assert_eq!(users_of(&after, name), Some(listed), "{name}");
    }
    assert_eq!(after.get("entra_authmethods_poll_success", &interval), Some(0.0));
    let members = sim
        .population(DEMO_TENANT_ID)
        .users
        .iter()
        .filter(|u| u.enabled && u.user_type.as_deref() == Some("member"))
        .count();
    let member_users =
        after.get("entra_authmethods_users", &[("tenant", "move"), ("user_type", "member"), ("user_role", "all")]);
    assert_eq!(member_users, Some(members as f64));
    assert_eq!(users_of(&after, "move"), None, "the old breakdown is gone");
    assert!(after.family("entra_authmethods_polls_total").keys().all(|l| l["tenant"] != "drop"));
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_rejected_reload_keeps_the_running_configuration_and_says_why() {
    let sim = start_simulator(40, 74).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, many(&sim, &["first"], "")).unwrap();
    let file = path.clone();
    let source = app::ConfigSource::new(move || {
        entra_authmethods_exporter::config::load(entra_authmethods_exporter::config::Sources {
            file: Some(&file),
            env: Some(Default::default()),
        })
        .map_err(|e| e.to_string())
    });
    let options = app::ReloadOptions { source, http_endpoint: true, sighup: false };
    let s = settings(&many(&sim, &["first"], ""));
    let exporter = app::start_with(&s, loopback(), "/metrics", None, Some(options), Default::default()).await.unwrap();
    exporter.wait_for_first_round().await;
    let first = entry_of(&exporter, "first");
    let url = format!("http://{}/-/reload", exporter.addr);

    std::fs::write(&path, many(&sim, &["first", "second"], "").replace("name = \"second\"", "name = \"first\""))
        .unwrap();
    let answer = client().post(&url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 500);
    let body = answer.text().await.unwrap();
    assert!(body.contains("previous configuration keeps running") && body.contains("\"first\""), "{body}");
    assert!(body.contains("config.toml"), "the message names the file: {body}");
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_config_last_reload_successful", &[]), Some(0.0));
    assert_eq!(tenants_in(&exp), BTreeSet::from(["first".to_string()]));
    assert!(Arc::ptr_eq(&first, &entry_of(&exporter, "first")));
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(page.contains("the last reload was rejected"), "{page}");

    std::fs::write(&path, many(&sim, &["first", "second"], "")).unwrap();
    let answer = client().put(&url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let body = answer.text().await.unwrap();
    assert_eq!(body, "configuration reloaded: 1 tenants added (second), 0 removed, 0 changed, 1 unchanged\n");
    assert!(exporter.poll_now().await);
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_config_last_reload_successful", &[]), Some(1.0));
    assert_eq!(tenants_in(&exp), BTreeSet::from(["first", "second"].map(String::from)));
    assert_eq!(client().get(&url).send().await.unwrap().status().as_u16(), 405);
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_reload_endpoint_is_off_unless_enabled() {
    let sim = start_simulator(10, 75).await;
    let exporter = start_exporter(&settings(&many(&sim, &["only"], ""))).await;
    let answer = client().post(format!("http://{}/-/reload", exporter.addr)).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    assert!(answer.text().await.unwrap().contains("--web.enable-lifecycle"));
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// The daemon reloads on SIGHUP: the test follows its log instead of sleeping.
#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_the_daemon() {
    use tokio::io::AsyncBufReadExt;
    let sim = start_simulator(30, 76).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, many(&sim, &["first"], "")).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-authmethods-exporter"))
        .args(["--web.listen-address", "127.0.0.1:0", "--log.format", "logfmt", "--config"])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut log = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen: Vec<String> = Vec::new();
    // Follows the log up to the line containing `needle`, which may already have been read: the first
    // poll can finish before the exporter logs that it listens. The timeout only turns a hang into a
    // failure that shows the log; nothing waits on it.
    let mut wait_for = async |needle: &str| -> String {
        if let Some(line) = seen.iter().find(|line| line.contains(needle)) {
            return line.clone();
        }
        let found = tokio::time::timeout(std::time::Duration::from_secs(120), async {
            while let Some(line) = log.next_line().await.unwrap() {
                seen.push(line.clone());
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the exporter exited before logging {needle:?}:\n{}", seen.join("\n")),
            Err(_) => panic!("no {needle:?} in the exporter's log after 120 s:\n{}", seen.join("\n")),
        }
    };
    let listening = wait_for("exporter listening").await;
    let address = listening.split_whitespace().find_map(|kv| kv.strip_prefix("address=")).expect("address logged");
    let addr: std::net::SocketAddr = address.parse().unwrap();
    wait_for("poll succeeded").await;

    std::fs::write(&path, many(&sim, &["first", "second"], "")).unwrap();
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    let reloaded = wait_for("configuration reloaded").await;
    assert!(reloaded.contains("1 tenants added (second)"), "{reloaded}");
    let exp = scrape(addr).await;
    assert_eq!(tenants_in(&exp), BTreeSet::from(["first", "second"].map(String::from)));
    child.kill().await.unwrap();
    sim.shutdown().await;
}

/// 200 tenants, each its own directory of 2,000 users behind Graph's real quota (5 requests per 10 s
/// per app and tenant), in one exporter. One tenant's app has lost its
/// permissions: its polls fail while every other tenant is polled, exact, and never throttled.
#[tokio::test]
async fn two_hundred_tenants_within_their_quotas_and_one_broken_tenant_harms_no_other() {
    const TENANTS: usize = 200;
    const PAGE: usize = 250;
    let template = SimulatorConfig::single(2_000, 0).tenants.remove(0);
    let ids: Vec<String> = (0..TENANTS).map(|i| format!("{i:08x}-5eed-4c0d-8a7f-{i:012x}")).collect();
    let config = SimulatorConfig {
        tenants: ids
            .iter()
            .enumerate()
            .map(|(i, id)| SimTenantConfig { tenant_id: id.clone(), seed: 1_000 + i as u64, ..template.clone() })
            .collect(),
        ..Default::default()
    };
    let sim = graph_simulator::start(config, loopback()).await.unwrap();
    let broken = &ids[57];
    sim.set_app_roles(broken, Vec::new());

    // 250 rows a page: 8 pages a tenant, more than its quota allows in one window, so every tenant's
    // pacing is at work. All tenants at once, as an MSP sizes max_concurrent_polls for its fleet.
    let mut toml = format!("[graph]\npage_size = {PAGE}\nmax_concurrent_polls = {TENANTS}\n");
    for (i, id) in ids.iter().enumerate() {
        toml.push_str(&format!(
            "[[tenant]]\nname = \"t{i:03}\"\ntenant_id = \"{id}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret = \"{DEMO_CLIENT_SECRET}\"\ngraph_endpoint = \"{base}\"\nlogin_endpoint = \"{base}\"\n",
            base = sim.base_url()
        ));
        for spec in entra_authmethods_exporter::reports::REPORTS.iter().filter(|s| s.name != "registration_details") {
            toml.push_str(&format!("[tenant.reports.{}]\nenabled = false\n", spec.name));
        }
    }
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    for (i, id) in ids.iter().enumerate() {
        let name = format!("t{i:03}");
        let labels = [("tenant", name.as_str()), ("report", "registration_details")];
        if id == broken {
            assert_eq!(exp.get("entra_authmethods_poll_success", &labels), Some(0.0));
            assert_eq!(users_of(&exp, &name), None);
            continue;
        }
        let listed = sim.population(id).users.iter().filter(|u| u.enabled).count() as f64;
        assert_eq!(exp.get("entra_authmethods_poll_success", &labels), Some(1.0), "{name}");
        assert_eq!(users_of(&exp, &name), Some(listed), "{name}");
    }
    let stats = sim.stats();
    assert_eq!(stats.throttled, 0, "no tenant went over its quota");
    assert!(exp.family("entra_authmethods_graph_requests_total").keys().all(|l| l["code"] != "429"));
    // Exactly the pages each tenant has and not one request more; the refused tenant asked once.
    let pages: usize = ids
        .iter()
        .filter(|id| *id != broken)
        .map(|id| sim.population(id).users.iter().filter(|u| u.enabled).count().div_ceil(PAGE))
        .sum();
    assert!(pages > 5 * (TENANTS - 1), "each tenant needs more requests than one quota window allows");
    assert_eq!(stats.requests_to("userRegistrationDetails"), pages as u64 + 1);
    exporter.shutdown().await;
    sim.shutdown().await;
}
