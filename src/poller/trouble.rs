//! One cause, one warning. A token request is shared by every report of a tenant that uses the
//! credential, so a wrong secret or an unreachable login endpoint would otherwise log the same
//! warning once per report. Here it is logged once per tenant with the number of reports it
//! affects, again only when the cause changes, and once at info when the credential works again.
//! Only logging changes: every failed poll is still counted in the metrics and the status page.

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::Url;

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{AppCredential, PlannedReport, PollError, TenantPoller};
use crate::graph::{GraphError, TokenSource};
use crate::health::FailureReason;
use crate::reports::CredentialKind;

/// What tells one token failure from another for logging: the endpoint that failed, the reason,
/// and the most precise code known (the AADSTS number, else the OAuth or Graph code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cause {
    /// "login endpoint HOST" or "managed identity endpoint URL", as operators read it in the log.
    pub(crate) endpoint: String,
    pub(crate) reason: FailureReason,
    pub(crate) code: Option<String>,
    /// For a credential file's trouble, which has no code: the message, which names the file.
    detail: Option<String>,
}

impl Cause {
    /// The cause of `error` when it is a failed token request, else `None` (a per-report failure).
    pub(crate) fn of(error: &GraphError, login_endpoint: &Url) -> Option<Cause> {
        let endpoint = match error.token_source()? {
            TokenSource::Login => format!("login endpoint {}", host_and_port(login_endpoint)),
            TokenSource::ManagedIdentity(url) => format!("managed identity endpoint {url}"),
            TokenSource::Material => "credential's files (no request was sent)".to_string(),
        };
        let code = match error.aadsts_code() {
            Some(n) => Some(format!("AADSTS{n}")),
            None => error.graph_code().map(str::to_string),
        };
        let detail = match error {
            GraphError::Credential(message) => Some(message.clone()),
            _ => None,
        };
        Some(Cause { endpoint, reason: error.reason(), code, detail })
    }

    /// A network failure of the login endpoint (DNS, connection refused) or no answer within the
    /// request timeout: every credential that asks the login endpoint fails the same way, whichever
    /// kind hit it first, and asking again for each report would only wait out the same retries.
    pub(crate) fn login_unreachable(error: &GraphError) -> bool {
        error.token_source() == Some(TokenSource::Login)
            && matches!(error.reason(), FailureReason::Network | FailureReason::Timeout)
    }
}

fn host_and_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The token failures of one tenant that are logged and not cleared yet.
#[derive(Debug, Default)]
pub(crate) struct CredentialTrouble {
    /// The cause last logged per credential kind, until a poll shows that kind's token works.
    logged: Mutex<BTreeMap<CredentialKind, Cause>>,
    /// `--once` only: the login endpoint could not be reached, so the tenant's remaining polls
    /// that need it fail at once with this error instead of each retrying it.
    unreachable: Mutex<Option<GraphError>>,
}

impl CredentialTrouble {
    /// Records that `kind`'s token failed with `cause`; true when that is news to log: no kind of
    /// this tenant is failing with this cause already (a new cause, or one that changed).
    pub(crate) fn failed(&self, kind: CredentialKind, cause: Cause) -> bool {
        let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
        let news = !logged.values().any(|c| *c == cause);
        logged.insert(kind, cause);
        news
    }

    /// Records that `kind`'s token was obtained. Returns the cause it failed with until now when no
    /// other kind still fails with it, so that the recovery is logged once.
    pub(crate) fn worked(&self, kind: CredentialKind) -> Option<Cause> {
        let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
        let cause = logged.remove(&kind)?;
        (!logged.values().any(|c| *c == cause)).then_some(cause)
    }

