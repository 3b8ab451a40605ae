//! State shared by the request handlers and the `RunningSimulator` handle.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::SimStats;
use super::faults::{FaultQueue, lock};
use super::population::Population;
use super::throttle::Throttle;
use super::tokens::TokenStore;

/// One configured tenant.
pub(crate) struct TenantState {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) app_roles: Vec<String>,
    pub(crate) seed: u64,
    pub(crate) licensed: AtomicBool,
    pub(crate) population: RwLock<Arc<Population>>,
    /// Number of drift steps applied so far.
    pub(crate) drift_steps: AtomicU64,
}

impl TenantState {
    /// The current population; cheap (an `Arc` clone), so a page keeps serving the snapshot it
    /// started with even if a test replaces the population meanwhile.
    pub(crate) fn population(&self) -> Arc<Population> {
        self.population.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_population(&self, p: Arc<Population>) {
        *self.population.write().unwrap_or_else(|e| e.into_inner()) = p;
    }

    pub(crate) fn licensed(&self) -> bool {
        self.licensed.load(Ordering::Relaxed)
    }
}

/// Counters behind `RunningSimulator::stats`.
#[derive(Default)]
pub(crate) struct Counters {
    token_ok: AtomicU64,
    token_failed: AtomicU64,
    throttled: AtomicU64,
    pages: AtomicU64,
    rows: AtomicU64,
    routes: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    pub(crate) fn token_ok(&self) {
        self.token_ok.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn token_failed(&self) {
        self.token_failed.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn page(&self, rows: usize) {
        self.pages.fetch_add(1, Ordering::Relaxed);
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
    }
    pub(crate) fn route(&self, key: &str) {
        *lock(&self.routes).entry(key.to_owned()).or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> SimStats {
        SimStats {
            token_requests_ok: self.token_ok.load(Ordering::Relaxed),
            token_requests_failed: self.token_failed.load(Ordering::Relaxed),
            graph_requests: lock(&self.routes).clone(),
            throttled: self.throttled.load(Ordering::Relaxed),
            pages_served: self.pages.load(Ordering::Relaxed),
            rows_served: self.rows.load(Ordering::Relaxed),
        }
    }
}

/// Everything a handler needs.
pub(crate) struct Shared {
    pub(crate) tenants: Vec<TenantState>,
    pub(crate) tokens: TokenStore,
    pub(crate) faults: FaultQueue,
    pub(crate) throttle: Throttle,
    pub(crate) stats: Counters,
    pub(crate) token_lifetime: Duration,
    pub(crate) local_addr: SocketAddr,
    /// Sorted row orders for `$orderby`, reused across the pages of one listing.
    pub(crate) order_cache: super::reports::OrderCache,
}

impl Shared {
    /// Tenant by id, case-insensitively (tenant GUIDs are case-insensitive).
    pub(crate) fn tenant(&self, id: &str) -> Option<&TenantState> {
        self.tenants.iter().find(|t| t.tenant_id.eq_ignore_ascii_case(id))
    }
}
