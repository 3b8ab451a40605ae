//! Request counters and poll progress of one tenant, fed by the Graph client through
//! [`RequestObserver`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::progress::TenantProgress;
use crate::aggregation::fold::LabelBounds;
use crate::health::RequestObserver;

#[derive(Debug, Default)]
pub struct TenantTelemetry {
    /// (endpoint, code) → requests. Both sets are small and bounded (a few endpoints × a few codes).
    requests: Mutex<BTreeMap<(String, String), u64>>,
    token_success: AtomicU64,
    token_failure: AtomicU64,
    /// Validity of the client certificate last used.
    certificate_validity: Mutex<Option<CertificateValidity>>,
    /// Kept here, beside the counters, because this is what the Graph client reports pages and
    /// quota waits to, and it outlives a reload that keeps the tenant (as the counters do).
    pub(crate) progress: TenantProgress,
    /// The method label values admitted so far and the values folded into `other`: here so that
    /// they outlive a reload that keeps the tenant, and series do not churn.
    pub(crate) labels: Arc<LabelBounds>,
}

/// notBefore and notAfter of a client certificate, Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateValidity {
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
}

impl TenantTelemetry {
    pub(crate) fn requests(&self) -> BTreeMap<(String, String), u64> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn certificate_validity(&self) -> Option<CertificateValidity> {
        *self.certificate_validity.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn tokens(&self) -> (u64, u64) {
        (self.token_success.load(Ordering::Relaxed), self.token_failure.load(Ordering::Relaxed))
    }
}

impl RequestObserver for TenantTelemetry {
    fn graph_request(&self, endpoint: &str, code: &str) {
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((endpoint.to_string(), code.to_string())).or_insert(0) += 1;
    }

    fn token_request(&self, success: bool) {
        let counter = if success { &self.token_success } else { &self.token_failure };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn page_read(&self, endpoint: &str, rows: usize) {
        self.progress.page_read(endpoint, rows);
    }

    fn waiting_for_quota(&self, waiting: bool) {
        self.progress.waiting_for_quota(waiting);
    }

    fn client_certificate_validity(&self, not_before: i64, not_after: i64) {
        *self.certificate_validity.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(CertificateValidity { not_before, not_after });
    }
}
