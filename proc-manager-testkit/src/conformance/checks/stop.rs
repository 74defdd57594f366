//! Checks of stopping one proc: polite terminate, terminate escalating at
//! the deadline, kill, concurrent and repeated stop calls, and stopping a
//! proc that had already ended.

use std::time::Instant;

use proc_manager_core::{ProcHandle, ProcStatus, TerminateError};

use super::{DEADLINE, EARLY_SLACK, POLITE_TIMEOUT, SIGKILL};
use crate::conformance::runner::{
    Ctx, HandleOf, SHOULD, Step, ensure, entry, fail, process_exists, within,
};
use crate::conformance::target::{Behavior, Capabilities, ConformanceTarget};

entry! {
    /// `terminate(10s)` on a proc that stops when asked gives
    /// `Stopped { exit_code: 0 }` as soon as it stopped (well before the
    /// deadline), and `status()`/`wait()` agree.
    check_terminate_polite => terminate_polite
}

async fn terminate_polite<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let handle = cx.spawn(Behavior::ReadyThenServe).await?;
    cx.ready(&handle).await?;
    let started = Instant::now();
    let status = match within(
        SHOULD,
        "terminate() of a cooperative proc",
        handle.terminate(POLITE_TIMEOUT, "conformance"),
    )
    .await?
    {
        Ok(status) => status,
        Err(err) => {
            fail!("expected terminate() of a cooperative proc to succeed, got error: {err}")
        }
    };
    let elapsed = started.elapsed();
    ensure!(
        matches!(status, ProcStatus::Stopped { exit_code: 0, .. }),
        "expected terminate() of a proc that exits 0 when asked to stop to give Stopped {{ exit_code: 0 }}, saw {status:?}"
    );
    ensure!(
        elapsed < POLITE_TIMEOUT / 2,
        "expected terminate({POLITE_TIMEOUT:?}) to return as soon as the cooperative proc stopped, it took {elapsed:?}"
    );
    agree(cx, &handle, &status).await
}

entry! {
    /// `terminate(1.5s)` on a proc that ignores the polite request forces it at
    /// the deadline: it returns `Killed` (by SIGKILL where signals are
    /// reported) no earlier than the deadline and no later than the deadline
    /// plus the backend's stop bound (never twice the timeout).
    check_terminate_escalates_at_deadline => terminate_escalates_at_deadline
}

async fn terminate_escalates_at_deadline<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    bound_is_usable(&cx.caps)?;
    let handle = cx.spawn(Behavior::ReadyThenIgnoreStop).await?;
    cx.ready(&handle).await?;
    let latest = DEADLINE + cx.caps.stop_bound;
    let started = Instant::now();
    let result = within(
        DEADLINE * 4,
        format!("terminate({DEADLINE:?}) of a proc that ignores the polite request to return (allowed: {latest:?})"),
        handle.terminate(DEADLINE, "conformance"),
    )
    .await?;
    let elapsed = started.elapsed();
    let status = match result {
        Ok(status) => status,
        Err(err) => fail!(
            "expected terminate() of a stubborn proc to force it and succeed, got error: {err}"
        ),
    };
    ensure!(
        elapsed <= latest,
        "expected terminate({DEADLINE:?}) on a proc that ignores the polite request to force it at the deadline and return within {latest:?} (timeout + stop bound {:?}); it returned after {elapsed:?}",
        cx.caps.stop_bound
    );
    ensure!(
        elapsed + EARLY_SLACK >= DEADLINE,
        "expected terminate({DEADLINE:?}) to give the proc until the deadline before forcing it; it returned after {elapsed:?} with {status:?}"
    );
    forced(&cx.caps, &status, "terminate() escalated at the deadline")?;
    agree(cx, &handle, &status).await
}

entry! {
    /// `kill()` on a proc that would stop politely still forces it: `Killed`
    /// (SIGKILL where signals are reported) within the stop bound; with OS
    /// processes, the process is gone (reaped) once the status is terminal.
    check_kill => kill
}

async fn kill<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let handle = cx.spawn(Behavior::ReadyThenServe).await?;
    cx.ready(&handle).await?;
    let pid = handle.pid();
    let started = Instant::now();
    let status = match within(SHOULD, "kill() to return", handle.kill()).await? {
        Ok(status) => status,
        Err(err) => fail!("expected kill() of a live proc to succeed, got error: {err}"),
    };
    let elapsed = started.elapsed();
    let bound = cx.caps.stop_bound;
    ensure!(
        elapsed <= bound,
        "expected kill() to return within the stop bound {bound:?}, it took {elapsed:?}"
    );
    forced(&cx.caps, &status, "kill()")?;
    if let (true, Some(pid)) = (cx.caps.os_processes, pid) {
        ensure!(
            !process_exists(pid),
            "expected process {pid} to be gone (reaped) once kill() returned {status:?}; it still exists"
        );
    }
    agree(cx, &handle, &status).await
}

entry! {
    /// Four `terminate`, four `kill` and four `wait` calls racing on one
    /// stubborn proc all see the one terminal status (`Ok` or
    /// `AlreadyTerminated` carrying it).
    check_concurrent_stop => concurrent_stop
}

