//! [`ShProcHandle`]: the core [`ProcHandle`] over one sh proc.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nix::sys::signal::Signal;
use proc_manager_core::{ProcHandle, ProcId, ProcStatus, TerminateError};
use tokio::sync::watch;
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

    /// Terminates with an absolute deadline: SIGTERM now, SIGKILL at
    /// `deadline`.
    pub(super) async fn stop_until(
        &self,
        deadline: Instant,
        reason: &str,
    ) -> Result<ProcStatus, TerminateError> {
        self.not_ended()?;
        let status = self.proc.cell.mark_stopping();
        if status.is_exit() {
            return Ok(status);
        }
        tracing::info!(proc_id = %self.proc_id(), reason, "terminating");
        self.proc
            .signal(Signal::SIGTERM)
            .map_err(|source| self.io(source))?;
        match tokio::time::timeout_at(deadline, self.proc.cell.wait_terminal()).await {
            Ok(status) => Ok(status),
            Err(_) => self.force().await,
        }
    }

    /// SIGKILLs now (if not ended yet) and waits for the end.
    pub(super) async fn force(&self) -> Result<ProcStatus, TerminateError> {
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

    /// Whether the backend forced this proc (for bulk summaries).
    pub(super) fn was_forced(&self) -> bool {
        self.proc.was_forced()
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

#[async_trait]
impl ProcHandle for ShProcHandle {
    fn proc_id(&self) -> &ProcId {
        self.proc.cell.proc_id()
    }

    fn status(&self) -> ProcStatus {
        self.proc.cell.status()
    }

    fn watch(&self) -> watch::Receiver<ProcStatus> {
        self.proc.cell.watch()
    }

    async fn terminate(
        &self,
        timeout: Duration,
        reason: &str,
    ) -> Result<ProcStatus, TerminateError> {
        self.stop_until(Instant::now() + timeout, reason).await
    }

    async fn kill(&self) -> Result<ProcStatus, TerminateError> {
        self.not_ended()?;
        self.proc.cell.mark_stopping();
        self.force().await
    }
}
