//! The one bulk-stop algorithm, [`terminate_all`]: every backend's
//! [`BulkTerminate`](crate::BulkTerminate) calls it with its live handles.
//!
//! It needs nothing from a backend but [`ProcHandle::terminate`] and
//! [`ProcHandle::kill`], so a third-party backend gets the same deadline,
//! concurrency cap and counting as the first-party ones by writing those two.
//! The trait and its contract are [`crate::BulkTerminate`].

use std::future::Future;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use crate::cell_handle::CellHandle;
use crate::error::TerminateError;
use crate::handle::ProcHandle;
use crate::id::ProcId;
use crate::manager::TerminateSummary;
use crate::status::ProcStatus;

/// How long [`terminate_all`] waits, after calling `kill()` on the procs
/// still alive at the deadline, for them to end before it counts them as
/// failed. Only a proc the OS cannot kill (a process in uninterruptible
/// sleep, a local task that blocks its thread) takes that long.
pub const AFTER_KILL_BOUND: Duration = Duration::from_secs(5);

/// The reason given to every polite stop.
const REASON: &str = "terminate_all";

/// Stops every proc of `handles` still alive when the call starts, with at
/// most `max_in_flight` stop operations at a time (`0` is taken as `1`) and
/// one deadline, `timeout` from now, for the whole call.
///
/// 1. **Polite phase.** Procs are asked in order with
///    [`ProcHandle::terminate`], each given only the time left until the
///    deadline. A slot frees when its proc has ended; a proc whose
///    `terminate` fails while it is still alive is killed at once (that is
///    its stop operation). A proc that ended before its turn just gets
///    `AlreadyTerminated` from its `terminate`.
/// 2. **Sweep at the deadline.** The polite operations still pending are
///    dropped (the check is made before they are polled again, so a
///    handle's own escalation never runs first) and every proc still alive,
///    asked or not yet asked, gets [`ProcHandle::kill`], all at once.
/// 3. **Bounded wait.** Procs not ended [`AFTER_KILL_BOUND`] after that are
///    failures, as are those whose `kill` failed while they were still alive.
///
/// So the call returns within `timeout` plus [`AFTER_KILL_BOUND`] (and the
/// cost of the kill calls) whatever the number of procs and `max_in_flight`.
/// `Duration::MAX` (or any timeout too large to represent) is no deadline:
/// every proc gets `terminate(Duration::MAX, …)` and the call waits for them
/// all. `Duration::ZERO` kills everything at once, asking nobody.
///
/// # Counting
///
/// `attempted` is the number of procs alive when the call starts; each ends
/// in exactly one of `polite`, `killed` and `failed`, with
/// `ok == polite + killed`. **`killed` counts the procs this call had to
/// force: those on which it called `kill()` (at the deadline, or after their
/// polite stop failed) and whose `kill()` returned their terminal status.**
/// Every other proc that ended is `polite`, whatever its terminal status
/// (a proc that dies of SIGTERM is polite; one that its backend stopped
/// early is polite too, since it ended within its time). A `kill()` that
/// answers [`TerminateError::AlreadyTerminated`] means the proc ended by
/// itself first: polite.
///
/// Futures of [`ProcHandle::terminate`] are dropped at the deadline, so a
/// handle's `terminate` must leave its proc killable when dropped (as any
/// cancel-safe future does).
///
/// ```
/// use std::time::Duration;
/// use proc_manager_core::{BulkTerminate, ProcHandle, TerminateSummary, async_trait, bulk_terminate};
///
/// /// A third-party manager: its handles implement `terminate` and `kill`.
/// struct MyManager<H> {
///     procs: std::sync::Mutex<Vec<H>>,
/// }
///
/// #[async_trait]
/// impl<H: ProcHandle> BulkTerminate for MyManager<H> {
///     async fn terminate_all(&self, timeout: Duration, max_in_flight: usize) -> TerminateSummary {
///         let handles = self.procs.lock().expect("not poisoned").clone();
///         bulk_terminate::terminate_all(handles, timeout, max_in_flight).await
///     }
/// }
/// ```
pub async fn terminate_all<H, I>(
    handles: I,
    timeout: Duration,
    max_in_flight: usize,
) -> TerminateSummary
where
    H: ProcHandle,
    I: IntoIterator<Item = H>,
{
    run(handles.into_iter().map(ViaHandle), timeout, max_in_flight).await
}

