//! Checks of a proc's life without anyone stopping it early: spawn →
//! running → ready, `ready()` on a proc that never gets there, many
//! waiters, and the order a `watch` subscriber sees.

use proc_manager_core::{ProcHandle, ProcManager, ProcStatus, ReadyError};
use tokio::sync::watch;

use super::POLITE_TIMEOUT;
use crate::conformance::path::check_observed_path;
use crate::conformance::runner::{Ctx, SHOULD, Step, ensure, entry, fail, process_exists, within};
use crate::conformance::target::{Behavior, ConformanceTarget};

entry! {
    /// `spawn` returns a handle whose status is `Running` or later (never
    /// `Starting`), with the id asked for; `ready()` then gives an address of
    /// the manager's transport, the status becomes `Ready` with that address,
    /// and a second `ready()` gives the same address. With OS processes, the pid
    /// is known and that process exists.
    check_spawn_running_ready => spawn_running_ready
}

async fn spawn_running_ready<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let id = cx.fresh_id();
    let handle = cx.spawn_as(id.clone(), Behavior::ReadyThenServe).await?;
    ensure!(
        handle.proc_id() == &id,
        "expected the handle's proc_id() to be {id}, saw {}",
        handle.proc_id()
    );
    let first = handle.status();
    ensure!(
        matches!(first, ProcStatus::Running { .. } | ProcStatus::Ready { .. }),
        "expected the status right after spawn returned to be Running or Ready, saw {first:?}"
    );
    if cx.caps.os_processes {
        let Some(pid) = handle.pid() else {
            fail!("expected pid() of a running OS process to be Some, saw None (status {first:?})");
        };
        ensure!(
            process_exists(pid),
            "expected process {pid} of running proc {id} to exist; kill(pid, 0) says it does not"
        );
    }
    let addr = cx.ready(&handle).await?;
    let transport = cx.manager.transport();
    ensure!(
        addr.transport() == transport,
        "expected ready() to give an address of the manager's transport {transport}, saw {addr}"
    );
    let status = handle.status();
    ensure!(
        status.is_ready() && status.addr() == Some(&addr),
        "expected status Ready at {addr} after ready() returned it, saw {status:?}"
    );
    ensure!(
        handle.addr().as_ref() == Some(&addr),
        "expected addr() to be Some({addr}), saw {:?}",
        handle.addr()
    );
    let again = cx.ready(&handle).await?;
    ensure!(
        again == addr,
        "expected a second ready() to give the same address {addr}, saw {again}"
    );
    let via_manager = cx.manager.status(&id);
    ensure!(
        via_manager.as_ref().is_some_and(ProcStatus::is_ready),
        "expected manager.status({id}) to be Ready, saw {via_manager:?}"
    );
    Ok(())
}

entry! {
    /// A proc that exits (code 3) before it is ready: `ready()` gives
    /// `ReadyError::Terminal` carrying `Stopped { exit_code: 3 }`, the same
    /// status `wait()` gives.
    check_ready_on_early_exit => ready_on_early_exit
}

async fn ready_on_early_exit<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let behavior = Behavior::ExitBeforeReady {
        code: 3,
        after_ms: 200,
    };
    let handle = cx.spawn(behavior).await?;
    let id = handle.proc_id().clone();
    let status = match within(SHOULD, format!("ready() of {id}"), handle.ready()).await? {
        Err(ReadyError::Terminal { status, .. }) => status,
        Ok(addr) => fail!(
            "expected ready() of a proc that exits before it is ready to give ReadyError::Terminal, it gave Ok({addr})"
        ),
        Err(err) => fail!(
            "expected ready() of a proc that exits before it is ready to give ReadyError::Terminal, it gave {err:?}"
        ),
    };
    ensure!(
        matches!(status, ProcStatus::Stopped { exit_code: 3, .. }),
        "expected the terminal status in ReadyError::Terminal to be Stopped {{ exit_code: 3 }}, saw {status:?}"
    );
    let waited = cx.wait(&handle).await?;
    ensure!(
        waited == status,
        "expected wait() to give the status ready() reported ({status:?}), saw {waited:?}"
    );
    Ok(())
}

