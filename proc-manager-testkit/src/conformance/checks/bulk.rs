//! Checks of [`proc_manager_core::BulkTerminate::terminate_all`]: the
//! summary's counts, one deadline for the whole call, and the cap on stop
//! operations in flight.

use std::time::{Duration, Instant};

use proc_manager_core::{ProcHandle, ProcStatus, TerminateSummary};

use super::stop::{bound_is_usable, forced};
use super::{DEADLINE, EARLY_SLACK, SLOW_STOP_MS};
use crate::conformance::runner::{Ctx, SHOULD, Step, ensure, entry, fail, within};
use crate::conformance::target::{Behavior, ConformanceTarget};

entry! {
    /// On a fresh manager `terminate_all` attempts nothing. With three
    /// cooperative procs, two stubborn ones and one that had already ended,
    /// `terminate_all(1.5s, 8)` attempts 5, stops 3 politely and kills 2, fails
    /// none, the counts add up (`attempted == ok + failed`,
    /// `ok == polite + killed`), it returns within the deadline plus the stop
    /// bound, and every proc ends as counted.
    check_terminate_all_counts => terminate_all_counts
}

async fn terminate_all_counts<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    bound_is_usable(&cx.caps)?;
    let empty = within(
        SHOULD,
        "terminate_all on a manager with no procs",
        cx.bulk()?.terminate_all(DEADLINE, 8),
    )
    .await?;
    ensure!(
        empty.attempted == 0 && empty.ok == 0 && empty.failed == 0,
        "expected terminate_all on a manager with no procs to attempt nothing, it reported {empty}"
    );
    let ended = cx
        .spawn(Behavior::ExitBeforeReady {
            code: 3,
            after_ms: 200,
        })
        .await?;
    cx.wait(&ended).await?;
    let mut polite = Vec::new();
    let mut stubborn = Vec::new();
    for _ in 0..3 {
        polite.push(cx.spawn(Behavior::ReadyThenServe).await?);
    }
    for _ in 0..2 {
        stubborn.push(cx.spawn(Behavior::ReadyThenIgnoreStop).await?);
    }
    for handle in polite.iter().chain(&stubborn) {
        cx.ready(handle).await?;
    }
    let summary = bounded_terminate_all(cx, 8).await?;
    counts_add_up(&summary)?;
    ensure!(
        summary.attempted == 5 && summary.ok == 5 && summary.failed == 0,
        "expected terminate_all over 5 live procs (and 1 already ended) to attempt 5, ok 5, fail 0; it reported {summary}"
    );
    ensure!(
        summary.polite == 3 && summary.killed == 2,
        "expected 3 procs stopped politely and 2 killed at the deadline, the summary says {} polite and {} killed",
        summary.polite,
        summary.killed
    );
    for handle in &polite {
        let status = handle.status();
        ensure!(
            matches!(status, ProcStatus::Stopped { exit_code: 0, .. }),
            "expected a cooperative proc to end Stopped {{ exit_code: 0 }} after terminate_all, saw {status:?}"
        );
    }
    for handle in &stubborn {
        forced(&cx.caps, &handle.status(), "terminate_all at its deadline")?;
    }
    Ok(())
}

entry! {
    /// Six procs that ignore the polite request with `max_in_flight = 2`: all
    /// are killed at the one deadline, so `terminate_all(1.5s, 2)` returns
    /// within the deadline plus the stop bound (not three deadlines), reporting
    /// 6 killed.
    check_terminate_all_single_deadline => terminate_all_single_deadline
}

async fn terminate_all_single_deadline<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    bound_is_usable(&cx.caps)?;
    cx.bulk()?;
    let mut stubborn = Vec::new();
    for _ in 0..6 {
        stubborn.push(cx.spawn(Behavior::ReadyThenIgnoreStop).await?);
    }
    for handle in &stubborn {
        cx.ready(handle).await?;
    }
    let summary = bounded_terminate_all(cx, 2).await?;
    counts_add_up(&summary)?;
    ensure!(
        summary.attempted == 6 && summary.killed == 6 && summary.failed == 0,
        "expected terminate_all over 6 procs that ignore the polite request to kill all 6 at the deadline; it reported {summary}"
    );
    for handle in &stubborn {
        forced(&cx.caps, &handle.status(), "terminate_all at its deadline")?;
    }
    Ok(())
}

entry! {
    /// Six procs that take 400 ms to stop, `max_in_flight = 2`, a generous
    /// deadline: all stop politely, at most 2 are ever `Stopping` at once as
    /// seen by `watch()`, and the call takes at least three rounds of 400 ms.
    check_terminate_all_concurrency_cap => terminate_all_concurrency_cap
}

