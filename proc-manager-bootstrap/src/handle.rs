//! [`BootstrapProcHandle`]: what a caller holds for one bootstrap proc.
//!
//! `terminate` asks politely at once (stop message on the control channel,
//! else SIGTERM to the group) and SIGKILLs the group at the deadline; `kill`
//! SIGKILLs at once. The shared state and the signalling are in
//! [`crate::proc_state`]; the exit is observed by [`crate::exit_monitor`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{CellHandle, CellRef, ProcStatus, TerminateError};

use crate::proc_state::ProcShared;
use crate::stdio::lock_tail;

/// A handle to one bootstrap proc. Cheap to clone.
///
/// # Stop bounds
///
/// `terminate(timeout, …)` returns within `timeout` plus the time the exit
/// monitor needs after the SIGKILL: normally a few milliseconds, at most
/// about half a second when something outside the child's process group
/// still holds its output pipes open.
#[derive(Clone)]
pub struct BootstrapProcHandle {
    pub(crate) shared: Arc<ProcShared>,
}

impl BootstrapProcHandle {
    /// The last lines the proc wrote to stdout (empty with inherited stdio).
    pub fn stdout_tail(&self) -> Vec<String> {
        lock_tail(&self.shared.stdout_tail).lines()
    }

    /// The last lines the proc wrote to stderr (empty with inherited stdio).
    pub fn stderr_tail(&self) -> Vec<String> {
        lock_tail(&self.shared.stderr_tail).lines()
    }

    fn already_terminated(&self, status: ProcStatus) -> TerminateError {
        TerminateError::AlreadyTerminated {
            proc_id: self.shared.proc_id.clone(),
            status,
        }
    }

    fn io_error(&self, source: std::io::Error) -> TerminateError {
        TerminateError::Io {
            proc_id: self.shared.proc_id.clone(),
            source,
        }
    }
}

impl fmt::Debug for BootstrapProcHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootstrapProcHandle")
            .field("proc_id", &self.shared.proc_id)
            .field("status", &self.shared.cell.status())
            .finish()
    }
}

impl CellHandle for BootstrapProcHandle {
    fn cell(&self) -> CellRef<'_> {
        CellRef::new(&self.shared.cell)
    }

    async fn terminate_proc(
        &self,
        timeout: Duration,
        reason: &str,
    ) -> Result<ProcStatus, TerminateError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let now = self.shared.cell.mark_stopping();
        if now.is_exit() {
            return Err(self.already_terminated(now));
        }
        if let Err(err) = self.shared.request_stop(reason).await {
            tracing::warn!(parent: &self.shared.span, %err, "polite stop request failed");
        }
        if let Ok(status) =
            tokio::time::timeout_at(deadline, self.shared.cell.wait_terminal()).await
        {
            return Ok(status);
        }
        tracing::debug!(parent: &self.shared.span, ?timeout, "not stopped in time");
        self.shared.force_kill().map_err(|e| self.io_error(e))?;
        Ok(self.shared.cell.wait_terminal().await)
    }

    async fn kill_proc(&self) -> Result<ProcStatus, TerminateError> {
        let now = self.shared.cell.mark_stopping();
        if now.is_exit() {
            return Err(self.already_terminated(now));
        }
        self.shared.force_kill().map_err(|e| self.io_error(e))?;
        Ok(self.shared.cell.wait_terminal().await)
    }
}
