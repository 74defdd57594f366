//! [`LocalProcManager`]: spawning local procs as tokio tasks, looking them
//! up, and aborting them all when the manager is dropped.
//!
//! Building one (`LocalProcManager::new` and `builder`) is in
//! [`crate::builder`], `terminate_all` in [`crate::bulk`], what a proc's task
//! does in [`crate::task`].

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use proc_manager_core::{
    ChannelAddr, ChannelTransport, ProcId, ProcManager, ProcStatus, SpawnError, StatusCell,
};
use tokio::runtime::Handle;

use crate::config::LocalProcConfig;
use crate::context::LocalContext;
use crate::handle::LocalProcHandle;
use crate::output::LogConfig;
use crate::shared::{EndInbox, ProcShared};
use crate::table::ProcTable;
use crate::task::{ExitGuard, Launch};

/// Runs procs as tokio tasks of the current process, behind the same traits
/// as the process-spawning backends.
///
/// Each proc is one task running the proc function given at construction
/// with its own [`LocalContext`] (core's [`ProcContext`](crate::ProcContext): a worker written
/// against the trait runs here and as a bootstrap child unchanged). Its
/// status follows the function, as on every backend: `Running` at spawn
/// (with this process's pid), `Ready` on [`ProcContext::ready`](crate::ProcContext::ready),
/// `Stopped { exit_code }` on `Ok(exit_code)`, `Failed { reason }` on `Err`
/// (the error's `Display`) or a panic
/// (`"panicked: <message>"`; the panic stays in the proc), and
/// `Killed { signal: 9 }` when its task is aborted.
///
/// Spawning needs a tokio runtime (the caller's). Dropping the manager
/// aborts every proc task it started; handles keep working and report
/// `Killed`.
///
/// ```
/// use std::time::Duration;
/// use proc_manager_local::{
///     BoxError, ChannelAddr, LocalProcManager, ProcContext, ProcHandle, ProcId, ProcManager,
/// };
///
/// async fn worker(ctx: impl ProcContext) -> Result<i32, BoxError> {
///     ctx.ready(ChannelAddr::Local(7)).await?;
///     ctx.shutdown_requested().await;
///     Ok(0)
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let manager = LocalProcManager::new(worker);
/// let handle = manager.spawn(ProcId::new("worker")?, ChannelAddr::Local(1)).await?;
/// assert_eq!(handle.ready().await?, ChannelAddr::Local(7));
/// let status = handle.terminate(Duration::from_secs(5), "done").await?;
/// assert_eq!(status.to_string(), "stopped (exit code 0)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct LocalProcManager {
    launch: Box<Launch>,
    procs: Mutex<ProcTable<LocalProcHandle>>,
    ended: Arc<EndInbox>,
    log: Arc<LogConfig>,
    pid: u32,
}

impl LocalProcManager {
    pub(crate) fn from_parts(launch: Box<Launch>, log: LogConfig, retain_ended: usize) -> Self {
        Self {
            launch,
            procs: Mutex::new(ProcTable::with_retention(retain_ended)),
            ended: Arc::default(),
            log: Arc::new(log),
            pid: std::process::id(),
        }
    }

    /// The table, with the ends reported since the last look applied to
    /// its retention.
    pub(crate) fn procs(&self) -> MutexGuard<'_, ProcTable<LocalProcHandle>> {
        let mut table = self.procs.lock().unwrap_or_else(PoisonError::into_inner);
        for proc_id in self.ended.take() {
            table.note_ended(&proc_id, LocalProcHandle::is_alive);
        }
        table
    }

    /// Drops an ended proc at once (its status and handle are no longer
    /// kept); whether there was one. A live proc, or an unknown id, is left
    /// alone. Handles already held keep working.
    ///
    /// ```
    /// use proc_manager_local::{LocalContext, LocalProcManager, ProcHandle, ProcManager, ProcId, ChannelAddr, ChannelTransport};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = LocalProcManager::new(|_ctx: LocalContext| async { Ok::<i32, std::io::Error>(0) });
    /// let id = ProcId::new("once").unwrap();
    /// let handle = manager.spawn(id.clone(), ChannelAddr::any(ChannelTransport::Local)).await.unwrap();
    /// handle.wait().await.unwrap();
    /// assert!(manager.forget(&id));
    /// assert!(manager.handle(&id).is_none());
    /// # });
    /// ```
    pub fn forget(&self, proc_id: &ProcId) -> bool {
        self.procs().forget(proc_id, LocalProcHandle::is_alive)
    }

    /// Checks the id, spawns the task and records the proc, all under the
    /// table's lock so two spawns of one id cannot both succeed.
    fn spawn_now(
        &self,
        proc_id: ProcId,
        backend_addr: ChannelAddr,
        config: LocalProcConfig,
    ) -> Result<LocalProcHandle, SpawnError> {
        let runtime = Handle::try_current().map_err(|err| SpawnError::Io {
            proc_id: proc_id.clone(),
            source: io::Error::other(err),
        })?;
        let make = |proc_id: &ProcId| {
            let span = tracing::info_span!("proc", proc_id = %proc_id);
            let running = ProcStatus::Running {
                pid: self.pid,
                started_at: SystemTime::now(),
            };
            let shared = Arc::new(ProcShared {
                cell: StatusCell::with_status(proc_id.clone(), running),
                task: Mutex::new(None),
                output: Mutex::default(),
                log: self.log.clone(),
                span,
                ended: self.ended.clone(),
            });
            let ctx = LocalContext::new(shared.clone(), backend_addr, config.config.map(Box::new));
            let task = (self.launch)(&runtime, ctx, ExitGuard::new(shared.clone()));
            {
                // Checked under the slot's lock, which the ending proc takes
                // after publishing its end: an ended proc keeps no task.
                let mut slot = shared.task();
                if shared.cell.inspect(ProcStatus::is_alive) {
                    *slot = Some(task);
                }
            }
            tracing::debug!(parent: &shared.span, "proc spawned");
            LocalProcHandle::new(shared)
        };
        self.procs()
            .claim(proc_id, LocalProcHandle::is_alive, make)
            .cloned()
            .map_err(|proc_id| SpawnError::Duplicate { proc_id })
    }
}

#[async_trait]
impl ProcManager for LocalProcManager {
    type Handle = LocalProcHandle;
    type Config = LocalProcConfig;

    fn transport(&self) -> ChannelTransport {
        ChannelTransport::Local
    }

    async fn spawn(
        &self,
        proc_id: ProcId,
        backend_addr: ChannelAddr,
    ) -> Result<LocalProcHandle, SpawnError> {
        // Not the default method: that would box a second future per spawn.
        self.spawn_now(proc_id, backend_addr, LocalProcConfig::default())
    }

    async fn spawn_with(
        &self,
        proc_id: ProcId,
        backend_addr: ChannelAddr,
        config: LocalProcConfig,
    ) -> Result<LocalProcHandle, SpawnError> {
        self.spawn_now(proc_id, backend_addr, config)
    }

    fn handle(&self, proc_id: &ProcId) -> Option<LocalProcHandle> {
        self.procs().get(proc_id).cloned()
    }

    fn proc_ids(&self) -> Vec<ProcId> {
        self.procs().ids().to_vec()
    }
}

impl Drop for LocalProcManager {
    fn drop(&mut self) {
        for handle in self.procs().procs() {
            handle.abort();
        }
    }
}

impl fmt::Debug for LocalProcManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalProcManager")
            .field("procs", &self.procs().ids().len())
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}
