//! The real wait for a child's exit: the watcher co-owns the group's pidfd
//! (an `Arc`, in a `tokio::io::unix::AsyncFd`), which turns readable when
//! the child exits. Co-owning it means the group may reap and drop its
//! reference at any time without invalidating what the reactor watches,
//! and costs no second descriptor.
//!
//! What happens after the exit is [`crate::exit_monitor`]'s business.

use std::sync::Arc;
use std::time::Duration;

use crate::group::ProcessGroup;
use crate::os::ExitKind;

/// How often to look when the pidfd cannot be watched.
const POLL_FALLBACK: Duration = Duration::from_millis(20);

/// Waits until the leader has exited; returns how (read without reaping;
/// `None` if it cannot be read).
pub(crate) async fn wait_exit(group: Arc<ProcessGroup>) -> Option<ExitKind> {
    let afd = match group.exit_watcher() {
        Ok(afd) => Some(afd),
        Err(err) => {
            tracing::warn!(%err, "cannot watch the pidfd; polling for the exit instead");
            None
        }
    };
    loop {
        match group.peek_exit() {
            Ok(Some(kind)) => return Some(kind),
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(%err, "waitid on the pidfd failed");
                return None;
            }
        }
        match &afd {
            Some(afd) => match afd.readable().await {
                Ok(mut guard) => guard.clear_ready(),
                Err(err) => {
                    tracing::warn!(%err, "waiting on the pidfd failed");
                    tokio::time::sleep(POLL_FALLBACK).await;
                }
            },
            None => tokio::time::sleep(POLL_FALLBACK).await,
        }
    }
}
