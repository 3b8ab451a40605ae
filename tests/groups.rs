//! Groups and exclusions end to end: the simulator and the real exporter over HTTP on 127.0.0.1,
//! every group family, `excluded_users` and every tenant-level details family compared with truth
//! computed from the simulator's population and its public group data (tests/common/group_truth.rs
//! walks the nested groups itself).

mod common;

use std::collections::HashSet;

use common::group_truth::{self, transitive_users};
use common::truth;
use common::*;
use graph_simulator::{DEMO_TENANT_ID, Fault, Population, RunningSimulator, group_object_id, groups_of};

/// A group ID no simulator tenant has.
const UNKNOWN_GROUP: &str = "deadbeef-0000-4000-8000-000000000404";

/// `family` holds exactly the series of `want`.
fn assert_exact(exp: &Exposition, family: &str, want: &group_truth::Series) {
    assert_eq!(&exp.family(family), want, "{family}");
}

/// The object id of the simulator's group `name` in the demo tenant.
fn gid(name: &str) -> String {
    group_object_id(DEMO_TENANT_ID, name)
}

/// A configuration polling only the registration details (pages of 300 users and 300 members), with
/// `[[tenant.group]]` tables (label, object id) and `exclude_groups`.
fn config(sim: &RunningSimulator, groups: &[(&str, &str)], exclude: &[&str]) -> String {
    let ids: Vec<String> = exclude.iter().map(|id| format!("{id:?}")).collect();
    let mut toml = config_toml(sim, "page_size = 300", &format!("exclude_groups = [{}]", ids.join(", ")));
    // After the tenant's [tenant.reports.*] tables: the group tables belong to the same tenant.
    for (name, id) in groups {
        toml.push_str(&format!("\n[[tenant.group]]\nname = {name:?}\nid = {id:?}\n"));
    }
    toml
}

fn excluded_set(pop: &Population, names: &[&str]) -> HashSet<String> {
    names.iter().flat_map(|n| transitive_users(pop, DEMO_TENANT_ID, n)).collect()
}

