//! The sh example backend beyond the conformance suite: exit codes with the
//! stderr tail, grandchildren killed with their group, READY lines of the
//! wrong transport ignored, ready-on-spawn, and a bad shell reported as a
//! spawn error.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use proc_manager_core::{
    ChannelAddr, ChannelTransport, ProcHandle, ProcHandleExt, ProcId, ProcManager, ProcStatus,
};
use proc_manager_examples::sh_backend::{ReadyWhen, ShConfig, ShProcManager};

const SHOULD: Duration = Duration::from_secs(20);

fn id(name: &str) -> ProcId {
    ProcId::new(format!("{name}-{}", std::process::id())).unwrap()
}

fn backend() -> ChannelAddr {
    ChannelAddr::any(ChannelTransport::Unix)
}

/// Whether `pid` is a process that has not exited (not gone, not a zombie).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with(['Z', 'X']))
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn exit_code_and_stderr_tail_are_reported() {
    let manager = ShProcManager::new();
    let script = ShConfig::script("echo first >&2; printf 'last without newline' >&2; exit 3");
    let handle = manager
        .spawn_with(id("tail"), backend(), script)
        .await
        .unwrap();
    let status = handle.wait_within(SHOULD).await.unwrap();
    assert_eq!(
        status,
        ProcStatus::Stopped {
            exit_code: 3,
            stderr_tail: vec!["first".into(), "last without newline".into()]
        }
    );
}

#[tokio::test]
async fn grandchildren_die_with_the_proc() {
    let manager = ShProcManager::new();
    // The shell exits on its own, leaving a background grandchild behind.
    let script = ShConfig::script(r#"sleep 3600 & echo "$!" >&2; exit 0"#);
    let handle = manager
        .spawn_with(id("group"), backend(), script)
        .await
        .unwrap();
    let status = handle.wait_within(SHOULD).await.unwrap();
    assert!(
        matches!(status, ProcStatus::Stopped { exit_code: 0, .. }),
        "{status:?}"
    );
    let tail = status.stderr_tail().unwrap();
    let grandchild: u32 = tail[0].parse().unwrap();
    // Reparented to init once its shell died, it may linger as a zombie
    // until init reaps it: dead either way. It held the stderr pipe, so it
    // had exited far enough to close it before the status was published;
    // wait (bounded) only for it to finish dying.
    let deadline = tokio::time::Instant::now() + SHOULD;
    while running(grandchild) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "grandchild {grandchild} survived"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn ready_lines_of_another_transport_are_ignored() {
    let manager = ShProcManager::new();
    let script = ShConfig::script(
        r#"echo "READY tcp:127.0.0.1:1"; echo "READY nonsense"; echo "READY $PROC_SERVE_ADDR"; exec sleep 3600"#,
    );
    let handle = manager
        .spawn_with(id("transport"), backend(), script)
        .await
        .unwrap();
    let addr = handle.ready_within(SHOULD).await.unwrap();
    assert_eq!(addr.transport(), ChannelTransport::Unix);
}

#[tokio::test]
async fn ready_when_spawned_needs_no_line() {
    let manager = ShProcManager::with_transport(ChannelTransport::Local);
    let script = ShConfig::script("exec sleep 3600").ready_when(ReadyWhen::Spawned);
    let handle = manager
        .spawn_with(id("spawned"), backend(), script)
        .await
        .unwrap();
    assert_eq!(
        handle.status().addr().map(ChannelAddr::transport),
        Some(ChannelTransport::Local)
    );
    let status = tokio::time::timeout(SHOULD, handle.terminate(SHOULD, "done"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(status, ProcStatus::Killed { signal: 15, .. }),
        "{status:?}"
    );
}

#[tokio::test]
async fn dropping_the_manager_kills_its_procs() {
    let manager = ShProcManager::new();
    let script = ShConfig::script("trap '' TERM; exec sleep 3600").ready_when(ReadyWhen::Spawned);
    let handle = manager
        .spawn_with(id("drop"), backend(), script)
        .await
        .unwrap();
    drop(manager);
    let status = handle.wait_within(SHOULD).await.unwrap();
    assert!(
        matches!(status, ProcStatus::Killed { signal: 9, .. }),
        "{status:?}"
    );
}
