//! [`ShProcHandle`]: the core [`ProcHandle`] over one sh proc. It writes
//! only how to stop the proc ([`CellHandle`]); the rest comes from the
//! proc's status cell.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use proc_manager_core::{CellHandle, CellRef, ProcHandle, ProcStatus, TerminateError};
use tokio::time::Instant;

use super::process::Proc;

/// How long to wait for the exit after SIGKILL before reporting an error
/// (a process in uninterruptible sleep).
const KILL_GRACE: Duration = Duration::from_secs(10);

/// A handle to one proc of a [`super::ShProcManager`]. Clones share the proc.
///
/// `terminate(timeout, _)` returns within `timeout` plus the time to reap
/// the group and drain its output (bounded by 500 ms for output a process
/// outside the group holds open).
#[derive(Debug, Clone)]
pub struct ShProcHandle {
    proc: Arc<Proc>,
}

impl ShProcHandle {
    pub(super) fn new(proc: Arc<Proc>) -> Self {
        Self { proc }
    }

    /// SIGKILLs now (if not ended yet) and waits for the end.
    async fn force(&self) -> Result<ProcStatus, TerminateError> {
        self.proc.force().map_err(|source| self.io(source))?;
        tokio::time::timeout(KILL_GRACE, self.proc.cell.wait_terminal())
            .await
            .map_err(|_| {
                self.io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("still not reaped {KILL_GRACE:?} after SIGKILL"),
                ))
            })
    }

    pub(super) fn signal_kill(&self) {
        if let Err(err) = self.proc.force() {
            tracing::warn!(proc_id = %self.proc_id(), %err, "SIGKILL failed");
        }
    }

    fn not_ended(&self) -> Result<(), TerminateError> {
        let status = self.proc.cell.status();
        if status.is_exit() {
            return Err(TerminateError::AlreadyTerminated {
                proc_id: self.proc_id().clone(),
                status,
            });
        }
        Ok(())
    }

    fn io(&self, source: std::io::Error) -> TerminateError {
        TerminateError::Io {
            proc_id: self.proc_id().clone(),
            source,
        }
    }
}

impl CellHandle for ShProcHandle {
    fn cell(&self) -> CellRef<'_> {
        CellRef::new(&self.proc.cell)
    }

    /// SIGTERM now, SIGKILL when `timeout` runs out (`Duration::MAX`: never).
    async fn terminate_proc(
        &self,
        timeout: Duration,
        reason: &str,
    ) -> Result<ProcStatus, TerminateError> {
        // A deadline too far away to represent is no deadline.
        let deadline = Instant::now().checked_add(timeout);
        self.not_ended()?;
        let status = self.proc.cell.mark_stopping();
        if status.is_exit() {
            return Ok(status);
        }
        tracing::info!(proc_id = %self.proc_id(), reason, "terminating");
        self.proc
            .signal(Signal::SIGTERM)
            .map_err(|source| self.io(source))?;
        let Some(deadline) = deadline else {
            return Ok(self.proc.cell.wait_terminal().await);
        };
        match tokio::time::timeout_at(deadline, self.proc.cell.wait_terminal()).await {
            Ok(status) => Ok(status),
            Err(_) => self.force().await,
        }
    }

    async fn kill_proc(&self) -> Result<ProcStatus, TerminateError> {
        self.not_ended()?;
        self.proc.cell.mark_stopping();
        self.force().await
    }
}