    pub(crate) fn remember_unreachable(&self, error: &GraphError) {
        *self.unreachable.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.clone());
    }

    pub(crate) fn unreachable(&self) -> Option<GraphError> {
        self.unreachable.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl TenantPoller {
    /// Logs a failed token request: one warning per tenant and cause, naming the endpoint and
    /// the number of reports it fails; the later polls failing with it log at debug only.
    pub(super) fn token_failed(
        &self,
        report: &PlannedReport,
        kind: CredentialKind,
        error: &GraphError,
        took: Duration,
    ) {
        let tenant = self.settings.name.as_str();
        let duration_ms = took.as_millis() as u64;
        if self.fail_fast.load(Ordering::Relaxed) && Cause::login_unreachable(error) {
            self.trouble.remember_unreachable(error);
        }
        let report = report.kind.as_str();
        let Some(cause) = Cause::of(error, &self.settings.login_endpoint) else {
            // Not reached: PollError::Credential is only made for token failures. Never silent, though.
            tracing::warn!(tenant, report, error = %error, hint = error.hint(), "poll failed; keeping the last good data");
            return;
        };
        let reason = cause.reason.as_str();
        let code = cause.code.as_deref().unwrap_or("");
        if !self.trouble.failed(kind, cause.clone()) {
            tracing::debug!(tenant, report, reason, code, duration_ms, error = %error, "poll failed: the token request failed as already logged");
            return;
        }
        let affected = self.affected_by(kind, error);
        let endpoint = cause.endpoint.as_str();
        tracing::warn!(
            tenant,
            endpoint,
            reports = affected,
            reason,
            graph_code = code,
            hint = error.hint(),
            error = %error,
            "cannot get a token from the {endpoint}: {affected} report(s) of this tenant fail until it is fixed (logged once per cause; poll_failures_total counts every poll)"
        );
    }

    /// Logs once at info when the credential of `report` works again after a logged failure.
    pub(super) fn token_worked(&self, report: &PlannedReport) {
        // A report's first credential is the one a token failure stops it at (see fetch_with_fallback).
        let Some(&kind) = report.credentials.first() else { return };
        if let Some(cause) = self.trouble.worked(kind) {
            tracing::info!(
                tenant = self.settings.name.as_str(),
                endpoint = cause.endpoint.as_str(),
                "tenant {}: credentials work again",
                self.settings.name
            );
        }
    }

    /// How many polled reports of this tenant a failed token of `kind` stops: those that try it
    /// first, or for an unreachable login endpoint every report whose first credential asks it.
    fn affected_by(&self, kind: CredentialKind, error: &GraphError) -> usize {
        let unreachable = Cause::login_unreachable(error);
        self.polled()
            .filter_map(|r| r.credentials.first())
            .filter(|&&k| k == kind || (unreachable && self.asks_login_endpoint(k)))
            .count()
    }

    /// Whether `kind`'s token comes from the login endpoint (every credential but a managed identity).
    fn asks_login_endpoint(&self, kind: CredentialKind) -> bool {
        kind == CredentialKind::Delegated
            || !matches!(self.settings.app_credential, Some(AppCredential::ManagedIdentity(_)))
    }

    /// In `--once`, after the login endpoint was unreachable: the same failure for `report`, at
    /// once, when its token would come from there too.
    pub(super) fn unreachable_login(&self, report: &PlannedReport) -> Option<PollError> {
        let kind = *report.credentials.first()?;
        if !self.fail_fast.load(Ordering::Relaxed) || !self.asks_login_endpoint(kind) {
            return None;
        }
        self.trouble.unreachable().map(|error| PollError::Credential { kind, error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_refused() -> GraphError {
        GraphError::Token {
            status: Some(401),
            error: "invalid_client".into(),
            description: Some("AADSTS7000215: Invalid client secret provided.".into()),
        }
    }

    fn login() -> Url {
        Url::parse("https://login.microsoftonline.com").unwrap()
    }

    #[test]
    fn a_cause_names_the_endpoint_and_the_aadsts_code() {
        let cause = Cause::of(&secret_refused(), &login()).unwrap();
        assert_eq!(cause.endpoint, "login endpoint login.microsoftonline.com");
        assert_eq!(cause.code.as_deref(), Some("AADSTS7000215"));
        let local = Url::parse("http://127.0.0.1:1").unwrap();
        let refused = GraphError::Network { endpoint: "token".into(), message: "connection refused".into() };
        assert_eq!(Cause::of(&refused, &local).unwrap().endpoint, "login endpoint 127.0.0.1:1");
        assert!(Cause::login_unreachable(&refused));
        assert!(!Cause::login_unreachable(&secret_refused()));
        let graph = GraphError::Http {
            endpoint: "userRegistrationDetails".into(),
            status: 403,
            code: None,
            message: None,
            request_id: None,
        };
        assert_eq!(Cause::of(&graph, &login()), None, "a report's own failure is not shared");
        let unreadable = |file: &str| GraphError::Credential(format!("cannot read client_secret_file {file}"));
        let gone = Cause::of(&unreadable("/a"), &login()).unwrap();
        assert_eq!(
            (gone.endpoint.as_str(), gone.reason),
            ("credential's files (no request was sent)", FailureReason::Config)
        );
        assert_ne!(Some(gone), Cause::of(&unreadable("/b"), &login()), "another file is another cause");
    }

    #[test]
    fn a_cause_is_news_once_until_it_changes_or_clears() {
        let trouble = CredentialTrouble::default();
        let cause = Cause::of(&secret_refused(), &login()).unwrap();
        assert!(trouble.failed(CredentialKind::App, cause.clone()));
        assert!(!trouble.failed(CredentialKind::App, cause.clone()), "the same cause again");
        let expired = GraphError::Token {
            status: Some(401),
            error: "invalid_client".into(),
            description: Some("AADSTS7000222: expired".into()),
        };
        let changed = Cause::of(&expired, &login()).unwrap();
        assert!(trouble.failed(CredentialKind::App, changed.clone()), "a changed cause is logged");
        assert_eq!(trouble.worked(CredentialKind::Delegated), None, "nothing to clear");
        assert_eq!(trouble.worked(CredentialKind::App), Some(changed));
        assert_eq!(trouble.worked(CredentialKind::App), None, "cleared once");
        assert!(trouble.failed(CredentialKind::App, cause), "failing again after it cleared is news");
    }

    #[test]
    fn one_unreachable_login_endpoint_is_one_cause_for_every_credential() {
        let trouble = CredentialTrouble::default();
        let refused = GraphError::Network { endpoint: "token".into(), message: "connection refused".into() };
        let cause = Cause::of(&refused, &login()).unwrap();
        assert!(trouble.failed(CredentialKind::App, cause.clone()));
        assert!(!trouble.failed(CredentialKind::Delegated, cause.clone()));
        assert_eq!(trouble.worked(CredentialKind::App), None, "the delegated token still fails with it");
        assert_eq!(trouble.worked(CredentialKind::Delegated), Some(cause));
    }
}