/// [`terminate_all`] for handles that implement [`CellHandle`]: the same
/// algorithm and counting, calling [`CellHandle::terminate_proc`] and
/// [`CellHandle::kill_proc`] directly, so no stop costs a boxed future (with
/// thousands of procs, that allocation is a good part of the call's cost).
///
/// ```
/// use std::time::Duration;
/// use proc_manager_core::{CellHandle, TerminateSummary, bulk_terminate};
///
/// async fn stop_all<H: CellHandle>(handles: Vec<H>) -> TerminateSummary {
///     bulk_terminate::terminate_all_cells(handles, Duration::from_secs(5), 64).await
/// }
/// ```
pub async fn terminate_all_cells<H, I>(
    handles: I,
    timeout: Duration,
    max_in_flight: usize,
) -> TerminateSummary
where
    H: CellHandle,
    I: IntoIterator<Item = H>,
{
    run(handles.into_iter().map(ViaCell), timeout, max_in_flight).await
}

/// What the algorithm needs of a proc, whichever way the handle came in.
trait Stoppable: Send + Sync {
    fn proc_id(&self) -> &ProcId;
    /// Whether it has ended (a terminal status).
    fn has_ended(&self) -> bool;
    fn terminate(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<ProcStatus, TerminateError>> + Send;
    fn kill(&self) -> impl Future<Output = Result<ProcStatus, TerminateError>> + Send;
}

/// A handle stopped through [`ProcHandle`].
struct ViaHandle<H>(H);

impl<H: ProcHandle> Stoppable for ViaHandle<H> {
    fn proc_id(&self) -> &ProcId {
        self.0.proc_id()
    }

    fn has_ended(&self) -> bool {
        self.0.status().is_exit()
    }

    fn terminate(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<ProcStatus, TerminateError>> + Send {
        self.0.terminate(timeout, REASON)
    }

    fn kill(&self) -> impl Future<Output = Result<ProcStatus, TerminateError>> + Send {
        self.0.kill()
    }
}

/// A handle stopped through [`CellHandle`], without boxing.
struct ViaCell<H>(H);

impl<H: CellHandle> Stoppable for ViaCell<H> {
    fn proc_id(&self) -> &ProcId {
        ProcHandle::proc_id(&self.0)
    }

    fn has_ended(&self) -> bool {
        // No copy of the status: this runs for every proc, several times.
        self.0.cell().inspect(ProcStatus::is_exit)
    }

