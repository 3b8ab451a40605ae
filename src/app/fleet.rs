//! The tenants being polled: per tenant an entry in the store, a Graph client, and one task per
//! report. A reload replaces tenants one by one; see `reload.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{Mutex, Semaphore, watch};
use tokio::task::JoinSet;

use crate::config::{GraphSettings, RegistrationSource, Settings, TenantSettings};
use crate::graph::{GraphClient, GraphError, http_client};
use crate::poller::{TenantPoller, plan};
use crate::reports::{REPORTS, ReportKind};
use crate::snapshot::{Numbers, PlannedState, Store, TenantEntry, TenantHandle, TenantInfo, TenantTelemetry};

pub(crate) struct Fleet {
    pub(super) store: Arc<Store>,
    /// Flips to true at shutdown; every poll task watches it.
    shutdown: watch::Receiver<bool>,
    /// Locked for the whole of a reload, so that two reloads never interleave.
    pub(super) inner: Mutex<Inner>,
}

pub(super) struct Inner {
    pub(super) parts: Parts,
    pub(super) state_file: Option<PathBuf>,
    pub(super) tenants: Vec<RunningTenant>,
}

pub(super) struct RunningTenant {
    pub(super) settings: TenantSettings,
    pub(super) poller: Arc<TenantPoller>,
    /// One task per polled report; empty until started.
    pub(super) tasks: JoinSet<()>,
}