entry! {
    /// A proc that writes three lines to stderr and exits with code 4 ends
    /// `Stopped { exit_code: 4 }` whose stderr tail ends with those lines,
    /// in order: the terminal status says why the proc ended.
    check_exit_carries_stderr_tail => exit_carries_stderr_tail
}

async fn exit_carries_stderr_tail<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let handle = cx
        .spawn(Behavior::WriteStderrThenExit { code: 4, lines: 3 })
        .await?;
    let status = cx.wait(&handle).await?;
    let ProcStatus::Stopped {
        exit_code: 4,
        stderr_tail,
    } = &status
    else {
        fail!(
            "expected a proc that exits with code 4 to end Stopped {{ exit_code: 4 }}, saw {status:?}"
        );
    };
    let expected = ["stderr line 1", "stderr line 2", "stderr line 3"];
    ensure!(
        stderr_tail.ends_with(&expected.map(String::from)),
        "expected the terminal status's stderr tail to end with {expected:?}, it was {stderr_tail:?}"
    );
    Ok(())
}

entry! {
    /// `ready()` callers waiting on a proc that never becomes ready all get
    /// `ReadyError::Terminal` with its terminal status once it is stopped.
    check_ready_waiter_sees_stop => ready_waiter_sees_stop
}

async fn ready_waiter_sees_stop<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let handle = cx.spawn(Behavior::NeverReady).await?;
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let handle = handle.clone();
            tokio::spawn(async move { handle.ready().await })
        })
        .collect();
    let before = handle.status();
    ensure!(
        before.is_alive() && !before.is_ready(),
        "expected a proc that never reports ready to be alive and not Ready, saw {before:?}"
    );
    let stopped = match within(
        SHOULD,
        "terminate() of a never-ready proc",
        handle.terminate(POLITE_TIMEOUT, "conformance"),
    )
    .await?
    {
        Ok(status) => status,
        Err(err) => {
            fail!("expected terminate() of a never-ready proc to succeed, got error: {err}")
        }
    };
    for waiter in waiters {
        match within(SHOULD, "a pending ready() to return after the stop", waiter).await? {
            Ok(Err(ReadyError::Terminal { status, .. })) if status == stopped => {}
            Ok(other) => fail!(
                "expected a pending ready() to give ReadyError::Terminal with {stopped:?} once the proc stopped, it gave {other:?}"
            ),
            Err(err) => fail!("a ready() task panicked: {err}"),
        }
    }
    Ok(())
}

entry! {
    /// Sixteen tasks wait on a proc that exits with code 5 after it is ready:
    /// all get the same `Stopped { exit_code: 5 }`, and a wait after the end,
    /// `status()` and `manager.status()` give it too (no waiter consumes it).
    check_wait_many => wait_many
}

async fn wait_many<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let handle = cx
        .spawn(Behavior::ExitAfterReady {
            code: 5,
            after_ms: 300,
        })
        .await?;
    let waiters: Vec<_> = (0..16)
        .map(|_| {
            let handle = handle.clone();
            tokio::spawn(async move { handle.wait().await })
        })
        .collect();
    let mut seen = Vec::new();
    for waiter in waiters {
        match within(SHOULD, "every wait() of a proc that exits", waiter).await? {
            Ok(Ok(status)) => seen.push(status),
            Ok(Err(err)) => {
                fail!("expected every wait() to give the terminal status, one gave error: {err}")
            }
            Err(err) => fail!("a wait() task panicked: {err}"),
        }
    }
    let first = seen[0].clone();
    ensure!(
        matches!(first, ProcStatus::Stopped { exit_code: 5, .. }),
        "expected a proc that exits with code 5 to end Stopped {{ exit_code: 5 }}, saw {first:?}"
    );
    if let Some(odd) = seen.iter().find(|s| **s != first) {
        fail!("expected all 16 waiters to see the same terminal status {first:?}, one saw {odd:?}");
    }
    let late = cx.wait(&handle).await?;
    ensure!(
        late == first,
        "expected a wait() after the end to give {first:?}, saw {late:?}"
    );
    ensure!(
        handle.status() == first,
        "expected status() after the end to be {first:?}, saw {:?}",
        handle.status()
    );
    let via_manager = cx.manager.status(handle.proc_id());
    ensure!(
        via_manager.as_ref() == Some(&first),
        "expected manager.status() of an ended proc to stay {first:?}, saw {via_manager:?}"
    );
    Ok(())
}