#[tokio::test]
async fn group_families_and_exclusions_match_the_population() {
    let sim = start_simulator(3000, 11).await;
    let pop = sim.population(DEMO_TENANT_ID);
    let groups = [
        ("passkey-pilot", "Passkey pilot"),
        ("engineering", "Engineering"),
        ("all-staff", "All staff"),
        ("empty", "Empty group"),
    ];
    let ids: Vec<(&str, String)> = groups.iter().map(|(label, name)| (*label, gid(name))).collect();
    let configured: Vec<(&str, &str)> = ids.iter().map(|(l, id)| (*l, id.as_str())).collect();
    let (break_glass, support) = (gid("Break-glass accounts"), gid("Support"));
    let exporter = start_exporter(&settings(&config(&sim, &configured, &[&break_glass, &support]))).await;
    let exp = scrape(exporter.addr).await;

    let excluded = excluded_set(&pop, &["Break-glass accounts", "Support"]);
    let excluded_listed = pop.users.iter().filter(|u| u.enabled && excluded.contains(&u.id)).count();
    assert!(excluded_listed > 100, "Support and the break-glass admins: {excluded_listed}");
    assert_eq!(exp.get("entra_authmethods_excluded_users", &[("tenant", TENANT)]), Some(excluded_listed as f64));

    // Excluded users leave every tenant-level family counted from userRegistrationDetails.
    assert_matches_truth(&exp, &truth::compute_where(TENANT, &pop, &|id| !excluded.contains(id)));

    let members: Vec<HashSet<String>> = groups.iter().map(|(_, n)| transitive_users(&pop, DEMO_TENANT_ID, n)).collect();
    let labelled: Vec<(&str, &HashSet<String>)> = groups.iter().map(|(l, _)| *l).zip(&members).collect();
    let (users, by_feature, by_strength) = group_truth::group_families(TENANT, &pop, &labelled, &excluded, &[]);
    assert_exact(&exp, "entra_authmethods_group_users", &users);
    assert_exact(&exp, "entra_authmethods_group_users_registered_by_feature", &by_feature);
    assert_exact(&exp, "entra_authmethods_group_users_by_strongest_method", &by_strength);

    // What the comparison covers: nesting, devices and exclusions inside a group all matter here.
    let sim_groups = groups_of(&pop, DEMO_TENANT_ID);
    let all_staff = &sim_groups[5];
    assert!(!all_staff.devices.is_empty() && !all_staff.groups.is_empty(), "All staff holds devices and groups");
    let direct_engineering = sim_groups[2].users.len();
    let engineering =
        exp.get("entra_authmethods_group_users", &[("tenant", TENANT), ("group", "engineering")]).unwrap();
    assert!(members[1].len() > direct_engineering, "Platform engineering is nested in Engineering");
    let nested_listed = members[1]
        .iter()
        .filter(|id| !sim_groups[2].users.contains(id))
        .filter(|id| pop.users.iter().any(|u| &u.id == *id && u.enabled && !excluded.contains(*id)))
        .count();
    assert!(nested_listed > 0 && engineering > nested_listed as f64, "nested members are counted");
    let staff_members = members[2].iter().filter(|id| excluded.contains(*id)).count();
    assert!(staff_members > 0, "All staff holds Support, whose users are excluded from it too");
    assert_eq!(exp.get("entra_authmethods_group_users", &[("tenant", TENANT), ("group", "empty")]), Some(0.0));

    // Every group's tiers partition its users; the top tier is the phishing-resistant feature.
    for (label, _) in groups {
        let g = [("tenant", TENANT), ("group", label)];
        assert_eq!(exp.get("entra_authmethods_group_available", &g), Some(1.0), "{label}");
        let tier = |s: &str| {
            exp.get("entra_authmethods_group_users_by_strongest_method", &[g[0], g[1], ("strength", s)]).unwrap()
        };
        let sum: f64 = truth::STRENGTHS.iter().map(|s| tier(s)).sum();
        assert_eq!(Some(sum), exp.get("entra_authmethods_group_users", &g), "{label}");
        let feature = [g[0], g[1], ("feature", "phishingResistantCapable")];
        assert_eq!(
            Some(tier("phishingResistant")),
            exp.get("entra_authmethods_group_users_registered_by_feature", &feature)
        );
    }

    let report = [("tenant", TENANT), ("report", "group_members")];
    assert_eq!(exp.get("entra_authmethods_poll_success", &report), Some(1.0));
    assert_eq!(exp.get("entra_authmethods_polls_total", &report), Some(1.0));
    assert!(exp.family("entra_authmethods_last_error_info").is_empty());
    let member_pages = exp
        .get(
            "entra_authmethods_graph_requests_total",
            &[("tenant", TENANT), ("endpoint", "transitiveMembers"), ("code", "200")],
        )
        .unwrap();
    assert!(member_pages > 6.0, "one request per group at least, and pages of 300: {member_pages}");
    promtool_check_metrics(&exp.text);
    exporter.shutdown().await;
}

