//! How an OS exit maps to a terminal status: exit code, signal, core dump,
//! an exit before the call-back, each with the stderr tail.

#![allow(clippy::unwrap_used)]

mod support;

use proc_manager_bootstrap::{
    BootstrapProcManager, ProcHandle, ProcManager, ProcStatus, ReadyError,
};
use support::*;

#[tokio::test]
async fn exit_code_maps_to_stopped_with_stderr_tail() {
    let manager = manager("echo out; echo first >&2; echo second >&2; exit 42");
    let handle = manager.spawn(id("code"), backend()).await.unwrap();
    let status = wait_end(&handle).await;
    assert_eq!(
        status,
        ProcStatus::Stopped {
            exit_code: 42,
            stderr_tail: vec!["first".into(), "second".into()]
        }
    );
    assert_eq!(handle.stdout_tail(), vec!["out"]);
    assert_eq!(manager.status(&id("code")), Some(status));
    assert_eq!(manager.live_groups(), 0);
}

#[tokio::test]
async fn signal_maps_to_killed_with_stderr_tail() {
    let manager = manager("echo dying >&2; kill -KILL $$");
    let handle = manager.spawn(id("sig"), backend()).await.unwrap();
    assert_eq!(
        wait_end(&handle).await,
        ProcStatus::Killed {
            signal: 9,
            core_dumped: false,
            stderr_tail: vec!["dying".into()]
        }
    );
}

fn core_pattern_writes_files() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/core_pattern")
        .map(|p| !p.trim_start().starts_with('|'))
        .unwrap_or(false)
}

/// Runs `kill -ABRT $$` under `ulimit -c <limit>` and checks the status:
/// SIGABRT, and `core_dumped == expect_core` where the kernel's policy is
/// predictable (a file core pattern, written to the child's temp cwd).
async fn abort_with_core_limit(limit: &str, name: &str, expect_core: bool) {
    let dir = tempfile::tempdir().unwrap();
    let script = format!("ulimit -c {limit} 2>/dev/null; kill -ABRT $$");
    let manager = BootstrapProcManager::new(sh(&script).cwd(dir.path()));
    let handle = manager.spawn(id(name), backend()).await.unwrap();
    match wait_end(&handle).await {
        ProcStatus::Killed {
            signal,
            core_dumped,
            ..
        } => {
            assert_eq!(signal, libc::SIGABRT);
            if core_pattern_writes_files() {
                assert_eq!(core_dumped, expect_core, "core in {}", dir.path().display());
            }
        }
        other => panic!("expected Killed, got {other}"),
    }
}

#[tokio::test]
async fn core_dump_is_reported_as_killed_with_core_dumped() {
    abort_with_core_limit("unlimited", "core", true).await;
}

#[tokio::test]
async fn abort_without_core_limit_is_killed_without_core() {
    abort_with_core_limit("0", "nocore", false).await;
}

#[tokio::test]
async fn child_exiting_before_calling_back_makes_ready_return_terminal_with_stderr() {
    let manager = manager("echo 'cannot start: bad flag' >&2; exit 7");
    let handle = manager.spawn(id("early"), backend()).await.unwrap();
    let err = within(SHOULD, "ready", handle.ready()).await.unwrap_err();
    match err {
        ReadyError::Terminal { status, proc_id } => {
            assert_eq!(proc_id, id("early"));
            assert_eq!(
                status,
                ProcStatus::Stopped {
                    exit_code: 7,
                    stderr_tail: vec!["cannot start: bad flag".into()]
                }
            );
        }
        other => panic!("expected Terminal, got {other:?}"),
    }
}

#[tokio::test]
async fn every_status_change_is_published_in_order() {
    let manager = manager("exit 0");
    let handle = manager.spawn(id("order"), backend()).await.unwrap();
    let mut rx = handle.watch();
    let mut seen = vec![rx.borrow_and_update().name()];
    within(SHOULD, "end", async {
        while rx.changed().await.is_ok() {
            seen.push(rx.borrow_and_update().name());
            if rx.borrow().is_exit() {
                break;
            }
        }
    })
    .await;
    assert_eq!(seen.first(), Some(&"running"));
    assert_eq!(seen.last(), Some(&"stopped"));
}
