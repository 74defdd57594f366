//! [`WorkerOutcome`]: how a worker function ended (returned a code, returned
//! an error, panicked), caught in one place for every backend, and the
//! status each outcome becomes.
//!
//! The trait a worker is written against is [`crate::ProcContext`]; the
//! status itself is [`crate::ProcStatus`].

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;

use crate::status::ProcStatus;

/// The error type a worker's error is turned into: any `E:
/// Into<BoxError>` will do (`String`, `&str`, `std::io::Error`, any
/// `std::error::Error + Send + Sync`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How a worker ended. Every backend runs its workers through
/// [`WorkerOutcome::catch`] and reports [`WorkerOutcome::into_status`], so
/// the same worker ends in the same status everywhere.
///
/// ```
/// use proc_manager_core::{ProcStatus, WorkerOutcome};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let ok = WorkerOutcome::catch(|| async { Ok::<i32, String>(3) }).await;
/// assert_eq!(ok, WorkerOutcome::Returned(3));
///
/// let err = WorkerOutcome::catch(|| async { Err::<i32, _>("no config") }).await;
/// assert_eq!(err.reason().as_deref(), Some("no config"));
///
/// let panicked = WorkerOutcome::catch(|| async {
///     if true { panic!("shard {} missing", 7) }
///     Ok::<i32, String>(0)
/// })
/// .await;
/// assert_eq!(
///     panicked.into_status(vec![]),
///     ProcStatus::Failed { reason: "panicked: shard 7 missing".into(), stderr_tail: vec![] }
/// );
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkerOutcome {
    /// The worker returned `Ok(code)`.
    Returned(i32),
    /// The worker returned `Err(e)`; this is `e.to_string()`.
    Errored(String),
    /// The worker panicked; this is the panic's message.
    Panicked(String),
}

impl WorkerOutcome {
    /// Runs a worker: calls `start` and awaits the future it returns,
    /// catching a panic in either (a panic before the first `.await` is the
    /// worker's too). The panic does not propagate; the default panic hook
    /// has already printed it to stderr.
    pub async fn catch<S, Fut, E>(start: S) -> Self
    where
        S: FnOnce() -> Fut,
        Fut: Future<Output = Result<i32, E>>,
        E: Into<BoxError>,
    {
        let future = match catch_unwind(AssertUnwindSafe(start)) {
            Ok(future) => future,
            Err(payload) => return Self::Panicked(panic_message(payload.as_ref())),
        };
        let mut future = pin!(future);
        // The worker is dropped on a panic and never polled again, so a
        // broken invariant inside it cannot be observed: unwind-safe enough.
        let result =
            poll_fn(
                |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                    Ok(Poll::Pending) => Poll::Pending,
                    Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
                    Err(payload) => Poll::Ready(Err(payload)),
                },
            )
            .await;
        match result {
            Ok(Ok(code)) => Self::Returned(code),
            Ok(Err(err)) => Self::Errored(error_message(err)),
            Err(payload) => Self::Panicked(panic_message(payload.as_ref())),
        }
    }

    /// The `reason` of the `Failed` status this outcome becomes: the
    /// error's text, or `panicked: <message>`; `None` for a returned code.
    pub fn reason(&self) -> Option<String> {
        match self {
            Self::Returned(_) => None,
            Self::Errored(message) => Some(message.clone()),
            Self::Panicked(message) => Some(format!("panicked: {message}")),
        }
    }

    /// The terminal status: `Stopped { exit_code }` for `Returned`,
    /// `Failed { reason }` ([`Self::reason`]) otherwise.
    pub fn into_status(self, stderr_tail: Vec<String>) -> ProcStatus {
        match self {
            Self::Returned(exit_code) => ProcStatus::Stopped {
                exit_code,
                stderr_tail,
            },
            failed => ProcStatus::Failed {
                reason: failed.reason().unwrap_or_default(),
                stderr_tail,
            },
        }
    }
}

/// The error's text. Its conversion and `Display` are user code too: a
/// panic in them is reported, not propagated.
fn error_message<E: Into<BoxError>>(err: E) -> String {
    catch_unwind(AssertUnwindSafe(|| err.into().to_string()))
        .unwrap_or_else(|_| "error (its Display panicked)".to_owned())
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn panic_messages() {
        let from_str = catch_unwind(|| panic!("boom")).unwrap_err();
        assert_eq!(panic_message(from_str.as_ref()), "boom");
        let n = 3;
        let from_string = catch_unwind(|| panic!("boom {n}")).unwrap_err();
        assert_eq!(panic_message(from_string.as_ref()), "boom 3");
        let other = catch_unwind(|| std::panic::panic_any(7_u8)).unwrap_err();
        assert_eq!(panic_message(other.as_ref()), "non-string panic payload");
    }

    #[test]
    fn a_panic_before_the_future_is_the_workers() {
        let outcome = block_on(WorkerOutcome::catch(
            || -> std::future::Ready<Result<i32, String>> { panic!("early") },
        ));
        assert_eq!(outcome, WorkerOutcome::Panicked("early".into()));
    }

    #[test]
    fn a_panic_after_an_await_is_caught() {
        let outcome = block_on(WorkerOutcome::catch(|| async {
            tokio::task::yield_now().await;
            if true {
                panic!("late");
            }
            Ok::<i32, String>(0)
        }));
        assert_eq!(outcome.reason().as_deref(), Some("panicked: late"));
    }

    #[test]
    fn an_error_whose_display_panics_is_reported() {
        #[derive(Debug)]
        struct Bad;
        impl std::fmt::Display for Bad {
            fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                panic!("display")
            }
        }
        impl std::error::Error for Bad {}
        let outcome = block_on(WorkerOutcome::catch(|| async { Err::<i32, _>(Bad) }));
        assert_eq!(
            outcome,
            WorkerOutcome::Errored("error (its Display panicked)".into())
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(
            WorkerOutcome::Returned(4).into_status(vec!["x".into()]),
            ProcStatus::Stopped {
                exit_code: 4,
                stderr_tail: vec!["x".into()]
            }
        );
        assert_eq!(
            WorkerOutcome::Errored("bad".into()).into_status(vec![]),
            ProcStatus::Failed {
                reason: "bad".into(),
                stderr_tail: vec![]
            }
        );
        assert_eq!(WorkerOutcome::Returned(0).reason(), None);
    }
}
