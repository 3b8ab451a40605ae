//! Faults from the simulator: throttling, server errors, broken bodies, paging loops, token problems,
//! licence errors and unreachable endpoints. Each ends either in exact numbers (the fault was
//! absorbed by retries) or in one recorded failure with the right reason, with the last good data kept.

mod common;

use common::truth;
use common::*;
use graph_simulator::{DEMO_CLIENT_SECRET, DEMO_TENANT_ID, Fault, TokenError};

const REPORT: [(&str, &str); 2] = [("tenant", TENANT), ("report", "registration_details")];

fn failures(exp: &Exposition, reason: &str) -> Option<f64> {
    exp.get(
        "entra_authmethods_poll_failures_total",
        &[("tenant", TENANT), ("report", "registration_details"), ("reason", reason)],
    )
}

fn requests(exp: &Exposition, code: &str) -> Option<f64> {
    exp.get(
        "entra_authmethods_graph_requests_total",
        &[("tenant", TENANT), ("endpoint", "userRegistrationDetails"), ("code", code)],
    )
}

fn users_all(exp: &Exposition) -> Option<f64> {
    exp.get("entra_authmethods_users", &[("tenant", TENANT), ("user_type", "all"), ("user_role", "all")])
}

#[tokio::test]
async fn throttling_with_retry_after_is_absorbed() {
    let sim = start_simulator(250, 21).await;
    sim.push_fault(Fault::Throttle { count: 2, retry_after: Some("0.05".into()) });
    let exporter = start_exporter(&settings(&config_toml(&sim, "page_size = 100", ""))).await;
    let exp = scrape(exporter.addr).await;
    let truth = truth::compute(TENANT, &sim.population(DEMO_TENANT_ID));
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0));
    assert_eq!(users_all(&exp), Some(truth.listed_users as f64));
    assert_eq!(requests(&exp, "429"), Some(2.0));
    assert_eq!(requests(&exp, "200"), Some(truth.listed_users.div_ceil(100) as f64));
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn throttling_without_retry_after_backs_off_and_gives_up_after_max_attempts() {
    let sim = start_simulator(50, 22).await;
    sim.push_fault(Fault::Throttle { count: 10, retry_after: None });
    let exporter = start_exporter(&settings(&config_toml(&sim, "max_attempts = 3", ""))).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(0.0));
    assert_eq!(failures(&exp, "throttled"), Some(1.0));
    assert_eq!(requests(&exp, "429"), Some(3.0), "exactly max_attempts requests");
    assert_eq!(users_all(&exp), None, "no data before the first success");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_retried() {
    let sim = start_simulator(150, 23).await;
    sim.push_fault(Fault::Status { count: 2, status: 503, code: "ServiceUnavailable".into(), message: "down".into() });
    let exporter = start_exporter(&settings(&config_toml(&sim, "", ""))).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0));
    assert_eq!(requests(&exp, "503"), Some(2.0));
    let truth = truth::compute(TENANT, &sim.population(DEMO_TENANT_ID));
    assert_eq!(users_all(&exp), Some(truth.listed_users as f64));
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_licence_error_is_not_retried_and_keeps_the_last_good_data() {
    let sim = start_simulator(300, 24).await;
    let exporter = start_exporter(&settings(&config_toml(&sim, "", ""))).await;
    let before = scrape(exporter.addr).await;
    let good = users_all(&before).expect("first poll succeeded");
    let last_success = before.get("entra_authmethods_last_success_timestamp_seconds", &REPORT).unwrap();

    sim.set_licensed(DEMO_TENANT_ID, false);
    sim.drift(DEMO_TENANT_ID);
    assert!(!exporter.poll_now().await);
    let after = scrape(exporter.addr).await;
    assert_eq!(after.get("entra_authmethods_poll_success", &REPORT), Some(0.0));
    assert_eq!(failures(&after, "forbidden"), Some(1.0));
    assert_eq!(requests(&after, "403"), Some(1.0), "403 is not retried");
    assert_eq!(users_all(&after), Some(good), "last good data kept");
    assert_eq!(after.get("entra_authmethods_last_success_timestamp_seconds", &REPORT), Some(last_success));
    assert_eq!(after.get("entra_authmethods_polls_total", &REPORT), Some(2.0));
    let info = [
        ("tenant", TENANT),
        ("report", "registration_details"),
        ("reason", "forbidden"),
        ("graph_code", "Authentication_RequestFromNonPremiumTenantOrB2CTenant"),
    ];
    assert_eq!(after.get("entra_authmethods_last_error_info", &info), Some(1.0));
    assert_eq!(after.family("entra_authmethods_last_error_info").len(), 1);

    let (status, _, body) = get(exporter.addr, "/").await;
    assert_eq!(status, 200);
    assert!(body.contains("Authentication_RequestFromNonPremiumTenantOrB2CTenant"), "{body}");
    assert!(body.contains("P1 or P2"));
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_and_truncated_pages_are_retried_then_reported_as_decode() {
    let sim = start_simulator(200, 25).await;
    sim.push_fault(Fault::MalformedJson);
    sim.push_fault(Fault::TruncatedBody);
    let exporter = start_exporter(&settings(&config_toml(&sim, "", ""))).await;
    let exp = scrape(exporter.addr).await;
    let truth = truth::compute(TENANT, &sim.population(DEMO_TENANT_ID));
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0), "two bad bodies, then a good one");
    assert_eq!(users_all(&exp), Some(truth.listed_users as f64));

    for _ in 0..5 {
        sim.push_fault(Fault::MalformedJson);
    }
    assert!(!exporter.poll_now().await);
    let exp = scrape(exporter.addr).await;
    assert_eq!(failures(&exp, "decode"), Some(1.0));
    assert_eq!(users_all(&exp), Some(truth.listed_users as f64), "last good data kept");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn an_empty_page_in_the_middle_is_fine_and_a_repeated_next_link_stops_the_sweep() {
    let sim = start_simulator(250, 26).await;
    sim.push_fault(Fault::EmptyPage);
    let exporter = start_exporter(&settings(&config_toml(&sim, "page_size = 100", ""))).await;
    let exp = scrape(exporter.addr).await;
    let truth = truth::compute(TENANT, &sim.population(DEMO_TENANT_ID));
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0));
    assert_eq!(users_all(&exp), Some(truth.listed_users as f64));

    sim.push_fault(Fault::RepeatNextLink);
    assert!(!exporter.poll_now().await);
    let exp = scrape(exporter.addr).await;
    assert_eq!(failures(&exp, "decode"), Some(1.0), "a paging loop is a decode failure");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_revoked_token_is_renewed_once_and_the_poll_succeeds() {
    let sim = start_simulator(150, 27).await;
    let exporter = start_exporter(&settings(&config_toml(&sim, "", ""))).await;
    sim.revoke_tokens();
    assert!(exporter.poll_now().await);
    let exp = scrape(exporter.addr).await;
    assert_eq!(requests(&exp, "401"), Some(1.0));
    assert_eq!(
        exp.get("entra_authmethods_token_requests_total", &[("tenant", TENANT), ("outcome", "success")]),
        Some(2.0)
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn expiring_tokens_are_renewed_before_graph_rejects_them() {
    let mut cfg = graph_simulator::SimulatorConfig::single(600, 28);
    cfg.quota_requests = 10_000;
    cfg.token_lifetime = std::time::Duration::from_secs(1);
    let sim = graph_simulator::start(cfg, loopback()).await.unwrap();
    // 6 pages at 2 requests per 500 ms: the sweep takes over a second, past the renewal point (750 ms)
    // of a token that lives one second (Entra reports whole seconds).
    let toml = config_toml(&sim, "page_size = 100", "").replace(
        "rate_limit_requests = 1000\nrate_limit_period = \"1s\"",
        "rate_limit_requests = 2\nrate_limit_period = \"500ms\"",
    );
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0));
    assert_eq!(requests(&exp, "401"), None, "no request was sent with an expired token");
    let tokens =
        exp.get("entra_authmethods_token_requests_total", &[("tenant", TENANT), ("outcome", "success")]).unwrap();
    assert!(tokens >= 2.0, "tokens were renewed during the sweep, got {tokens}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_client_secret_is_unauthorized_and_never_logged() {
    let sim = start_simulator(10, 29).await;
    let toml = config_toml(&sim, "", "").replace(DEMO_CLIENT_SECRET, "definitely-wrong-secret");
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(failures(&exp, "unauthorized"), Some(1.0));
    assert_eq!(
        exp.get("entra_authmethods_token_requests_total", &[("tenant", TENANT), ("outcome", "failure")]),
        Some(1.0)
    );
    assert_eq!(requests(&exp, "200"), None, "no Graph request without a token");
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(page.contains("invalid_client") && page.contains("AADSTS7000215"), "{page}");
    assert!(!page.contains("definitely-wrong-secret"));
    assert!(!exp.text.contains("definitely-wrong-secret"));
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_failures_are_reported_with_their_aadsts_code() {
    let sim = start_simulator(10, 30).await;
    sim.push_fault(Fault::TokenFailure { count: 1, error: TokenError::UnknownTenant });
    let exporter = start_exporter(&settings(&config_toml(&sim, "", ""))).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(failures(&exp, "unauthorized"), Some(1.0));
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(page.contains("AADSTS90002"), "{page}");
    // The fault is used up: the next poll succeeds.
    assert!(exporter.poll_now().await);
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_answers_time_out() {
    let sim = start_simulator(10, 31).await;
    sim.push_fault(Fault::Slow(std::time::Duration::from_secs(3)));
    let toml =
        config_toml(&sim, "max_attempts = 1", "").replace("request_timeout = \"5s\"", "request_timeout = \"300ms\"");
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(failures(&exp, "timeout"), Some(1.0));
    assert_eq!(requests(&exp, "timeout"), Some(1.0));
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_whole_poll_is_bounded_by_the_poll_timeout() {
    let sim = start_simulator(10, 32).await;
    sim.push_fault(Fault::Slow(std::time::Duration::from_secs(3)));
    let exporter = start_exporter(&settings(&config_toml(&sim, "poll_timeout = \"300ms\"", ""))).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(failures(&exp, "timeout"), Some(1.0));
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// The poll deadline grows with the pages read at the configured pacing, so a sweep that the pacer
/// makes longer than `poll_timeout` still completes: a 2,000,000-user tenant at Graph's quota is 2,000
/// pages at one request per 2 s, 67 minutes against the default `poll_timeout` of one hour. Scaled
/// down here: 40 pages at one request per 150 ms (about 6 s of pacing, the first page at once) against a `poll_timeout` of
/// 2 s, so a fixed deadline would cut it three times over.
#[tokio::test]
async fn a_sweep_the_pacer_makes_longer_than_poll_timeout_completes() {
    let sim = start_simulator(400, 36).await;
    let toml = config_toml(&sim, "page_size = 10\npoll_timeout = \"2s\"", "").replace(
        "rate_limit_requests = 1000\nrate_limit_period = \"1s\"",
        "rate_limit_requests = 1\nrate_limit_period = \"150ms\"",
    );
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0));
    assert_eq!(failures(&exp, "timeout"), Some(0.0));
    let truth = truth::compute(TENANT, &sim.population(DEMO_TENANT_ID));
    assert_eq!(users_all(&exp), Some(truth.listed_users as f64));
    assert_eq!(requests(&exp, "200"), Some(truth.listed_users.div_ceil(10) as f64));
    let took = exp.get("entra_authmethods_poll_duration_seconds", &REPORT).expect("poll duration");
    assert!(took > 2.0, "the sweep ({took} s) ran past poll_timeout, so the paced deadline carried it");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_graph_is_a_network_failure() {
    // Bind then drop a listener to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sim = start_simulator(10, 33).await;
    let toml = config_toml(&sim, "max_attempts = 2", "").replace(
        &format!("graph_endpoint = \"{}\"", sim.base_url()),
        &format!("graph_endpoint = \"http://127.0.0.1:{port}\""),
    );
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(failures(&exp, "network"), Some(1.0));
    assert_eq!(requests(&exp, "network"), Some(2.0));
    let (status, _, body) = get(exporter.addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("network"), "{body}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_reports_quota_is_respected_so_graph_never_throttles() {
    let mut cfg = graph_simulator::SimulatorConfig::single(500, 34);
    cfg.quota_requests = 3;
    cfg.quota_window = std::time::Duration::from_millis(300);
    let sim = graph_simulator::start(cfg, loopback()).await.unwrap();
    // Paced a little below the quota: the margin absorbs scheduling delays between our clock and
    // the simulator's on a loaded CI machine, as the built-in 2% margin does for Graph's 10 s window.
    let toml = config_toml(&sim, "page_size = 50", "").replace(
        "rate_limit_requests = 1000\nrate_limit_period = \"1s\"",
        "rate_limit_requests = 3\nrate_limit_period = \"400ms\"",
    );
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_poll_success", &REPORT), Some(1.0));
    assert_eq!(requests(&exp, "429"), None, "paced at the quota, Graph never answered 429");
    assert_eq!(sim.stats().throttled, 0);
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// A `Retry-After` beyond what a Duration holds (1e30 seconds) is capped, not a panic that would end
/// the tenant's poller with no poll ever recorded: the poll waits for the capped delay until its
/// deadline and fails as a timeout.
#[tokio::test]
async fn an_absurd_retry_after_is_capped_and_the_poll_is_recorded() {
    let sim = start_simulator(10, 35).await;
    sim.push_fault(Fault::Throttle { count: 1, retry_after: Some("1e30".into()) });
    let exporter = start_exporter(&settings(&config_toml(&sim, "poll_timeout = \"300ms\"", ""))).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_polls_total", &REPORT), Some(1.0));
    assert_eq!(requests(&exp, "429"), Some(1.0));
    assert_eq!(failures(&exp, "timeout"), Some(1.0), "waiting out the capped Retry-After hit the poll deadline");
    assert_eq!(failures(&exp, "internal"), Some(0.0));
    assert_eq!(get(exporter.addr, "/healthz").await.0, 200);
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// A server answering every request 200 with a body that never ends (no Content-Length, one chunk
/// after another until the client hangs up); returns its base URL and the body bytes it sent.
async fn endless_body_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"value\":[";
                let chunk = vec![b' '; 64 * 1024];
                if tcp.write_all(head.as_bytes()).await.is_ok() {
                    while tcp.write_all(&chunk).await.is_ok() {
                        counter.fetch_add(chunk.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    (base, sent)
}

/// What the kernel's socket buffers may hold beyond what the client read.
const SOCKET_SLACK: usize = 32 << 20;

#[tokio::test]
async fn an_endless_graph_answer_is_cut_at_the_page_limit_and_not_retried() {
    use entra_authmethods_exporter::graph::MAX_GRAPH_BODY;
    let sim = start_simulator(10, 36).await;
    let (endless, sent) = endless_body_server().await;
    let toml = config_toml(&sim, "", "")
        .replace(&format!("graph_endpoint = \"{}\"", sim.base_url()), &format!("graph_endpoint = \"{endless}\""));
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(failures(&exp, "decode"), Some(1.0));
    assert_eq!(requests(&exp, "200"), Some(1.0), "an oversized answer is not asked for again");
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sent < MAX_GRAPH_BODY + SOCKET_SLACK, "the exporter stopped reading, the server sent {sent} bytes");
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(
        page.contains("userRegistrationDetails: cannot decode the answer: the answer is larger than 64 MiB"),
        "{page}"
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn an_endless_token_answer_is_cut_at_the_token_limit() {
    use entra_authmethods_exporter::graph::MAX_TOKEN_BODY;
    let sim = start_simulator(10, 37).await;
    let (endless, sent) = endless_body_server().await;
    let toml = config_toml(&sim, "", "")
        .replace(&format!("login_endpoint = \"{}\"", sim.base_url()), &format!("login_endpoint = \"{endless}\""));
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(failures(&exp, "decode"), Some(1.0));
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sent < MAX_TOKEN_BODY + SOCKET_SLACK, "the exporter stopped reading, the server sent {sent} bytes");
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(page.contains("token: cannot decode the answer: the answer is larger than 1 MiB"), "{page}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn an_endless_managed_identity_answer_is_cut_at_the_token_limit() {
    use entra_authmethods_exporter::graph::MAX_TOKEN_BODY;
    use graph_simulator::DEMO_CLIENT_ID;
    let sim = start_simulator(10, 38).await;
    let (endless, sent) = endless_body_server().await;
    let endpoint = format!("{endless}/metadata/identity/oauth2/token");
    let toml = config_toml(&sim, "", "").replace(&format!("client_id = \"{DEMO_CLIENT_ID}\"\n"), "").replace(
        &format!("client_secret = \"{DEMO_CLIENT_SECRET}\"\n"),
        &format!("credential = \"managed_identity\"\nmanaged_identity_endpoint = \"{endpoint}\"\n"),
    );
    let exporter = start_exporter(&settings(&toml)).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(failures(&exp, "decode"), Some(1.0));
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sent < MAX_TOKEN_BODY + SOCKET_SLACK, "the exporter stopped reading, the server sent {sent} bytes");
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(page.contains(&format!("managed identity endpoint {endpoint}")), "{page}");
    assert!(page.contains("the answer is larger than 1 MiB"), "{page}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// `--once` with a login endpoint that refuses connections: the first report retries the token
/// request, the tenant's other reports then fail at once with the same cause instead of each
/// retrying it; one warning names the login endpoint (not Graph) and the exit code is non-zero.
#[tokio::test]
async fn once_fails_fast_when_the_login_endpoint_refuses_connections() {
    once_fails_fast_when_the_login_endpoint_is("http://127.0.0.1:1", "127.0.0.1:1", "network").await;
}

/// The same for a login host that does not resolve (`.invalid` never does, RFC 6761).
#[tokio::test]
async fn once_fails_fast_when_the_login_host_does_not_resolve() {
    once_fails_fast_when_the_login_endpoint_is("https://nonexistent.invalid", "nonexistent.invalid", "network").await;
}

/// The same for a login endpoint that accepts connections and never answers: the first report waits
/// out its attempts' request timeouts, the others do not wait again.
#[tokio::test]
async fn once_fails_fast_when_the_login_endpoint_never_answers() {
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(tcp);
        }
    });
    once_fails_fast_when_the_login_endpoint_is(&format!("http://{addr}"), &addr.to_string(), "timeout").await;
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "only the first report's four attempts reached the login endpoint"
    );
    server.abort();
}

async fn once_fails_fast_when_the_login_endpoint_is(login_endpoint: &str, host: &str, reason: &str) {
    let sim = start_simulator(10, 39).await;
    let toml = config_toml_with_reports(&sim, "max_attempts = 4", "", "")
        .replace("request_timeout = \"5s\"", "request_timeout = \"300ms\"")
        .replace(
            &format!("login_endpoint = \"{}\"", sim.base_url()),
            &format!("login_endpoint = \"{login_endpoint}\""),
        );
    let out = run_binary(&toml, &["--once", "--log.format", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let exp = Exposition::parse(&String::from_utf8(out.stdout).unwrap());
    let failed: Vec<_> = exp
        .family("entra_authmethods_poll_failures_total")
        .into_iter()
        .filter(|(l, v)| l["reason"] == reason && *v == 1.0)
        .collect();
    assert!(failed.len() >= 5, "every report failed with the {reason} reason: {failed:?}");
    // The first report's four attempts failed; every other report failed with their cause without
    // asking the login endpoint again (each asking would add four).
    assert_eq!(
        exp.get("entra_authmethods_token_requests_total", &[("tenant", TENANT), ("outcome", "failure")]),
        Some(4.0)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|j| j["level"] == "WARN" && j["reason"] == reason)
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert_eq!(warnings[0]["endpoint"], format!("login endpoint {host}"));
    assert_eq!(warnings[0]["reports"], failed.len());
    let hint = warnings[0]["hint"].as_str().unwrap();
    assert!(hint.starts_with("the login endpoint") && hint.contains("Graph was not asked"), "{hint}");
    assert_eq!(sim.stats().graph_requests_total(), 0, "Graph was never asked");
    sim.shutdown().await;
}

/// Collects the exporter's log lines (JSON) for a test running on one thread.
#[derive(Clone, Default)]
struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Captures the info-level and higher lines of this thread (a current-thread test runtime) until
    /// the guard is dropped.
    fn install() -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn lines(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

/// In the daemon, a token failure shared by every report is one warning per cause: again when the
/// cause changes (a wrong secret, then an expired one), and one info line when the credential
/// works again. The metrics still count every failed poll.
#[tokio::test]
async fn a_token_failure_is_logged_once_per_cause_and_its_recovery_once() {
    // The test runs on one thread (tokio::test's default), so every task of the exporter logs here.
    let (logs, _guard) = CapturedLogs::install();
    let sim = start_simulator(10, 40).await;
    let settings = settings(&config_toml_with_reports(&sim, "", "", ""));
    // Every polled report asks for a token once: the first three get the wrong-secret answer, the
    // rest the expired-secret one.
    let polled = 8;
    sim.push_fault(Fault::TokenFailure { count: 3, error: TokenError::InvalidSecret });
    sim.push_fault(Fault::TokenFailure { count: polled - 3, error: TokenError::ExpiredSecret });
    let exporter = start_exporter(&settings).await;
    assert_eq!(sim.pending_faults(), 0, "each of the {polled} reports asked for a token once");
    let exp = scrape(exporter.addr).await;
    let unauthorized = exp
        .family("entra_authmethods_poll_failures_total")
        .into_iter()
        .filter(|(l, v)| l["reason"] == "unauthorized" && *v == 1.0)
        .count();
    assert_eq!(unauthorized, polled as usize, "every failed poll is still counted");
    assert!(exporter.poll_now().await, "the secret works again");

    let lines = logs.lines();
    // The lines about the token (they name the endpoint); no report logs its own warning for it.
    let tenant_lines: Vec<_> = lines.iter().filter(|j| j["tenant"] == TENANT && j["endpoint"].is_string()).collect();
    assert!(!lines.iter().any(|j| j["message"] == "poll failed; keeping the last good data"), "{lines:#?}");
    let summary: Vec<(String, String)> = tenant_lines
        .iter()
        .map(|j| (j["level"].as_str().unwrap().to_string(), j["graph_code"].as_str().unwrap_or("").to_string()))
        .collect();
    let expected = [("WARN", "AADSTS7000215"), ("WARN", "AADSTS7000222"), ("INFO", "")];
    assert_eq!(summary, expected.map(|(l, c)| (l.to_string(), c.to_string())), "{tenant_lines:#?}");
    assert_eq!(tenant_lines[0]["reports"], polled);
    assert_eq!(tenant_lines[2]["message"], format!("tenant {TENANT}: credentials work again"));
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// While the token endpoint fails but the current token is still valid, every request retries the
/// renewal and uses the current token: one warning for the streak, not one per request.
#[tokio::test]
async fn a_failing_renewal_is_one_warning_while_the_current_token_is_used() {
    let (logs, _guard) = CapturedLogs::install();
    let lifetime = std::time::Duration::from_secs(4);
    let mut cfg = graph_simulator::SimulatorConfig::single(10, 41);
    cfg.quota_requests = 10_000;
    cfg.token_lifetime = lifetime;
    let sim = graph_simulator::start(cfg, loopback()).await.unwrap();
    let exporter = start_exporter(&settings(&config_toml_with_reports(&sim, "", "", ""))).await;
    // Past the renewal point (3/4 of the lifetime), well before the token expires.
    tokio::time::sleep(lifetime.mul_f64(0.8)).await;
    sim.push_fault(Fault::TokenFailure { count: 1000, error: TokenError::ServerError });
    assert!(exporter.poll_now().await, "every poll used the current token");
    let renewals: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|j| j["message"].as_str().unwrap().starts_with("token renewal failed"))
        .collect();
    assert_eq!(renewals.len(), 1, "{renewals:#?}");
    assert_eq!(renewals[0]["level"], "WARN");
    let failed = sim.stats().token_requests_failed;
    assert!(failed > 1, "the renewal was retried by several requests, got {failed}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// A credential file that disappears after start (a rotated Kubernetes secret gone wrong) fails
/// every report before any request is sent: one warning naming the credential's files.
#[tokio::test]
async fn a_vanished_secret_file_is_one_warning_for_the_tenant() {
    let (logs, _guard) = CapturedLogs::install();
    let sim = start_simulator(10, 42).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, DEMO_CLIENT_SECRET).unwrap();
    let toml = config_toml_with_reports(&sim, "", "", "").replace(
        &format!("client_secret = \"{DEMO_CLIENT_SECRET}\""),
        &format!("client_secret_file = {:?}", secret.display().to_string()),
    );
    let exporter = start_exporter(&settings(&toml)).await;
    std::fs::remove_file(&secret).unwrap();
    // Graph refuses the cached token, so every poll needs a new one at once.
    sim.revoke_tokens();
    assert!(!exporter.poll_now().await);
    let lines = logs.lines();
    let token: Vec<_> = lines.iter().filter(|j| j["endpoint"].is_string()).collect();
    assert_eq!(token.len(), 1, "{lines:#?}");
    assert_eq!(token[0]["level"], "WARN");
    assert_eq!(token[0]["endpoint"], "credential's files (no request was sent)");
    assert_eq!(token[0]["reason"], "config");
    assert!(token[0]["error"].as_str().unwrap().contains(&secret.display().to_string()), "{}", token[0]);
    assert!(token[0]["reports"].as_u64().unwrap() >= 5);
    assert!(!lines.iter().any(|j| j["message"] == "poll failed; keeping the last good data"), "{lines:#?}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Graph rows carrying 1,200 invented method names (each user one, in turn): the `method` label keeps
/// the documented values, the `[method_strength]` names and the first 64 others in the order Graph
/// listed them, and counts every user with a folded method once under `other`, equal to truth from
/// the population. One warning however many polls; the next poll keeps the same label values.
#[tokio::test]
async fn invented_method_names_fold_into_other_with_one_warning() {
    let (logs, _guard) = CapturedLogs::install();
    let sim = start_simulator(2500, 23).await;
    let mut population = graph_simulator::Population::generate(2500, 23);
    population.add_methods(&graph_simulator::Population::invented_methods(1200), 1);
    sim.set_population(DEMO_TENANT_ID, population);
    let population = sim.population(DEMO_TENANT_ID);
    let overrides = [("inventedMethod7", "mfa")];
    let extra = "max_method_values = 64\n\n[method_strength]\ninventedMethod7 = \"mfa\"\n";
    let exporter = start_exporter(&settings(&config_toml(&sim, extra, ""))).await;
    let exp = scrape(exporter.addr).await;

    let truth = truth::compute_bounded(TENANT, &population, &overrides, 64);
    assert_eq!(truth::admitted_methods(&population, &overrides, 64).len(), 64, "more than 64 to choose from");
    let family = "entra_authmethods_users_registered_by_method";
    let values = |exp: &Exposition| -> std::collections::BTreeSet<String> {
        exp.family(family).keys().map(|l| l["method"].clone()).collect()
    };
    let methods = values(&exp);
    let beyond: Vec<&String> = methods.iter().filter(|m| !truth::documented_method(m) && *m != "other").collect();
    assert_eq!(beyond.len(), 64 + overrides.len(), "64 admitted plus the [method_strength] name: {beyond:?}");
    for (labels, want) in &truth.by_method {
        assert_eq!(exp.family(family).get(labels), Some(want), "{labels:?}");
    }
    let other = [("tenant", TENANT), ("user_type", "all"), ("user_role", "all"), ("method", "other")];
    let with_folded = population
        .listed()
        .filter(|u| {
            u.methods_registered
                .iter()
                .any(|m| m.starts_with("inventedMethod") && m != "inventedMethod7" && !beyond.contains(&m))
        })
        .count();
    assert_eq!(exp.get(family, &other), Some(with_folded as f64), "users with a folded method, once each");
    for (labels, want) in truth.by_strongest_method.iter().chain(&truth.by_method_count) {
        let name = if labels.contains_key("strength") {
            "entra_authmethods_users_by_strongest_method"
        } else {
            "entra_authmethods_users_by_methods_registered"
        };
        assert_eq!(exp.family(name).get(labels), Some(want), "{name}{labels:?}");
    }
    let folded_values = population
        .listed()
        .flat_map(|u| &u.methods_registered)
        .filter(|m| !truth::documented_method(m) && !methods.contains(*m))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert!(folded_values >= 1200 - 64 - 1, "{folded_values}");
    let folded =
        |label| exp.get("entra_authmethods_label_values_folded", &[("tenant", TENANT), ("label", label)]).unwrap();
    assert_eq!(folded("method"), folded_values as f64);
    assert_eq!(folded("default_method"), 0.0);

    // The next poll admits nothing new and warns no more.
    assert!(exporter.poll_now().await);
    let again = scrape(exporter.addr).await;
    assert_eq!(values(&again), methods, "no churn between polls");
    let warnings =
        logs.lines().into_iter().filter(|l| l["message"].as_str().unwrap_or("").contains("max_method_values")).count();
    assert_eq!(warnings, 1, "one warning per tenant");
    exporter.shutdown().await;
    sim.shutdown().await;
}
