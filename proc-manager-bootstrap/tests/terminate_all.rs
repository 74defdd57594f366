//! `terminate_all`: one deadline for the whole call, at most
//! `max_in_flight` stop operations in flight, everything still alive at the
//! deadline SIGKILLed, and a summary whose counts add up.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use proc_manager_bootstrap::protocol::{ManagerFrame, read_frame};
use proc_manager_bootstrap::{
    BootstrapProcManager, BulkTerminate, ProcHandle, ProcManager, ProcStatus, TerminateSummary,
};
use support::*;
use tokio::io::BufReader;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_stubborn_procs_sixteen_in_flight_return_near_one_deadline() {
    let manager = BootstrapProcManager::builder(sh("trap '' TERM; exec sleep 1000"))
        .ready_timeout(Duration::from_secs(120))
        .build();
    let mut handles = Vec::new();
    for rank in 0..200 {
        let id = proc_manager_bootstrap::ProcId::ranked("stubborn", rank).unwrap();
        handles.push(manager.spawn(id, backend()).await.unwrap());
    }
    let timeout = Duration::from_millis(500);
    let start = Instant::now();
    let summary = within(SHOULD, "terminate_all", manager.terminate_all(timeout, 16)).await;
    let elapsed = start.elapsed();
    eprintln!("terminate_all of 200 stubborn procs, 16 in flight, 500 ms: {elapsed:?} ({summary})");
    assert_eq!(summary.attempted, 200);
    assert_eq!(summary.ok + summary.failed, summary.attempted);
    assert_eq!(summary.polite + summary.killed, summary.ok);
    assert_eq!(summary.failed, 0, "{:?}", summary.failures);
    // Not 200/16 x 500 ms: one deadline (margin for a loaded 2-core box).
    assert!(elapsed >= timeout, "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2500), "took {elapsed:?}");
    for handle in &handles {
        assert!(handle.status().is_exit(), "{}", handle.status());
    }
    assert_eq!(manager.live_groups(), 0);
}

/// (attempted, polite, killed, failed)
fn counts(summary: &TerminateSummary) -> (usize, usize, usize, usize) {
    (
        summary.attempted,
        summary.polite,
        summary.killed,
        summary.failed,
    )
}

#[tokio::test]
async fn summary_counts_polite_and_killed_and_skips_ended_procs() {
    let (polite, _) = watched("sleep 1000 & wait");
    let (stubborn, sink) = watched("trap '' TERM; echo armed; exec sleep 1000");
    let mut rx = sink.subscribe();
    let mut ended = Vec::new();
    for i in 0..3 {
        polite.spawn(id(&format!("p{i}")), backend()).await.unwrap();
    }
    for i in 0..2 {
        let name = format!("s{i}");
        stubborn.spawn(id(&name), backend()).await.unwrap();
        wait_line(&mut rx, &name, "armed").await;
    }
    let done = manager("exit 0");
    ended.push(done.spawn(id("done"), backend()).await.unwrap());
    wait_end(&ended[0]).await;

    let summary = within(
        SHOULD,
        "polite",
        polite.terminate_all(Duration::from_secs(15), 2),
    )
    .await;
    assert_eq!(counts(&summary), (3, 3, 0, 0));
    let summary = within(
        SHOULD,
        "stubborn",
        stubborn.terminate_all(Duration::from_millis(300), 8),
    )
    .await;
    assert_eq!(counts(&summary), (2, 0, 2, 0));
    let summary = within(
        SHOULD,
        "ended",
        done.terminate_all(Duration::from_millis(300), 8),
    )
    .await;
    assert_eq!(summary.attempted, 0);
}

#[tokio::test]
async fn at_most_max_in_flight_polite_requests_before_the_deadline() {
    // Children hold a control channel (the test plays them) and ignore both
    // the stop message and SIGTERM: every stop operation lasts until the
    // deadline, so only `max_in_flight` of them ever start.
    let (manager, sink) = watched_with(
        BootstrapProcManager::builder(sh("trap '' TERM; echo armed; exec sleep 1000"))
            .ready_timeout(Duration::from_secs(120)),
    );
    let mut rx = sink.subscribe();
    let mut controls = Vec::new();
    for i in 0..10 {
        let name = format!("c{i}");
        let handle = manager.spawn(id(&name), backend()).await.unwrap();
        wait_line(&mut rx, &name, "armed").await;
        let env = child_env(handle.pid().unwrap());
        controls.push(hello(&env, &env.token, "unix:/tmp/x.sock").await);
        within(SHOULD, "ready", handle.ready()).await.unwrap();
    }
    let readers = controls.into_iter().map(|control| {
        tokio::spawn(async move {
            let mut reader = BufReader::new(control);
            let mut buf = Vec::new();
            // A stop frame, or the end of the connection when killed.
            matches!(
                read_frame::<_, ManagerFrame>(&mut reader, &mut buf).await,
                Ok(Some(ManagerFrame::Stop { .. }))
            )
        })
    });
    let readers: Vec<_> = readers.collect();
    let summary = within(
        SHOULD,
        "terminate_all",
        manager.terminate_all(Duration::from_millis(600), 4),
    )
    .await;
    let mut asked = 0;
    for reader in readers {
        if within(SHOULD, "reader", reader).await.unwrap() {
            asked += 1;
        }
    }
    assert_eq!(asked, 4, "stop messages sent");
    assert_eq!(
        (summary.attempted, summary.killed, summary.failed),
        (10, 10, 0)
    );
    for id in manager.proc_ids() {
        assert!(matches!(
            manager.status(&id),
            Some(ProcStatus::Killed { signal: 9, .. })
        ));
    }
}
