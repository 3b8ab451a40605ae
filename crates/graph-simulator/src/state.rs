//! State shared by the request handlers and the `RunningSimulator` handle.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::delegated::RefreshTokens;
use super::device_code::DeviceCodes;
use super::faults::{FaultQueue, lock};
use super::population::Population;
use super::throttle::Throttle;
use super::tokens::TokenStore;
use super::{RetirableReport, SimStats};

/// One configured tenant.
pub(crate) struct TenantState {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    /// Certificates and federated identity credentials registered on the app.
    pub(crate) app_credentials: Mutex<super::assertions::AppCredentials>,
    /// Application permissions granted now; tokens carry the set current when they were issued.
    pub(crate) app_roles: RwLock<Vec<String>>,
    pub(crate) seed: u64,
    /// The national cloud: whose Graph its tokens are for.
    pub(crate) cloud: super::SimCloud,
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

    pub(crate) fn app_roles(&self) -> Vec<String> {
        self.app_roles.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_app_roles(&self, roles: Vec<String>) {
        *self.app_roles.write().unwrap_or_else(|e| e.into_inner()) = roles;
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
    device_code_requests: AtomicU64,
    device_code_polls: AtomicU64,
    device_code_grants: AtomicU64,
    refresh_grants: AtomicU64,
    routes: Mutex<BTreeMap<String, u64>>,
    token_scopes: Mutex<BTreeMap<String, u64>>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// Counts a request as being handled until dropped.
pub(crate) struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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
    pub(crate) fn device_code_request(&self) {
        self.device_code_requests.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn device_code_poll(&self) {
        self.device_code_polls.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn device_code_grant(&self) {
        self.device_code_grants.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn refresh_grant(&self) {
        self.refresh_grants.fetch_add(1, Ordering::Relaxed);
    }
    /// A client-credentials token was issued for `scope` (as requested).
    pub(crate) fn token_scope(&self, scope: &str) {
        *lock(&self.token_scopes).entry(scope.to_owned()).or_default() += 1;
    }
    /// A request (Graph, token or managed identity) starts being handled; the guard ends it.
    pub(crate) fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(&self.in_flight)
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
            device_code_requests: self.device_code_requests.load(Ordering::Relaxed),
            device_code_polls: self.device_code_polls.load(Ordering::Relaxed),
            device_code_grants: self.device_code_grants.load(Ordering::Relaxed),
            refresh_token_grants: self.refresh_grants.load(Ordering::Relaxed),
            token_scopes: lock(&self.token_scopes).clone(),
            max_in_flight: self.max_in_flight.load(Ordering::SeqCst),
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
    pub(crate) device_codes: DeviceCodes,
    pub(crate) refresh_tokens: RefreshTokens,
    pub(crate) device_code_lifetime: Duration,
    pub(crate) device_code_interval: Duration,
    pub(crate) refresh_token_lifetime: Duration,
    /// Bit set of retired reports (bit = `RetirableReport as u32`).
    pub(crate) retired: AtomicU32,
    /// Identities the IMDS and App Service endpoints hand out tokens for.
    pub(crate) managed_identities: Vec<super::SimManagedIdentity>,
    /// The App Service `X-IDENTITY-HEADER` secret; empty disables that endpoint.
    pub(crate) identity_header: String,
    pub(crate) last_managed_identity: Mutex<Option<super::ManagedIdentityRequestSeen>>,
}

impl Shared {
    /// Tenant by id, case-insensitively (tenant GUIDs are case-insensitive).
    pub(crate) fn tenant(&self, id: &str) -> Option<&TenantState> {
        self.tenants.iter().find(|t| t.tenant_id.eq_ignore_ascii_case(id))
    }

    pub(crate) fn is_retired(&self, report: RetirableReport) -> bool {
        self.retired.load(Ordering::Relaxed) & report.bit() != 0
    }

    pub(crate) fn set_retired(&self, report: RetirableReport, retired: bool) {
        if retired {
            self.retired.fetch_or(report.bit(), Ordering::Relaxed);
        } else {
            self.retired.fetch_and(!report.bit(), Ordering::Relaxed);
        }
    }
}
