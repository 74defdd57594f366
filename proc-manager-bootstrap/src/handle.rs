//! [`BootstrapProcHandle`]: what a caller holds for one bootstrap proc.
//!
//! `terminate` asks politely at once (stop message on the control channel,
//! else SIGTERM to the group) and SIGKILLs the group at the deadline; `kill`
//! SIGKILLs at once. Those sequences are in [`crate::stop`], the shared
//! state in [`crate::proc_state`]; the exit is observed by
//! [`crate::exit_monitor`].

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
        crate::stop::terminate(&self.shared, timeout, reason).await
    }

    async fn kill_proc(&self) -> Result<ProcStatus, TerminateError> {
        crate::stop::kill(&self.shared).await
    }
}
