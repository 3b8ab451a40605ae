//! The Graph client reports what it did through this trait, so that it knows nothing of metrics.

/// Receives one call per HTTP exchange. Implementations must be cheap: they run on the request path.
pub trait RequestObserver: Send + Sync {
    /// A Graph request finished; `code` is the HTTP status, or `network` / `timeout` when there was none.
    fn graph_request(&self, endpoint: &str, code: &str);
    /// A token request finished.
    fn token_request(&self, success: bool);
    /// The client certificate in use expires at this Unix time (read at each token request).
    fn client_certificate_expiry(&self, _not_after: i64) {}
}