async fn terminate_all_concurrency_cap<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    const N: usize = 6;
    const CAP: usize = 2;
    cx.bulk()?;
    let mut slow = Vec::new();
    for _ in 0..N {
        slow.push(
            cx.spawn(Behavior::ReadyThenSlowStop {
                delay_ms: SLOW_STOP_MS,
            })
            .await?,
        );
    }
    for handle in &slow {
        cx.ready(handle).await?;
    }
    let observers: Vec<_> = slow.iter().map(observe_stopping).collect();
    let summary = match within(
        SHOULD * 2,
        "terminate_all over slow-stopping procs",
        cx.bulk()?.terminate_all(SHOULD, CAP),
    )
    .await
    {
        Ok(summary) => summary,
        Err(verdict) => return Err(verdict),
    };
    let mut starts = Vec::new();
    for observer in observers {
        match within(SHOULD, "the status observers to see the end", observer).await? {
            Ok(start) => starts.extend(start),
            Err(err) => fail!("a status observer task panicked: {err}"),
        }
    }
    counts_add_up(&summary)?;
    ensure!(
        summary.attempted == N && summary.polite == N && summary.failed == 0,
        "expected terminate_all with a {SHOULD:?} deadline to stop all {N} slow-stopping procs politely; it reported {summary}"
    );
    let most = most_overlapping(&starts, Duration::from_millis(SLOW_STOP_MS) - OBSERVER_LAG);
    ensure!(
        most <= CAP,
        "expected at most max_in_flight = {CAP} procs Stopping at once; watch() observers saw {most} procs enter Stopping within {SLOW_STOP_MS} ms of each other, and each takes {SLOW_STOP_MS} ms to stop"
    );
    let rounds = Duration::from_millis(SLOW_STOP_MS) * (N / CAP) as u32;
    ensure!(
        summary.elapsed + EARLY_SLACK >= rounds,
        "expected {N} procs that take {SLOW_STOP_MS} ms to stop, {CAP} at a time, to take at least {rounds:?}; terminate_all reported {:?}, so more than {CAP} stops were in flight",
        summary.elapsed
    );
    Ok(())
}

/// Calls `terminate_all(DEADLINE, cap)` and checks it returned within the
/// deadline plus the stop bound, and not before the deadline.
async fn bounded_terminate_all<T: ConformanceTarget>(
    cx: &Ctx<'_, T>,
    cap: usize,
) -> Step<TerminateSummary> {
    let bulk = cx.bulk()?;
    let latest = DEADLINE + cx.caps.stop_bound;
    let started = Instant::now();
    let summary = within(
        DEADLINE * 4,
        format!("terminate_all({DEADLINE:?}, {cap}) to return (allowed: {latest:?})"),
        bulk.terminate_all(DEADLINE, cap),
    )
    .await?;
    let elapsed = started.elapsed();
    ensure!(
        elapsed <= latest,
        "expected terminate_all({DEADLINE:?}, max_in_flight = {cap}) to kill what ignores the polite request at its one deadline and return within {latest:?} (timeout + stop bound {:?}); it returned after {elapsed:?}: {summary}",
        cx.caps.stop_bound
    );
    ensure!(
        elapsed + EARLY_SLACK >= DEADLINE,
        "expected terminate_all({DEADLINE:?}) to give stubborn procs until the deadline; it returned after {elapsed:?}: {summary}"
    );
    Ok(summary)
}

fn counts_add_up(summary: &TerminateSummary) -> Step {
    ensure!(
        summary.attempted == summary.ok + summary.failed
            && summary.ok == summary.polite + summary.killed,
        "expected the summary's counts to add up (attempted == ok + failed, ok == polite + killed), it reported {summary}"
    );
    ensure!(
        summary.failures.len() == summary.failed,
        "expected one entry in failures per failed proc, saw {} entries for {} failed",
        summary.failures.len(),
        summary.failed
    );
    Ok(())
}

/// How late a `watch()` observer may see a status, at most, for the
/// concurrency estimate to stay a lower bound.
const OBSERVER_LAG: Duration = Duration::from_millis(100);

/// When this proc was first seen `Stopping` (`None` if an observer never
/// saw it in that state).
fn observe_stopping<H: ProcHandle>(handle: &H) -> tokio::task::JoinHandle<Option<Instant>> {
    let mut rx = handle.watch();
    tokio::spawn(async move {
        loop {
            let status = rx.borrow_and_update().clone();
            if status.is_stopping() {
                return Some(Instant::now());
            }
            if status.is_exit() || rx.changed().await.is_err() {
                return None;
            }
        }
    })
}

/// The most stops in flight at once, as a lower bound: a proc seen entering
/// `Stopping` at `t` takes `SLOW_STOP_MS` to stop, so it is surely still
/// stopping over `[t, t + span]` when `span` leaves room for observer lag.
fn most_overlapping(starts: &[Instant], span: Duration) -> usize {
    starts
        .iter()
        .map(|t| {
            starts
                .iter()
                .filter(|s| **s <= *t && *t < **s + span)
                .count()
        })
        .max()
        .unwrap_or(0)
}