async fn concurrent_stop<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let handle = cx.spawn(Behavior::ReadyThenIgnoreStop).await?;
    cx.ready(&handle).await?;
    let mut calls = Vec::new();
    for i in 0..12 {
        let handle = handle.clone();
        calls.push(tokio::spawn(async move {
            match i % 3 {
                0 => (
                    "terminate",
                    stop_result(handle.terminate(DEADLINE, "conformance").await),
                ),
                1 => ("kill", stop_result(handle.kill().await)),
                _ => ("wait", handle.wait().await.map_err(|err| err.to_string())),
            }
        }));
    }
    let mut seen: Vec<(&str, ProcStatus)> = Vec::new();
    for call in calls {
        match within(SHOULD, "every racing terminate/kill/wait call", call).await? {
            Ok((what, Ok(status))) => seen.push((what, status)),
            Ok((what, Err(err))) => fail!(
                "expected a racing {what}() to give the terminal status (Ok or AlreadyTerminated), it gave error: {err}"
            ),
            Err(err) => fail!("a racing call panicked: {err}"),
        }
    }
    let (_, first) = seen[0].clone();
    if let Some((what, odd)) = seen.iter().find(|(_, s)| *s != first) {
        fail!(
            "expected every racing call to see one terminal status {first:?}; a {what}() saw {odd:?}"
        );
    }
    ensure!(
        first.is_exit(),
        "expected racing stop calls to end the proc, they all returned {first:?}"
    );
    agree(cx, &handle, &first).await
}

entry! {
    /// Stopping twice: after `terminate` returned, `terminate` and `kill` again
    /// (also through the handle `manager.handle()` gives) return
    /// `AlreadyTerminated` carrying the same status.
    check_idempotent_stop => idempotent_stop
}

async fn idempotent_stop<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    use proc_manager_core::ProcManager;
    let handle = cx.spawn(Behavior::ReadyThenServe).await?;
    cx.ready(&handle).await?;
    let first = match within(
        SHOULD,
        "the first terminate()",
        handle.terminate(POLITE_TIMEOUT, "conformance"),
    )
    .await?
    {
        Ok(status) => status,
        Err(err) => fail!("expected the first terminate() to succeed, got error: {err}"),
    };
    let Some(looked_up) = cx.manager.handle(handle.proc_id()) else {
        fail!("expected manager.handle() of an ended proc to stay Some, saw None");
    };
    already(&handle, &first).await?;
    already(&looked_up, &first).await
}

entry! {
    /// A proc that ended on its own: `terminate` and `kill` return
    /// `AlreadyTerminated` carrying the status `wait()` gave.
    check_already_terminated => already_terminated
}

async fn already_terminated<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let handle = cx
        .spawn(Behavior::ExitBeforeReady {
            code: 3,
            after_ms: 200,
        })
        .await?;
    let status = cx.wait(&handle).await?;
    already(&handle, &status).await
}

async fn already<H: ProcHandle>(handle: &H, status: &ProcStatus) -> Step {
    for what in ["terminate", "kill"] {
        let result = if what == "kill" {
            within(SHOULD, "kill() of an ended proc", handle.kill()).await?
        } else {
            within(
                SHOULD,
                "terminate() of an ended proc",
                handle.terminate(DEADLINE, "conformance"),
            )
            .await?
        };
        match result {
            Err(TerminateError::AlreadyTerminated { status: seen, .. }) if seen == *status => {}
            other => fail!(
                "expected {what}() of a proc that had already ended to give AlreadyTerminated carrying {status:?}, it gave {other:?}"
            ),
        }
    }
    Ok(())
}

fn stop_result(result: Result<ProcStatus, TerminateError>) -> Result<ProcStatus, String> {
    match result {
        Ok(status) | Err(TerminateError::AlreadyTerminated { status, .. }) => Ok(status),
        Err(err) => Err(err.to_string()),
    }
}

/// A forced stop ends `Killed`, by SIGKILL where signals are reported.
pub(crate) fn forced(caps: &Capabilities, status: &ProcStatus, what: &str) -> Step {
    match status {
        ProcStatus::Killed { signal, .. } if !caps.signals || *signal == SIGKILL => Ok(()),
        other => fail!(
            "expected {what} to end the proc Killed{}, saw {other:?}",
            if caps.signals {
                " { signal: 9 (SIGKILL) }"
            } else {
                ""
            }
        ),
    }
}

/// The stop bound must leave "timeout + bound" under "2 × timeout".
pub(crate) fn bound_is_usable(caps: &Capabilities) -> Step {
    ensure!(
        caps.stop_bound < DEADLINE,
        "the target's declared stop bound {:?} is not below the {DEADLINE:?} timeout the suite uses: terminate could take 2 × timeout",
        caps.stop_bound
    );
    Ok(())
}

/// `status()`, `wait()` and `manager.status()` all give `status`.
async fn agree<T: ConformanceTarget>(
    cx: &Ctx<'_, T>,
    handle: &HandleOf<T>,
    status: &ProcStatus,
) -> Step {
    use proc_manager_core::ProcManager;
    let now = handle.status();
    ensure!(
        &now == status,
        "expected status() after the stop to be {status:?}, saw {now:?}"
    );
    let waited = cx.wait(handle).await?;
    ensure!(
        &waited == status,
        "expected wait() after the stop to give {status:?}, saw {waited:?}"
    );
    let via_manager = cx.manager.status(handle.proc_id());
    ensure!(
        via_manager.as_ref() == Some(status),
        "expected manager.status() after the stop to be {status:?}, saw {via_manager:?}"
    );
    Ok(())
}
