//! [`ProcShared`]: the one allocation behind a local proc, shared by its
//! task, its context, its log writer and every handle to it.
//!
//! Publishing the terminal status is the task's job ([`crate::task`]): only
//! the proc's own task ever writes one, so there is exactly one.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use proc_manager_core::StatusCell;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::output::{LogConfig, Output};

/// Everything a local proc's parts share.
pub(crate) struct ProcShared {
    /// The status; the proc id lives here too.
    pub(crate) cell: StatusCell,
    /// The proc's task while it runs: set right after it is spawned, before
    /// any handle to the proc is given out, and taken when the proc ends so
    /// an ended proc does not keep its task's memory. (Kept here rather than
    /// in every handle: cloning it touches the task's memory.)
    pub(crate) task: Mutex<Option<AbortHandle>>,
    pub(crate) output: Mutex<Output>,
    pub(crate) log: Arc<LogConfig>,
    pub(crate) span: tracing::Span,
    /// Where the proc's end is reported, for the manager's retention.
    pub(crate) ended: Arc<EndInbox>,
}

/// Ids of procs that ended since the manager last looked. Only a push
/// under its own small lock, so a proc can end anywhere (even while the
/// manager's table is locked, on the same thread) without a deadlock; the
/// manager drains it whenever it takes its table's lock.
#[derive(Debug, Default)]
pub(crate) struct EndInbox {
    ids: Mutex<Vec<proc_manager_core::ProcId>>,
}

impl EndInbox {
    pub(crate) fn push(&self, proc_id: &proc_manager_core::ProcId) {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(proc_id.clone());
    }

    /// Takes every id reported so far.
    pub(crate) fn take(&self) -> Vec<proc_manager_core::ProcId> {
        std::mem::take(&mut *self.ids.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl ProcShared {
    /// The proc's task slot (a lock poisoned by a panic is taken over: the
    /// slot holds a plain value).
    pub(crate) fn task(&self) -> MutexGuard<'_, Option<AbortHandle>> {
        self.task.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for ProcShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcShared")
            .field("cell", &self.cell)
            .field("log", &self.log)
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
