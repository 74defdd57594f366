//! [`BootstrapProcManager`]: spawns procs as OS child processes and keeps
//! track of them; `Drop` SIGKILLs every live process group it recorded.
//!
//! The steps of one spawn are in [`crate::launch`]; stopping everything at
//! once is in [`crate::bulk`]; the options are in [`crate::builder`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use proc_manager_core::{
    ChannelAddr, ChannelTransport, ProcHandle, ProcId, ProcManager, SpawnError, async_trait,
};

use crate::builder::BootstrapProcManagerBuilder;
use crate::command::BootstrapCommand;
use crate::config::{BootstrapProcConfig, Options};
use crate::handle::BootstrapProcHandle;
use crate::runtime_dir::RuntimeDir;
use crate::table::GroupTable;

/// Supervises procs started from a [`BootstrapCommand`] as OS child
/// processes, each in its own process group.
///
/// See the crate docs for an example. Dropping the manager SIGKILLs every
/// live process group it spawned (synchronously, no runtime needed) and
/// removes its runtime dir.
pub struct BootstrapProcManager {
    pub(crate) command: BootstrapCommand,
    pub(crate) options: Options,
    pub(crate) runtime: RuntimeDir,
    pub(crate) table: Arc<GroupTable>,
    pub(crate) procs: Mutex<Procs>,
}

/// The procs a manager knows, and the ids being spawned right now.
#[derive(Debug, Default)]
pub(crate) struct Procs {
    pub(crate) handles: HashMap<ProcId, BootstrapProcHandle>,
    pub(crate) starting: HashSet<ProcId>,
}

impl BootstrapProcManager {
    /// A manager with default options (captured stdio, 30 s ready timeout,
    /// group killed on exit, a fresh runtime dir, on tmpfs where possible,
    /// created on first spawn; see
    /// [`BootstrapProcManagerBuilder::runtime_dir`]).
    pub fn new(command: BootstrapCommand) -> Self {
        Self::builder(command).build()
    }

    /// A builder for the options.
    pub fn builder(command: BootstrapCommand) -> BootstrapProcManagerBuilder {
        BootstrapProcManagerBuilder::new(command)
    }

    pub(crate) fn from_parts(
        command: BootstrapCommand,
        options: Options,
        runtime_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            command,
            options,
            runtime: RuntimeDir::new(runtime_dir.unwrap_or_else(RuntimeDir::default_path)),
            table: Arc::new(GroupTable::default()),
            procs: Mutex::new(Procs::default()),
        }
    }

    /// The command every proc starts from.
    pub fn command(&self) -> &BootstrapCommand {
        &self.command
    }

    /// The private (0700) runtime dir holding the procs' sockets.
    pub fn socket_dir(&self) -> &Path {
        self.runtime.path()
    }

    /// How many process groups are recorded as live right now.
    pub fn live_groups(&self) -> usize {
        self.table.len()
    }

    pub(crate) fn lock_procs(&self) -> MutexGuard<'_, Procs> {
        self.procs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Handles of every proc that is not known to have ended.
    pub(crate) fn live_handles(&self) -> Vec<BootstrapProcHandle> {
        self.lock_procs()
            .handles
            .values()
            .filter(|h| h.status().is_alive())
            .cloned()
            .collect()
    }
}

impl fmt::Debug for BootstrapProcManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootstrapProcManager")
            .field("command", &self.command)
            .field("options", &self.options)
            .field("socket_dir", &self.runtime.path())
            .field("live_groups", &self.table.len())
            .finish()
    }
}

#[async_trait]
impl ProcManager for BootstrapProcManager {
    type Handle = BootstrapProcHandle;
    type Config = BootstrapProcConfig;

    fn transport(&self) -> ChannelTransport {
        ChannelTransport::Unix
    }

    async fn spawn_with(
        &self,
        proc_id: ProcId,
        backend_addr: ChannelAddr,
        config: BootstrapProcConfig,
    ) -> Result<BootstrapProcHandle, SpawnError> {
        crate::launch::spawn(self, proc_id, backend_addr, config).await
    }

    fn handle(&self, proc_id: &ProcId) -> Option<BootstrapProcHandle> {
        self.lock_procs().handles.get(proc_id).cloned()
    }

    fn proc_ids(&self) -> Vec<ProcId> {
        self.lock_procs().handles.keys().cloned().collect()
    }
}

impl Drop for BootstrapProcManager {
    fn drop(&mut self) {
        self.table.kill_all();
    }
}

#[cfg(test)]
mod tests {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_sync() {
        assert_send_sync::<super::BootstrapProcManager>();
        assert_send_sync::<crate::BootstrapProcHandle>();
        assert_send_sync::<crate::BootstrapProcManagerBuilder>();
    }
}
