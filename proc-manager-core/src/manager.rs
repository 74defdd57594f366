//! [`ProcManager`] (spawn and look up procs) and the optional
//! [`BulkTerminate`] ability with its [`TerminateSummary`].
//!
//! The per-proc operations are on [`crate::ProcHandle`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::addr::{ChannelAddr, ChannelTransport};
use crate::error::SpawnError;
use crate::handle::ProcHandle;
use crate::id::ProcId;
use crate::status::ProcStatus;

/// Launches procs and keeps track of them.
///
/// # Contract
///
/// - `spawn` returns once the proc exists (status `Running` or later) or
///   fails with a [`SpawnError`] naming the proc. A failed spawn leaves
///   nothing behind.
/// - A live proc's id is unique: spawning it again fails with
///   [`SpawnError::Duplicate`] and leaves the first proc untouched.
/// - `status`, `handle` and `proc_ids` are synchronous snapshots and never
///   block on a proc. An unknown id gives `None`.
/// - Procs that ended stay visible (with their terminal status) until their
///   id is reused.
///
/// ```
/// use proc_manager_core::{ChannelAddr, ProcHandle, ProcId, ProcManager, SpawnError};
///
/// async fn start_world<M: ProcManager>(manager: &M, n: usize) -> Result<Vec<M::Handle>, SpawnError> {
///     let backend = ChannelAddr::any(manager.transport());
///     let mut handles = Vec::new();
///     for rank in 0..n {
///         let id = ProcId::ranked("world", rank).expect("valid name");
///         handles.push(manager.spawn(id, backend.clone()).await?);
///     }
///     Ok(handles)
/// }
/// ```
#[async_trait]
pub trait ProcManager: Send + Sync {
    /// The handle type of this backend.
    type Handle: ProcHandle;
    /// Per-spawn configuration.
    type Config: Default + Send;

    /// The transport procs of this backend serve on.
    fn transport(&self) -> ChannelTransport;

    /// Spawns a proc with the default config.
    async fn spawn(
        &self,
        proc_id: ProcId,
        backend_addr: ChannelAddr,
    ) -> Result<Self::Handle, SpawnError> {
        self.spawn_with(proc_id, backend_addr, Self::Config::default())
            .await
    }

    /// Spawns a proc with `config`.
    async fn spawn_with(
        &self,
        proc_id: ProcId,
        backend_addr: ChannelAddr,
        config: Self::Config,
    ) -> Result<Self::Handle, SpawnError>;

    /// The status of a proc this manager spawned.
    fn status(&self, proc_id: &ProcId) -> Option<ProcStatus> {
        self.handle(proc_id).map(|handle| handle.status())
    }

    /// The handle of a proc this manager spawned.
    fn handle(&self, proc_id: &ProcId) -> Option<Self::Handle>;

    /// The ids of every proc this manager knows, live or ended.
    fn proc_ids(&self) -> Vec<ProcId>;
}

/// Stops every live proc of a manager at once.
///
/// # Contract
///
/// - Every proc alive when the call starts is asked to stop at once (at most
///   `max_in_flight` stop operations are in flight; `0` is taken as `1`).
/// - `timeout` is one deadline for the whole call: whatever is still alive at
///   the deadline is forced, so the call returns within `timeout` plus a small
///   bound whatever the number of procs and `max_in_flight`.
/// - The summary's counts add up: `attempted == ok + failed`, and
///   `ok == polite + killed`; `killed` counts the procs the call had to
///   force (see [`crate::bulk_terminate::terminate_all`], which implements
///   this contract from `terminate` and `kill` alone: every first-party
///   backend calls it, and a third-party one can too).
///
/// ```
/// use std::time::Duration;
/// use proc_manager_core::BulkTerminate;
///
/// async fn shutdown(manager: &dyn BulkTerminate) {
///     let summary = manager.terminate_all(Duration::from_secs(2), 64).await;
///     assert_eq!(summary.attempted, summary.ok + summary.failed);
/// }
/// ```
#[async_trait]
pub trait BulkTerminate: Send + Sync {
    /// Stops every live proc; see the trait's contract.
    async fn terminate_all(&self, timeout: Duration, max_in_flight: usize) -> TerminateSummary;
}

/// What [`BulkTerminate::terminate_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TerminateSummary {
    /// Procs that were alive when the call started.
    pub attempted: usize,
    /// Procs that reached a terminal status.
    pub ok: usize,
    /// Procs whose stop failed (see `failures`).
    pub failed: usize,
    /// Of `ok`: procs that ended without being forced.
    pub polite: usize,
    /// Of `ok`: procs that had to be forced (at the deadline, or after
    /// their polite stop failed) and ended.
    pub killed: usize,
    /// How long the call took.
    pub elapsed: Duration,
    /// The procs that failed and why.
    pub failures: Vec<(ProcId, String)>,
}

impl TerminateSummary {
    /// A summary with the given counts (`failures` empty, `elapsed` zero).
    pub fn new(attempted: usize, polite: usize, killed: usize, failed: usize) -> Self {
        Self {
            attempted,
            ok: polite + killed,
            failed,
            polite,
            killed,
            elapsed: Duration::ZERO,
            failures: Vec::new(),
        }
    }
}

impl fmt::Display for TerminateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} attempted: {} ok ({} polite, {} killed), {} failed, in {:.3}s",
            self.attempted,
            self.ok,
            self.polite,
            self.killed,
            self.failed,
            self.elapsed.as_secs_f64()
        )
    }
}
