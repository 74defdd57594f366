//! Stopping one local proc: polite terminate, abort at the deadline, kill,
//! races between them, and calls on a proc that already ended.

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use common::{
    Live, bounded, count, counter, counting_calls, exits_with, id, killed, start, stopped,
};
use proc_manager_local::{
    ChannelAddr, LocalContext, LocalProcManager, ProcHandle, ProcManager, ProcStatus, ReadyError,
    TerminateError,
};
use tokio::time::Instant;

/// How far past its timeout a terminate may return on a loaded machine.
const MARGIN: Duration = Duration::from_secs(2);

/// A proc that never reports ready, ends with 0 when asked to stop.
fn polite_unready() -> LocalProcManager {
    LocalProcManager::new(|ctx: LocalContext| async move {
        ctx.shutdown_requested().await;
        Ok::<i32, String>(0)
    })
}

/// A proc that reports ready and ignores the stop request; `live` counts
/// its futures.
fn stubborn(live: Arc<AtomicUsize>) -> LocalProcManager {
    LocalProcManager::new(move |ctx: LocalContext| {
        let live = Live::new(&live);
        async move {
            let _live = live;
            ctx.ready(ChannelAddr::Local(1))
                .await
                .map_err(|e| e.to_string())?;
            std::future::pending::<()>().await;
            Ok::<i32, String>(0)
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_ready_proc_stops_politely() {
    let manager = polite_unready();
    let handle = start(&manager, "unready").await;
    let ready = tokio::spawn({
        let handle = handle.clone();
        async move { handle.ready().await }
    });
    let status = bounded(handle.terminate(Duration::from_secs(20), "bye"))
        .await
        .unwrap();
    assert_eq!(status, stopped(0));
    match bounded(ready).await.unwrap() {
        Err(ReadyError::Terminal { status, .. }) => assert_eq!(status, stopped(0)),
        other => panic!("expected terminal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proc_ignoring_shutdown_is_killed_at_the_deadline() {
    let live = counter();
    let manager = stubborn(live.clone());
    let handle = start(&manager, "stubborn").await;
    bounded(handle.ready()).await.unwrap();
    assert_eq!(count(&live), 1);

    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let status = bounded(handle.terminate(timeout, "deadline test"))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(status, killed());
    assert!(
        elapsed >= timeout,
        "returned before the deadline: {elapsed:?}"
    );
    assert!(elapsed < timeout + MARGIN, "took {elapsed:?}");
    // Killed is published only once the proc's future is gone.
    assert_eq!(count(&live), 0);
    assert_eq!(handle.status(), killed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_aborts_at_once() {
    let live = counter();
    let manager = stubborn(live.clone());
    let handle = start(&manager, "victim").await;
    bounded(handle.ready()).await.unwrap();
    let started = Instant::now();
    assert_eq!(bounded(handle.kill()).await.unwrap(), killed());
    assert!(started.elapsed() < MARGIN);
    assert_eq!(count(&live), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn kill_before_the_first_poll_still_reports_killed() {
    let (manager, calls) = counting_calls();
    // On a current-thread runtime the task cannot run before we yield.
    let handle = start(&manager, "early").await;
    assert_eq!(bounded(handle.kill()).await.unwrap(), killed());
    assert_eq!(count(&calls), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_terminate_kill_and_wait_agree() {
    // On shutdown the proc yields a few times before returning, so the abort
    // and the normal end race; either may win, but all callers agree.
    let manager = LocalProcManager::new(|ctx: LocalContext| async move {
        ctx.ready(ChannelAddr::Local(1))
            .await
            .map_err(|e| e.to_string())?;
        ctx.shutdown_requested().await;
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        Ok::<i32, String>(0)
    });
    for round in 0..50 {
        let handle = manager
            .spawn(id(&format!("race{round}")), ChannelAddr::Local(1))
            .await
            .unwrap();
        bounded(handle.ready()).await.unwrap();
        let (t1, k, w, t2) = bounded(async {
            tokio::join!(
                handle.terminate(Duration::from_secs(20), "a"),
                handle.kill(),
                handle.wait(),
                handle.terminate(Duration::from_millis(1), "b"),
            )
        })
        .await;
        let expected = w.unwrap();
        assert!(expected == stopped(0) || expected == killed(), "{expected}");
        for result in [t1, k, t2] {
            let status = match result {
                Ok(status) | Err(TerminateError::AlreadyTerminated { status, .. }) => status,
                Err(other) => panic!("unexpected error {other}"),
            };
            assert_eq!(status, expected);
        }
        assert_eq!(handle.status(), expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_calls_on_an_ended_proc_are_already_terminated() {
    let manager = exits_with(5);
    let handle = start(&manager, "done").await;
    assert_eq!(bounded(handle.wait()).await.unwrap(), stopped(5));

    for result in [
        bounded(handle.terminate(Duration::from_secs(1), "late")).await,
        bounded(handle.kill()).await,
    ] {
        match result {
            Err(TerminateError::AlreadyTerminated { proc_id, status }) => {
                assert_eq!(proc_id, id("done"));
                assert_eq!(status, stopped(5));
            }
            other => panic!("expected AlreadyTerminated, got {other:?}"),
        }
    }
    // Still many waiters, none consuming the status.
    assert_eq!(bounded(handle.wait()).await.unwrap(), stopped(5));
    assert!(matches!(handle.status(), ProcStatus::Stopped { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_after_kill_is_already_terminated() {
    let live = counter();
    let manager = stubborn(live.clone());
    let handle = start(&manager, "twice").await;
    assert_eq!(bounded(handle.kill()).await.unwrap(), killed());
    let err = bounded(handle.terminate(Duration::from_secs(1), "again"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(&killed()));
    assert!(err.to_string().contains("twice"), "{err}");
}
