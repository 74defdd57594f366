//! [`ScriptedProcHandle`]: a real [`ProcHandle`] whose statuses the test
//! pushes through a [`ScriptController`], and whose stop requests the test
//! receives and answers.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use proc_manager_core::{
    CellHandle, CellRef, ChannelAddr, IllegalTransition, ProcHandle, ProcId, ProcStatus,
    StatusCell, TerminateError,
};
use tokio::sync::mpsc;

/// A stop asked of a [`ScriptedProcHandle`], as the controller receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopRequest {
    /// `terminate(timeout, reason)` was called.
    Terminate {
        /// The timeout the caller gave.
        timeout: Duration,
        /// The reason the caller gave.
        reason: String,
    },
    /// `kill()` was called.
    Kill,
}

#[derive(Debug)]
struct Shared {
    cell: StatusCell,
    requests: mpsc::UnboundedSender<StopRequest>,
}

/// A handle whose proc exists only in the test: statuses come from the
/// paired [`ScriptController`] (through the same [`StatusCell`] real
/// backends use, so illegal transitions are refused), and `terminate`/`kill`
/// mark the proc `Stopping`, hand a [`StopRequest`] to the controller and
/// wait until the test pushes a terminal status. Waiting stops with
/// [`TerminateError::ChannelClosed`] if the controller is dropped.
///
/// ```
/// use std::time::Duration;
/// use proc_manager_core::{ChannelAddr, ProcHandle, ProcId, ProcStatus};
/// use proc_manager_testkit::mock::{ScriptedProcHandle, StopRequest};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (handle, mut script) = ScriptedProcHandle::new(ProcId::new("worker")?);
/// script.running(41)?;
/// script.ready(ChannelAddr::Local(3))?;
/// assert_eq!(handle.ready().await?, ChannelAddr::Local(3));
///
/// // The code under test stops the proc; the test decides how it ends.
/// let stopping = tokio::spawn({
///     let handle = handle.clone();
///     async move { handle.terminate(Duration::from_secs(1), "bye").await }
/// });
/// let request = script.next_request().await;
/// assert_eq!(request, Some(StopRequest::Terminate { timeout: Duration::from_secs(1), reason: "bye".into() }));
/// script.exit(0)?;
/// let status = stopping.await??;
/// assert_eq!(status, ProcStatus::Stopped { exit_code: 0, stderr_tail: vec![] });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ScriptedProcHandle {
    shared: Arc<Shared>,
}

/// The test's side of a [`ScriptedProcHandle`]: pushes statuses and receives
/// stop requests.
#[derive(Debug)]
pub struct ScriptController {
    shared: Arc<Shared>,
    requests: mpsc::UnboundedReceiver<StopRequest>,
}

impl ScriptedProcHandle {
    /// A handle in `Starting`, and its controller.
    pub fn new(proc_id: ProcId) -> (Self, ScriptController) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            cell: StatusCell::new(proc_id),
            requests: tx,
        });
        let controller = ScriptController {
            shared: shared.clone(),
            requests: rx,
        };
        (Self { shared }, controller)
    }

    async fn stop(&self, request: StopRequest) -> Result<ProcStatus, TerminateError> {
        let proc_id = self.proc_id().clone();
        let status = self.shared.cell.status();
        if status.is_exit() {
            return Err(TerminateError::AlreadyTerminated { proc_id, status });
        }
        self.shared.cell.mark_stopping();
        if self.shared.requests.send(request).is_err() {
            return Err(TerminateError::ChannelClosed { proc_id });
        }
        tokio::select! {
            status = self.shared.cell.wait_terminal() => Ok(status),
            () = self.shared.requests.closed() => Err(TerminateError::ChannelClosed { proc_id }),
        }
    }
}

impl CellHandle for ScriptedProcHandle {
    fn cell(&self) -> CellRef<'_> {
        CellRef::new(&self.shared.cell)
    }

    async fn terminate_proc(
        &self,
        timeout: Duration,
        reason: &str,
    ) -> Result<ProcStatus, TerminateError> {
        self.stop(StopRequest::Terminate {
            timeout,
            reason: reason.to_owned(),
        })
        .await
    }

    async fn kill_proc(&self) -> Result<ProcStatus, TerminateError> {
        self.stop(StopRequest::Kill).await
    }
}

impl ScriptController {
    /// Another handle to the scripted proc.
    pub fn handle(&self) -> ScriptedProcHandle {
        ScriptedProcHandle {
            shared: self.shared.clone(),
        }
    }

    /// The current status.
    pub fn status(&self) -> ProcStatus {
        self.shared.cell.status()
    }

    /// Pushes `status` if the state machine allows it; returns the status
    /// it replaced.
    pub fn set(&self, status: ProcStatus) -> Result<ProcStatus, IllegalTransition> {
        self.shared.cell.transition(status)
    }

    /// `Running { pid }`, started now.
    pub fn running(&self, pid: u32) -> Result<ProcStatus, IllegalTransition> {
        self.set(ProcStatus::Running {
            pid,
            started_at: SystemTime::now(),
        })
    }

    /// `Ready { addr }`, keeping the pid and start time of `Running`.
    pub fn ready(&self, addr: ChannelAddr) -> Result<ProcStatus, IllegalTransition> {
        let current = self.status();
        self.set(ProcStatus::Ready {
            pid: current.pid().unwrap_or_default(),
            started_at: current.started_at().unwrap_or_else(SystemTime::now),
            addr,
        })
    }

    /// `Stopped { exit_code }` with an empty stderr tail.
    pub fn exit(&self, exit_code: i32) -> Result<ProcStatus, IllegalTransition> {
        self.set(ProcStatus::Stopped {
            exit_code,
            stderr_tail: Vec::new(),
        })
    }

    /// `Killed { signal }` without a core dump, with an empty stderr tail.
    pub fn killed(&self, signal: i32) -> Result<ProcStatus, IllegalTransition> {
        self.set(ProcStatus::Killed {
            signal,
            core_dumped: false,
            stderr_tail: Vec::new(),
        })
    }

    /// `Failed { reason }` with an empty stderr tail.
    pub fn fail(&self, reason: impl Into<String>) -> Result<ProcStatus, IllegalTransition> {
        self.set(ProcStatus::Failed {
            reason: reason.into(),
            stderr_tail: Vec::new(),
        })
    }

    /// The next stop request, waiting for one; `None` once every handle is
    /// gone.
    pub async fn next_request(&mut self) -> Option<StopRequest> {
        self.requests.recv().await
    }

    /// The next stop request if one is queued.
    pub fn try_next_request(&mut self) -> Option<StopRequest> {
        self.requests.try_recv().ok()
    }
}
