//! A poll's sweep runs as a task of its own, so that a panic in it (a bug, or an answer from Graph
//! that some code did not expect) fails that one poll with reason `internal` instead of silently
//! ending the report's poller, which would then never poll again while `/healthz` stays green.

use std::any::Any;
use std::future::Future;

use tokio::task::JoinSet;

use crate::graph::GraphError;

/// Longest panic message quoted in the error (and so in logs and on the status page).
const MAX_MESSAGE: usize = 300;

/// Runs `sweep` in its own task and returns its result, or [`GraphError::Internal`] when it panicked.
/// Dropping the returned future (the poll deadline, shutdown) aborts the task, as dropping the sweep
/// itself would.
pub(crate) async fn catch_panic<T: Send + 'static>(
    sweep: impl Future<Output = Result<T, GraphError>> + Send + 'static,
) -> Result<T, GraphError> {
    // A JoinSet rather than a bare JoinHandle: dropping the set aborts the task.
    let mut task = JoinSet::new();
    task.spawn(sweep);
    match task.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(e)) if e.is_panic() => Err(GraphError::Internal(panic_message(e.into_panic()))),
        // Cancelled: only the runtime shutting down does that, since the set is ours alone.
        Some(Err(e)) => Err(GraphError::Internal(format!("the poll task ended early: {e}"))),
        None => Err(GraphError::Internal("the poll task was not started".into())),
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

    #[tokio::test]
    async fn a_panic_is_an_internal_failure_with_its_message() {
        let value = 7;
        let err = catch_panic::<()>(async move { panic!("injected panic {value}") }).await.unwrap_err();
        assert_eq!(err.reason(), FailureReason::Internal);
        assert_eq!(err.to_string(), "internal error: the poll panicked: injected panic 7");
        let err = catch_panic::<()>(async { std::panic::panic_any(42u8) }).await.unwrap_err();
        assert!(err.to_string().ends_with("(a panic without a message)"), "{err}");
        let long = "x".repeat(1000);
        let err = catch_panic::<()>(async move { panic!("{long}") }).await.unwrap_err();
        assert!(err.to_string().len() < 400, "{err}");
    }

    #[tokio::test]
    async fn results_pass_through_and_dropping_the_poll_aborts_the_sweep() {
        assert_eq!(catch_panic(async { Ok(3) }).await.unwrap(), 3);
        let failed = catch_panic::<()>(async { Err(GraphError::Config("c".into())) }).await.unwrap_err();
        assert_eq!(failed.reason(), FailureReason::Config);

        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let poll = catch_panic::<()>(async move {
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
        // The sender is dropped only when the aborted task is.
        assert!(rx.recv().await.is_none());
    }
}
