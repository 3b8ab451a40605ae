//! `--once`: every tenant and report polled once, concurrently. On a terminal, stderr shows a
//! progress bar while the polls run (a first sweep of a large tenant takes minutes at Graph's quota);
//! off a terminal (cron, CI, a pipe) nothing but the logs. Either way one summary line ends it.
//!
//! The bar is a few lines of ANSI rather than indicatif: one redrawn line is all it needs, and no
//! dependency (with its terminal-detection and Unicode-width crates) has to pass the licence policy.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::watch;

use super::fleet::Fleet;
use crate::config::Settings;
use crate::graph::GraphError;
use crate::snapshot::{BuildInfo, Store};

/// How often the bar is redrawn: often enough to look alive, rarely enough to cost nothing.
const REDRAW: Duration = Duration::from_millis(250);
const BAR_WIDTH: usize = 24;

/// Polls every tenant and report once, concurrently, and returns the exposition and whether every
/// poll succeeded (for `--once`).
pub async fn run_once(settings: &Settings) -> Result<(Bytes, bool), GraphError> {
    let started = Instant::now();
    let store = Store::with_tenants(Vec::new(), BuildInfo::current());
    let (fleet, _) = watch::channel(false);
    let fleet = Fleet::new(settings, store.clone(), fleet.subscribe()).await?;
    let total = fleet.planned_polls().await;
    // Created before the polls: it writes the data they produce (and nothing if they all fail).
    let state = settings.state_file.as_ref().map(|p| crate::persistence::StateWriter::new(p.clone(), store.clone()));
    let bar = std::io::stderr().is_terminal().then(|| tokio::spawn(draw_bar(store.clone(), total, started)));
    let all_ok = fleet.poll_all_concurrently().await;
    if let Some(bar) = bar {
        bar.abort();
        // Clears the bar's line, so the summary takes its place.
        eprint!("\r\x1b[2K");
    }
    if let Some(writer) = state {
        writer.save_pending().await;
    }
    let tally = Tally::of(&store);
    eprintln!(
        "once: {} tenant{}, {} report{} ok, {} failed, {} skipped, {} rows in {} pages, {:.1}s",
        settings.tenants.len(),
        plural(settings.tenants.len() as u64),
        tally.ok,
        plural(tally.ok),
        total as u64 - tally.ok.min(total as u64),
        tally.skipped,
        tally.rows,
        tally.pages,
        started.elapsed().as_secs_f64()
    );
    // A group that could not be read fails `group_members` while the registration poll succeeds.
    Ok((store.exposition(), all_ok && tally.ok == tally.done))
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// What the polls so far did, from the store's state.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    /// Polls ended (successful or not) and successful ones; data restored from a state file is no poll.
    done: u64,
    ok: u64,
    /// Configured but not polled (no credential for them).
    skipped: u64,
    pages: u64,
    rows: u64,
}

impl Tally {
    fn of(store: &Arc<Store>) -> Tally {
        let mut tally = Tally::default();
        for t in store.status() {
            tally.skipped += t.skipped.len() as u64;
            for state in t.reports.values().filter(|s| s.health.polls_total > 0) {
                tally.done += 1;
                tally.ok += u64::from(state.health.last_attempt_ok == Some(true));
            }
            for p in t.progress.values() {
                tally.pages += p.pages;
                tally.rows += p.rows;
            }
        }
        tally
    }
}

/// Redraws `[#####-----] 3/7 reports · 45 pages · 12s` on stderr until aborted.
async fn draw_bar(store: Arc<Store>, total: usize, started: Instant) {
    let mut tick = tokio::time::interval(REDRAW);
    loop {
        tick.tick().await;
        let line = bar_line(&Tally::of(&store), total, started.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}").and_then(|_| err.flush());
    }
}

fn bar_line(tally: &Tally, total: usize, elapsed: Duration) -> String {
    let filled = (BAR_WIDTH * tally.done as usize).checked_div(total).unwrap_or(BAR_WIDTH).min(BAR_WIDTH);
    format!(
        "[{}{}] {}/{total} reports · {} pages · {}s",
        "#".repeat(filled),
        "-".repeat(BAR_WIDTH - filled),
        tally.done,
        tally.pages,
        elapsed.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_polls_done() {
        let tally = Tally { done: 3, ok: 3, skipped: 1, pages: 45, rows: 4500 };
        let line = bar_line(&tally, 6, Duration::from_millis(12_400));
        assert_eq!(line, format!("[{}{}] 3/6 reports · 45 pages · 12s", "#".repeat(12), "-".repeat(12)));
        assert!(bar_line(&Tally::default(), 0, Duration::ZERO).starts_with(&format!("[{}]", "#".repeat(BAR_WIDTH))));
    }
}