entry! {
    /// Statuses seen by `watch()` subscribers form a legal path (each
    /// consecutive pair reachable under `can_transition_to`; a subscriber may
    /// skip statuses, never reorder them) ending in the terminal status, and
    /// nothing follows it. Checked for a proc stopped politely and one killed.
    check_watch_ordering => watch_ordering
}

async fn watch_ordering<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    for polite in [true, false] {
        let behavior = if polite {
            Behavior::ReadyThenServe
        } else {
            Behavior::ReadyThenIgnoreStop
        };
        let handle = cx.spawn(behavior).await?;
        let eager = collect(handle.watch());
        let mut lazy = handle.watch();
        cx.ready(&handle).await?;
        let stop = if polite {
            handle.terminate(POLITE_TIMEOUT, "conformance").await
        } else {
            handle.kill().await
        };
        let terminal = match stop {
            Ok(status) => status,
            Err(err) => fail!(
                "expected the stop of {} to succeed, got error: {err}",
                handle.proc_id()
            ),
        };
        let seen = match within(
            SHOULD,
            "the watch subscriber to see the terminal status",
            eager,
        )
        .await?
        {
            Ok(seen) => seen,
            Err(err) => fail!("the watch subscriber task failed: {err}"),
        };
        observed_path_ok(&seen, &terminal)?;
        lazy.borrow_and_update();
        let last = lazy.borrow().clone();
        ensure!(
            last == terminal,
            "expected a subscriber that read only at the end to see {terminal:?}, saw {last:?}"
        );
        check_not_left(&handle, &terminal)?;
    }
    Ok(())
}

fn collect(mut rx: watch::Receiver<ProcStatus>) -> tokio::task::JoinHandle<Vec<ProcStatus>> {
    tokio::spawn(async move {
        let mut seen = vec![rx.borrow_and_update().clone()];
        while !seen.last().is_some_and(ProcStatus::is_exit) {
            if rx.changed().await.is_err() {
                break;
            }
            seen.push(rx.borrow_and_update().clone());
        }
        seen
    })
}

fn observed_path_ok(seen: &[ProcStatus], terminal: &ProcStatus) -> Step {
    if let Err(broken) = check_observed_path(seen) {
        fail!(
            "expected the watched statuses to form a legal path; {broken} (whole sequence: {seen:?})"
        );
    }
    ensure!(
        seen.last() == Some(terminal),
        "expected the watched sequence to end with the terminal status {terminal:?}, it was {seen:?}"
    );
    ensure!(
        !matches!(seen.first(), Some(ProcStatus::Starting)),
        "expected a subscriber taken after spawn returned to start at Running or later, it started at Starting"
    );
    Ok(())
}

fn check_not_left<H: ProcHandle>(handle: &H, terminal: &ProcStatus) -> Step {
    let mut rx = handle.watch();
    let now = rx.borrow_and_update().clone();
    ensure!(
        &now == terminal && handle.status() == *terminal,
        "expected the status to stay {terminal:?} after the end, saw {now:?}"
    );
    Ok(())
}
