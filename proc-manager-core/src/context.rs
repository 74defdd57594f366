//! [`ProcContext`]: what a proc's code is given, the same trait on every
//! backend, so one worker function runs as a child process and as an
//! in-process task unchanged; and [`ContextError`], what its calls can fail
//! with.
//!
//! Why a proc was asked to stop is [`crate::ShutdownReason`]; where its log
//! lines go is [`crate::ProcLog`]; how its end becomes a status is
//! [`crate::WorkerOutcome`]. The implementations live in the backends.

use std::future::Future;
use std::io;

use crate::addr::ChannelAddr;
use crate::id::ProcId;
use crate::proc_log::ProcLog;
use crate::shutdown::ShutdownReason;

/// What a proc's code is given by its backend: who it is, where to send its
/// traffic, its config, how to report ready, how to learn that a stop was
/// asked for, and where to write its output.
///
/// Write a worker once against this trait and run it on any backend: as a
/// real child process (`proc_manager_bootstrap::child::bootstrap(worker)`)
/// or as a task of the current process
/// (`proc_manager_local::LocalProcManager::new(worker)`).
///
/// ```
/// use proc_manager_core::{ChannelAddr, ChannelTransport, ProcContext};
///
/// async fn worker(ctx: impl ProcContext) -> Result<i32, String> {
///     let port = ctx.config().and_then(|c| c["port"].as_u64()).unwrap_or(0);
///     // Bind what the proc serves on (here: nothing), then say so.
///     let addr = ChannelAddr::any(ChannelTransport::Local);
///     ctx.ready(addr).await.map_err(|e| e.to_string())?;
///     ctx.log().stdout(format!("{} serving (port {port})", ctx.proc_id()));
///     let reason = ctx.shutdown_requested().await;
///     ctx.log().info(format!("stopping: {reason}"));
///     if port == 0 {
///         return Err("no port configured".into()); // the status: Failed { reason }
///     }
///     Ok(0) // the status: Stopped { exit_code: 0 }
/// }
/// ```
///
/// # Contract
///
/// - [`proc_id`](Self::proc_id), [`backend_addr`](Self::backend_addr) and
///   [`config`](Self::config) are what the spawn was given; they never
///   change.
/// - [`ready`](Self::ready) reports the address the proc serves on: the
///   proc's status becomes `Ready { addr }` (unless a stop was already asked
///   for: a stopping proc never becomes ready, and the call still succeeds).
///   A second successful call fails with [`ContextError::AlreadyReady`].
/// - [`shutdown_requested`](Self::shutdown_requested) resolves once a polite
///   stop has been asked for (at once if one already was), with the same
///   [`ShutdownReason`] for every caller; the future borrows nothing, so it
///   can be moved into another task. A proc that ignores it is forced at the
///   stop's deadline.
/// - [`is_shutdown_requested`](Self::is_shutdown_requested) is that, without
///   waiting.
/// - [`log`](Self::log) writes stdout/stderr lines and structured records
///   that reach the manager's log sinks (and the stderr tail of the final
///   status). Logging never blocks for long and never fails the proc.
/// - The worker's result is the proc's status on every backend: `Ok(code)`
///   is `Stopped { exit_code: code }`, `Err(e)` is
///   `Failed { reason: e.to_string() }`, and a panic is
///   `Failed { reason: "panicked: <message>" }` (see
///   [`crate::WorkerOutcome`]).
pub trait ProcContext: Send + Sync + 'static {
    /// The proc's id.
    fn proc_id(&self) -> &ProcId;

    /// The address the proc sends its outbound traffic to.
    fn backend_addr(&self) -> &ChannelAddr;

    /// The config given at spawn, if any.
    fn config(&self) -> Option<&serde_json::Value>;

    /// Reports that the proc serves on `addr`: its status becomes `Ready`.
    fn ready(&self, addr: ChannelAddr) -> impl Future<Output = Result<(), ContextError>> + Send;

    /// Resolves once a polite stop has been asked for, with why.
    fn shutdown_requested(&self) -> impl Future<Output = ShutdownReason> + Send + 'static;

    /// Whether a polite stop has been asked for (never waits).
    fn is_shutdown_requested(&self) -> bool;

    /// A writer for the proc's output lines and structured records.
    fn log(&self) -> ProcLog;
}

