//! `terminate` and `kill`: polite request at once (stop message on the
//! control channel when the child holds one, else SIGTERM to the group),
//! SIGKILL at the deadline, bounded return, idempotent and race-safe,
//! `AlreadyTerminated` on a proc that had ended.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use proc_manager_bootstrap::protocol::{ManagerFrame, read_frame};
use proc_manager_bootstrap::{
    BootstrapProcManager, ProcHandle, ProcManager, ProcStatus, TerminateError,
};
use support::*;
use tokio::io::BufReader;

/// Exits 9 on SIGTERM (the trap runs once `wait` is interrupted).
/// Both print `armed` once the trap is set.
const TRAPS_TERM: &str = "trap 'exit 9' TERM; echo armed; sleep 1000 & wait";
/// Ignores SIGTERM (inherited by `sleep`).
const IGNORES_TERM: &str = "trap '' TERM; echo armed; exec sleep 1000";

/// Spawns `name` running `script` and waits until it printed `armed`.
async fn armed(
    builder: proc_manager_bootstrap::BootstrapProcManagerBuilder,
    name: &str,
) -> (
    BootstrapProcManager,
    proc_manager_bootstrap::BootstrapProcHandle,
) {
    let (manager, sink) = watched_with(builder);
    let mut rx = sink.subscribe();
    let handle = manager.spawn(id(name), backend()).await.unwrap();
    wait_line(&mut rx, name, "armed").await;
    (manager, handle)
}

/// Terminates a `TRAPS_TERM` child: it must have got SIGTERM (exit 9).
async fn assert_trap_ran_on_terminate(handle: &proc_manager_bootstrap::BootstrapProcHandle) {
    let stopping = handle.terminate(Duration::from_secs(15), "bye");
    let status = within(SHOULD, "terminate", stopping).await.unwrap();
    assert!(
        matches!(status, ProcStatus::Stopped { exit_code: 9, .. }),
        "{status}"
    );
}

fn builder(script: &str) -> proc_manager_bootstrap::BootstrapProcManagerBuilder {
    BootstrapProcManager::builder(sh(script)).ready_timeout(Duration::from_secs(60))
}

#[tokio::test]
async fn terminate_without_control_channel_sends_sigterm_to_the_group() {
    let (_manager, handle) = armed(builder(TRAPS_TERM), "polite").await;
    assert_trap_ran_on_terminate(&handle).await;
}

#[tokio::test]
async fn child_ignoring_sigterm_is_killed_at_the_deadline_within_bound() {
    let (_manager, handle) = armed(builder(IGNORES_TERM), "stubborn").await;
    let pid = handle.pid().unwrap();
    let timeout = Duration::from_millis(800);
    let start = Instant::now();
    let status = within(SHOULD, "terminate", handle.terminate(timeout, "bye"))
        .await
        .unwrap();
    let elapsed = start.elapsed();
    assert!(
        matches!(status, ProcStatus::Killed { signal: 9, .. }),
        "{status}"
    );
    assert!(
        elapsed >= timeout,
        "killed before the deadline: {elapsed:?}"
    );
    // Never 2 x timeout (margin for a loaded machine).
    assert!(elapsed < timeout * 2, "took {elapsed:?}");
    assert!(!alive(pid));
}

#[tokio::test]
async fn stop_message_goes_on_the_control_channel_instead_of_sigterm() {
    let (_manager, handle) = armed(builder(TRAPS_TERM), "control").await;
    let env = child_env(handle.pid().unwrap());
    let control = hello(&env, &env.token, "unix:/tmp/c.sock").await;
    within(SHOULD, "ready", handle.ready()).await.unwrap();
    let terminating = tokio::spawn({
        let handle = handle.clone();
        async move {
            handle
                .terminate(Duration::from_millis(700), "maintenance")
                .await
        }
    });
    let mut reader = BufReader::new(control);
    let mut buf = Vec::new();
    let frame: Option<ManagerFrame> =
        within(SHOULD, "stop frame", read_frame(&mut reader, &mut buf))
            .await
            .unwrap();
    assert_eq!(
        frame,
        Some(ManagerFrame::Stop {
            reason: "maintenance".into()
        })
    );
    // Had SIGTERM been sent too, the trap would exit 9 (Stopped); the child
    // ignores the message, so the deadline SIGKILL ends it.
    let status = within(SHOULD, "terminate", terminating)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(status, ProcStatus::Killed { signal: 9, .. }),
        "{status}"
    );
}

