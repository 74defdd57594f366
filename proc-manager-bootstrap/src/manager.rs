//! [`BootstrapProcManager`]: the composition of a [`Registry`] (which procs
//! exist, which ids are being spawned) and a [`Launcher`] (how a proc is
//! started); `Drop` SIGKILLs every live process group the launcher
//! recorded. Also the builder's `build`, so the builder need not know the
//! manager.
//!
//! Stopping everything at once is in [`crate::bulk`]; the options are in
//! [`crate::builder`].

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use proc_manager_core::{
    ChannelAddr, ChannelTransport, ProcId, ProcManager, SpawnError, async_trait,
};

use crate::builder::BootstrapProcManagerBuilder;
use crate::command::BootstrapCommand;
use crate::config::BootstrapProcConfig;
use crate::containment::Containment;
use crate::exit_monitor::EndHook;
use crate::handle::BootstrapProcHandle;
use crate::launcher::Launcher;
use crate::registry::Registry;

/// Supervises procs started from a [`BootstrapCommand`] as OS child
/// processes, each in its own process group and, where the machine allows,
/// its own cgroup (see [`Containment`]).
///
/// See the crate docs for an example. Dropping the manager SIGKILLs every
/// live process group it spawned and, with cgroups, every process in them
/// (synchronously, no runtime needed), and removes its runtime dir and
/// cgroups.
pub struct BootstrapProcManager {
    registry: Arc<Registry<BootstrapProcHandle>>,
    launcher: Launcher,
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

    /// The command every proc starts from.
    pub fn command(&self) -> &BootstrapCommand {
        self.launcher.command()
    }

    /// The private (0700) runtime dir holding the procs' sockets.
    pub fn socket_dir(&self) -> &Path {
        self.launcher.runtime_dir()
    }

    /// How many process groups are recorded as live right now.
    pub fn live_groups(&self) -> usize {
        self.launcher.table().len()
    }

    /// The containment in effect: [`Containment::Cgroup`] or
    /// [`Containment::ProcessGroup`] (see
    /// [`BootstrapProcManagerBuilder::containment`]). `Cgroup` also when
    /// cgroups were demanded and cannot be made; every spawn then fails
    /// with the reason.
    pub fn containment(&self) -> Containment {
        self.launcher.confinement().mode()
    }

    /// Drops an ended proc at once (its status and handle are no longer
    /// kept); whether there was one. A live proc, or an unknown id, is left
    /// alone. Handles already held keep working.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use proc_manager_bootstrap::*;
    ///
    /// let manager = BootstrapProcManager::new(BootstrapCommand::new("/bin/true"));
    /// let id = ProcId::new("once")?;
    /// let handle = manager.spawn(id.clone(), ChannelAddr::any(ChannelTransport::Unix)).await?;
    /// handle.wait().await?;
    /// assert!(manager.forget(&id));
    /// assert!(manager.status(&id).is_none());
    /// # Ok(()) }
    /// ```
    pub fn forget(&self, proc_id: &ProcId) -> bool {
        self.registry.forget(proc_id)
    }

    /// Handles of every proc that is not known to have ended.
    pub(crate) fn live_handles(&self) -> Vec<BootstrapProcHandle> {
        self.registry.live()
    }
}

impl BootstrapProcManagerBuilder {
    /// The manager.
    pub fn build(self) -> BootstrapProcManager {
        let registry = Arc::new(Registry::with_retention(self.retention()));
        let launcher = self.into_launcher();
        let weak = Arc::downgrade(&registry);
        launcher.on_end(EndHook(Arc::new(move |proc_id: &ProcId| {
            if let Some(registry) = weak.upgrade() {
                registry.note_ended(proc_id);
            }
        })));
        BootstrapProcManager { registry, launcher }
    }
}

impl fmt::Debug for BootstrapProcManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootstrapProcManager")
            .field("command", self.launcher.command())
            .field("options", self.launcher.options())
            .field("socket_dir", &self.launcher.runtime_dir())
            .field("live_groups", &self.launcher.table().len())
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
        let reservation = self.registry.reserve(&proc_id)?;
        let handle = self.launcher.launch(proc_id, backend_addr, config).await?;
        reservation.fulfil(handle.clone());
        Ok(handle)
    }

    fn handle(&self, proc_id: &ProcId) -> Option<BootstrapProcHandle> {
        self.registry.get(proc_id)
    }

    fn proc_ids(&self) -> Vec<ProcId> {
        self.registry.ids()
    }
}

impl Drop for BootstrapProcManager {
    /// SIGKILLs every live group and, with cgroups, every process of every
    /// proc; then (as the launcher drops) removes the runtime dir and the
    /// cgroups (waiting, bounded, for them to empty) and ends the guardian.
    fn drop(&mut self) {
        self.launcher.kill_all();
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
