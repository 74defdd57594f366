//! [`ProcHandle`]: what a caller holds for one proc, and
//! [`ProcHandleExt`], the conveniences built on it.
//!
//! Spawning and lookup are on [`crate::ProcManager`]; the status rules are in
//! [`crate::status`].

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::addr::ChannelAddr;
use crate::cell;
use crate::error::{ReadyError, TerminateError, WaitError};
use crate::id::ProcId;
use crate::status::ProcStatus;

/// A handle to one proc. Cheap to clone; every clone sees the same proc.
///
/// A handle whose status lives in a [`crate::StatusCell`] implements
/// [`crate::CellHandle`] instead and gets this trait from it; any other
/// implements this trait directly.
///
/// # Contract
///
/// - `status()` is a snapshot; `watch()` sees every later status in order
///   (a slow receiver may skip some, never reorder them). Terminal statuses
///   are absorbing.
/// - `ready()` resolves with the address once the proc is `Ready`, or with
///   [`ReadyError::Terminal`] once it has ended without being ready.
/// - `wait()` resolves with the terminal status. Any number of tasks may wait;
///   none consumes the status.
/// - `terminate(timeout, reason)` asks the proc to stop at once and forces it
///   when `timeout` runs out; it returns the terminal status within `timeout`
///   plus a small, backend-documented bound.
/// - `kill()` forces the proc to stop at once and returns its terminal status.
/// - Both are idempotent and race-safe: concurrent callers all see the one
///   terminal status. A call on a proc that had already ended returns
///   [`TerminateError::AlreadyTerminated`] carrying that status.
///
/// ```
/// use std::time::Duration;
/// use proc_manager_core::{ProcHandle, ProcStatus};
///
/// async fn stop_politely<H: ProcHandle>(handle: &H) -> ProcStatus {
///     match handle.terminate(Duration::from_secs(5), "shutting down").await {
///         Ok(status) => status,
///         Err(err) => err.status().cloned().unwrap_or_else(|| handle.status()),
///     }
/// }
/// ```
#[async_trait]
pub trait ProcHandle: Clone + Send + Sync + 'static {
    /// The proc's id.
    fn proc_id(&self) -> &ProcId;

    /// A snapshot of the proc's status.
    fn status(&self) -> ProcStatus;

    /// A receiver of the proc's status changes.
    fn watch(&self) -> watch::Receiver<ProcStatus>;

    /// The OS pid while the proc is alive and one is known.
    fn pid(&self) -> Option<u32> {
        self.status().pid()
    }

    /// The serving address while the proc is `Ready`.
    fn addr(&self) -> Option<ChannelAddr> {
        self.status().addr().cloned()
    }

    /// Waits until the proc is ready and returns its address.
    async fn ready(&self) -> Result<ChannelAddr, ReadyError> {
        cell::wait_ready(self.proc_id(), self.watch()).await
    }

    /// Waits until the proc has ended and returns its terminal status.
    async fn wait(&self) -> Result<ProcStatus, WaitError> {
        cell::wait_terminal(self.proc_id(), self.watch()).await
    }

    /// Asks the proc to stop, forcing it after `timeout`.
    async fn terminate(
        &self,
        timeout: Duration,
        reason: &str,
    ) -> Result<ProcStatus, TerminateError>;

    /// Forces the proc to stop now.
    async fn kill(&self) -> Result<ProcStatus, TerminateError>;
}

/// Conveniences for every [`ProcHandle`], with one implementation for all.
///
/// ```
/// use std::time::Duration;
/// use proc_manager_core::{ProcHandle, ProcHandleExt, ReadyError};
///
/// async fn connect_soon<H: ProcHandle>(handle: &H) -> Result<(), ReadyError> {
///     let addr = handle.ready_within(Duration::from_secs(10)).await?;
///     println!("{} serves at {addr}", handle.proc_id());
///     Ok(())
/// }
/// ```
#[async_trait]
pub trait ProcHandleExt: ProcHandle {
    /// [`ProcHandle::ready`] with a deadline ([`ReadyError::Timeout`]).
    async fn ready_within(&self, timeout: Duration) -> Result<ChannelAddr, ReadyError> {
        match tokio::time::timeout(timeout, self.ready()).await {
            Ok(result) => result,
            Err(_) => Err(ReadyError::Timeout {
                proc_id: self.proc_id().clone(),
                timeout,
            }),
        }
    }

    /// [`ProcHandle::wait`] with a deadline ([`WaitError::Timeout`]).
    async fn wait_within(&self, timeout: Duration) -> Result<ProcStatus, WaitError> {
        match tokio::time::timeout(timeout, self.wait()).await {
            Ok(result) => result,
            Err(_) => Err(WaitError::Timeout {
                proc_id: self.proc_id().clone(),
                timeout,
            }),
        }
    }

    /// Stops the proc and returns its terminal status whether this call
    /// stopped it or it had already ended.
    async fn stop(&self, timeout: Duration, reason: &str) -> Result<ProcStatus, TerminateError> {
        match self.terminate(timeout, reason).await {
            Err(TerminateError::AlreadyTerminated { status, .. }) => Ok(status),
            other => other,
        }
    }
}

impl<H: ProcHandle> ProcHandleExt for H {}
