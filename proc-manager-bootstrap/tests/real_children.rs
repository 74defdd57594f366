//! The manager with real bootstrap children: the `proc-bootstrap` echo
//! child (ready at its address, echo round trip, polite stop, log channel)
//! and the scripted `fake-child` of proc-manager-fake-child (wrong-token call-back, ignored
//! shutdown), plus the manager process dying taking its children along.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcConfig, BootstrapProcManager, ChannelAddr, LogStream,
    ProcHandle, ProcManager, ProcStatus,
};
use proc_manager_fake_child::{self as fake_child, FakeChildScript};
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

#[tokio::test]
async fn manager_process_dying_takes_its_children_along() {
    // The manager is a separate process (fake-child in its manager role);
    // its runtime dir is ours, so what it cannot clean up when killed is
    // removed with this temp dir.
    let runtime_dir = tempfile::tempdir().unwrap();
    let mut manager = tokio::process::Command::new(fake_child::path().unwrap())
        .arg("--manager")
        .arg(runtime_dir.path())
        .arg("2")
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
            if let Some(rest) = line.strip_prefix("PIDS ") {
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
