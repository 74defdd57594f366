//! [`LocalProcHandle`]: a caller's handle to one local proc, and how it is
//! stopped (`terminate`, `kill`); the rest of [`ProcHandle`] comes from its
//! status cell through [`CellHandle`].
//!
//! Spawning and the proc table are in [`crate::manager`]; the state a proc's
//! parts share is in [`crate::shared`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{CellHandle, CellRef, LogStream, ProcHandle, ProcStatus, TerminateError};
use tokio::time::Instant;

use crate::output::lock;
use crate::shared::{ProcShared, deadline_after};

/// A handle to a proc running as a task of a [`crate::LocalProcManager`].
/// Cheap to clone; it keeps working after the manager is dropped.
///
/// # Contract
///
/// As [`ProcHandle`], with these specifics:
///
/// - `terminate(timeout, _)` makes [`crate::ProcContext::shutdown_requested`]
///   resolve at once (the status becomes `Stopping`) and aborts the task when
///   `timeout` runs out. The small bound past `timeout` is the time the
///   runtime takes to drop the aborted future: a proc that blocks its thread
///   instead of yielding cannot be aborted until it yields.
/// - `kill()` aborts the task at once.
/// - An aborted proc ends `Killed { signal: 9, core_dumped: false }`, and that
///   status is published only once its future has been dropped. When an abort
///   races with the proc returning, whichever happens first on the proc's task
///   is the one terminal status everybody sees.
#[derive(Clone)]
pub struct LocalProcHandle {
    shared: Arc<ProcShared>,
}

impl LocalProcHandle {
    pub(crate) fn new(shared: Arc<ProcShared>) -> Self {
        Self { shared }
    }

    /// Whether the proc has not ended (without copying its status).
    pub(crate) fn is_alive(&self) -> bool {
        self.shared.cell.inspect(ProcStatus::is_alive)
    }

    /// Aborts the proc's task. Its future is dropped the next time the
    /// runtime gets to it, and dropping it publishes `Killed` (unless the
    /// proc ended first).
    pub(crate) fn abort(&self) {
        if let Some(task) = &*self.shared.task() {
            task.abort();
        }
    }

    /// Waits for the terminal status until `deadline`, then aborts the task
    /// and waits for the terminal status that follows.
    async fn finish_by(&self, deadline: Instant) -> ProcStatus {
        let cell = &self.shared.cell;
        match tokio::time::timeout_at(deadline, cell.wait_terminal()).await {
            Ok(status) => status,
            Err(_) => {
                tracing::debug!(parent: &self.shared.span, "stop deadline reached; aborting");
                self.abort();
                cell.wait_terminal().await
            }
        }
    }

    /// The last lines the proc wrote to stdout (bounded as configured with
    /// [`crate::LocalProcManagerBuilder::tail`]), oldest first.
    pub fn stdout_tail(&self) -> Vec<String> {
        lock(&self.shared.output).tail(LogStream::Stdout)
    }

    /// The last lines the proc wrote to stderr, oldest first. Once the proc
    /// has ended, its terminal status carries the same lines.
    pub fn stderr_tail(&self) -> Vec<String> {
        lock(&self.shared.output).tail(LogStream::Stderr)
    }

    fn already_terminated(&self, status: ProcStatus) -> TerminateError {
        TerminateError::AlreadyTerminated {
            proc_id: self.proc_id().clone(),
            status,
        }
    }
}

impl CellHandle for LocalProcHandle {
    fn cell(&self) -> CellRef<'_> {
        CellRef::new(&self.shared.cell)
    }

    async fn terminate_proc(
        &self,
        timeout: Duration,
        reason: &str,
    ) -> Result<ProcStatus, TerminateError> {
        let deadline = deadline_after(timeout);
        tracing::debug!(parent: &self.shared.span, reason, ?timeout, "terminate requested");
        let status = self.shared.cell.mark_stopping();
        if status.is_exit() {
            return Err(self.already_terminated(status));
        }
        if timeout.is_zero() {
            // No time at all: forced now, as on every backend.
            self.abort();
            return Ok(self.shared.cell.wait_terminal().await);
        }
        // A proc that stops on request usually does so as soon as it runs:
        // let it run before paying for a waiter and a deadline timer, and
        // keep those out of this future (boxed, only when needed). With
        // thousands of stops in flight, that is most of their cost.
        tokio::task::yield_now().await;
        if self.shared.cell.inspect(ProcStatus::is_exit) {
            return Ok(self.shared.cell.status());
        }
        Ok(Box::pin(self.finish_by(deadline)).await)
    }

    async fn kill_proc(&self) -> Result<ProcStatus, TerminateError> {
        if self.shared.cell.inspect(ProcStatus::is_exit) {
            return Err(self.already_terminated(self.shared.cell.status()));
        }
        tracing::debug!(parent: &self.shared.span, "kill requested");
        self.abort();
        Ok(self.shared.cell.wait_terminal().await)
    }
}

impl fmt::Debug for LocalProcHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalProcHandle")
            .field("proc_id", self.proc_id())
            .field("status", &self.status())
            .finish()
    }
}
