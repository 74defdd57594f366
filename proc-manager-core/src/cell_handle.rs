//! [`CellHandle`]: the short way to implement [`ProcHandle`] for a handle
//! whose status lives in a [`StatusCell`], and [`CellRef`], the read-only
//! view of that cell it hands over.
//!
//! The observing half of [`ProcHandle`] (`proc_id`, `status`, `watch`,
//! `ready`, `wait`) is written here once, over the cell; an implementer
//! writes only how to stop its proc. A handle without a [`StatusCell`]
//! implements [`ProcHandle`] directly instead.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::addr::ChannelAddr;
use crate::cell::StatusCell;
use crate::error::{ReadyError, TerminateError, WaitError};
use crate::handle::ProcHandle;
use crate::id::ProcId;
use crate::status::ProcStatus;

/// Read-only access to a proc's [`StatusCell`], as [`CellHandle::cell`]
/// gives it out: callers of that public method can observe the proc through
/// it, never change its status.
#[derive(Debug, Clone, Copy)]
pub struct CellRef<'a> {
    cell: &'a StatusCell,
}

impl<'a> CellRef<'a> {
    /// A read-only view of `cell`.
    pub fn new(cell: &'a StatusCell) -> Self {
        Self { cell }
    }

    /// [`StatusCell::inspect`]: what `f` reads off the current status,
    /// without copying it.
    ///
    /// ```
    /// use proc_manager_core::{CellRef, ProcId, ProcStatus, StatusCell};
    ///
    /// let cell = StatusCell::new(ProcId::new("worker").unwrap());
    /// assert!(!CellRef::new(&cell).inspect(ProcStatus::is_exit));
    /// ```
    pub fn inspect<R>(&self, f: impl FnOnce(&ProcStatus) -> R) -> R {
        self.cell.inspect(f)
    }
}

/// A handle whose proc's status lives in a [`StatusCell`]; implementing it
/// implements [`ProcHandle`] (through a blanket impl), with the observing
/// methods taken from the cell.
///
/// Write [`cell`](Self::cell) and the two ways to stop the proc;
/// [`terminate_proc`](Self::terminate_proc) and [`kill_proc`](Self::kill_proc)
/// are [`ProcHandle::terminate`] and [`ProcHandle::kill`] for this handle and
/// keep their contract. Everything else comes from the cell: `proc_id`,
/// `status`, `watch`, `pid`, `addr`, `ready` (answered without subscribing
/// when the proc is already `Ready`) and `wait` (which cannot fail: the
/// handle keeps the cell alive).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use proc_manager_core::{
///     CellHandle, CellRef, ProcHandle, ProcId, ProcStatus, StatusCell, TerminateError,
/// };
///
/// /// A proc that ends the moment it is asked to.
/// #[derive(Clone)]
/// struct Obliging {
///     cell: Arc<StatusCell>,
/// }
///
/// impl Obliging {
///     fn end(&self, status: ProcStatus) -> Result<ProcStatus, TerminateError> {
///         let proc_id = self.cell.proc_id().clone();
///         match self.cell.transition_with(|s| s.is_alive().then(|| status)) {
///             Ok((previous, current)) if !previous.is_exit() => Ok(current),
///             Ok((previous, _)) => Err(TerminateError::AlreadyTerminated { proc_id, status: previous }),
///             Err(refused) => Err(TerminateError::AlreadyTerminated { proc_id, status: refused.from }),
///         }
///     }
/// }
///
/// impl CellHandle for Obliging {
///     fn cell(&self) -> CellRef<'_> {
///         CellRef::new(&self.cell)
///     }
///
///     async fn terminate_proc(&self, _timeout: Duration, _reason: &str) -> Result<ProcStatus, TerminateError> {
///         self.end(ProcStatus::Stopped { exit_code: 0, stderr_tail: vec![] })
///     }
///
///     async fn kill_proc(&self) -> Result<ProcStatus, TerminateError> {
///         self.end(ProcStatus::Killed { signal: 9, core_dumped: false, stderr_tail: vec![] })
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let handle = Obliging { cell: Arc::new(StatusCell::new(ProcId::new("p")?)) };
/// assert_eq!(handle.proc_id().as_str(), "p");
/// let status = handle.terminate(Duration::from_secs(1), "bye").await?;
/// assert_eq!(handle.wait().await?, status);
/// assert!(handle.kill().await.is_err(), "already ended");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub trait CellHandle: Clone + Send + Sync + 'static {
    /// The cell the proc's status lives in.
    fn cell(&self) -> CellRef<'_>;

    /// [`ProcHandle::terminate`] for this handle.
    fn terminate_proc(
        &self,
        timeout: Duration,
        reason: &str,
    ) -> impl Future<Output = Result<ProcStatus, TerminateError>> + Send;

    /// [`ProcHandle::kill`] for this handle.
    fn kill_proc(&self) -> impl Future<Output = Result<ProcStatus, TerminateError>> + Send;
}

#[async_trait]
impl<H: CellHandle> ProcHandle for H {
    fn proc_id(&self) -> &ProcId {
        self.cell().cell.proc_id()
    }

    fn status(&self) -> ProcStatus {
        self.cell().cell.status()
    }

    fn watch(&self) -> watch::Receiver<ProcStatus> {
        self.cell().cell.watch()
    }

    async fn ready(&self) -> Result<ChannelAddr, ReadyError> {
        let cell = self.cell().cell;
        // Most callers ask once the proc is up: answer without subscribing.
        if let Some(addr) = cell.inspect(|status| status.addr().cloned()) {
            return Ok(addr);
        }
        cell.wait_ready().await
    }

    async fn wait(&self) -> Result<ProcStatus, WaitError> {
        Ok(self.cell().cell.wait_terminal().await)
    }

    async fn terminate(
        &self,
        timeout: Duration,
        reason: &str,
    ) -> Result<ProcStatus, TerminateError> {
        self.terminate_proc(timeout, reason).await
    }

    async fn kill(&self) -> Result<ProcStatus, TerminateError> {
        self.kill_proc().await
    }
}
