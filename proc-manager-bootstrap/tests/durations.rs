//! Every `Duration` is valid input: `Duration::MAX` means no deadline and
//! `ZERO` means now, in the ready timeout (manager-wide and per proc),
//! `terminate` and `terminate_all`; `max_in_flight == 0` is taken as 1.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapProcConfig, BootstrapProcManager, BulkTerminate, ProcHandle, ProcManager, ProcStatus,
};
use support::*;

#[tokio::test]
async fn a_ready_timeout_of_max_is_no_deadline() {
    let manager = BootstrapProcManager::builder(sh("echo up; exec sleep 300"))
        .ready_timeout(Duration::MAX)
        .build();
    let handle = manager.spawn(id("patient"), backend()).await.unwrap();
    let config = BootstrapProcConfig::default().ready_timeout(Duration::MAX);
    let other = manager
        .spawn_with(id("patient-too"), backend(), config)
        .await
        .unwrap();
    let not_yet = tokio::time::timeout(Duration::from_millis(200), handle.wait()).await;
    assert!(not_yet.is_err(), "no callback, no deadline: still running");
    for h in [handle, other] {
        let status = within(SHOULD, "kill", h.kill()).await.unwrap();
        assert!(
            matches!(status, ProcStatus::Killed { signal: 9, .. }),
            "{status}"
        );
    }
}

#[tokio::test]
async fn a_ready_timeout_of_zero_fails_at_once() {
    let manager = BootstrapProcManager::builder(sh("exec sleep 300"))
        .ready_timeout(Duration::ZERO)
        .build();
    let handle = manager.spawn(id("hasty"), backend()).await.unwrap();
    let status = wait_end(&handle).await;
    assert!(matches!(status, ProcStatus::Failed { .. }), "{status}");
}

#[tokio::test]
async fn terminate_with_max_waits_for_the_polite_stop_and_zero_kills_now() {
    let polite_manager = manager("exec sleep 300");
    let polite = polite_manager.spawn(id("polite"), backend()).await.unwrap();
    let status = within(
        SHOULD,
        "terminate(MAX)",
        polite.terminate(Duration::MAX, "x"),
    )
    .await
    .unwrap();
    assert!(
        matches!(status, ProcStatus::Killed { signal: 15, .. }),
        "{status}"
    );

    let (stubborn, sink) = watched("trap '' TERM; echo armed; sleep 300 & wait");
    let mut lines = sink.subscribe();
    let handle = stubborn.spawn(id("stubborn"), backend()).await.unwrap();
    wait_line(&mut lines, "stubborn", "armed").await;
    let status = within(
        SHOULD,
        "terminate(ZERO)",
        handle.terminate(Duration::ZERO, "x"),
    )
    .await
    .unwrap();
    assert!(
        matches!(status, ProcStatus::Killed { signal: 9, .. }),
        "{status}"
    );
}

#[tokio::test]
async fn terminate_all_takes_max_zero_and_no_concurrency() {
    let manager = manager("exec sleep 300");
    for i in 0..3 {
        manager
            .spawn(
                proc_manager_bootstrap::ProcId::ranked("all", i).unwrap(),
                backend(),
            )
            .await
            .unwrap();
    }
    let summary = within(
        SHOULD,
        "terminate_all(MAX, 0)",
        manager.terminate_all(Duration::MAX, 0),
    )
    .await;
    assert_eq!((summary.attempted, summary.ok), (3, 3), "{summary}");

    for i in 3..5 {
        manager
            .spawn(
                proc_manager_bootstrap::ProcId::ranked("all", i).unwrap(),
                backend(),
            )
            .await
            .unwrap();
    }
    let summary = within(
        SHOULD,
        "terminate_all(ZERO, 0)",
        manager.terminate_all(Duration::ZERO, 0),
    )
    .await;
    assert_eq!((summary.attempted, summary.ok), (2, 2), "{summary}");
}
