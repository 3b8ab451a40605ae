//! Registration metrics end to end: the simulator and the real exporter over HTTP on 127.0.0.1, every
//! value compared with truth computed from the simulator's population.

mod common;

use std::sync::Arc;

use common::truth;
use common::*;
use graph_simulator::{DEMO_TENANT_ID, Population};

#[tokio::test]
async fn every_series_matches_the_population_across_pages() {
    let sim = start_simulator(2500, 7).await;
    let settings = settings(&config_toml(&sim, "page_size = 300", ""));
    let exporter = start_exporter(&settings).await;
    let exp = scrape(exporter.addr).await;

    let truth = truth::compute(TENANT, &sim.population(DEMO_TENANT_ID));
    assert!(truth.listed_users > 2000, "population lists most users");
    assert_matches_truth(&exp, &truth);

    let report = [("tenant", TENANT), ("report", "registration_details")];
    assert_eq!(exp.get("entra_authmethods_poll_success", &report), Some(1.0));
    assert_eq!(exp.get("entra_authmethods_polls_total", &report), Some(1.0));
    assert!(exp.get("entra_authmethods_last_success_timestamp_seconds", &report).unwrap() > 1.7e9);
    assert!(exp.get("entra_authmethods_poll_duration_seconds", &report).unwrap() > 0.0);
    assert_eq!(exp.get("entra_authmethods_poll_interval_seconds", &report), Some(1800.0));
    assert_eq!(exp.get("entra_authmethods_poll_overrun", &report), Some(0.0));
    for reason in [
        "throttled",
        "unauthorized",
        "forbidden",
        "not_found",
        "server_error",
        "timeout",
        "decode",
        "network",
        "config",
        "internal",
    ] {
        let labels = [("tenant", TENANT), ("report", "registration_details"), ("reason", reason)];
        assert_eq!(exp.get("entra_authmethods_poll_failures_total", &labels), Some(0.0), "{reason}");
    }
    let pages = truth.listed_users.div_ceil(300) as f64;
    let requests = [("tenant", TENANT), ("endpoint", "userRegistrationDetails"), ("code", "200")];
    assert_eq!(exp.get("entra_authmethods_graph_requests_total", &requests), Some(pages));
    assert_eq!(exp.family("entra_authmethods_graph_requests_total").len(), 1, "only 200s were seen");
    assert_eq!(
        exp.get("entra_authmethods_token_requests_total", &[("tenant", TENANT), ("outcome", "success")]),
        Some(1.0)
    );
    assert_eq!(
        exp.get("entra_authmethods_token_requests_total", &[("tenant", TENANT), ("outcome", "failure")]),
        Some(0.0)
    );
    assert_eq!(
        exp.get(
            "entra_authmethods_tenant_info",
            &[("tenant", TENANT), ("tenant_id", DEMO_TENANT_ID), ("cloud", "global")]
        ),
        Some(1.0)
    );
    assert_eq!(exp.family("entra_authmethods_build_info").len(), 1);
    assert_eq!(sim.stats().pages_served as f64, pages, "the exporter read each page exactly once");

    promtool_check_metrics(&exp.text);
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn changes_in_the_tenant_show_at_the_next_poll_and_vanished_series_vanish() {
    let sim = start_simulator(400, 11).await;
    let mut population = Population::generate(400, 11);
    population.users[0].methods_registered.push("quantumEntanglementKey".into());
    population.users[0].enabled = true;
    sim.set_population(DEMO_TENANT_ID, population);
    let settings = settings(&config_toml(&sim, "", ""));
    let exporter = start_exporter(&settings).await;
    let exp = scrape(exporter.addr).await;
    assert_matches_truth(&exp, &truth::compute(TENANT, &sim.population(DEMO_TENANT_ID)));
    let quantum =
        [("tenant", TENANT), ("user_type", "all"), ("user_role", "all"), ("method", "quantumEntanglementKey")];
    assert!(exp.get("entra_authmethods_users_registered_by_method", &quantum).unwrap() >= 1.0);

    // The unknown method disappears from Graph: its series must disappear too.
    let mut population = Population::generate(400, 11);
    for u in &mut population.users {
        u.methods_registered.retain(|m| m != "quantumEntanglementKey");
    }
    sim.set_population(DEMO_TENANT_ID, population);
    for _ in 0..3 {
        sim.drift(DEMO_TENANT_ID);
    }
    assert!(exporter.poll_now().await);
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_users_registered_by_method", &quantum), None);
    assert_matches_truth(&exp, &truth::compute(TENANT, &sim.population(DEMO_TENANT_ID)));
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn only_configured_breakdowns_are_exported() {
    let sim = start_simulator(300, 3).await;
    let settings = settings(&config_toml(&sim, "", "user_types = [\"all\"]\nuser_roles = [\"all\", \"admin\"]"));
    let exporter = start_exporter(&settings).await;
    let exp = scrape(exporter.addr).await;
    let users = exp.family("entra_authmethods_users");
    let combos: Vec<(String, String)> =
        users.keys().map(|l| (l["user_type"].clone(), l["user_role"].clone())).collect();
    assert_eq!(combos, vec![("all".to_string(), "admin".to_string()), ("all".to_string(), "all".to_string())]);
    let truth = truth::compute(TENANT, &sim.population(DEMO_TENANT_ID));
    for (labels, value) in users {
        assert_eq!(truth.users.get(&labels), Some(&value));
    }
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn once_mode_prints_the_exposition_and_exits_zero() {
    let sim = start_simulator(1200, 5).await;
    let out = run_binary(&config_toml(&sim, "page_size = 500", ""), &["--once"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(!stderr.contains(graph_simulator::DEMO_CLIENT_SECRET), "secret in logs: {stderr}");
    let exp = Exposition::parse(&String::from_utf8(out.stdout).unwrap());
    assert_matches_truth(&exp, &truth::compute(TENANT, &sim.population(DEMO_TENANT_ID)));
    promtool_check_metrics(&exp.text);
    sim.shutdown().await;
}

#[tokio::test]
async fn once_mode_exits_non_zero_when_a_poll_fails() {
    let sim = start_simulator(100, 5).await;
    sim.set_licensed(DEMO_TENANT_ID, false);
    let out = run_binary(&config_toml(&sim, "", ""), &["--once", "--log.format", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let exp = Exposition::parse(&String::from_utf8(out.stdout).unwrap());
    let labels = [("tenant", TENANT), ("report", "registration_details"), ("reason", "forbidden")];
    assert_eq!(exp.get("entra_authmethods_poll_failures_total", &labels), Some(1.0));
    assert!(exp.family("entra_authmethods_users").is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("poll failed")).expect("one log line for the failure");
    let json: serde_json::Value = serde_json::from_str(line).expect("json log line");
    assert_eq!(json["graph_code"], "Authentication_RequestFromNonPremiumTenantOrB2CTenant");
    assert!(json["hint"].as_str().unwrap().contains("P1 or P2"));
    sim.shutdown().await;
}

/// The rows of Microsoft's v1.0 example (Microsoft Graph, "List userRegistrationDetails"
/// (<https://learn.microsoft.com/graph/api/authenticationmethodsroot-list-userregistrationdetails>)) and a live capture,
/// served by the simulator: PascalCase system-preferred methods, an empty default method, a guest admin, a user with
/// nine methods. The exporter's numbers must be exact for them too.
#[tokio::test]
async fn documented_and_captured_rows_are_counted_exactly() {
    struct Row(&'static str, bool, &'static [&'static str], &'static str, [bool; 6]);
    // (userType, isAdmin, methodsRegistered, default, [mfaReg, mfaCap, pwdless, ssprReg, ssprEn, ssprCap])
    let rows = [
        Row(
            "member",
            false,
            &["microsoftAuthenticatorPush", "softwareOneTimePasscode"],
            "push",
            [true, true, false, false, false, false],
        ),
        Row("guest", false, &[], "", [false, false, false, false, false, false]),
        Row(
            "member",
            false,
            &["mobilePhone", "microsoftAuthenticatorPush", "softwareOneTimePasscode"],
            "voiceMobile",
            [true, true, false, true, false, false],
        ),
        Row(
            "member",
            false,
            &["email", "microsoftAuthenticatorPush", "softwareOneTimePasscode"],
            "push",
            [true, true, false, true, true, true],
        ),
        Row(
            "guest",
            true,
            &["microsoftAuthenticatorPush", "softwareOneTimePasscode"],
            "push",
            [true, true, false, true, true, true],
        ),
        Row(
            "member",
            true,
            &[
                "email",
                "macOsSecureEnclaveKey",
                "windowsHelloForBusiness",
                "passKeySynced",
                "microsoftAuthenticatorPasswordless",
                "passKeyDeviceBoundAuthenticator",
                "passKeyDeviceBound",
                "microsoftAuthenticatorPush",
                "softwareOneTimePasscode",
            ],
            "push",
            [true, true, true, true, true, true],
        ),
        Row(
            "member",
            true,
            &[
                "passKeyDeviceBound",
                "microsoftAuthenticatorPasswordless",
                "passKeyDeviceBoundAuthenticator",
                "mobilePhone",
                "microsoftAuthenticatorPush",
                "softwareOneTimePasscode",
            ],
            "push",
            [true, true, true, true, true, true],
        ),
    ];
    let sim = start_simulator(rows.len(), 1).await;
    let mut population = Population::generate(rows.len(), 1);
    for (user, Row(user_type, admin, methods, default, flags)) in population.users.iter_mut().zip(rows) {
        user.enabled = true;
        user.user_type = Some(user_type.to_string());
        user.is_admin = Some(admin);
        user.methods_registered = methods.iter().map(|m| m.to_string()).collect();
        user.default_method = Some(default.to_string());
        user.system_preferred_enabled = Some(true);
        user.system_preferred_methods = vec![if admin { "Fido2" } else { "PhoneAppNotification" }.to_string()];
        [
            user.is_mfa_registered,
            user.is_mfa_capable,
            user.is_passwordless_capable,
            user.is_sspr_registered,
            user.is_sspr_enabled,
            user.is_sspr_capable,
        ] = flags;
        user.last_updated = "2026-07-16T03:16:01.7292271Z".into();
    }
    population.users[5].last_updated = "2026-07-17T12:33:37.9223339Z".into();
    sim.set_population(DEMO_TENANT_ID, population);
    let exporter = start_exporter(&settings(&config_toml(&sim, "", ""))).await;
    let exp = scrape(exporter.addr).await;
    let truth = truth::compute(TENANT, &sim.population(DEMO_TENANT_ID));
    assert_matches_truth(&exp, &truth);
    // Spot checks a reader can verify by hand from the rows above.
    let all = |family: &str, extra: (&str, &str)| {
        exp.get(family, &[("tenant", TENANT), ("user_type", "all"), ("user_role", "all"), extra]).unwrap()
    };
    assert_eq!(all("entra_authmethods_users_registered_by_feature", ("feature", "phishingResistantCapable")), 2.0);
    assert_eq!(all("entra_authmethods_users_by_default_method", ("method", "unset")), 1.0);
    assert_eq!(all("entra_authmethods_users_by_methods_registered", ("methods", "4+")), 2.0);
    assert_eq!(all("entra_authmethods_users_registered_by_method", ("method", "microsoftAuthenticatorPush")), 6.0);
    assert_eq!(
        exp.get("entra_authmethods_users", &[("tenant", TENANT), ("user_type", "guest"), ("user_role", "admin")]),
        Some(1.0)
    );
    assert_eq!(
        exp.get("entra_authmethods_report_refresh_timestamp_seconds", &[("tenant", TENANT)]),
        Some(1_784_291_617.922_334)
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Counts nothing: the pipelining test below watches the simulator's own counters.
struct Unobserved;

impl entra_authmethods_exporter::graph::RequestObserver for Unobserved {
    fn graph_request(&self, _endpoint: &str, _code: &str) {}
    fn token_request(&self, _success: bool) {}
}

/// The sweep is pipelined: while a page is decoded, the next one has already been asked for, and no
/// request is wasted. The decoder of each page waits (up to 30 s, then gives up, failing the test)
/// for Graph to see the next page's request, which can only happen if the client sent it before
/// the decode of the current page finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_page_is_requested_while_the_current_one_is_decoded() {
    use entra_authmethods_exporter::graph::{GraphClient, PageRead, http_client};
    use entra_authmethods_exporter::poller::registration::decode_page;
    use entra_authmethods_exporter::reports::CredentialKind;
    use entra_authmethods_exporter::reports::registration_details::{PATH, SELECT};
    use std::time::{Duration, Instant};

    let sim = start_simulator(3000, 81).await;
    let settings = settings(&config_toml(&sim, "", ""));
    let graph = &settings.graph;
    let client =
        GraphClient::new(http_client(graph).unwrap(), &settings.tenants[0], graph, Arc::new(Unobserved)).unwrap();
    let url = client.url("v1.0", PATH, &[("$top", "1000"), ("$select", SELECT)]);
    let requests = || sim.stats().requests_to("userRegistrationDetails");
    let mut seen_while_decoding = Vec::new();
    let stats = client
        .for_each_page_body("userRegistrationDetails", CredentialKind::App, url, |body| {
            let page = decode_page(body)?;
            let this_page = seen_while_decoding.len() as u64 + 1;
            let deadline = Instant::now() + Duration::from_secs(30);
            while page.next_link.is_some() && requests() <= this_page && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            seen_while_decoding.push(requests());
            Ok(PageRead { rows: page.value.len(), next_link: page.next_link })
        })
        .await
        .unwrap();
    let rows = sim.population(DEMO_TENANT_ID).listed_count() as u64;
    let pages = rows.div_ceil(1000);
    assert!(pages >= 3, "a few pages: {rows} rows");
    assert_eq!((u64::from(stats.pages), stats.rows), (pages, rows));
    let want: Vec<u64> = (2..=pages).chain([pages]).collect();
    assert_eq!(seen_while_decoding, want, "Graph's request count while each page was decoded");
    assert_eq!(requests(), pages, "one request per page, none wasted");
    sim.shutdown().await;
}

/// A reverse proxy under `/graph` in front of the simulator that writes Graph's own host into the
/// nextLinks, as Graph does behind a real proxy; `inject` may add a nextLink to the directoryRoles
/// answer. Returns its base URL and a count of the requests it forwarded.
async fn graph_proxy(
    sim: &graph_simulator::RunningSimulator,
    inject_roles_link: Option<String>,
) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::extract::{Request, State};
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let upstream = sim.base_url();
    let forwarded = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let state = (upstream, inject_roles_link, forwarded.clone(), client());
    let app = axum::Router::new().fallback(
        async |State((upstream, inject, forwarded, http)): State<(
            String,
            Option<String>,
            Arc<std::sync::atomic::AtomicUsize>,
            reqwest::Client,
        )>,
               request: Request| {
            forwarded.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path_and_query = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let Some(rest) = path_and_query.strip_prefix("/graph") else {
                return (axum::http::StatusCode::NOT_FOUND, "not under /graph").into_response();
            };
            let mut upstream_request = http.get(format!("{upstream}{rest}"));
            if let Some(auth) = request.headers().get("authorization") {
                upstream_request = upstream_request.header("authorization", auth.to_str().unwrap());
            }
            let answer = upstream_request.send().await.unwrap();
            let status = answer.status().as_u16();
            let mut body = answer.text().await.unwrap().replace(&upstream, "https://graph.microsoft.com");
            if let Some(link) = inject.filter(|_| rest == "/v1.0/directoryRoles") {
                body = body.replacen("\"value\":", &format!("\"@odata.nextLink\":\"{link}\",\"value\":"), 1);
            }
            (axum::http::StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], body)
                .into_response()
        },
    );
    tokio::spawn(async move { axum::serve(listener, app.with_state(state)).await.unwrap() });
    (format!("{base}/graph"), forwarded)
}

/// Behind a `graph_endpoint` proxy, Graph's nextLinks name Graph's own host: they are followed
/// through the proxy (keeping its path prefix), never to Graph directly.
#[tokio::test]
async fn next_links_to_the_clouds_graph_are_followed_through_a_graph_endpoint_proxy() {
    let sim = start_simulator(230, 81).await;
    let (proxy, forwarded) = graph_proxy(&sim, None).await;
    let toml = config_toml(&sim, "page_size = 50", "").replacen(
        &format!("graph_endpoint = \"{}\"", sim.base_url()),
        &format!("graph_endpoint = \"{proxy}\""),
        1,
    );
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    let population = sim.population(DEMO_TENANT_ID);
    assert_matches_truth(&exp, &truth::compute(TENANT, &population));
    let pages = population.users.iter().filter(|u| u.enabled).count().div_ceil(50);
    assert!(pages > 1);
    assert_eq!(forwarded.load(std::sync::atomic::Ordering::SeqCst), pages, "every page went through the proxy");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// A nextLink in the directory roles' answer that leaves the Graph endpoint is refused like any other:
/// the bearer token is never sent there.
#[tokio::test]
async fn a_directory_roles_next_link_to_another_host_is_not_followed() {
    let sim = start_simulator(40, 82).await;
    let thief = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let thief_url = format!("http://{}/v1.0/directoryRoles?$skiptoken=steal", thief.local_addr().unwrap());
    let (proxy, _) = graph_proxy(&sim, Some(thief_url)).await;
    let toml = config_toml(&sim, "", "user_roles = [\"all\", \"admin\", \"user\", \"privilegedAdmin\"]").replacen(
        &format!("graph_endpoint = \"{}\"", sim.base_url()),
        &format!("graph_endpoint = \"{proxy}\""),
        1,
    );
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    let labels = [("tenant", TENANT), ("report", "registration_details")];
    assert_eq!(exp.get("entra_authmethods_poll_success", &labels), Some(0.0));
    let page = get(exporter.addr, "/").await.2;
    assert!(page.contains("nextLink leaves the Graph endpoint"), "{page}");
    // Nothing connected to the other host: a connection would be waiting to be accepted.
    let accepted = tokio::time::timeout(std::time::Duration::ZERO, thief.accept()).await;
    assert!(accepted.is_err(), "the exporter connected to the nextLink's host");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// `[method_strength]` moves users between tiers: email counted as mfa, mobilePhone and the legacy
/// fido2 out of every tier (so out of phishingResistantCapable too), a method Microsoft may add one
/// day given a tier; a reload with another table applies at the next poll. Compared with truth from
/// the tests' own tier table with the same overrides.
#[tokio::test]
async fn a_method_strength_table_overrides_and_extends_the_tiers() {
    let sim = start_simulator(1500, 13).await;
    sim.set_population(DEMO_TENANT_ID, with_every_named_method(1500, 13));
    let population = sim.population(DEMO_TENANT_ID);
    let toml = |overrides: &[(&str, &str)]| {
        let table: String = overrides.iter().map(|(m, t)| format!("{m} = \"{t}\"\n")).collect();
        config_toml(&sim, &format!("\n[method_strength]\n{table}"), "")
    };
    let first = [("email", "mfa"), ("mobilePhone", "none"), ("fido2", "none"), ("someNewMethod", "phishingResistant")];
    let exporter = start_exporter(&settings(&toml(&first))).await;
    let exp = scrape(exporter.addr).await;
    let truth = truth::compute_with_strength(TENANT, &population, &first);
    assert_matches_truth(&exp, &truth);
    assert_ne!(
        truth.by_strongest_method,
        truth::compute(TENANT, &population).by_strongest_method,
        "the overrides change the tiers of this population"
    );

    let second = [("officePhone", "passwordless"), ("securityQuestion", "phone")];
    exporter.reload(settings(&toml(&second))).await.expect("the new table is valid");
    assert!(exporter.poll_now().await);
    assert_matches_truth(&scrape(exporter.addr).await, &truth::compute_with_strength(TENANT, &population, &second));
    exporter.shutdown().await;
    sim.shutdown().await;
}
