//! The manager with real bootstrap children: the `proc-bootstrap` echo
//! child (ready at its address, echo round trip, polite stop, log channel)
//! and the testkit's scripted `fake-child` (wrong-token call-back, ignored
//! shutdown), plus the manager process dying taking its children along.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcConfig, BootstrapProcManager, ChannelAddr, LogStream,
    ProcHandle, ProcManager, ProcStatus,
};
use proc_manager_testkit::fake_child::{self, FakeChildScript};
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn echo_command() -> BootstrapCommand {
    BootstrapCommand::new(env!("CARGO_BIN_EXE_proc-bootstrap"))
}

async fn round_trip(addr: &ChannelAddr, text: &str) -> String {
    let stream = tokio::net::UnixStream::connect(addr.as_unix_path().unwrap())
        .await
        .unwrap();
    let (read, mut write) = stream.into_split();
    write
        .write_all(format!("{text}\n").as_bytes())
        .await
        .unwrap();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await.unwrap();
    line.trim_end().to_owned()
}

#[tokio::test]
async fn echo_child_is_ready_at_its_address_echoes_and_stops_politely() {
    let (manager, sink) = watched_with(BootstrapProcManager::builder(echo_command()));
    let mut rx = sink.subscribe();
    let config = BootstrapProcConfig::with_config(serde_json::json!({"log": true}));
    let handle = manager
        .spawn_with(id("echo"), backend(), config)
        .await
        .unwrap();
    let addr = within(SHOULD, "ready", handle.ready()).await.unwrap();
    let dir = child_env(handle.pid().unwrap()).socket_dir;
    assert!(
        addr.as_unix_path().unwrap().starts_with(&dir),
        "{addr} under {}",
        dir.display()
    );
    assert_eq!(round_trip(&addr, "ping").await, "ping");
    // The child's log record arrives on the log channel, tagged.
    within(SHOULD, "log record", async {
        loop {
            let line = rx.recv().await.unwrap();
            if line.stream == LogStream::Channel && line.text().contains("echo serving at") {
                return;
            }
        }
    })
    .await;
    let start = Instant::now();
    let status = within(
        SHOULD,
        "terminate",
        handle.terminate(Duration::from_secs(10), "bye"),
    )
    .await
    .unwrap();
    assert!(
        matches!(status, ProcStatus::Stopped { exit_code: 0, .. }),
        "{status}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "polite stop took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn fake_child_calling_back_with_wrong_token_never_becomes_ready() {
    let manager = BootstrapProcManager::builder(fake_child::command())
        .ready_timeout(Duration::from_millis(1500))
        .build();
    let config = FakeChildScript::new()
        .call_back_with_wrong_token()
        .into_config();
    let handle = manager
        .spawn_with(id("liar"), backend(), config)
        .await
        .unwrap();
    let err = within(SHOULD, "ready", handle.ready()).await.unwrap_err();
    let status = err.status().cloned().unwrap();
    assert!(
        matches!(&status, ProcStatus::Failed { reason, .. } if reason.contains("not ready within")),
        "{status}"
    );
}

#[tokio::test]
async fn fake_child_ignoring_shutdown_is_killed_at_the_deadline() {
    let manager = BootstrapProcManager::new(fake_child::command());
    let config = FakeChildScript::serving().ignore_shutdown().into_config();
    let handle = manager
        .spawn_with(id("deaf"), backend(), config)
        .await
        .unwrap();
    within(SHOULD, "ready", handle.ready()).await.unwrap();
    let status = within(
        SHOULD,
        "terminate",
        handle.terminate(Duration::from_millis(500), "x"),
    )
    .await
    .unwrap();
    assert!(
        matches!(status, ProcStatus::Killed { signal: 9, .. }),
        "{status}"
    );
}

/// Set in the environment of a re-executed test binary acting as a manager.
const MANAGER_ROLE: &str = "PM_BOOT_TEST_MANAGER_ROLE";

/// Not a real test unless `MANAGER_ROLE` is set: then it is the manager of
/// `manager_process_dying_takes_its_children_along`, prints its children's
/// pids once they are ready, and waits to be killed.
#[tokio::test]
async fn manager_role_for_parent_death_test() {
    if std::env::var_os(MANAGER_ROLE).is_none() {
        return;
    }
    let manager = BootstrapProcManager::builder(echo_command())
        .sink(Arc::new(|_: &proc_manager_bootstrap::LogLine| {}))
        .build();
    let mut pids = Vec::new();
    for i in 0..2 {
        let handle = manager
            .spawn(id(&format!("orphan{i}")), backend())
            .await
            .unwrap();
        within(SHOULD, "ready", handle.ready()).await.unwrap();
        pids.push(handle.pid().unwrap().to_string());
    }
    println!("PIDS {}", pids.join(" "));
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn manager_process_dying_takes_its_children_along() {
    let mut manager = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "manager_role_for_parent_death_test",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MANAGER_ROLE, "1")
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(manager.stdout.take().unwrap()).lines();
    let pids: Vec<u32> = within(SHOULD, "manager to report its children", async {
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("manager exited early");
            // libtest may print "test … ... " before it on the same line.
            if let Some((_, rest)) = line.split_once("PIDS ") {
                return rest
                    .split_whitespace()
                    .map(|p| p.parse().unwrap())
                    .collect();
            }
        }
    })
    .await;
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|&pid| alive(pid)));
    manager.start_kill().unwrap();
    manager.wait().await.unwrap();
    for pid in pids {
        wait_gone(pid, SHOULD).await;
    }
}
