//! [`BootstrapProcHandle`]: what a caller holds for one bootstrap proc.
//!
//! `terminate` asks politely at once (stop message on the control channel,
//! else the stop signal to the group) and SIGKILLs the group at the
//! deadline; `kill` SIGKILLs at once; `signal` sends any signal; the piped
//! stdin and the notify `STATUS=` text are handed out here too. The stop
//! sequences are in [`crate::stop`], the shared state in
//! [`crate::proc_state`]; the exit is observed by [`crate::exit_monitor`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use proc_manager_core::{CellHandle, CellRef, ProcStatus, TerminateError};
use tokio::process::ChildStdin;

use crate::signal::Signal;

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

    /// The write end of the proc's stdin, for a proc spawned with
    /// [`StdinMode::Piped`](crate::StdinMode::Piped): `Some` the first
    /// time, `None` after that and for every other proc. Dropping it closes
    /// the child's stdin.
    ///
    /// ```no_run
    /// # async fn demo(handle: proc_manager_bootstrap::BootstrapProcHandle) -> std::io::Result<()> {
    /// use tokio::io::AsyncWriteExt;
    ///
    /// let mut stdin = handle.take_stdin().expect("spawned with StdinMode::Piped");
    /// stdin.write_all(b"hello\n").await?;
    /// drop(stdin); // end of input
    /// # Ok(()) }
    /// ```
    pub fn take_stdin(&self) -> Option<ChildStdin> {
        self.shared.take_stdin()
    }

    /// Sends `signal` to the whole proc (its process group), the leader
    /// through its pidfd so a recycled pid is never hit. Not async: the
    /// signal is sent when this returns. After the proc has ended it is
    /// [`TerminateError::AlreadyTerminated`].
    ///
    /// ```no_run
    /// # fn demo(handle: proc_manager_bootstrap::BootstrapProcHandle) {
    /// use proc_manager_bootstrap::Signal;
    ///
    /// // Ask a daemon to reload its configuration.
    /// if let Err(err) = handle.signal(Signal::SIGHUP) {
    ///     eprintln!("no reload: {err}");
    /// }
    /// # }
    /// ```
    pub fn signal(&self, signal: Signal) -> Result<(), TerminateError> {
        match self.shared.signal(signal) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.already_terminated(self.shared.cell.status())),
            Err(err) => Err(self.io_error(err)),
        }
    }

    /// The last `STATUS=` text the proc sent through the notify protocol
    /// ([`Readiness::Notify`](crate::Readiness::Notify)), if any.
    pub fn status_text(&self) -> Option<String> {
        self.shared.notes.status_text()
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
        crate::stop::terminate(&self.shared, timeout, reason).await
    }

    async fn kill_proc(&self) -> Result<ProcStatus, TerminateError> {
        crate::stop::kill(&self.shared).await
    }
}