    fn terminate(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<ProcStatus, TerminateError>> + Send {
        self.0.terminate_proc(timeout, REASON)
    }

    fn kill(&self) -> impl Future<Output = Result<ProcStatus, TerminateError>> + Send {
        self.0.kill_proc()
    }
}

/// The algorithm, for both entry points.
async fn run<S, I>(handles: I, timeout: Duration, max_in_flight: usize) -> TerminateSummary
where
    S: Stoppable,
    I: Iterator<Item = S>,
{
    let started = Instant::now();
    // A deadline too far away to represent is no deadline.
    let deadline = started.checked_add(timeout);
    let live: Vec<S> = handles.filter(|handle| !handle.has_ended()).collect();
    let cap = max_in_flight.max(1);
    tracing::debug!(procs = live.len(), ?timeout, max_in_flight, "terminate_all");

    let mut ends: Vec<End> = live.iter().map(|_| End::Pending).collect();
    let polite = polite_phase(&live, deadline, cap, &mut ends);
    match deadline {
        None => polite.await,
        Some(deadline) => {
            tokio::select! {
                // Checked first: at the deadline no pending polite stop is
                // polled again, so none escalates on its own before the sweep.
                biased;
                () = tokio::time::sleep_until(deadline) => {}
                () = polite => {}
            }
        }
    }
    sweep(&live, &mut ends).await;

    let mut summary = TerminateSummary::new(live.len(), 0, 0, 0);
    for (handle, end) in live.iter().zip(ends) {
        match end {
            End::Polite => summary.polite += 1,
            End::Killed => summary.killed += 1,
            End::Failed(reason) => {
                tracing::warn!(proc_id = %handle.proc_id(), %reason, "terminate_all failed to stop a proc");
                summary.failures.push((handle.proc_id().clone(), reason));
            }
            // The sweep leaves none pending.
            End::Pending => {
                let reason = "not stopped".to_owned();
                summary.failures.push((handle.proc_id().clone(), reason));
            }
        }
    }
    summary.ok = summary.polite + summary.killed;
    summary.failed = summary.failures.len();
    summary.elapsed = started.elapsed();
    tracing::debug!(%summary, "terminate_all done");
    summary
}

/// How one proc's stop ended, as far as this call knows.
#[derive(Debug)]
enum End {
    /// Not ended yet (or not known to have).
    Pending,
    /// Ended without being forced by this call.
    Polite,
    /// Ended after this call's `kill()`.
    Killed,
    /// Still alive; why.
    Failed(String),
}

/// Asks the procs in order, at most `cap` stop operations at a time, each
/// given the time left until `deadline`; records each finished one in
/// `ends`. Returns once every proc had its turn and its operation finished,
/// or once the deadline has come and the operations in flight finished
/// (the caller's sweep deals with the rest).
async fn polite_phase<S: Stoppable>(
    live: &[S],
    deadline: Option<Instant>,
    cap: usize,
    ends: &mut [End],
) {
    let mut queue = live.iter().enumerate();
    let mut in_flight = FuturesUnordered::new();
    let mut expired = false;
    loop {
        // One clock read per refill: the stops started together get the
        // same remaining time.
        let remaining = match deadline {
            None => Duration::MAX,
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
        };
        while !expired && in_flight.len() < cap {
            let Some((i, handle)) = queue.next() else {
                break;
            };
            if remaining.is_zero() {
                // Nobody is asked at or after the deadline: the sweep forces
                // this proc and every one after it.
                expired = true;
                break;
            }
            in_flight.push(async move { (i, stop_politely(handle, remaining).await) });
        }
        match in_flight.next().await {
            Some((i, end)) => ends[i] = end,
            None => return,
        }
    }
}

/// One polite stop operation: `terminate`, and `kill` at once if that
/// failed while the proc is still alive.
async fn stop_politely<S: Stoppable>(handle: &S, timeout: Duration) -> End {
    let why = match handle.terminate(timeout).await {
        Ok(status) if status.is_exit() => return End::Polite,
        Err(TerminateError::AlreadyTerminated { .. }) => return End::Polite,
        Ok(status) => format!("terminate returned the live status {status}"),
        Err(err) => format!("terminate failed: {err}"),
    };
    // Boxed: the rare path stays out of every polite operation's future.
    Box::pin(after_failed_terminate(handle, why)).await
}

/// A proc whose `terminate` failed: polite if it has ended anyway, else
/// killed at once (bounded by [`AFTER_KILL_BOUND`]).
async fn after_failed_terminate<S: Stoppable>(handle: &S, why: String) -> End {
    if handle.has_ended() {
        return End::Polite;
    }
    tracing::debug!(proc_id = %handle.proc_id(), %why, "polite stop failed; killing");
    match tokio::time::timeout(AFTER_KILL_BOUND, force(handle)).await {
        Ok(end) => with_cause(end, &why),
        Err(_) => not_ended(handle, &why),
    }
}

/// `kill()`, and how it ended.
async fn force<S: Stoppable>(handle: &S) -> End {
    let why = match handle.kill().await {
        Ok(status) if status.is_exit() => return End::Killed,
        Err(TerminateError::AlreadyTerminated { .. }) => return End::Polite,
        Ok(status) => format!("kill returned the live status {status}"),
        Err(err) => format!("kill failed: {err}"),
    };
    // Whatever kill said, a proc that has ended did end after it.
    if handle.has_ended() {
        End::Killed
    } else {
        End::Failed(why)
    }
}

/// The end of a proc still pending [`AFTER_KILL_BOUND`] after its kill.
fn not_ended<S: Stoppable>(handle: &S, cause: &str) -> End {
    if handle.has_ended() {
        End::Killed
    } else {
        let why = format!("still alive {AFTER_KILL_BOUND:?} after kill");
        with_cause(End::Failed(why), cause)
    }
}

/// Adds what went wrong first to a failure's reason.
fn with_cause(end: End, cause: &str) -> End {
    match end {
        End::Failed(why) if !cause.is_empty() => End::Failed(format!("{cause}; then {why}")),
        other => other,
    }
}

/// At the deadline (or once the polite phase is over): `kill()` every proc
/// still pending and alive, all at once, and wait for them at most
/// [`AFTER_KILL_BOUND`].
async fn sweep<S: Stoppable>(live: &[S], ends: &mut [End]) {
    let mut kills = FuturesUnordered::new();
    for (i, (handle, end)) in live.iter().zip(ends.iter_mut()).enumerate() {
        if !matches!(end, End::Pending) {
            continue;
        }
        if handle.has_ended() {
            *end = End::Polite;
        } else {
            kills.push(async move { (i, force(handle).await) });
        }
    }
    if kills.is_empty() {
        return;
    }
    tracing::debug!(procs = kills.len(), "terminate_all deadline: killing");
    let collect = async {
        while let Some((i, end)) = kills.next().await {
            ends[i] = end;
        }
    };
    if tokio::time::timeout(AFTER_KILL_BOUND, collect)
        .await
        .is_err()
    {
        for (handle, end) in live.iter().zip(ends.iter_mut()) {
            if matches!(end, End::Pending) {
                *end = not_ended(handle, "");
            }
        }
    }
}

#[cfg(test)]
mod tests;
