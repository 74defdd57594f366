//! [`ShProcManager`]: spawns sh procs, keeps them by id, and stops them all
//! with one deadline.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use proc_manager_core::{
    BulkTerminate, ChannelAddr, ChannelTransport, ProcHandle, ProcId, ProcManager, SpawnError,
    TerminateSummary, bulk_terminate,
};

use super::config::ShConfig;
use super::handle::ShProcHandle;
use super::process;

/// Runs each proc as `sh -c <script>`; see the [module docs](super).
///
/// Dropping the manager SIGKILLs every live proc's process group.
#[derive(Debug)]
pub struct ShProcManager {
    shell: String,
    transport: ChannelTransport,
    procs: Mutex<HashMap<ProcId, ShProcHandle>>,
}

impl Default for ShProcManager {
    fn default() -> Self {
        Self::new()
    }
}

impl ShProcManager {
    /// A manager running `/bin/sh`, whose procs serve on Unix sockets.
    pub fn new() -> Self {
        Self::with_transport(ChannelTransport::Unix)
    }

    /// A manager whose procs are given (and must report) addresses of
    /// `transport`.
    pub fn with_transport(transport: ChannelTransport) -> Self {
        Self {
            shell: "/bin/sh".into(),
            transport,
            procs: Mutex::new(HashMap::new()),
        }
    }

    fn procs(&self) -> MutexGuard<'_, HashMap<ProcId, ShProcHandle>> {
        self.procs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live(&self) -> Vec<ShProcHandle> {
        self.procs()
            .values()
            .filter(|h| h.status().is_alive())
            .cloned()
            .collect()
    }
}

#[async_trait]
impl ProcManager for ShProcManager {
    type Handle = ShProcHandle;
    type Config = ShConfig;

    fn transport(&self) -> ChannelTransport {
        self.transport
    }

    async fn spawn_with(
        &self,
        proc_id: ProcId,
        backend_addr: ChannelAddr,
        config: ShConfig,
    ) -> Result<ShProcHandle, SpawnError> {
        // The table stays locked across the check and the insert, so two
        // racing spawns of one id cannot both succeed.
        let mut procs = self.procs();
        if procs.get(&proc_id).is_some_and(|h| h.status().is_alive()) {
            return Err(SpawnError::Duplicate { proc_id });
        }
        let serve_addr = ChannelAddr::any(self.transport);
        let proc = process::start(
            &self.shell,
            proc_id.clone(),
            &backend_addr,
            serve_addr,
            config,
        )
        .map_err(|source| SpawnError::BadCommand {
            proc_id: proc_id.clone(),
            program: self.shell.clone(),
            source,
        })?;
        let handle = ShProcHandle::new(proc);
        procs.insert(proc_id, handle.clone());
        Ok(handle)
    }

    fn handle(&self, proc_id: &ProcId) -> Option<ShProcHandle> {
        self.procs().get(proc_id).cloned()
    }

    fn proc_ids(&self) -> Vec<ProcId> {
        self.procs().keys().cloned().collect()
    }
}

/// Core's one bulk-stop algorithm over the live procs: a third-party
/// backend gets it by writing `terminate` and `kill`.
#[async_trait]
impl BulkTerminate for ShProcManager {
    async fn terminate_all(&self, timeout: Duration, max_in_flight: usize) -> TerminateSummary {
        bulk_terminate::terminate_all(self.live(), timeout, max_in_flight).await
    }
}

impl Drop for ShProcManager {
    fn drop(&mut self) {
        for handle in self.procs().values() {
            if handle.status().is_alive() {
                handle.signal_kill();
            }
        }
    }
}
