//! Injected faults. Tests queue them with `RunningSimulator::push_fault`; each request takes the
//! first queued fault that applies to it, so faults of one kind are consumed in push order and a
//! fault meant for token requests never blocks report requests (and vice versa).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// A misbehaviour the simulator performs on upcoming requests. "Report request" means any
/// `/v1.0` or `/beta` route the simulator serves (the reports, `directoryRoles`, and each request
/// inside a `$batch`, but not the `$batch` envelope itself); "token request" includes `/devicecode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The next `count` report requests answer 429 with the documented `TooManyRequests` body,
    /// before authentication and without using quota. `retry_after` is the exact `Retry-After`
    /// header value (`"2.128"`, `"1"`, an HTTP-date, even garbage) or `None` for no header, so
    /// clients can be tested against every form Graph may send.
    Throttle { count: u32, retry_after: Option<String> },
    /// The next `count` report requests answer `status` with a Graph error envelope carrying
    /// `code` and `message` (503 `ServiceUnavailable`, 500 `UnknownError`, 403 …), before
    /// authentication and without using quota. A status that is not a valid HTTP status
    /// becomes 500.
    Status { count: u32, status: u16, code: String, message: String },
    /// The next successful report answer (a list page, a single entity or a summary) is cut in
    /// the middle: valid headers with the full `Content-Length`, half the body, then the
    /// connection closes. Clients see a transport error while reading the body.
    TruncatedBody,
    /// The next successful report answer is a complete 200 whose body is malformed JSON.
    MalformedJson,
    /// The next report request waits this long before being processed (then answers normally),
    /// for timeout tests.
    Slow(Duration),
    /// The next list page's `@odata.nextLink` is the URL of that same page: a paging loop.
    RepeatNextLink,
    /// The next list page has `"value": []` and a nextLink to the page that would have been
    /// served, so no row is lost; tests that clients follow links through empty pages.
    EmptyPage,
    /// The next `count` token requests fail with this Entra error (before any validation).
    TokenFailure { count: u32, error: TokenError },
    /// The next report request gets no HTTP answer: the connection is reset (RST).
    ResetConnection,
    /// The next `count` managed-identity token requests (IMDS or App Service) answer `status`
    /// with a plain-text body, as IMDS does while it starts (410, 5xx), updates (404) or throttles
    /// (429). A status that is not a valid HTTP status becomes 503.
    ManagedIdentityUnavailable { count: u32, status: u16 },
}

/// Entra token-endpoint failures that `Fault::TokenFailure` can produce; each maps to the exact
/// status, `error` and AADSTS code of Microsoft identity platform, "Microsoft Entra authentication and authorization
/// error codes" (<https://learn.microsoft.com/entra/identity-platform/reference-error-codes>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// 401 `invalid_client`, AADSTS7000215 (wrong secret).
    InvalidSecret,
    /// 401 `invalid_client`, AADSTS7000222 (secret expired): the case operators must fix by
    /// rotating the secret, worth a distinct hint.
    ExpiredSecret,
    /// 400 `unauthorized_client`, AADSTS700016 (application not found in the directory).
    UnknownClient,
    /// 400 `invalid_tenant`, AADSTS90002 (tenant not found).
    UnknownTenant,
    /// 500 `server_error`, AADSTS90033 ("A transient error has occurred"): a retryable failure.
    /// The exact status Entra uses for transient errors is not in the reference; 500 is chosen so
    /// clients exercise their 5xx retry path.
    ServerError,
}

/// Where in request processing a fault is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// A token request, before validation.
    Token,
    /// A report request, before authentication.
    Request,
    /// A successful report answer about to be sent; `list_page` for userRegistrationDetails pages.
    Answer { list_page: bool },
    /// A managed-identity token request (IMDS or App Service), before validation.
    ManagedIdentity,
}

impl Fault {
    fn applies(&self, stage: Stage) -> bool {
        match (self, stage) {
            (Fault::TokenFailure { .. }, Stage::Token) => true,
            (Fault::ManagedIdentityUnavailable { .. }, Stage::ManagedIdentity) => true,
            (
                Fault::Throttle { .. } | Fault::Status { .. } | Fault::Slow(_) | Fault::ResetConnection,
                Stage::Request,
            ) => true,
            (Fault::TruncatedBody | Fault::MalformedJson, Stage::Answer { .. }) => true,
            (Fault::RepeatNextLink | Fault::EmptyPage, Stage::Answer { list_page }) => list_page,
            _ => false,
        }
    }

    /// Counted faults with a zero count would never fire; they are dropped when pushed.
    fn is_spent(&self) -> bool {
        matches!(
            self,
            Fault::Throttle { count: 0, .. }
                | Fault::Status { count: 0, .. }
                | Fault::TokenFailure { count: 0, .. }
                | Fault::ManagedIdentityUnavailable { count: 0, .. }
        )
    }
}

/// The queue behind `push_fault`.
#[derive(Default)]
pub(crate) struct FaultQueue(Mutex<VecDeque<Fault>>);

impl FaultQueue {
    pub(crate) fn push(&self, fault: Fault) {
        if !fault.is_spent() {
            lock(&self.0).push_back(fault);
        }
    }

    /// Take one occurrence of the first fault applicable at `stage`. Counted faults stay queued
    /// until their count is used up.
    pub(crate) fn take(&self, stage: Stage) -> Option<Fault> {
        let mut q = lock(&self.0);
        let pos = q.iter().position(|f| f.applies(stage))?;
        let remaining = match &mut q[pos] {
            Fault::Throttle { count, .. }
            | Fault::Status { count, .. }
            | Fault::TokenFailure { count, .. }
            | Fault::ManagedIdentityUnavailable { count, .. } => {
                *count -= 1;
                *count
            }
            _ => 0,
        };
        if remaining == 0 { q.remove(pos) } else { Some(q[pos].clone()) }
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.0).len()
    }
}

/// Lock a mutex, ignoring poisoning: simulator state stays usable after a panicking test thread.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_applicable_in_order_with_counts() {
        let q = FaultQueue::default();
        q.push(Fault::Throttle { count: 2, retry_after: Some("1".into()) });
        q.push(Fault::TokenFailure { count: 1, error: TokenError::InvalidSecret });
        q.push(Fault::RepeatNextLink);
        q.push(Fault::TruncatedBody);
        q.push(Fault::Status { count: 0, status: 500, code: "x".into(), message: "y".into() });
        assert_eq!(q.len(), 4);
        assert!(matches!(q.take(Stage::Token), Some(Fault::TokenFailure { .. })));
        assert_eq!(q.take(Stage::Token), None);
        assert!(matches!(q.take(Stage::Request), Some(Fault::Throttle { .. })));
        assert!(matches!(q.take(Stage::Request), Some(Fault::Throttle { .. })));
        assert_eq!(q.take(Stage::Request), None);
        // A summary answer skips the list-only fault.
        assert_eq!(q.take(Stage::Answer { list_page: false }), Some(Fault::TruncatedBody));
        assert_eq!(q.take(Stage::Answer { list_page: true }), Some(Fault::RepeatNextLink));
        assert_eq!(q.len(), 0);
    }
}
