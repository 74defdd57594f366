//! [`ShProcManager`]: spawns sh procs, keeps them by id, and stops them all
//! with one deadline.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use proc_manager_core::{
    BulkTerminate, ChannelAddr, ChannelTransport, ProcHandle, ProcId, ProcManager, SpawnError,
    TerminateError, TerminateSummary,
};
use tokio::time::Instant;

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

#[async_trait]
impl BulkTerminate for ShProcManager {
    async fn terminate_all(&self, timeout: Duration, max_in_flight: usize) -> TerminateSummary {
        let started = Instant::now();
        let deadline = started + timeout;
        let live = self.live();
        let stops = futures::stream::iter(live.iter().cloned())
            .map(|handle| async move {
                let result = handle.stop_until(deadline, "terminate_all").await;
                (handle, result)
            })
            .buffer_unordered(max_in_flight.max(1))
            .collect::<Vec<_>>();
        let mut stops = pin!(stops);
        // One deadline for the whole call: whatever is alive then is killed
        // at once, including procs whose stop has not started yet.
        let results = tokio::select! {
            results = &mut stops => results,
            () = tokio::time::sleep_until(deadline) => {
                for handle in live.iter().filter(|h| h.status().is_alive()) {
                    handle.signal_kill();
                }
                stops.await
            }
        };
        let mut summary = TerminateSummary::new(live.len(), 0, 0, 0);
        for (handle, result) in results {
            match result {
                Ok(status) | Err(TerminateError::AlreadyTerminated { status, .. })
                    if status.is_exit() =>
                {
                    if handle.was_forced() {
                        summary.killed += 1;
                    } else {
                        summary.polite += 1;
                    }
                }
                Ok(status) => fail(
                    &mut summary,
                    &handle,
                    format!("ended in non-terminal {status}"),
                ),
                Err(err) => fail(&mut summary, &handle, err.to_string()),
            }
        }
        summary.ok = summary.polite + summary.killed;
        summary.elapsed = started.elapsed();
        summary
    }
}

fn fail(summary: &mut TerminateSummary, handle: &ShProcHandle, why: String) {
    summary.failed += 1;
    summary.failures.push((handle.proc_id().clone(), why));
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
