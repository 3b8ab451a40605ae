//! Why a poll failed: what Graph or the token endpoint answered, or what the poller itself ended
//! (the poll deadline, a panic). The deadline and the panic are the poller's, not Graph's, so they
//! live here and the Graph error stays about Graph.

use crate::graph::{GraphError, reason_hint};
use crate::health::{FailureReason, PollFailure};
use crate::reports::CredentialKind;

#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum PollError {
    #[error(transparent)]
    Graph(#[from] GraphError),

    /// Getting the token of credential `kind` failed: shared by every report using it, so it is
    /// logged once per tenant (see `trouble.rs`), not once per report.
    #[error("{error}")]
    Credential { kind: CredentialKind, error: GraphError },

    /// The poll ran past its deadline: `graph.poll_timeout` plus `pace` for each of the `pages` it
    /// read (durations as humantime writes them; see `deadline.rs`).
    #[error(
        "poll did not finish within its deadline: the poll_timeout of {poll_timeout} plus {pace} for each of the {pages} pages it read"
    )]
    Deadline { poll_timeout: String, pages: u64, pace: String },

    /// The poll panicked (a bug); the message is the panic's.
    #[error("internal error: the poll panicked: {0}")]
    Panicked(String),
}

impl PollError {
    pub(crate) fn reason(&self) -> FailureReason {
        match self {
            PollError::Graph(e) | PollError::Credential { error: e, .. } => e.reason(),
            PollError::Deadline { .. } => FailureReason::Timeout,
            PollError::Panicked(_) => FailureReason::Internal,
        }
    }

    pub(crate) fn graph_code(&self) -> Option<&str> {
        match self {
            PollError::Graph(e) | PollError::Credential { error: e, .. } => e.graph_code(),
            PollError::Deadline { .. } | PollError::Panicked(_) => None,
        }
    }

    pub(crate) fn hint(&self) -> &'static str {
        match self {
            PollError::Graph(e) | PollError::Credential { error: e, .. } => e.hint(),
            PollError::Deadline { .. } | PollError::Panicked(_) => reason_hint(self.reason()),
        }
    }
}

impl PollFailure for PollError {
    fn reason(&self) -> FailureReason {
        PollError::reason(self)
    }

    fn graph_code(&self) -> Option<&str> {
        PollError::graph_code(self)
    }

    fn hint(&self) -> &'static str {
        PollError::hint(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poller_s_own_failures_keep_their_reason_message_and_hint() {
        let deadline = PollError::Deadline { poll_timeout: "2m".into(), pages: 3, pace: "2s".into() };
        assert_eq!(deadline.reason(), FailureReason::Timeout);
        assert_eq!(
            deadline.to_string(),
            "poll did not finish within its deadline: the poll_timeout of 2m plus 2s for each of the 3 pages it read"
        );
        assert_eq!(deadline.hint(), "Graph did not answer in time; check connectivity or raise the timeouts");
        let panicked = PollError::Panicked("boom".into());
        assert_eq!(panicked.reason(), FailureReason::Internal);
        assert_eq!(panicked.to_string(), "internal error: the poll panicked: boom");
        assert!(panicked.hint().starts_with("a bug in the exporter"));
        assert_eq!(panicked.graph_code(), None);
        let graph = PollError::from(GraphError::Config("c".into()));
        assert_eq!((graph.reason(), graph.to_string()), (FailureReason::Config, "c".to_string()));
    }
}
