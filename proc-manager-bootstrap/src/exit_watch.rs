//! The real wait for a child's exit: the watcher co-owns the group's pidfd
//! (an `Arc`, in a `tokio::io::unix::AsyncFd`), which turns readable when
//! the child exits. Co-owning it means the group may reap and drop its
//! reference at any time without invalidating what the reactor watches,
//! and costs no second descriptor.
//!
//! [`ExitWatch`] is polled by hand (no `async fn`): it sits in every live
//! proc's monitor task, so it holds only the group and the registration.
//!
//! What happens after the exit is [`crate::exit_monitor`]'s business.

use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::time::Sleep;

use crate::group::ProcessGroup;
use crate::os::ExitKind;

/// How often to look when the pidfd cannot be watched.
const POLL_FALLBACK: Duration = Duration::from_millis(20);

/// Resolves once the leader has exited, with how (read without reaping;
/// `None` if it cannot be read).
pub(crate) struct ExitWatch {
    group: Arc<ProcessGroup>,
    /// The pidfd's registration; `None` when it cannot be watched, and the
    /// exit is then looked for every [`POLL_FALLBACK`].
    watcher: Option<AsyncFd<Arc<OwnedFd>>>,
    /// The fallback timer, while one runs (boxed: rarely used).
    timer: Option<Pin<Box<Sleep>>>,
    /// Whether the exit was looked for since the last wake-up of the
    /// watcher (or timer): the monitor polls this future whenever the
    /// proc's output wakes it, and those polls must not cost a `waitid`.
    looked: bool,
}

/// Watches `group`'s leader for its exit.
pub(crate) fn wait_exit(group: Arc<ProcessGroup>) -> ExitWatch {
    let watcher = match group.exit_watcher() {
        Ok(watcher) => Some(watcher),
        Err(err) => {
            tracing::warn!(%err, "cannot watch the pidfd; polling for the exit instead");
            None
        }
    };
    ExitWatch {
        group,
        watcher,
        timer: None,
        looked: false,
    }
}

impl Future for ExitWatch {
    type Output = Option<ExitKind>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ExitKind>> {
        let this = self.get_mut();
        loop {
            if !this.looked {
                match this.group.peek_exit() {
                    Ok(Some(kind)) => return Poll::Ready(Some(kind)),
                    Ok(None) => this.looked = true,
                    Err(err) => {
                        tracing::warn!(%err, "waitid on the pidfd failed");
                        return Poll::Ready(None);
                    }
                }
            }
            if let Some(watcher) = &this.watcher {
                match ready!(watcher.poll_read_ready(cx)) {
                    Ok(mut guard) => guard.clear_ready(),
                    Err(err) => {
                        tracing::warn!(%err, "waiting on the pidfd failed; polling for the exit instead");
                        this.watcher = None;
                    }
                }
                this.looked = false;
                continue;
            }
            let timer = this
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(POLL_FALLBACK)));
            ready!(timer.as_mut().poll(cx));
            this.timer = None;
            this.looked = false;
        }
    }
}