/// Groups, exclusions and `[method_strength]` together, on a population holding every method the
/// tier table names and names it does not know: the group tiers follow the table, and so do the
/// tenant-level families computed without the excluded users.
#[tokio::test]
async fn group_tiers_follow_the_method_strength_table() {
    let sim = start_simulator(2000, 17).await;
    sim.set_population(DEMO_TENANT_ID, with_every_named_method(2000, 17));
    let pop = sim.population(DEMO_TENANT_ID);
    let overrides = [("email", "mfa"), ("mobilePhone", "none"), ("someNewMethod", "phishingResistant")];
    let table: String = overrides.iter().map(|(m, t)| format!("{m} = {t:?}\n")).collect();
    let (pilot, staff, break_glass) = (gid("Passkey pilot"), gid("All staff"), gid("Break-glass accounts"));
    let toml = format!(
        "{}\n[method_strength]\n{table}",
        config(&sim, &[("passkey-pilot", &pilot), ("all-staff", &staff)], &[&break_glass])
    );
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;

    let excluded = excluded_set(&pop, &["Break-glass accounts"]);
    let truth = truth::compute_full(TENANT, &pop, &overrides, usize::MAX, &|id| !excluded.contains(id));
    assert_matches_truth(&exp, &truth);
    let members =
        [transitive_users(&pop, DEMO_TENANT_ID, "Passkey pilot"), transitive_users(&pop, DEMO_TENANT_ID, "All staff")];
    let labelled = [("passkey-pilot", &members[0]), ("all-staff", &members[1])];
    let (users, by_feature, by_strength) = group_truth::group_families(TENANT, &pop, &labelled, &excluded, &overrides);
    assert_exact(&exp, "entra_authmethods_group_users", &users);
    assert_exact(&exp, "entra_authmethods_group_users_registered_by_feature", &by_feature);
    assert_exact(&exp, "entra_authmethods_group_users_by_strongest_method", &by_strength);
    let (_, _, default_tiers) = group_truth::group_families(TENANT, &pop, &labelled, &excluded, &[]);
    assert_ne!(by_strength, default_tiers, "the table moves group members between tiers here");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_group_fails_visibly_and_the_rest_is_exported() {
    let sim = start_simulator(1500, 12).await;
    let pop = sim.population(DEMO_TENANT_ID);
    let pilot = gid("Passkey pilot");
    let toml = config(&sim, &[("ghost", UNKNOWN_GROUP), ("pilot", &pilot)], &[]);
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;

    let report = [("tenant", TENANT), ("report", "group_members")];
    assert_eq!(exp.get("entra_authmethods_poll_success", &report), Some(0.0));
    let error = [report[0], report[1], ("reason", "not_found"), ("graph_code", "Request_ResourceNotFound")];
    assert_eq!(exp.get("entra_authmethods_last_error_info", &error), Some(1.0));
    assert_eq!(
        exp.get("entra_authmethods_poll_failures_total", &[report[0], report[1], ("reason", "not_found")]),
        Some(1.0)
    );
    let ghost = [("tenant", TENANT), ("group", "ghost")];
    assert_eq!(exp.get("entra_authmethods_group_available", &ghost), Some(0.0));
    assert_eq!(exp.get("entra_authmethods_group_users", &ghost), None, "no numbers for a group not read");

    // The tenant's other numbers are exported, the readable group's among them.
    let details = [("tenant", TENANT), ("report", "registration_details")];
    assert_eq!(exp.get("entra_authmethods_poll_success", &details), Some(1.0));
    assert_matches_truth(&exp, &truth::compute(TENANT, &pop));
    let members = transitive_users(&pop, DEMO_TENANT_ID, "Passkey pilot");
    let (users, by_feature, by_strength) =
        group_truth::group_families(TENANT, &pop, &[("pilot", &members)], &HashSet::new(), &[]);
    assert_exact(&exp, "entra_authmethods_group_users", &users);
    assert_exact(&exp, "entra_authmethods_group_users_registered_by_feature", &by_feature);
    assert_exact(&exp, "entra_authmethods_group_users_by_strongest_method", &by_strength);
    assert_eq!(exp.get("entra_authmethods_excluded_users", &[("tenant", TENANT)]), Some(0.0));

    // A group that cannot be read does not hold readiness (and so a rollout) back.
    let (status, _, body) = get(exporter.addr, "/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready\n"));

    // The status page says which group and why.
    let (status, _, page) = get(exporter.addr, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("group_members") && page.contains("ghost"), "{page}");
    assert!(page.contains(UNKNOWN_GROUP) && page.contains("Request_ResourceNotFound"), "{page}");
    assert!(page.contains("<tr><td>ghost</td><td>–</td><td>–</td><td>no: see group_members above</td></tr>"), "{page}");
    let pilot_users = users.values().next().copied().unwrap();
    let pilot_phone =
        by_strength.iter().find(|(l, _)| l["strength"] == "phone").map(|(_, v)| *v).expect("the pilot's phone tier");
    assert!(
        page.contains(&format!("<tr><td>pilot</td><td>{pilot_users}</td><td>{pilot_phone}</td><td>yes</td></tr>")),
        "{page}"
    );
    assert!(page.contains("0 users left out by exclude_groups"), "{page}");
    // The campaign's number, for the whole tenant.
    let phone_only = truth::compute(TENANT, &pop)
        .by_strongest_method
        .iter()
        .find(|(l, _)| l["strength"] == "phone" && l["user_type"] == "all" && l["user_role"] == "all")
        .map(|(_, v)| *v)
        .expect("the tenant's phone tier");
    assert!(page.contains(&format!("<p>{phone_only} users can only do phone MFA")), "{page}");
    assert!(page.contains("<td>group_members</td>") && page.contains("with registration_details"), "{page}");
    exporter.shutdown().await;

    // --once prints what it could read and exits non-zero.
    let out = run_binary(&toml, &["--once"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let once = Exposition::parse(&String::from_utf8(out.stdout).unwrap());
    assert_exact(&once, "entra_authmethods_group_users", &users);
    assert_eq!(once.get("entra_authmethods_poll_success", &report), Some(0.0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 failed"), "{stderr}");
}

#[tokio::test]
async fn an_unreadable_exclusion_group_keeps_the_last_good_numbers() {
    let sim = start_simulator(1500, 13).await;
    let first = sim.population(DEMO_TENANT_ID);
    let pilot = gid("Passkey pilot");
    let toml = config(&sim, &[("pilot", &pilot)], &[&gid("Sales")]);
    let exporter = start_exporter(&settings(&toml)).await;
    let excluded = excluded_set(&first, &["Sales"]);
    let good = truth::compute_where(TENANT, &first, &|id| !excluded.contains(id));
    assert_matches_truth(&scrape(exporter.addr).await, &good);

    // The directory changes, and the next read of the exclusion group (the poll's first request) is refused.
    sim.set_population(DEMO_TENANT_ID, Population::generate(1700, 14));
    sim.push_fault(Fault::Status {
        count: 1,
        status: 403,
        code: "Authorization_RequestDenied".into(),
        message: "Insufficient privileges to complete the operation.".into(),
    });
    assert!(!exporter.poll_now().await, "the registration poll fails");
    let exp = scrape(exporter.addr).await;
    assert_matches_truth(&exp, &good);
    let pilot_members = transitive_users(&first, DEMO_TENANT_ID, "Passkey pilot");
    let (users, ..) = group_truth::group_families(TENANT, &first, &[("pilot", &pilot_members)], &excluded, &[]);
    assert_exact(&exp, "entra_authmethods_group_users", &users);
    for report in ["group_members", "registration_details"] {
        let labels = [("tenant", TENANT), ("report", report)];
        assert_eq!(exp.get("entra_authmethods_poll_success", &labels), Some(0.0), "{report}");
        let error = [labels[0], labels[1], ("reason", "forbidden"), ("graph_code", "Authorization_RequestDenied")];
        assert_eq!(exp.get("entra_authmethods_last_error_info", &error), Some(1.0), "{report}");
    }
    exporter.shutdown().await;
}

#[tokio::test]
async fn without_group_member_read_all_no_excluded_user_is_ever_counted() {
    let sim = start_simulator(1200, 15).await;
    let roles = ["AuditLog.Read.All", "Reports.Read.All", "RoleManagement.Read.Directory"];
    sim.set_app_roles(DEMO_TENANT_ID, roles.iter().map(|r| r.to_string()).collect());
    let toml = config(&sim, &[("pilot", &gid("Passkey pilot"))], &[&gid("Break-glass accounts")]);
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    for family in DATA_FAMILIES.iter().chain(&["entra_authmethods_excluded_users", "entra_authmethods_group_users"]) {
        assert!(exp.family(family).is_empty(), "{family} is absent before any good sweep");
    }
    for report in ["group_members", "registration_details"] {
        let labels = [("tenant", TENANT), ("report", report)];
        assert_eq!(exp.get("entra_authmethods_poll_success", &labels), Some(0.0), "{report}");
        let error = [labels[0], labels[1], ("reason", "forbidden"), ("graph_code", "Authorization_RequestDenied")];
        assert_eq!(exp.get("entra_authmethods_last_error_info", &error), Some(1.0), "{report}");
    }
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(page.contains("GroupMember.Read.All"), "the status page names the permission: {page}");
    // An exclusion group that cannot be read keeps the exporter unready, through registration_details.
    let (status, _, body) = get(exporter.addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(
        body.contains("report registration_details: no successful poll yet; last poll failed (forbidden)"),
        "{body}"
    );
    assert!(!body.contains("group_members") && !body.contains("no longer exported"), "{body}");
    exporter.shutdown().await;
}

#[tokio::test]
async fn a_restart_restores_the_group_counts_and_exclusions() {
    let sim = start_simulator(900, 16).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let toml = format!(
        "state_file = {:?}\n{}",
        path.to_str().unwrap(),
        config(&sim, &[("pilot", &gid("Passkey pilot")), ("staff", &gid("All staff"))], &[&gid("Sales")])
    );
    let (text, ok) = entra_authmethods_exporter::app::run_once(&settings(&toml)).await.unwrap();
    assert!(ok, "the first run succeeds");
    let before = Exposition::parse(std::str::from_utf8(&text).unwrap());

    // After the restart Graph cannot be reached: the numbers come from the state file alone.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = toml.replace(&format!("\"{}\"", sim.base_url()), &format!("\"http://127.0.0.1:{port}\""));
    let exporter =
        entra_authmethods_exporter::app::start(&settings(&down), loopback(), "/metrics", None).await.unwrap();
    let at_once = scrape(exporter.addr).await;
    for family in [
        "entra_authmethods_excluded_users",
        "entra_authmethods_group_available",
        "entra_authmethods_group_users",
        "entra_authmethods_group_users_registered_by_feature",
        "entra_authmethods_group_users_by_strongest_method",
        "entra_authmethods_users",
    ] {
        assert!(!before.family(family).is_empty(), "{family}");
        assert_eq!(at_once.family(family), before.family(family), "{family}");
    }
    let pop = sim.population(DEMO_TENANT_ID);
    let excluded = excluded_set(&pop, &["Sales"]);
    let listed = pop.users.iter().filter(|u| u.enabled && excluded.contains(&u.id)).count();
    assert_eq!(at_once.get("entra_authmethods_excluded_users", &[("tenant", TENANT)]), Some(listed as f64));
    exporter.shutdown().await;
}

#[tokio::test]
async fn a_reload_applies_new_groups_and_exclusions() {
    let sim = start_simulator(800, 17).await;
    let pop = sim.population(DEMO_TENANT_ID);
    let exporter =
        start_exporter(&settings(&config(&sim, &[("pilot", &gid("Passkey pilot"))], &[&gid("Sales")]))).await;
    let before = scrape(exporter.addr).await;
    assert!(before.get("entra_authmethods_excluded_users", &[("tenant", TENANT)]).unwrap() > 0.0);

    // Other groups and no exclusion: the numbers change meaning, so the tenant starts afresh.
    let outcome = exporter.reload(settings(&config(&sim, &[("staff", &gid("All staff"))], &[]))).await.unwrap();
    assert_eq!(outcome.changed, [TENANT]);
    assert!(exporter.poll_now().await);
    let after = scrape(exporter.addr).await;
    assert_matches_truth(&after, &truth::compute(TENANT, &pop));
    assert_eq!(after.get("entra_authmethods_excluded_users", &[("tenant", TENANT)]), Some(0.0));
    let staff = transitive_users(&pop, DEMO_TENANT_ID, "All staff");
    let (users, ..) = group_truth::group_families(TENANT, &pop, &[("staff", &staff)], &HashSet::new(), &[]);
    assert_exact(&after, "entra_authmethods_group_users", &users);
    assert_eq!(after.get("entra_authmethods_group_available", &[("tenant", TENANT), ("group", "pilot")]), None);
    exporter.shutdown().await;
}

/// With a signed-in user's token beside the app's, a group the app may not read is not asked again
/// with the delegated token: one poll, one failure of group_members.
#[tokio::test]
async fn a_forbidden_group_is_one_failure_even_with_a_delegated_fallback() {
    let sim = start_simulator(600, 18).await;
    let roles = ["AuditLog.Read.All", "Reports.Read.All", "RoleManagement.Read.Directory"];
    sim.set_app_roles(DEMO_TENANT_ID, roles.iter().map(|r| r.to_string()).collect());
    let exclude = format!("exclude_groups = [{:?}]", gid("Break-glass accounts"));
    let (_dir, toml) = everything_toml(&sim, &exclude);
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    for report in ["group_members", "registration_details"] {
        let labels = [("tenant", TENANT), ("report", report)];
        assert_eq!(exp.get("entra_authmethods_polls_total", &labels), Some(1.0), "{report}");
        let forbidden = [labels[0], labels[1], ("reason", "forbidden")];
        assert_eq!(exp.get("entra_authmethods_poll_failures_total", &forbidden), Some(1.0), "{report}");
    }
    assert!(exp.family("entra_authmethods_users_by_strongest_method").is_empty(), "no sweep without the exclusion");
    exporter.shutdown().await;
}

/// Numbers made before exclude_groups was added are not served after a restart: with the new
/// exclusion group unreadable, the details families are absent rather than the old, unexcluded ones.
#[tokio::test]
async fn a_restart_with_an_exclusion_added_does_not_serve_the_numbers_made_without_it() {
    let sim = start_simulator(900, 19).await;
    let pop = sim.population(DEMO_TENANT_ID);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let with_file = |toml: String| format!("state_file = {:?}\n{toml}", path.to_str().unwrap());
    let (text, ok) =
        entra_authmethods_exporter::app::run_once(&settings(&with_file(config(&sim, &[], &[])))).await.unwrap();
    assert!(ok, "the first run succeeds");
    let before = Exposition::parse(std::str::from_utf8(&text).unwrap());
    assert_matches_truth(&before, &truth::compute(TENANT, &pop));

    // Break-glass accounts are excluded from now on, but the app may not read the group.
    let roles = ["AuditLog.Read.All", "Reports.Read.All", "RoleManagement.Read.Directory"];
    sim.set_app_roles(DEMO_TENANT_ID, roles.iter().map(|r| r.to_string()).collect());
    let toml = with_file(config(&sim, &[], &[&gid("Break-glass accounts")]));
    let exporter =
        entra_authmethods_exporter::app::start(&settings(&toml), loopback(), "/metrics", None).await.unwrap();
    let at_once = scrape(exporter.addr).await;
    exporter.wait_for_first_round().await;
    let after = scrape(exporter.addr).await;
    for exp in [&at_once, &after] {
        for family in DATA_FAMILIES.iter().chain(&["entra_authmethods_excluded_users"]) {
            assert!(exp.family(family).is_empty(), "{family} was made without the exclusion");
        }
    }
    let details = [("tenant", TENANT), ("report", "registration_details")];
    assert_eq!(after.get("entra_authmethods_poll_success", &details), Some(0.0));
    exporter.shutdown().await;

    // The settings of the file again, with Graph unreachable: what the file holds is served.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let same = with_file(config(&sim, &[], &[]))
        .replace(&format!("\"{}\"", sim.base_url()), &format!("\"http://127.0.0.1:{port}\""));
    let exporter =
        entra_authmethods_exporter::app::start(&settings(&same), loopback(), "/metrics", None).await.unwrap();
    let restored = scrape(exporter.addr).await;
    assert_eq!(restored.family("entra_authmethods_users"), before.family("entra_authmethods_users"));
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// The app may read groups but not the reports, so every sweep falls back to the signed-in user's
/// token: the memberships are still read once per poll (with the app's token) and reused.
#[tokio::test]
async fn memberships_are_read_once_per_poll_even_with_a_delegated_fallback() {
    let sim = start_simulator(600, 20).await;
    let pop = sim.population(DEMO_TENANT_ID);
    let roles = ["Reports.Read.All", "GroupMember.Read.All", "RoleManagement.Read.Directory"];
    sim.set_app_roles(DEMO_TENANT_ID, roles.iter().map(|r| r.to_string()).collect());
    let exclude = format!("exclude_groups = [{:?}]", gid("Break-glass accounts"));
    let (_dir, toml) = everything_toml(&sim, &exclude);
    let exporter = start_exporter(&settings(&toml)).await;
    let reads = || sim.stats().requests_to("groups/{id}/transitiveMembers");
    // Without AuditLog.Read.All the app's sweep is refused, so registration_details succeeding below
    // means the delegated attempt ran. The break-glass group's members fit in one page of 200.
    let excluded = excluded_set(&pop, &["Break-glass accounts"]);
    assert!(!excluded.is_empty() && excluded.len() < 100);
    assert_eq!(reads(), 1, "the first poll read the group once");
    let exp = scrape(exporter.addr).await;
    for report in ["group_members", "registration_details"] {
        let labels = [("tenant", TENANT), ("report", report)];
        assert_eq!(exp.get("entra_authmethods_poll_success", &labels), Some(1.0), "{report}");
        assert_eq!(exp.get("entra_authmethods_polls_total", &labels), Some(1.0), "{report}");
    }
    let listed = pop.users.iter().filter(|u| u.enabled && excluded.contains(&u.id)).count();
    assert_eq!(exp.get("entra_authmethods_excluded_users", &[("tenant", TENANT)]), Some(listed as f64));
    assert!(exporter.poll_now().await);
    assert_eq!(reads(), 2, "and the next poll once more");
    exporter.shutdown().await;
    sim.shutdown().await;
}
