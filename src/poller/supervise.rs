//! A panic in a poll's sweep (a bug, or an answer from Graph that some code did not expect) fails
//! that one poll with reason `internal` instead of silently ending the report's poller, which would
//! then never poll again while `/healthz` stays green.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use super::PollError;

/// Longest panic message quoted in the error (and so in logs and on the status page).
const MAX_MESSAGE: usize = 300;

/// Runs `sweep` in place and returns its result, or [`PollError::Panicked`] when polling it
/// panicked; the sweep is then dropped, as tokio drops a task that panicked. Running it in place
/// rather than as a task of its own keeps the scheduling of requests exactly as it is without this
/// guard (which the pacing relies on).
pub(crate) async fn catch_panic<T, E: Into<PollError>>(
    sweep: impl Future<Output = Result<T, E>>,
) -> Result<T, PollError> {
    // Unwind safety: after a panic the sweep is never polled again, only dropped; what it shares
    // (tokens, pacer, store) is behind locks that unwinding releases, as with a panicking task.
    match AssertUnwindSafe(sweep).catch_unwind().await {
        Ok(result) => result.map_err(Into::into),
        Err(payload) => Err(PollError::Panicked(panic_message(payload))),
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let text = match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().map_or("(a panic without a message)", |s| s).to_string(),
    };
    match text.char_indices().nth(MAX_MESSAGE) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::FailureReason;
    use crate::graph::GraphError;

    #[tokio::test]
    async fn a_panic_is_an_internal_failure_with_its_message() {
        let value = 7;
        let err = catch_panic::<(), GraphError>(async move { panic!("injected panic {value}") }).await.unwrap_err();
        assert_eq!(err.reason(), FailureReason::Internal);
        assert_eq!(err.to_string(), "internal error: the poll panicked: injected panic 7");
        let err = catch_panic::<(), GraphError>(async { std::panic::panic_any(42u8) }).await.unwrap_err();
        assert!(err.to_string().ends_with("(a panic without a message)"), "{err}");
        let long = "x".repeat(1000);
        let err = catch_panic::<(), GraphError>(async move { panic!("{long}") }).await.unwrap_err();
        assert!(err.to_string().len() < 400, "{err}");
    }

    #[tokio::test]
    async fn a_panic_after_an_await_is_caught_too() {
        let err = catch_panic::<(), GraphError>(async {
            tokio::task::yield_now().await;
            panic!("later");
        })
        .await
        .unwrap_err();
        assert_eq!(err.reason(), FailureReason::Internal);
        assert!(err.to_string().ends_with("later"), "{err}");
    }

    #[tokio::test]
    async fn results_pass_through_and_dropping_the_poll_drops_the_sweep() {
        assert_eq!(catch_panic::<_, GraphError>(async { Ok(3) }).await.unwrap(), 3);
        let failed = catch_panic::<(), GraphError>(async { Err(GraphError::Config("c".into())) }).await.unwrap_err();
        assert_eq!(failed.reason(), FailureReason::Config);

        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let poll = catch_panic::<(), GraphError>(async move {
            let _alive = tx;
            let _ = started_tx.send(());
            std::future::pending().await
        });
        let mut poll = Box::pin(poll);
        tokio::select! {
            _ = &mut poll => unreachable!("the sweep never ends"),
            _ = started_rx => {}
        }
        drop(poll);
        // The sender is dropped only when the sweep is.
        assert!(rx.recv().await.is_none());
    }
}
