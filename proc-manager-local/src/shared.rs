//! [`ProcShared`]: the one allocation behind a local proc, shared by its
//! task, its context, its log writer and every handle to it; and the stop
//! logic (polite request, then abort at a deadline) that handles and
//! `terminate_all` both use.
//!
//! Publishing the terminal status is the task's job ([`crate::task`]): only
//! the proc's own task ever writes one, so there is exactly one.

use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use proc_manager_core::{ProcStatus, StatusCell};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::output::{Output, Sinks};

/// Everything a local proc's parts share.
pub(crate) struct ProcShared {
    /// The status; the proc id lives here too.
    pub(crate) cell: StatusCell,
    /// Set once, right after the task is spawned and before any handle to
    /// the proc is given out.
    pub(crate) abort: OnceLock<AbortHandle>,
    pub(crate) output: Mutex<Output>,
    pub(crate) sinks: Sinks,
    pub(crate) span: tracing::Span,
}

impl ProcShared {
    /// Aborts the proc's task. Its future is dropped the next time the
    /// runtime gets to it, and dropping it publishes `Killed` (unless the
    /// proc ended first).
    pub(crate) fn abort(&self) {
        if let Some(abort) = self.abort.get() {
            abort.abort();
        }
    }

    /// Waits for the terminal status until `deadline`, then aborts the task
    /// and waits for the terminal status that follows.
    pub(crate) async fn finish_by(&self, deadline: Instant) -> ProcStatus {
        match tokio::time::timeout_at(deadline, self.cell.wait_terminal()).await {
            Ok(status) => status,
            Err(_) => {
                tracing::debug!(parent: &self.span, "stop deadline reached; aborting");
                self.abort();
                self.cell.wait_terminal().await
            }
        }
    }

    /// A polite stop request (the proc's shutdown future resolves) followed
    /// by [`ProcShared::finish_by`]. `Err` carries the status of a proc that
    /// had already ended.
    pub(crate) async fn stop_by(&self, deadline: Instant) -> Result<ProcStatus, ProcStatus> {
        let status = self.cell.mark_stopping();
        if status.is_exit() {
            return Err(status);
        }
        Ok(self.finish_by(deadline).await)
    }
}

impl fmt::Debug for ProcShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcShared")
            .field("cell", &self.cell)
            .field("sinks", &self.sinks.len())
            .finish_non_exhaustive()
    }
}

/// `timeout` from now, saturating at a far future instead of overflowing.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(60 * 60 * 24 * 365 * 30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_saturates() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let far = deadline_after(Duration::MAX);
            assert!(far > Instant::now() + Duration::from_secs(60 * 60 * 24 * 365));
            let near = deadline_after(Duration::from_millis(5));
            assert!(near <= Instant::now() + Duration::from_millis(5));
        });
    }
}