#[tokio::test]
async fn closed_control_channel_falls_back_to_sigterm() {
    let (_manager, handle) = armed(builder(TRAPS_TERM), "closed").await;
    let env = child_env(handle.pid().unwrap());
    let control = hello(&env, &env.token, "unix:/tmp/c.sock").await;
    within(SHOULD, "ready", handle.ready()).await.unwrap();
    drop(control);
    assert_trap_ran_on_terminate(&handle).await;
}

#[tokio::test]
async fn kill_is_sigkill_at_once() {
    let (_manager, handle) = armed(builder(IGNORES_TERM), "kill").await;
    let status = within(SHOULD, "kill", handle.kill()).await.unwrap();
    assert!(
        matches!(
            status,
            ProcStatus::Killed {
                signal: 9,
                core_dumped: false,
                ..
            }
        ),
        "{status}"
    );
}

#[tokio::test]
async fn concurrent_terminate_and_kill_all_see_the_one_terminal_status() {
    let (_manager, handle) = armed(builder(IGNORES_TERM), "race").await;
    let mut calls = Vec::new();
    for i in 0..6 {
        let handle = handle.clone();
        calls.push(tokio::spawn(async move {
            if i % 3 == 0 {
                handle.kill().await
            } else {
                handle
                    .terminate(Duration::from_millis(300 * i), "race")
                    .await
            }
        }));
    }
    let mut statuses = Vec::new();
    for call in calls {
        match within(SHOULD, "stop", call).await.unwrap() {
            Ok(status) => statuses.push(status),
            // A call that started after the end sees the same status.
            Err(TerminateError::AlreadyTerminated { status, .. }) => statuses.push(status),
            Err(other) => panic!("{other}"),
        }
    }
    let first = statuses[0].clone();
    assert!(
        matches!(first, ProcStatus::Killed { signal: 9, .. }),
        "{first}"
    );
    assert!(statuses.iter().all(|s| *s == first), "{statuses:?}");
}

#[tokio::test]
async fn stopping_an_ended_proc_is_already_terminated_with_its_status() {
    let manager = manager("echo last >&2; exit 3");
    let handle = manager.spawn(id("ended"), backend()).await.unwrap();
    let status = wait_end(&handle).await;
    for result in [
        handle.terminate(Duration::from_secs(1), "late").await,
        handle.kill().await,
    ] {
        match result {
            Err(TerminateError::AlreadyTerminated { status: s, proc_id }) => {
                assert_eq!(s, status);
                assert_eq!(proc_id, id("ended"));
            }
            other => panic!("expected AlreadyTerminated, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn terminate_marks_stopping_before_the_end() {
    let (_manager, handle) = armed(builder(IGNORES_TERM), "stopping").await;
    let mut rx = handle.watch();
    let call = tokio::spawn({
        let handle = handle.clone();
        async move { handle.terminate(Duration::from_millis(500), "x").await }
    });
    let seen = within(
        SHOULD,
        "stopping",
        rx.wait_for(|s| !matches!(s, ProcStatus::Running { .. })),
    )
    .await
    .unwrap()
    .clone();
    assert!(seen.is_stopping(), "{seen}");
    assert_eq!(seen.pid(), handle.pid().or(seen.pid()));
    within(SHOULD, "terminate", call).await.unwrap().unwrap();
}