/// A [`ProcContext`] call failed.
///
/// ```
/// use proc_manager_core::{ContextError, ProcId};
///
/// let err = ContextError::AlreadyReady { proc_id: ProcId::new("w")? };
/// assert_eq!(err.to_string(), "proc w: ready() was already called");
/// # Ok::<(), proc_manager_core::ProcIdError>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// `ready` already succeeded once; the address is reported once.
    #[error("proc {proc_id}: ready() was already called")]
    AlreadyReady {
        /// The proc.
        proc_id: ProcId,
    },
    /// The manager could not be told (it is unreachable or gone).
    #[error("proc {proc_id}: cannot reach the manager at {manager}: {source}")]
    Unreachable {
        /// The proc.
        proc_id: ProcId,
        /// The manager's address the proc tried.
        manager: ChannelAddr,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::sync::watch;

    use super::*;
    use crate::log::LogStream;
    use crate::outcome::WorkerOutcome;
    use crate::proc_log::ProcLogTarget;
    use crate::status::ProcStatus;

    /// A hand-written context: enough to show the trait is implementable
    /// and a generic worker runs against it.
    struct FakeContext {
        id: ProcId,
        backend: ChannelAddr,
        ready: Mutex<Option<ChannelAddr>>,
        stop: watch::Sender<Option<ShutdownReason>>,
        lines: Arc<Lines>,
    }

    #[derive(Debug, Default)]
    struct Lines(Mutex<Vec<String>>);

    impl ProcLogTarget for Lines {
        fn write(&self, stream: LogStream, text: &[u8]) {
            let text = String::from_utf8_lossy(text);
            self.0
                .lock()
                .expect("lines")
                .push(format!("{stream}: {text}"));
        }
        fn record(&self, level: &str, message: &str) {
            let text = crate::ProcLog::record_text(level, message);
            self.0.lock().expect("lines").push(text);
        }
    }

    impl ProcContext for FakeContext {
        fn proc_id(&self) -> &ProcId {
            &self.id
        }
        fn backend_addr(&self) -> &ChannelAddr {
            &self.backend
        }
        fn config(&self) -> Option<&serde_json::Value> {
            None
        }
        async fn ready(&self, addr: ChannelAddr) -> Result<(), ContextError> {
            let mut slot = self.ready.lock().expect("ready");
            if slot.is_some() {
                return Err(ContextError::AlreadyReady {
                    proc_id: self.id.clone(),
                });
            }
            *slot = Some(addr);
            Ok(())
        }
        fn shutdown_requested(&self) -> impl Future<Output = ShutdownReason> + Send + 'static {
            let mut rx = self.stop.subscribe();
            async move {
                match rx.wait_for(Option::is_some).await {
                    Ok(reason) => reason.clone().unwrap_or(ShutdownReason::ManagerGone),
                    Err(_) => ShutdownReason::ManagerGone,
                }
            }
        }
        fn is_shutdown_requested(&self) -> bool {
            self.stop.borrow().is_some()
        }
        fn log(&self) -> ProcLog {
            ProcLog::new(self.lines.clone())
        }
    }

    async fn worker(ctx: impl ProcContext) -> Result<i32, String> {
        ctx.ready(ChannelAddr::Local(9))
            .await
            .map_err(|e| e.to_string())?;
        let again = ctx.ready(ChannelAddr::Local(9)).await;
        ctx.log().stderr(format!("again: {}", again.is_err()));
        let reason = ctx.shutdown_requested().await;
        ctx.log().info(reason.to_string());
        Err(format!("{} gave up", ctx.proc_id()))
    }

    #[tokio::test]
    async fn a_generic_worker_runs_against_any_context() {
        let lines = Arc::new(Lines::default());
        let ctx = FakeContext {
            id: ProcId::new("w").expect("valid"),
            backend: ChannelAddr::Local(1),
            ready: Mutex::new(None),
            stop: watch::Sender::new(None),
            lines: lines.clone(),
        };
        ctx.stop.send_replace(Some(ShutdownReason::Stop {
            reason: "bye".into(),
        }));
        assert!(ctx.is_shutdown_requested());
        let outcome = WorkerOutcome::catch(|| worker(ctx)).await;
        assert_eq!(
            outcome.into_status(vec![]),
            ProcStatus::Failed {
                reason: "w gave up".into(),
                stderr_tail: vec![]
            }
        );
        assert_eq!(
            *lines.0.lock().expect("lines"),
            [
                "stderr: again: true",
                "info: stop requested by the manager: bye"
            ]
        );
    }
}
