//! What a poll reports about itself, shared by the layer that produces it (graph, poller) and the one
//! that records it (snapshot), so that neither imports the other: the fixed set of failure reasons,
//! a failure as the poll-health series and the status page show it, and the request observer the
//! Graph client reports its exchanges through.

use std::fmt;

/// Why a poll failed. The label values of `entra_authmethods_poll_failures_total{reason}` form this
/// fixed set so that alerts and dashboards can rely on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    Throttled,
    Unauthorized,
    Forbidden,
    NotFound,
    ServerError,
    Timeout,
    Decode,
    Network,
    Config,
    /// A bug in the exporter: the poll panicked. Recorded like any failure, so the poller goes on.
    Internal,
}

impl FailureReason {
    pub const ALL: [FailureReason; 10] = [
        FailureReason::Throttled,
        FailureReason::Unauthorized,
        FailureReason::Forbidden,
        FailureReason::NotFound,
        FailureReason::ServerError,
        FailureReason::Timeout,
        FailureReason::Decode,
        FailureReason::Network,
        FailureReason::Config,
        FailureReason::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Throttled => "throttled",
            FailureReason::Unauthorized => "unauthorized",
            FailureReason::Forbidden => "forbidden",
            FailureReason::NotFound => "not_found",
            FailureReason::ServerError => "server_error",
            FailureReason::Timeout => "timeout",
            FailureReason::Decode => "decode",
            FailureReason::Network => "network",
            FailureReason::Config => "config",
            FailureReason::Internal => "internal",
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed poll as the health series, logs and status page describe it. Implemented by the errors
/// that can end a poll, so the snapshot records a failure without knowing which layer raised it.
pub(crate) trait PollFailure: fmt::Display {
    fn reason(&self) -> FailureReason;
    /// Graph's `error.code` (or the token endpoint's `error`), when there is one.
    fn graph_code(&self) -> Option<&str>;
    /// A sentence telling the operator what to do.
    fn hint(&self) -> &'static str;
}

/// The Graph client reports what it did through this trait, so that it knows nothing of metrics.
/// Receives one call per HTTP exchange. Implementations must be cheap: they run on the request path.
pub trait RequestObserver: Send + Sync {
    /// A Graph request finished; `code` is the HTTP status, or `network` / `timeout` when there was none.
    fn graph_request(&self, endpoint: &str, code: &str);
    /// A page of a collection of `endpoint` was read whole (`rows` rows), while a poll runs.
    fn page_read(&self, _endpoint: &str, _rows: usize) {}
    /// A request starts (`true`) or stops (`false`) waiting for the pacer, that is for Graph's quota.
    fn waiting_for_quota(&self, _waiting: bool) {}
    /// A token request finished.
    fn token_request(&self, success: bool);
    /// The validity of the client certificate in use, notBefore and notAfter as Unix times (read at
    /// each token request).
    fn client_certificate_validity(&self, _not_before: i64, _not_after: i64) {}
}
