//! The task that runs one local proc: it calls the user's proc function,
//! turns its outcome (a code, an error, a panic — caught and mapped by
//! core's [`WorkerOutcome`], as on every backend — or being dropped by an
//! abort) into the terminal status, and is the only writer of that status.
//!
//! Spawning bookkeeping (ids, the proc table) is in [`crate::manager`].

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use proc_manager_core::{BoxError, ProcStatus, WorkerOutcome};
use tokio::runtime::Handle;
use tokio::task::AbortHandle;
use tracing::Instrument;

use crate::context::LocalContext;
use crate::output::lock;
use crate::shared::ProcShared;

/// The signal number reported for an aborted proc, as if it had been
/// SIGKILLed.
pub(crate) const SIGKILL: i32 = 9;

/// Starts a proc's task on a runtime; the proc function's type is erased
/// here so the manager is not generic.
pub(crate) type Launch = dyn Fn(&Handle, LocalContext, ExitGuard) -> AbortHandle + Send + Sync;

/// Wraps a proc function into a [`Launch`]. One task per proc, no boxing of
/// the proc's future.
pub(crate) fn launcher<F, Fut, E>(f: F) -> Box<Launch>
where
    F: Fn(LocalContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<i32, E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    let f = Arc::new(f);
    Box::new(move |runtime, ctx, guard| {
        let span = guard.shared.span.clone();
        runtime
            .spawn(run(f.clone(), ctx, guard).instrument(span))
            .abort_handle()
    })
}

/// The proc's whole life. `guard` is captured before the first poll, so a
/// task aborted before it ever ran still reports `Killed`.
async fn run<F, Fut, E>(f: Arc<F>, ctx: LocalContext, guard: ExitGuard)
where
    F: Fn(LocalContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<i32, E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    // The call itself is inside the catch too: a panic before the first
    // await is still the proc's panic, not the manager's.
    let status = WorkerOutcome::catch(|| f(ctx))
        .await
        .into_status(Vec::new());
    guard.conclude(status);
}

/// Publishes the proc's terminal status exactly once: the outcome when the
/// proc function returns, `Killed` when the task is dropped first (an abort,
/// the manager's drop, the runtime shutting down).
#[derive(Debug)]
pub(crate) struct ExitGuard {
    shared: Arc<ProcShared>,
    done: bool,
}

impl ExitGuard {
    pub(crate) fn new(shared: Arc<ProcShared>) -> Self {
        Self {
            shared,
            done: false,
        }
    }

    fn conclude(mut self, status: ProcStatus) {
        self.done = true;
        publish(&self.shared, status);
    }
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        if !self.done {
            publish(
                &self.shared,
                ProcStatus::Killed {
                    signal: SIGKILL,
                    core_dumped: false,
                    stderr_tail: Vec::new(),
                },
            );
        }
    }
}

/// Ends the proc's output (sinks are told before anyone can see the
/// terminal status, so a file sink is flushed by then) and publishes
/// `status` with the stderr tail.
fn publish(shared: &ProcShared, mut status: ProcStatus) {
    let tail = lock(&shared.output).close();
    for sink in &shared.log.sinks {
        // A panicking sink must not keep the proc from ending.
        let finish = std::panic::catch_unwind(AssertUnwindSafe(|| {
            sink.finish(shared.cell.proc_id());
        }));
        if finish.is_err() {
            tracing::warn!(parent: &shared.span, "a log sink panicked in finish");
        }
    }
    match &mut status {
        ProcStatus::Stopped { stderr_tail, .. }
        | ProcStatus::Killed { stderr_tail, .. }
        | ProcStatus::Failed { stderr_tail, .. } => *stderr_tail = tail,
        _ => {}
    }
    tracing::debug!(parent: &shared.span, %status, "proc ended");
    // Only this guard writes a terminal status, so the cell is live here; the
    // check keeps a refusal from being logged as an illegal transition.
    let _ = shared
        .cell
        .transition_with(|current| current.is_alive().then_some(status));
    // The task is ending: let its memory go with it.
    drop(shared.task().take());
    shared.ended.push(shared.cell.proc_id());
}
