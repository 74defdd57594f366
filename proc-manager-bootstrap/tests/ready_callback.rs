//! The callback socket: a hello with the right token makes the proc `Ready`
//! at its address; a wrong token, a malformed or an oversized frame is
//! dropped and changes nothing; no valid hello in time fails and kills the
//! proc. The test itself plays the child, reading the payload the child was
//! given from `/proc/<pid>/environ`.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use proc_manager_bootstrap::protocol::MAX_FRAME_BYTES;
use proc_manager_bootstrap::{
    BootstrapProcConfig, BootstrapProcManager, ProcHandle, ProcManager, ProcStatus,
};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn stubborn() -> BootstrapProcManager {
    BootstrapProcManager::builder(sh("exec sleep 1000"))
        .ready_timeout(Duration::from_secs(60))
        .build()
}

/// Sends a bad connection, waits until the manager has closed it, and
/// checks the status did not change.
async fn rejected(env: &ChildEnv, handle: &impl ProcHandle, bytes: &[u8]) {
    let mut stream = tokio::net::UnixStream::connect(&env.callback)
        .await
        .unwrap();
    // The manager may close before reading everything (oversized frame).
    let _ = stream.write_all(bytes).await;
    let _ = stream.shutdown().await;
    let mut rest = Vec::new();
    // Ok (EOF) or a reset: either way the manager closed it.
    let _ = within(
        SHOULD,
        "manager closes a bad connection",
        stream.read_to_end(&mut rest),
    )
    .await;
    assert!(rest.is_empty(), "nothing is sent on a rejected connection");
    assert!(
        matches!(handle.status(), ProcStatus::Running { .. }),
        "{}",
        handle.status()
    );
}

#[tokio::test]
async fn hello_with_right_token_marks_ready_at_its_address() {
    let manager = stubborn();
    let handle = manager.spawn(id("hello"), backend()).await.unwrap();
    let pid = handle.pid().unwrap();
    let env = child_env(pid);
    let _control = hello(&env, &env.token, "unix:/tmp/served.sock").await;
    let addr = within(SHOULD, "ready", handle.ready()).await.unwrap();
    assert_eq!(addr.to_string(), "unix:/tmp/served.sock");
    assert!(matches!(handle.status(), ProcStatus::Ready { pid: p, .. } if p == pid));
    handle.kill().await.unwrap();
}

#[tokio::test]
async fn wrong_token_malformed_and_oversized_frames_change_nothing() {
    let manager = stubborn();
    let handle = manager.spawn(id("bad"), backend()).await.unwrap();
    let env = child_env(handle.pid().unwrap());

    let wrong = format!(
        "{{\"type\":\"hello\",\"token\":\"{}\",\"pid\":1,\"addr\":\"unix:/tmp/x\"}}\n",
        "0".repeat(32)
    );
    rejected(&env, &handle, wrong.as_bytes()).await;
    rejected(&env, &handle, b"this is not json\n").await;
    rejected(
        &env,
        &handle,
        b"{\"type\":\"log\",\"level\":\"info\",\"message\":\"x\"}\n",
    )
    .await;
    rejected(&env, &handle, &vec![b'x'; MAX_FRAME_BYTES + 100]).await;
    rejected(&env, &handle, b"{\"type\":\"hel").await;

    // The server still accepts the right hello afterwards.
    let _control = hello(&env, &env.token, "unix:/tmp/after-bad.sock").await;
    let addr = within(SHOULD, "ready", handle.ready()).await.unwrap();
    assert_eq!(addr.to_string(), "unix:/tmp/after-bad.sock");
    handle.kill().await.unwrap();
}

#[tokio::test]
async fn no_valid_hello_within_ready_timeout_fails_and_kills() {
    let manager = BootstrapProcManager::builder(sh("echo waiting >&2; exec sleep 1000"))
        .ready_timeout(Duration::from_millis(300))
        .build();
    let handle = manager.spawn(id("slow"), backend()).await.unwrap();
    let pid = handle.pid().unwrap();
    let status = wait_end(&handle).await;
    match &status {
        ProcStatus::Failed {
            reason,
            stderr_tail,
        } => {
            assert!(reason.contains("not ready within"), "{reason}");
            assert_eq!(stderr_tail, &vec!["waiting".to_string()]);
        }
        other => panic!("expected Failed, got {other}"),
    }
    assert!(!alive(pid));
    assert_eq!(manager.live_groups(), 0);
}

#[tokio::test]
async fn per_proc_ready_timeout_overrides_the_managers() {
    let manager = stubborn();
    let config = BootstrapProcConfig::default().ready_timeout(Duration::from_millis(200));
    let handle = manager
        .spawn_with(id("override"), backend(), config)
        .await
        .unwrap();
    let status = wait_end(&handle).await;
    assert!(
        matches!(&status, ProcStatus::Failed { reason, .. } if reason.contains("not ready")),
        "{status}"
    );
}

#[tokio::test]
async fn ready_proc_is_not_failed_by_the_ready_timeout() {
    let manager = BootstrapProcManager::builder(sh("exec sleep 1000"))
        .ready_timeout(Duration::from_millis(500))
        .build();
    let handle = manager.spawn(id("in-time"), backend()).await.unwrap();
    let env = child_env(handle.pid().unwrap());
    let mut control = hello(&env, &env.token, "unix:/tmp/t.sock").await;
    within(SHOULD, "ready", handle.ready()).await.unwrap();
    // Past the ready timeout, the proc stays ready. Read on the control
    // channel for longer than the timeout: nothing arrives, nothing changes.
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_millis(900), control.read(&mut byte)).await;
    assert!(
        read.is_err(),
        "nothing is sent on the control channel: {read:?}"
    );
    assert!(handle.status().is_ready(), "{}", handle.status());
    handle.kill().await.unwrap();
}
