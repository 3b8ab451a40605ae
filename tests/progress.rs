//! A sweep you can watch: during a 30-page sweep at a small quota the exposition's progress grows
//! between scrapes and the status page shows the page count; afterwards it shows the age of the data,
//! the next poll and, on the next sweep, the page count to expect. Every wait polls observable state
//! against a deadline; nothing sleeps to synchronise.

mod common;

use std::time::{Duration, Instant};

use common::*;
use entra_authmethods_exporter::app;
use graph_simulator::{self as simulator, SimulatorConfig};

/// 300 users at 10 a page: 30 pages of registration details.
const USERS: usize = 300;
/// Graph's quota scaled down, 3 requests a second: the sweep takes about ten seconds, five render
/// intervals of the progress (2 s), so scrapes in its middle must see the pages grow.
const QUOTA: u32 = 3;

fn labels() -> [(&'static str, &'static str); 2] {
    [("tenant", TENANT), ("report", "registration_details")]
}

/// Scrapes until `check` holds (then returns that exposition) or the deadline passes.
async fn scrape_until(addr: std::net::SocketAddr, what: &str, check: impl Fn(&Exposition) -> bool) -> Exposition {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let exp = scrape(addr).await;
        if check(&exp) {
            return exp;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn progress(exp: &Exposition) -> (Option<f64>, Option<f64>) {
    let labels = labels();
    (exp.get("entra_authmethods_poll_in_progress", &labels), exp.get("entra_authmethods_poll_pages_read", &labels))
}

fn requests(exp: &Exposition) -> f64 {
    exp.family("entra_authmethods_graph_requests_total").values().sum()
}

#[tokio::test]
async fn a_sweep_at_the_quota_shows_its_pages_growing_between_scrapes() {
    let mut cfg = SimulatorConfig::single(USERS, 91);
    cfg.quota_requests = QUOTA;
    cfg.quota_window = Duration::from_secs(1);
    let sim = simulator::start(cfg, loopback()).await.expect("simulator starts");
    let toml = config_toml(&sim, "page_size = 10", "").replace(
        "rate_limit_requests = 1000\nrate_limit_period = \"1s\"",
        &format!("rate_limit_requests = {QUOTA}\nrate_limit_period = \"1s\""),
    );
    assert!(toml.contains(&format!("rate_limit_requests = {QUOTA}")), "{toml}");
    // Not `start_exporter`: the test watches the first sweep instead of waiting for it.
    let exporter = app::start(&settings(&toml), loopback(), "/metrics", None).await.expect("exporter starts");
    let addr = exporter.addr;

    let first = scrape_until(addr, "a poll running with a page read", |e| {
        let (running, pages) = progress(e);
        running == Some(1.0) && pages.is_some_and(|p| p >= 1.0)
    })
    .await;
    let (_, pages_before) = progress(&first);
    let pages_before = pages_before.unwrap();
    let (_, _, page) = get(addr, "/").await;
    let row = page.lines().find(|l| l.contains("<td>registration_details</td>")).expect("row");
    assert!(row.contains("polling: page "), "the status page shows the page count: {row}");

    let later = scrape_until(addr, "more pages while the poll still runs", |e| {
        let (running, pages) = progress(e);
        running == Some(1.0) && pages.is_some_and(|p| p > pages_before)
    })
    .await;
    assert!(requests(&later) > requests(&first), "graph_requests_total moves during the sweep");

    exporter.wait_for_first_round().await;
    let done = scrape(addr).await;
    let (running, pages) = progress(&done);
    assert_eq!(running, Some(0.0));
    let pages = pages.unwrap();
    assert!(pages >= 30.0, "30 pages of details (and the directory roles'): {pages}");
    assert_eq!(done.get("entra_authmethods_poll_success", &labels()), Some(1.0));
    let (_, _, page) = get(addr, "/").await;
    let row = page.lines().find(|l| l.contains("<td>registration_details</td>")).expect("row");
    assert!(row.contains(">ok<") && row.contains(" ago)"), "age of the last success: {row}");
    assert!(row.contains(" (in "), "the next poll: {row}");

    // The next sweep knows how many pages to expect.
    let expected = format!("of about {pages}");
    let watch = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, _, page) = get(addr, "/").await;
            let row = page.lines().find(|l| l.contains("<td>registration_details</td>")).expect("row").to_string();
            if row.contains("polling: page ") && row.contains(&expected) {
                return row;
            }
            assert!(Instant::now() < deadline, "timed out waiting for '{expected}': {row}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let (ok, row) = tokio::join!(exporter.poll_now(), watch);
    assert!(ok);
    assert!(row.contains(&expected), "{row}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_status_page_lists_skipped_reports_with_the_reason() {
    let sim = start_simulator(20, 92).await;
    let exporter = start_exporter(&settings(&config_toml_with_reports(&sim, "", "", ""))).await;
    let (_, _, page) = get(exporter.addr, "/").await;
    let skipped: Vec<&str> = page.lines().filter(|l| l.contains("skipped: needs")).collect();
    assert!(!skipped.is_empty(), "{page}");
    for row in skipped {
        assert!(row.contains("refresh_token_file") && row.contains("login"), "the reason says what to do: {row}");
    }
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// `--once` off a terminal (here a pipe) draws no bar and ends with one summary line on stderr,
/// whether the polls succeed or fail.
#[tokio::test]
async fn once_ends_with_one_summary_line_and_no_bar_off_a_terminal() {
    let sim = start_simulator(250, 93).await;
    let out = run_binary(&config_toml(&sim, "page_size = 100", ""), &["--once"]).await;
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: Vec<&str> = stderr.lines().filter(|l| l.starts_with("once: ")).collect();
    assert_eq!(summary.len(), 1, "{stderr}");
    // The rows are the report's: every user in scope, in pages of 100.
    let exp = Exposition::parse(&String::from_utf8(out.stdout.clone()).unwrap());
    let users = exp.get("entra_authmethods_users", &[("tenant", TENANT), ("user_type", "all"), ("user_role", "all")]);
    let users = users.expect("users in scope") as u64;
    let pages = users.div_ceil(100);
    let expected = format!("once: 1 tenant, 1 report ok, 0 failed, 0 skipped, {users} rows in {pages} pages, ");
    assert!(summary[0].starts_with(&expected), "{} vs {expected}", summary[0]);
    assert!(stderr.ends_with(&format!("{}\n", summary[0])), "the summary is the last line: {stderr}");
    assert!(!stderr.contains('\r') && !stderr.contains("reports ·"), "no progress bar off a terminal: {stderr}");

    sim.set_licensed(graph_simulator::DEMO_TENANT_ID, false);
    let out = run_binary(&config_toml(&sim, "", ""), &["--once"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("once: 1 tenant, 0 reports ok, 1 failed, 0 skipped, 0 rows in 0 pages, "), "{stderr}");
    sim.shutdown().await;
}