impl Fleet {
    /// Builds every tenant's entry, client and poller (without starting them) and restores the
    /// state file, so that the last known numbers are served at once, with their real age.
    pub(super) async fn new(
        settings: &Settings,
        store: Arc<Store>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, GraphError> {
        let mut inner = Inner {
            parts: Parts::new(&settings.graph)?,
            state_file: settings.state_file.clone(),
            tenants: Vec::with_capacity(settings.tenants.len()),
        };
        for tenant in &settings.tenants {
            let entry = TenantEntry::new(tenant_info(tenant), planned_states(tenant));
            let client = inner.parts.client(tenant, entry.telemetry())?;
            inner.tenants.push(inner.parts.tenant(tenant, entry, client, &store));
        }
        store.set_tenants(inner.tenants.iter().map(|t| t.poller.entry.clone()).collect());
        if let Some(path) = &settings.state_file {
            crate::persistence::load(path, &store).await;
        }
        Ok(Fleet { store, shutdown, inner: Mutex::new(inner) })
    }

    /// Starts the poll tasks of every tenant (each report polls at once, then on its interval).
    pub(super) async fn start_all(&self) {
        let mut inner = self.inner.lock().await;
        for t in &mut inner.tenants {
            self.start(t);
        }
    }

    pub(super) fn start(&self, t: &mut RunningTenant) {
        for report in t.poller.polled().cloned() {
            t.tasks.spawn(t.poller.clone().run(report, self.shutdown.clone()));
        }
    }

    /// Waits for every poll task to end (after the shutdown signal).
    pub(super) async fn stop_all(&self) {
        let mut inner = self.inner.lock().await;
        for t in &mut inner.tenants {
            while t.tasks.join_next().await.is_some() {}
        }
    }

    async fn pollers(&self) -> Vec<Arc<TenantPoller>> {
        self.inner.lock().await.tenants.iter().map(|t| t.poller.clone()).collect()
    }

    /// Resolves once every polled report has completed at least one poll (successful or not).
    pub(super) async fn wait_for_first_round(&self) {
        let pollers = self.pollers().await;
        let mut rx = self.store.subscribe_polls();
        loop {
            // Data restored from the state file does not count as a poll of this run.
            let all_done = pollers.iter().all(|p| {
                let status = p.entry.status();
                p.polled().all(|r| status.reports.get(&r.kind).is_some_and(|s| s.health.polls_total > 0))
            });
            if all_done || rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Polls every tenant and report now, one after the other; returns whether every poll succeeded.
    pub(super) async fn poll_now(&self) -> bool {
        let mut all_ok = true;
        for p in self.pollers().await {
            for report in p.polled() {
                all_ok &= p.poll_once(report).await;
            }
        }
        all_ok
    }

    /// How many tenant × report polls a round has (the `--once` progress bar's total).
    pub(super) async fn planned_polls(&self) -> usize {
        self.pollers().await.iter().map(|p| p.recorded_polls()).sum()
    }

    /// Polls every tenant and report once, concurrently (for `--once`).
    pub(super) async fn poll_all_concurrently(&self) -> bool {
        let mut set = JoinSet::new();
        for p in self.pollers().await {
            p.fail_fast_on_login_outage();
            for report in p.polled().cloned().collect::<Vec<_>>() {
                let p = p.clone();
                set.spawn(async move { p.poll_once(&report).await });
            }
        }
        let mut all_ok = true;
        while let Some(result) = set.join_next().await {
            all_ok &= result.unwrap_or(false);
        }
        all_ok
    }
}

/// What every tenant's client shares, built from `[graph]`.
pub(super) struct Parts {
    pub(super) graph: GraphSettings,
    http: reqwest::Client,
    /// Bounds the polls running at once across all tenants (`graph.max_concurrent_polls`).
    limiter: Arc<Semaphore>,
}

impl Parts {
    pub(super) fn new(graph: &GraphSettings) -> Result<Self, GraphError> {
        Ok(Parts {
            graph: graph.clone(),
            http: http_client(graph)?,
            limiter: Arc::new(Semaphore::new(graph.max_concurrent_polls as usize)),
        })
    }

    pub(super) fn client(
        &self,
        tenant: &TenantSettings,
        telemetry: Arc<TenantTelemetry>,
    ) -> Result<GraphClient, GraphError> {
        GraphClient::new(self.http.clone(), tenant, &self.graph, telemetry)
    }

    pub(super) fn tenant(
        &self,
        settings: &TenantSettings,
        entry: TenantHandle,
        client: GraphClient,
        store: &Arc<Store>,
    ) -> RunningTenant {
        let poller =
            TenantPoller::new(entry, settings.clone(), self.graph.clone(), client, store.clone(), self.limiter.clone());
        RunningTenant { settings: settings.clone(), poller: Arc::new(poller), tasks: JoinSet::new() }
    }
}

pub(super) fn tenant_info(t: &TenantSettings) -> TenantInfo {
    TenantInfo {
        name: t.name.clone(),
        tenant_id: t.tenant_id.clone(),
        cloud: t.cloud.as_str(),
        summary_source: t.registration_source == RegistrationSource::Summary,
        numbers: Numbers {
            fingerprints: fingerprints(t),
            customised: !t.groups.is_empty() || !t.exclude_groups.is_empty() || !t.method_strength.overrides.is_empty(),
        },
    }
}

/// Per report, a fingerprint of the settings that give its numbers their meaning: the tenant's
/// directory and cloud, breakdowns, registration source, `[method_strength]`, groups and exclusions,
/// and the report's own `lookback` and `max_failure_reasons`. The state file keeps it with each
/// entry (a restart restores only entries made under the same settings), and a reload carries a
/// tenant's data over only when these are the same (`reload::same_numbers`), so a restart and a
/// reload agree. The Graph endpoint is not in it: it says where the directory is reached (a proxy,
/// a test double), and a restart keeps serving the file's numbers when it changes, as before; a
/// reload still starts afresh then. `group_members`, which no tenant configures, has the shared
/// part only.
pub(super) fn fingerprints(t: &TenantSettings) -> BTreeMap<ReportKind, String> {
    let shared = serde_json::json!({
        "tenant_id": t.tenant_id.to_ascii_lowercase(),
        "cloud": t.cloud.as_str(),
        "breakdowns": t.breakdowns.iter().map(|b| [b.user_type.as_str(), b.user_role.as_str()]).collect::<Vec<_>>(),
        "registration_source": format!("{:?}", t.registration_source),
        "method_strength": t.method_strength.overrides,
        "groups": t.groups.iter().map(|g| [g.name.as_str(), g.id.as_str()]).collect::<Vec<_>>(),
        "exclude_groups": t.exclude_groups,
    });
    REPORTS
        .iter()
        .map(|spec| spec.kind)
        .chain([ReportKind::GroupMembers])
        .map(|kind| {
            let own = t.reports.get(&kind).map(|r| (r.lookback.as_millis() as u64, r.max_failure_reasons));
            let text = serde_json::json!({"v": 1, "shared": shared, "report": kind.as_str(), "own": own}).to_string();
            let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
            (kind, digest.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect())
        })
        .collect()
}

/// The reports of a tenant with their intervals, and why a report is unavailable in its cloud.
pub(super) fn planned_states(t: &TenantSettings) -> Vec<PlannedState> {
    plan(t).0.into_iter().map(|r| (r.kind, r.settings.interval, r.settings.max_staleness, r.unavailable)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(extra: &str, top: &str) -> TenantSettings {
        let toml = format!(
            "{top}\n[[tenant]]\nname = \"t\"\ntenant_id = \"0a1b2c3d-0000-4000-8000-000000000001\"\nclient_id = \"0a1b2c3d-0000-4000-8000-000000000002\"\nclient_secret = \"s\"\n{extra}\n"
        );
        crate::config::from_toml_str(&toml).unwrap().tenants.remove(0)
    }

    /// Every setting a reload compares moves the fingerprints; where Graph is reached does not.
    #[test]
    fn the_fingerprints_follow_what_the_numbers_mean() {
        let details = ReportKind::RegistrationDetails;
        let base = fingerprints(&tenant("", ""));
        assert_eq!(base, fingerprints(&tenant("", "")), "stable");
        assert_eq!(base, fingerprints(&tenant("graph_endpoint = \"http://127.0.0.1:9\"", "")));
        let group = "exclude_groups = [\"0a1b2c3d-0000-4000-8000-000000000003\"]";
        for (extra, top) in [
            (group, ""),
            ("user_roles = [\"all\", \"admin\"]", ""),
            ("", "[method_strength]\nemail = \"mfa\""),
            ("\n[[tenant.group]]\nname = \"g\"\nid = \"0a1b2c3d-0000-4000-8000-000000000003\"", ""),
        ] {
            assert_ne!(base[&details], fingerprints(&tenant(extra, top))[&details], "{extra}{top}");
        }
        let customised = |extra: &str| tenant_info(&tenant(extra, "")).numbers.customised;
        assert!(!customised("") && customised(group));
    }
}
