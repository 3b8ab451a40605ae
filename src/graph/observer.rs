//! The Graph client reports what it did through this trait, so that it knows nothing of metrics.

/// Receives one call per HTTP exchange. Implementations must be cheap: they run on the request path.
pub trait RequestObserver: Send + Sync {
    /// A Graph request finished; `code` is the HTTP status, or `network` / `timeout` when there was none.
    fn graph_request(&self, endpoint: &str, code: &str);
    /// A token request finished.
    fn token_request(&self, success: bool);
    /// The validity of the client certificate in use, notBefore and notAfter as Unix times (read at
    /// each token request).
    fn client_certificate_validity(&self, _not_before: i64, _not_after: i64) {}
}
