//! Every report beyond the registration details: which are polled with which credential, how
//! retired and cloud-less reports are marked, and their values against the simulator's truth.

mod common;

use common::*;
use graph_simulator::DEMO_TENANT_ID;

fn available(exp: &Exposition, report: &str) -> Option<f64> {
    exp.get("entra_authmethods_report_available", &[("tenant", TENANT), ("report", report)])
}

fn requests_to(exp: &Exposition, endpoint: &str) -> f64 {
    exp.family("entra_authmethods_graph_requests_total")
        .iter()
        .filter(|(l, _)| l["endpoint"] == endpoint)
        .map(|(_, v)| v)
        .sum()
}

/// A simulator whose one tenant ([`DEMO_TENANT_ID`]) lives in `cloud`.
async fn simulator_in(cloud: SimCloud, users: usize, seed: u64) -> RunningSimulator {
    let mut cfg = SimulatorConfig::single(users, seed);
    cfg.quota_requests = 10_000;
    cfg.tenants[0].cloud = cloud;
    graph_simulator::start(cfg, loopback()).await.unwrap()
}

/// A tenant of a national cloud, configured with `cloud = "{name}"` and both endpoints on the
/// simulator: tokens are requested for that cloud's Graph, the registration numbers are exact, and
/// the legacy reports are listed as unavailable without asking Graph.
async fn a_national_cloud_tenant_is_polled(cloud: SimCloud, name: &str, scope: &str, seed: u64) {
    let sim = simulator_in(cloud, 700, seed).await;
    let toml = config_toml_with_reports(&sim, "page_size = 250", &format!("cloud = \"{name}\""), "");
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;

    assert_eq!(sim.stats().token_scopes, [(scope.to_owned(), 1)].into(), "one token, for {name}'s Graph");
    assert_eq!(
        exp.get("entra_authmethods_token_requests_total", &[("tenant", TENANT), ("outcome", "failure")]),
        Some(0.0)
    );

    let details = [("tenant", TENANT), ("report", "registration_details")];
    assert_eq!(exp.get("entra_authmethods_poll_success", &details), Some(1.0));
    let truth = common::truth::compute(TENANT, &sim.population(DEMO_TENANT_ID));
    assert!(truth.listed_users > 600);
    for (family, want) in [
        ("entra_authmethods_users", &truth.users),
        ("entra_authmethods_users_registered_by_feature", &truth.by_feature),
        ("entra_authmethods_users_registered_by_method", &truth.by_method),
        ("entra_authmethods_users_by_default_method", &truth.by_default_method),
        ("entra_authmethods_users_by_methods_registered", &truth.by_method_count),
    ] {
        let got = exp.family(family);
        for (labels, value) in want {
            assert_eq!(got.get(labels), Some(value), "{name}: {family}{labels:?}");
        }
        for (labels, value) in &got {
            assert!(want.contains_key(labels) || *value == 0.0, "{name}: {family}{labels:?} = {value}");
        }
    }
    // Every report that was polled succeeded (the legacy ones were not polled at all).
    for (labels, polls) in exp.family("entra_authmethods_polls_total") {
        let report = &labels["report"];
        let ok = exp.get("entra_authmethods_poll_success", &[("tenant", TENANT), ("report", report)]);
        assert!(polls == 0.0 || ok == Some(1.0), "{name}: {report} polled {polls} times, success {ok:?}");
    }

    for report in [
        "credential_user_registration_count",
        "credential_usage_summary",
        "credential_user_registration_details",
        "user_credential_usage_details",
    ] {
        assert_eq!(available(&exp, report), Some(0.0), "{name}: {report}");
        assert_eq!(exp.get("entra_authmethods_polls_total", &[("tenant", TENANT), ("report", report)]), Some(0.0));
    }
    for endpoint in
        ["getCredentialUserRegistrationCount", "getCredentialUsageSummary", "credentialUserRegistrationDetails"]
    {
        assert_eq!(requests_to(&exp, endpoint), 0.0, "{name}: {endpoint} was not requested");
    }
    let stats = sim.stats();
    for route in
        ["getCredentialUserRegistrationCount", "credentialUserRegistrationDetails", "userCredentialUsageDetails"]
    {
        assert_eq!(stats.requests_to(route), 0, "{name}: the simulator saw no {route}");
    }
    assert_eq!(
        exp.get("entra_authmethods_tenant_info", &[("tenant", TENANT), ("tenant_id", DEMO_TENANT_ID), ("cloud", name)]),
        Some(1.0)
    );
    let (status, _, body) = get(exporter.addr, "/readyz").await;
    assert_eq!(status, 200, "unavailable reports do not block readiness: {body}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_national_cloud_lists_the_legacy_reports_as_unavailable_without_asking_graph() {
    a_national_cloud_tenant_is_polled(SimCloud::Usgov, "usgov", "https://graph.microsoft.us/.default", 51).await;
}

#[tokio::test]
async fn a_usgov_dod_tenant_is_polled_with_the_dod_graph_scope() {
    a_national_cloud_tenant_is_polled(SimCloud::UsgovDod, "usgov-dod", "https://dod-graph.microsoft.us/.default", 53)
        .await;
}

#[tokio::test]
async fn a_china_tenant_is_polled_with_the_china_graph_scope() {
    a_national_cloud_tenant_is_polled(SimCloud::China, "china", "https://microsoftgraph.chinacloudapi.cn/.default", 54)
        .await;
}

/// A usgov tenant configured without `cloud` (so for the global cloud), then as usgov-dod: no token,
/// the Entra error on the status page with a hint naming the cloud setting, counted as unauthorized,
/// and Graph never asked.
#[tokio::test]
async fn a_tenant_configured_for_the_wrong_cloud_fails_with_entras_error_and_a_cloud_hint() {
    let sim = simulator_in(SimCloud::Usgov, 50, 55).await;
    let cases = [
        (
            "",
            "invalid_request: AADSTS90038: Tenant &#39;3f1c6a2e-9b1d-4c5e-8a7f-0d2b4e6c8a10&#39; request is being redirected to the National Cloud &#39;microsoftonline.us&#39;.",
            "the tenant belongs to another national cloud",
        ),
        (
            "cloud = \"usgov-dod\"",
            "invalid_scope: AADSTS70011: The provided value for the input parameter &#39;scope&#39; isn&#39;t valid. The scope https://dod-graph.microsoft.us/.default isn&#39;t valid.",
            "the token scope is not this tenant&#39;s Microsoft Graph",
        ),
    ];
    for (tenant_extra, error, hint) in cases {
        let failed_before = sim.stats().token_requests_failed;
        let exporter = start_exporter(&settings(&config_toml(&sim, "", tenant_extra))).await;
        let exp = scrape(exporter.addr).await;
        let details = [("tenant", TENANT), ("report", "registration_details")];
        assert_eq!(exp.get("entra_authmethods_poll_success", &details), Some(0.0), "{tenant_extra}");
        let reasons = exp.family("entra_authmethods_poll_failures_total");
        for (labels, n) in &reasons {
            let want = if labels["reason"] == "unauthorized" { 1.0 } else { 0.0 };
            assert_eq!(*n, want, "{tenant_extra}: {labels:?}");
        }
        assert!(!reasons.is_empty());
        assert_eq!(
            exp.get("entra_authmethods_token_requests_total", &[("tenant", TENANT), ("outcome", "success")]),
            Some(0.0)
        );
        assert!(sim.stats().token_requests_failed > failed_before, "{tenant_extra}: the simulator refused");
        let (_, _, page) = get(exporter.addr, "/").await;
        let row = page.lines().find(|l| l.contains("<td>registration_details</td>")).expect("row");
        assert!(row.contains(&format!("token request: HTTP 400 {error}")), "{tenant_extra}: {row}");
        assert!(row.contains(hint), "{tenant_extra}: {row}");
        exporter.shutdown().await;
    }
    let stats = sim.stats();
    assert_eq!(stats.graph_requests_total(), 0, "no Graph request without a token");
    assert!(stats.token_scopes.is_empty(), "no token was issued: {:?}", stats.token_scopes);
    sim.shutdown().await;
}

#[tokio::test]
async fn delegated_only_reports_are_skipped_once_without_a_signed_in_user() {
    let sim = start_simulator(30, 52).await;
    let out = run_binary(&config_toml_with_reports(&sim, "", "", ""), &["--once"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    for report in ["registration_activity", "sign_ins_by_method"] {
        let warnings =
            stderr.lines().filter(|l| l.contains("report skipped") && l.contains(&format!("report={report}"))).count();
        assert_eq!(warnings, 1, "one warning for {report}:\n{stderr}");
    }
    assert!(stderr.contains("login"), "the warning says how to fix it");
    let exp = Exposition::parse(&String::from_utf8(out.stdout).unwrap());
    for report in ["registration_activity", "sign_ins_by_method", "registration_summary"] {
        assert_eq!(
            exp.get("entra_authmethods_polls_total", &[("tenant", TENANT), ("report", report)]),
            None,
            "{report}"
        );
    }
    assert_eq!(
        exp.get("entra_authmethods_poll_success", &[("tenant", TENANT), ("report", "registration_details")]),
        Some(1.0)
    );
    sim.shutdown().await;
}

use common::activity_truth;
use entra_authmethods_exporter::graph::token_file;
use graph_simulator::{RunningSimulator, SimCloud, SimulatorConfig};

/// A simulator serving every report (retired ones switched back on) and a config for a tenant with
/// both credentials, every report enabled and the privilegedAdmin breakdown.
async fn everything(users: usize, seed: u64, source: &str) -> (RunningSimulator, tempfile::TempDir, String) {
    let mut cfg = SimulatorConfig::single(users, seed);
    cfg.quota_requests = 10_000;
    let sim = graph_simulator::start(cfg, loopback()).await.unwrap();
    let (dir, toml) = everything_toml(&sim, &format!("registration_source = \"{source}\""));
    (sim, dir, toml)
}

#[tokio::test]
async fn every_activity_and_legacy_report_matches_the_event_log() {
    let (sim, _dir, toml) = everything(1500, 61, "details").await;
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    let pop = sim.population(DEMO_TENANT_ID);

    for spec in entra_authmethods_exporter::reports::REPORTS {
        let labels = [("tenant", TENANT), ("report", spec.name)];
        assert_eq!(exp.get("entra_authmethods_poll_success", &labels), Some(1.0), "{}", spec.name);
        assert_eq!(exp.get("entra_authmethods_report_available", &labels), Some(1.0), "{}", spec.name);
    }
    exp.assert_family("entra_authmethods_registration_activities", &activity_truth::activities(TENANT, &pop, false));
    exp.assert_family("entra_authmethods_credential_usage_activities", &activity_truth::activities(TENANT, &pop, true));
    exp.assert_family("entra_authmethods_sign_ins_by_method", &activity_truth::sign_ins(TENANT, &pop));

    let (events, failures) = activity_truth::event_list(TENANT, &pop, None, true, 10);
    exp.assert_family("entra_authmethods_credential_usage_events", &events);
    exp.assert_family("entra_authmethods_credential_usage_event_failures", &failures);

    let (mfa, resets, day) = activity_truth::newest_day(TENANT, &pop);
    exp.assert_family("entra_authmethods_mfa_sign_ins", &mfa);
    exp.assert_family("entra_authmethods_password_resets_and_changes", &resets);
    assert_eq!(exp.get("entra_authmethods_mfa_sign_ins_day_timestamp_seconds", &[("tenant", TENANT)]), Some(day));
    assert_eq!(
        exp.get("entra_authmethods_password_resets_and_changes_day_timestamp_seconds", &[("tenant", TENANT)]),
        Some(day)
    );

    let (users, status, methods) = activity_truth::legacy_registration(TENANT, &pop);
    assert_eq!(exp.get("entra_authmethods_credential_users", &[("tenant", TENANT)]), Some(users));
    assert_eq!(exp.get("entra_authmethods_credential_details_users", &[("tenant", TENANT)]), Some(users));
    exp.assert_family("entra_authmethods_credential_user_registrations", &status);
    exp.assert_family("entra_authmethods_credential_details_users_by_status", &status);
    exp.assert_family("entra_authmethods_credential_details_users_by_method", &methods);

    // privilegedAdmin from the directory roles: the enabled users holding one of the nine roles.
    for (user_type, want) in [
        ("all", pop.users.iter().filter(|u| u.enabled && !u.privileged_roles.is_empty()).count()),
        (
            "member",
            pop.users
                .iter()
                .filter(|u| u.enabled && !u.privileged_roles.is_empty() && u.user_type.as_deref() == Some("member"))
                .count(),
        ),
    ] {
        let labels = [("tenant", TENANT), ("user_type", user_type), ("user_role", "privilegedAdmin")];
        assert_eq!(exp.get("entra_authmethods_users", &labels), Some(want as f64), "{user_type}");
    }
    assert!(
        exp.get(
            "entra_authmethods_users",
            &[("tenant", TENANT), ("user_type", "all"), ("user_role", "privilegedAdmin")]
        )
        .unwrap()
            > 0.0
    );

    // The registration numbers still match the details truth with both credentials configured.
    let truth = common::truth::compute(TENANT, &pop);
    for (labels, value) in &truth.users {
        assert_eq!(exp.family("entra_authmethods_users").get(labels), Some(value));
    }
    promtool_check_metrics(&exp.text);
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn user_events_count_the_lookback_window() {
    let (sim, _dir, toml) = everything(1500, 62, "details").await;
    let pop = sim.population(DEMO_TENANT_ID);
    // The exporter's window starts at its own clock minus the lookback, a moment after the
    // simulator's refresh time. For an exact truth no event may fall in that moment: pick the first
    // lookback (7 days plus whole hours) whose boundary band of two minutes is empty.
    let hours = (0..48)
        .find(|h| {
            let since = pop.refreshed_at - time::Duration::days(7) - time::Duration::hours(*h);
            !pop.events.iter().any(|e| e.at >= since && e.at < since + time::Duration::seconds(120))
        })
        .expect("a lookback without events on its boundary");
    let since = pop.refreshed_at - time::Duration::days(7) - time::Duration::hours(hours);
    let toml = toml.replace(
        "[tenant.reports.user_events_summary]\nenabled = true",
        &format!(
            "[tenant.reports.user_events_summary]\nenabled = true\nlookback = \"{}h\"\nmax_failure_reasons = 3",
            168 + hours
        ),
    );
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    let (events, failures) = activity_truth::event_list(TENANT, &pop, Some(since), false, 3);
    assert!(!events.is_empty() && !failures.is_empty());
    exp.assert_family("entra_authmethods_user_events", &events);
    exp.assert_family("entra_authmethods_user_event_failures", &failures);
    let reasons = exp.family("entra_authmethods_user_event_failures");
    assert!(reasons.keys().all(|l| !l["reason"].is_empty()), "no empty reason label");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_summary_source_feeds_the_registration_families_through_batch() {
    let (sim, _dir, toml) = everything(900, 63, "summary").await;
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    let pop = sim.population(DEMO_TENANT_ID);
    let listed: Vec<_> = pop.users.iter().filter(|u| u.enabled).collect();
    for (user_type, user_role) in [("all", "all"), ("member", "admin"), ("guest", "user"), ("all", "privilegedAdmin")] {
        let in_scope: Vec<_> = listed
            .iter()
            .filter(|u| user_type == "all" || u.user_type.as_deref() == Some(user_type))
            .filter(|u| match user_role {
                "admin" => u.is_admin == Some(true),
                "user" => u.is_admin != Some(true),
                "privilegedAdmin" => !u.privileged_roles.is_empty(),
                _ => true,
            })
            .collect();
        let l = |extra: (&'static str, &'static str)| {
            vec![("tenant", TENANT), ("user_type", user_type), ("user_role", user_role), extra]
        };
        assert_eq!(
            exp.get(
                "entra_authmethods_users",
                &[("tenant", TENANT), ("user_type", user_type), ("user_role", user_role)]
            ),
            Some(in_scope.len() as f64),
            "{user_type}/{user_role}"
        );
        for (feature, count) in [
            ("mfaCapable", in_scope.iter().filter(|u| u.is_mfa_capable).count()),
            ("ssprRegistered", in_scope.iter().filter(|u| u.is_sspr_registered).count()),
            ("passwordlessCapable", in_scope.iter().filter(|u| u.is_passwordless_capable).count()),
        ] {
            assert_eq!(
                exp.get("entra_authmethods_users_registered_by_feature", &l(("feature", feature))),
                Some(count as f64)
            );
        }
        let push =
            in_scope.iter().filter(|u| u.methods_registered.iter().any(|m| m == "microsoftAuthenticatorPush")).count();
        let got = exp.get("entra_authmethods_users_registered_by_method", &l(("method", "microsoftAuthenticatorPush")));
        assert_eq!(got.unwrap_or(0.0), push as f64, "{user_type}/{user_role}");
    }
    // Graph's summary has no mfaRegistered feature: with the summary source it is not exported.
    assert!(
        exp.family("entra_authmethods_users_registered_by_feature").keys().all(|l| l["feature"] != "mfaRegistered")
    );
    assert!(requests_to(&exp, "$batch") > 0.0);
    assert_eq!(requests_to(&exp, "usersRegisteredByFeature"), 12.0, "one inner request per breakdown");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn retired_reports_are_marked_unavailable_not_failed() {
    let sim = start_simulator(50, 64).await;
    let reports = "\n[tenant.reports.credential_user_registration_details]\nenabled = true\n";
    let exporter = start_exporter(&settings(&config_toml_with_reports(&sim, "", "", reports))).await;
    let exp = scrape(exporter.addr).await;
    for report in ["credential_user_registration_details", "credential_usage_summary", "user_credential_usage_details"]
    {
        let labels = [("tenant", TENANT), ("report", report)];
        assert_eq!(available(&exp, report), Some(0.0), "{report}");
        assert_eq!(exp.get("entra_authmethods_poll_success", &labels), Some(1.0), "{report}: not a failure");
    }
    assert_eq!(available(&exp, "credential_user_registration_count"), Some(1.0));
    assert!(exp.family("entra_authmethods_credential_details_users").is_empty());
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_rotated_refresh_token_is_persisted_and_a_revoked_one_is_not_retried() {
    let (sim, dir, toml) = everything(100, 65, "details").await;
    let exporter = start_exporter(&settings(&toml)).await;
    let file = dir.path().join("refresh-token");
    let stored = token_file::read(&file).await.unwrap();
    assert_eq!(Some(stored.expose().to_string()), sim.last_refresh_token(DEMO_TENANT_ID), "rotation persisted");

    // Revoke the refresh token and the access tokens issued from it, as a password reset does.
    sim.revoke_refresh_tokens();
    sim.revoke_tokens();
    assert!(!exporter.poll_now().await);
    let grants_after_first = sim.stats().refresh_token_grants;
    assert!(!exporter.poll_now().await);
    assert_eq!(sim.stats().refresh_token_grants, grants_after_first, "a refused refresh token is not sent again");
    let exp = scrape(exporter.addr).await;
    let labels = [("tenant", TENANT), ("report", "sign_ins_by_method"), ("reason", "unauthorized")];
    assert_eq!(exp.get("entra_authmethods_poll_failures_total", &labels), Some(2.0));
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(page.contains("login"), "the status page says to run login again");
    assert_eq!(
        exp.get("entra_authmethods_poll_success", &[("tenant", TENANT), ("report", "registration_details")]),
        Some(1.0),
        "app reports unaffected"
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn login_runs_the_device_code_flow_end_to_end() {
    let mut cfg = SimulatorConfig::single(10, 66);
    cfg.device_code_interval = std::time::Duration::from_secs(1);
    let sim = graph_simulator::start(cfg, loopback()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    let toml = config_toml(&sim, "", &format!("refresh_token_file = {:?}", token.display().to_string()));
    let s = settings(&toml);
    let tenant = &s.tenants[0];
    let http = entra_authmethods_exporter::graph::http_client(&s.graph).unwrap();

    let (tx, rx) = tokio::sync::oneshot::channel();
    let flow = entra_authmethods_exporter::login::login(&http, tenant, move |code| {
        let _ = tx.send(code.user_code.clone());
    });
    let approve = async {
        let code = rx.await.unwrap();
        assert!(sim.approve_device_code(&code));
    };
    let (result, ()) = tokio::join!(flow, approve);
    result.unwrap();
    let stored = token_file::read(&token).await.unwrap();
    assert_eq!(Some(stored.expose().to_string()), sim.last_refresh_token(DEMO_TENANT_ID));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&token).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let (tx, rx) = tokio::sync::oneshot::channel();
    let flow = entra_authmethods_exporter::login::login(&http, tenant, move |code| {
        let _ = tx.send(code.user_code.clone());
    });
    let decline = async {
        let code = rx.await.unwrap();
        assert!(sim.decline_device_code(&code));
    };
    let (result, ()) = tokio::join!(flow, decline);
    assert!(matches!(result, Err(entra_authmethods_exporter::login::LoginError::Declined)), "{result:?}");
    sim.shutdown().await;
}

/// `login` as a person runs it against the simulator: the real binary prints the simulator's own
/// verification page and a code, a POST of that code to that page signs the user in, and `login`
/// exits 0 with the refresh token stored.
#[tokio::test]
async fn login_completes_on_the_simulators_verification_page() {
    use tokio::io::AsyncBufReadExt;
    let mut cfg = SimulatorConfig::single(10, 67);
    cfg.device_code_interval = std::time::Duration::from_secs(1);
    let sim = graph_simulator::start(cfg, loopback()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_toml(&sim, "", &format!("refresh_token_file = {:?}", token.display().to_string())))
        .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-authmethods-exporter"))
        // As the manual prints it: the global --config after the subcommand.
        .args(["login", "--config"])
        .arg(&config)
        .args(["--tenant", TENANT])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().expect("login prints how to sign in");
    // "… open the page URL and enter the code CODE to authenticate."
    let words: Vec<&str> = first.split_whitespace().collect();
    let after = |w: &str| words.iter().position(|x| *x == w).map(|i| words[i + 1]).unwrap_or_else(|| panic!("{first}"));
    let (page, code) = (after("page"), after("code"));
    assert_eq!(page, format!("{}/devicelogin", sim.base_url()), "{first}");

    let http = client();
    let post = |code: &str| {
        http.post(page)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("user_code={code}"))
            .send()
    };
    let form = http.get(page).send().await.unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("name=\"user_code\""));
    let wrong = post("WRONGCODE").await.unwrap();
    assert_eq!(wrong.status(), 400, "a wrong code gets the form again");
    assert!(wrong.text().await.unwrap().contains("name=\"user_code\""));
    let right = post(code).await.unwrap();
    assert_eq!(right.status(), 200);

    // A deadline, not a synchronisation: without the approval login would wait out the code's 15 minutes.
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait()).await.unwrap().unwrap();
    let mut rest = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert!(status.success(), "login exits 0: {rest}");
    assert!(rest.contains("Signed in."), "{rest}");
    let stored = token_file::read(&token).await.unwrap();
    assert_eq!(Some(stored.expose().to_string()), sim.last_refresh_token(DEMO_TENANT_ID));
    sim.shutdown().await;
}

/// A login endpoint claiming a device code that lives u64::MAX seconds (the deadline overflowed an
/// Instant and panicked) and approving at the first poll.
#[tokio::test]
async fn login_survives_an_absurd_device_code_lifetime() {
    use axum::routing::post;
    let login = axum::Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(|| async {
                format!(
                    r#"{{"user_code":"ABC","device_code":"dc","verification_uri":"https://example.invalid","expires_in":{},"interval":1}}"#,
                    u64::MAX
                )
            }),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(|| async { r#"{"access_token":"at","refresh_token":"rt","expires_in":3600}"# }),
        );
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, login).await });
    let sim = start_simulator(10, 67).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    let toml = config_toml(&sim, "", &format!("refresh_token_file = {:?}", token.display().to_string()))
        .replace(&format!("login_endpoint = \"{}\"", sim.base_url()), &format!("login_endpoint = \"{base}\""));
    let s = settings(&toml);
    let http = entra_authmethods_exporter::graph::http_client(&s.graph).unwrap();
    entra_authmethods_exporter::login::login(&http, &s.tenants[0], |_| {}).await.unwrap();
    assert_eq!(token_file::read(&token).await.unwrap().expose(), "rt");
    server.abort();
    sim.shutdown().await;
}

#[tokio::test]
async fn without_role_permission_the_privileged_breakdown_is_left_out_not_zero() {
    let sim = start_simulator(200, 67).await;
    sim.set_app_roles(DEMO_TENANT_ID, vec!["AuditLog.Read.All".into()]);
    let toml = config_toml(&sim, "", "user_roles = [\"all\", \"privilegedAdmin\"]");
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(
        exp.get("entra_authmethods_poll_success", &[("tenant", TENANT), ("report", "registration_details")]),
        Some(1.0)
    );
    let roles: Vec<String> = exp.family("entra_authmethods_users").keys().map(|l| l["user_role"].clone()).collect();
    assert!(roles.iter().all(|r| r == "all"), "{roles:?}");
    assert_eq!(requests_to(&exp, "directoryRoles"), 1.0, "one 403, not retried");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_status_page_says_which_reports_are_unavailable() {
    let sim = start_simulator(20, 68).await;
    let exporter = start_exporter(&settings(&config_toml_with_reports(&sim, "", "", ""))).await;
    let (_, _, page) = get(exporter.addr, "/").await;
    let row = page.lines().find(|l| l.contains("<td>credential_usage_summary</td>")).expect("row");
    assert!(row.contains("unavailable: Graph answered HTTP 400"), "{row}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Without the optional Reports.Read.All the legacy reports are unavailable, not failing: the poll
/// succeeds, the exporter is ready, and the status page names the permission.
#[tokio::test]
async fn without_the_optional_reports_permission_the_legacy_reports_are_unavailable_not_failing() {
    let sim = start_simulator(40, 69).await;
    sim.set_app_roles(DEMO_TENANT_ID, vec!["AuditLog.Read.All".into()]);
    let exporter = start_exporter(&settings(&config_toml_with_reports(&sim, "", "", ""))).await;
    let exp = scrape(exporter.addr).await;
    for report in [
        "credential_user_registration_count",
        "credential_usage_summary",
        "credential_user_registration_details",
        "user_credential_usage_details",
    ] {
        assert_eq!(available(&exp, report), Some(0.0), "{report}");
        let labels = [("tenant", TENANT), ("report", report)];
        assert_eq!(exp.get("entra_authmethods_poll_success", &labels), Some(1.0), "{report}");
    }
    assert_eq!(available(&exp, "registration_details"), Some(1.0));
    let (status, _, body) = get(exporter.addr, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let (_, _, page) = get(exporter.addr, "/").await;
    let row = page.lines().find(|l| l.contains("<td>credential_user_registration_count</td>")).expect("row");
    assert!(row.contains("lacks the optional permission Reports.Read.All"), "{row}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// With 1,200 invented method names in Graph's own summaries (`usersRegisteredByMethod` through the
/// summary source), the tenant's `method` values across every family stay within 64 beyond the
/// documented ones, and `other` is the sum of Graph's counts of the folded values.
#[tokio::test]
async fn graph_counted_method_values_fold_their_counts_into_other() {
    let (sim, _dir, toml) = everything(1300, 67, "summary").await;
    let mut population = graph_simulator::Population::generate(1300, 67);
    population.add_methods(&graph_simulator::Population::invented_methods(1200), 1);
    sim.set_population(DEMO_TENANT_ID, population);
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    let pop = sim.population(DEMO_TENANT_ID);

    let with_method_label: Vec<&str> = entra_authmethods_exporter::snapshot::FAMILIES
        .iter()
        .filter(|f| f.labels.contains(&"method") && f.name != "entra_authmethods_users_by_default_method")
        .map(|f| f.name)
        .collect();
    assert!(with_method_label.len() >= 6, "{with_method_label:?}");
    let values: std::collections::BTreeSet<String> =
        with_method_label.iter().flat_map(|f| exp.family(f).into_keys().map(|l| l["method"].clone())).collect();
    let beyond = values.iter().filter(|m| !truth::documented_method(m) && *m != "other").count();
    assert!(beyond <= 64, "{beyond} method values beyond the documented ones");

    let family = "entra_authmethods_users_registered_by_method";
    let exported: std::collections::BTreeMap<String, f64> = exp
        .family(family)
        .into_iter()
        .filter(|(l, _)| l["user_type"] == "all" && l["user_role"] == "all")
        .map(|(l, v)| (l["method"].clone(), v))
        .collect();
    // Graph's counts, from the population as the simulator serves them.
    let mut graph: std::collections::BTreeMap<&str, f64> = Default::default();
    for m in pop.listed().flat_map(|u| &u.methods_registered) {
        *graph.entry(m.as_str()).or_default() += 1.0;
    }
    let folded: f64 = graph.iter().filter(|(m, _)| !exported.contains_key(**m)).map(|(_, n)| n).sum();
    assert!(folded > 0.0);
    assert_eq!(exported.get("other"), Some(&folded), "the folded values' counts, summed");
    for (m, n) in exported.iter().filter(|(m, _)| *m != "other") {
        assert_eq!(graph.get(m.as_str()).copied().unwrap_or(0.0), *n, "{m} as Graph counted it");
    }
    let label_values_folded =
        exp.get("entra_authmethods_label_values_folded", &[("tenant", TENANT), ("label", "method")]).unwrap();
    // At least the values this summary folded (other reports may fold values of their own).
    let folded_here = graph.keys().filter(|m| !exported.contains_key(**m)).count();
    assert!(folded_here > 1000 && label_values_folded >= folded_here as f64, "{label_values_folded} {folded_here}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Feature names Microsoft might add to usersRegisteredByFeature are label values from Graph too:
/// beyond the documented features, at most 64 are kept (first seen first) and the rest are summed
/// into `feature="other"`, counted by `label_values_folded{label="feature"}`. Graph's counts come
/// from the population by the simulator's documented rule for invented features.
#[tokio::test]
async fn invented_summary_features_fold_into_other() {
    let (sim, _dir, toml) = everything(900, 73, "summary").await;
    let mut population = graph_simulator::Population::generate(900, 73);
    population.invented_features = (0..100).map(|i| format!("futureFeature{i:03}")).collect();
    sim.set_population(DEMO_TENANT_ID, population);
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    let pop = sim.population(DEMO_TENANT_ID);

    let exported: std::collections::BTreeMap<String, f64> = exp
        .family("entra_authmethods_users_registered_by_feature")
        .into_iter()
        .filter(|(l, _)| l["user_type"] == "all" && l["user_role"] == "all")
        .map(|(l, v)| (l["feature"].clone(), v))
        .collect();
    let invented = |j: usize| -> f64 {
        pop.listed().filter(|u| graph_simulator::Population::invented_feature_has(j, u)).count() as f64
    };
    // Graph sends the five documented features first, then the invented ones in order: the first 64
    // invented ones are kept by name, the other 36 summed into `other`.
    for j in 0..64 {
        assert_eq!(exported.get(&format!("futureFeature{j:03}")), Some(&invented(j)), "futureFeature{j:03}");
    }
    let folded: f64 = (64..100).map(invented).sum();
    assert!(folded > 0.0);
    assert_eq!(exported.get("other"), Some(&folded), "the folded features' counts, summed");
    for f in ["mfaCapable", "ssprRegistered", "ssprEnabled", "ssprCapable", "passwordlessCapable"] {
        assert!(exported.contains_key(f), "{f} is documented and kept");
    }
    assert_eq!(exported.len(), 5 + 64 + 1, "{:?}", exported.keys().collect::<Vec<_>>());
    assert_eq!(
        exp.get("entra_authmethods_label_values_folded", &[("tenant", TENANT), ("label", "feature")]),
        Some(36.0)
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Once invented method names from userRegistrationDetails have filled `max_method_values` (64),
/// the method values the other reports document (`sms`, `smsSignIn` and `oneTimePasscode` of the
/// sign-ins and resets; `appNotification`, `appCode`, `mobileSMS`, `fido` of the legacy reports) are
/// still exported by name, and none of them took one of the 64 slots: every family equals the
/// unfolded truth from the simulator's event log.
#[tokio::test]
async fn every_reports_documented_method_values_are_kept_once_the_bound_is_full() {
    let (sim, _dir, toml) = everything(1500, 71, "details").await;
    let mut population = graph_simulator::Population::generate(1500, 71);
    population.add_methods(&graph_simulator::Population::invented_methods(200), 1);
    sim.set_population(DEMO_TENANT_ID, population);
    let exporter = start_exporter(&settings(&toml)).await;
    // A second round, so that every report polls after the details sweep admitted its 64 names,
    // whatever the order of the first.
    assert!(exporter.poll_now().await);
    let exp = scrape(exporter.addr).await;
    let pop = sim.population(DEMO_TENANT_ID);

    let family = "entra_authmethods_users_registered_by_method";
    let admitted: std::collections::BTreeSet<String> = truth::admitted_methods(&pop, &[], 64).into_iter().collect();
    assert_eq!(admitted.len(), 64, "the details report alone fills the bound");
    let invented: std::collections::BTreeSet<String> = exp
        .family(family)
        .into_keys()
        .map(|l| l["method"].clone())
        .filter(|m| m.starts_with("inventedMethod"))
        .collect();
    assert_eq!(invented, admitted, "the 64 slots hold the first 64 invented names, no documented one");
    for (labels, want) in &truth::compute_bounded(TENANT, &pop, &[], 64).by_method {
        assert_eq!(exp.family(family).get(labels), Some(want), "{labels:?}");
    }
    // The details' distinct undocumented names (the invented ones and the simulator's future name)
    // beyond the 64; no other report folds anything.
    let undocumented: std::collections::BTreeSet<&String> =
        pop.listed().flat_map(|u| &u.methods_registered).filter(|m| !truth::documented_method(m)).collect();
    assert!(undocumented.len() > 200, "{}", undocumented.len());
    let folded = exp.get("entra_authmethods_label_values_folded", &[("tenant", TENANT), ("label", "method")]);
    assert_eq!(folded, Some((undocumented.len() - 64) as f64));

    exp.assert_family("entra_authmethods_registration_activities", &activity_truth::activities(TENANT, &pop, false));
    exp.assert_family("entra_authmethods_credential_usage_activities", &activity_truth::activities(TENANT, &pop, true));
    exp.assert_family("entra_authmethods_sign_ins_by_method", &activity_truth::sign_ins(TENANT, &pop));
    let (events, failures) = activity_truth::event_list(TENANT, &pop, None, true, 10);
    exp.assert_family("entra_authmethods_credential_usage_events", &events);
    exp.assert_family("entra_authmethods_credential_usage_event_failures", &failures);
    let (_, _, methods) = activity_truth::legacy_registration(TENANT, &pop);
    exp.assert_family("entra_authmethods_credential_details_users_by_method", &methods);
    for (family, method) in [
        ("entra_authmethods_sign_ins_by_method", "sms"),
        ("entra_authmethods_sign_ins_by_method", "smsSignIn"),
        ("entra_authmethods_registration_activities", "oneTimePasscode"),
        ("entra_authmethods_registration_activities", "sms"),
        ("entra_authmethods_credential_usage_activities", "appCode"),
        ("entra_authmethods_credential_usage_events", "mobileSMS"),
        ("entra_authmethods_credential_details_users_by_method", "appNotification"),
        ("entra_authmethods_credential_details_users_by_method", "appCode"),
    ] {
        let values: Vec<String> = exp.family(family).into_keys().map(|l| l["method"].clone()).collect();
        assert!(values.iter().any(|m| m == method), "{family} lacks {method}: {values:?}");
        assert!(!values.iter().any(|m| m == "other"), "{family} folded a documented value: {values:?}");
    }
    exporter.shutdown().await;
    sim.shutdown().await;
}
