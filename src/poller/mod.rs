//! One task per tenant × report: poll at start, then every `poll_interval` plus jitter; build a new
//! snapshot from a complete sweep and hand it to the store, or record why the sweep failed.
//! Polls of one task never overlap: the next waits for the current one to finish.

mod registration;

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::{GraphSettings, TenantSettings};
use crate::graph::{GraphClient, GraphError};
use crate::reports::ReportKind;
use crate::snapshot::{ReportData, Store};

/// Everything one tenant's pollers share.
pub struct TenantPoller {
    pub index: usize,
    pub settings: TenantSettings,
    pub graph: GraphSettings,
    pub client: GraphClient,
    pub store: Arc<Store>,
    /// Held for the whole of a poll, so that a poll requested out of schedule (`poll_now`) waits for
    /// the running one instead of overlapping it.
    running: tokio::sync::Mutex<()>,
}

/// The reports polled for every tenant.
pub fn reports_for(_tenant: &TenantSettings) -> Vec<ReportKind> {
    vec![ReportKind::RegistrationDetails]
}

impl TenantPoller {
    pub fn new(
        index: usize,
        settings: TenantSettings,
        graph: GraphSettings,
        client: GraphClient,
        store: Arc<Store>,
    ) -> Self {
        TenantPoller { index, settings, graph, client, store, running: tokio::sync::Mutex::new(()) }
    }

    /// Runs one complete poll of `report` bounded by the poll deadline, records the outcome in the
    /// store and logs one line. Returns whether it succeeded.
    pub async fn poll_once(&self, report: ReportKind) -> bool {
        let _running = self.running.lock().await;
        let started = Instant::now();
        let deadline = self.graph.poll_timeout;
        let outcome = match tokio::time::timeout(deadline, self.fetch(report)).await {
            Ok(result) => result,
            Err(_) => Err(GraphError::PollDeadline(humantime::format_duration(deadline).to_string())),
        };
        let elapsed = started.elapsed();
        let tenant = self.settings.name.as_str();
        match outcome {
            Ok(data) => {
                let rows = match &data {
                    ReportData::Registration(s) => s.rows,
                };
                tracing::info!(
                    tenant,
                    report = report.as_str(),
                    rows,
                    duration_ms = elapsed.as_millis() as u64,
                    "poll succeeded"
                );
                self.store.record_success(self.index, report, data, elapsed);
                true
            }
            Err(error) => {
                tracing::warn!(
                    tenant,
                    report = report.as_str(),
                    reason = error.reason().as_str(),
                    graph_code = error.graph_code().unwrap_or(""),
                    duration_ms = elapsed.as_millis() as u64,
                    hint = error.hint(),
                    error = %error,
                    "poll failed; keeping the last good data"
                );
                self.store.record_failure(self.index, report, &error, elapsed);
                false
            }
        }
    }

    async fn fetch(&self, report: ReportKind) -> Result<ReportData, GraphError> {
        match report {
            ReportKind::RegistrationDetails => registration::fetch(self).await.map(ReportData::Registration),
        }
    }

    /// Polls `report` until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, report: ReportKind, mut shutdown: watch::Receiver<bool>) {
        loop {
            // A poll in progress is abandoned at shutdown; its partial sweep is never published.
            tokio::select! {
                _ = self.poll_once(report) => {}
                _ = shutdown.wait_for(|&stop| stop) => return,
            }
            let wait = with_jitter(self.settings.poll_interval);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait_for(|&stop| stop) => return,
            }
        }
    }
}

/// Adds up to 10% so that tenants configured with the same interval drift apart instead of
/// hitting Graph in the same second forever.
fn with_jitter(interval: Duration) -> Duration {
    let extra = rand::rng().random_range(0.0..=0.1);
    interval + interval.mul_f64(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = with_jitter(Duration::from_secs(600));
            assert!(d >= Duration::from_secs(600) && d <= Duration::from_secs(660));
        }
    }
}
