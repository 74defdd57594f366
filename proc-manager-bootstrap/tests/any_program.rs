//! Running programs nobody here wrote from one manager: per-spawn commands
//! (three different programs side by side), the environment a non-callback
//! child gets (no protocol variable; `env_remove`/`env_clear`), piped stdin
//! through `cat`, signals (`signal(SIGHUP)` caught by a `trap`, a
//! `stop_signal(SIGINT)` program, a signal to an ended proc).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcConfig, BootstrapProcManager, BulkTerminate, ChannelAddr,
    ProcHandle, ProcManager, ProcStatus, Readiness, Signal, StdinMode, TerminateError,
};
use support::*;
use tokio::io::AsyncWriteExt;

fn tcp(port: u16) -> ChannelAddr {
    format!("tcp:127.0.0.1:{port}").parse().unwrap()
}

fn spawned(port: u16) -> Readiness {
    Readiness::Spawned(tcp(port))
}

/// A script that says `armed` once its traps are set, then waits in a way
/// that lets a trap run at once (`wait` is interrupted by a caught signal).
fn trapping(traps: &str) -> String {
    format!("{traps}; echo armed; while :; do sleep 5 & wait $!; done")
}

#[tokio::test]
async fn a_spawned_child_sees_no_protocol_variable() {
    let manager = BootstrapProcManager::new(BootstrapCommand::new("/usr/bin/env"));
    let config = BootstrapProcConfig::default().readiness(spawned(1));
    let handle = manager
        .spawn_with(id("plain"), backend(), config)
        .await
        .unwrap();
    assert!(matches!(
        wait_end(&handle).await,
        ProcStatus::Stopped { exit_code: 0, .. }
    ));
    let env = handle.stdout_tail();
    assert!(env.iter().any(|line| line.starts_with("PATH=")), "{env:?}");
    for var in [
        "PROC_MANAGER_BOOTSTRAP_MODE=",
        "BOOTSTRAP_LOG_CHANNEL=",
        "NOTIFY_SOCKET=",
        "WATCHDOG_USEC=",
    ] {
        assert!(
            !env.iter().any(|line| line.starts_with(var)),
            "{var} in {env:?}"
        );
    }

    // The call-back mode still gets them.
    let callback = BootstrapProcManager::builder(BootstrapCommand::new("/usr/bin/env"))
        .ready_timeout(None)
        .build();
    let handle = callback.spawn(id("bootstrap"), backend()).await.unwrap();
    wait_end(&handle).await;
    let env = handle.stdout_tail();
    assert!(
        env.iter()
            .any(|l| l.starts_with("PROC_MANAGER_BOOTSTRAP_MODE=")),
        "{env:?}"
    );
    assert!(
        env.iter().any(|l| l.starts_with("BOOTSTRAP_LOG_CHANNEL=")),
        "{env:?}"
    );
}

#[tokio::test]
async fn env_remove_and_env_clear_shape_the_childs_environment() {
    let manager = BootstrapProcManager::builder(BootstrapCommand::new("/usr/bin/env"))
        .readiness(spawned(1))
        .build();
    let removed = BootstrapCommand::new("/usr/bin/env")
        .env("KEEP_ME", "1")
        .env_remove("PATH");
    let config = BootstrapProcConfig::default().command(removed);
    let handle = manager
        .spawn_with(id("removed"), backend(), config)
        .await
        .unwrap();
    wait_end(&handle).await;
    let env = handle.stdout_tail();
    assert!(env.contains(&"KEEP_ME=1".to_string()), "{env:?}");
    assert!(!env.iter().any(|l| l.starts_with("PATH=")), "{env:?}");

    let cleared = BootstrapCommand::new("/usr/bin/env")
        .env_clear()
        .env("ONLY", "this");
    let config = BootstrapProcConfig::default().command(cleared);
    let handle = manager
        .spawn_with(id("cleared"), backend(), config)
        .await
        .unwrap();
    wait_end(&handle).await;
    assert_eq!(handle.stdout_tail(), vec!["ONLY=this".to_string()]);
}

#[tokio::test]
async fn one_manager_runs_three_different_commands() {
    let manager = BootstrapProcManager::new(BootstrapCommand::new("/nonexistent/default"));
    let python = BootstrapCommand::new("python3").args([
        "-u",
        "-c",
        "print('python up'); import sys; sys.stdin.read()",
    ]);
    let echo = BootstrapCommand::new(env!("CARGO_BIN_EXE_proc-bootstrap"));
    let procs = [
        (
            "shell",
            BootstrapProcConfig::default()
                .command(sh("echo shell up; exec sleep 60"))
                .readiness(Readiness::log_line("^shell up$", tcp(1))),
        ),
        (
            "python",
            BootstrapProcConfig::default()
                .command(python)
                .stdin(StdinMode::Piped)
                .readiness(Readiness::log_line("^python up$", tcp(2))),
        ),
        ("echo", BootstrapProcConfig::default().command(echo)),
    ];
    let mut handles = Vec::new();
    for (name, config) in procs {
        handles.push(
            manager
                .spawn_with(id(name), backend(), config)
                .await
                .unwrap(),
        );
    }
    for handle in &handles {
        within(SHOULD, "ready", handle.ready()).await.unwrap();
    }
    // The echo child called back with a unix address of its own.
    assert!(handles[2].addr().unwrap().as_unix_path().is_some());
    let mut ids = manager.proc_ids();
    ids.sort();
    assert_eq!(ids, vec![id("echo"), id("python"), id("shell")]);
    let summary = manager.terminate_all(SHOULD, 8).await;
    assert_eq!((summary.attempted, summary.ok), (3, 3), "{summary:?}");
    assert_eq!(manager.live_groups(), 0);
}

#[tokio::test]
async fn cat_echoes_lines_written_to_its_piped_stdin() {
    let (manager, sink) = watched_with(
        BootstrapProcManager::builder(BootstrapCommand::new("cat"))
            .stdin(StdinMode::Piped)
            .readiness(spawned(1)),
    );
    let mut lines = sink.subscribe();
    let handle = manager.spawn(id("cat"), backend()).await.unwrap();
    let mut stdin = handle.take_stdin().unwrap();
    assert!(handle.take_stdin().is_none(), "stdin is handed out once");
    stdin.write_all(b"hello\nworld\n").await.unwrap();
    wait_line(&mut lines, "cat", "hello").await;
    wait_line(&mut lines, "cat", "world").await;
    drop(stdin); // end of input: cat exits
    assert_eq!(
        wait_end(&handle).await,
        ProcStatus::Stopped {
            exit_code: 0,
            stderr_tail: vec![]
        }
    );

    // Not piped: nothing to take.
    let config = BootstrapProcConfig::default().stdin(StdinMode::Null);
    let plain = manager
        .spawn_with(id("null"), backend(), config)
        .await
        .unwrap();
    assert!(plain.take_stdin().is_none());
    // cat on /dev/null ends at once.
    assert!(matches!(
        wait_end(&plain).await,
        ProcStatus::Stopped { exit_code: 0, .. }
    ));
}

#[tokio::test]
async fn sighup_through_signal_is_caught_by_a_trap() {
    let (manager, sink) = watched_with(
        BootstrapProcManager::builder(sh(&trapping("trap 'echo reloaded' HUP")))
            .readiness(Readiness::log_line("^armed$", tcp(1))),
    );
    let mut lines = sink.subscribe();
    let handle = manager.spawn(id("daemon"), backend()).await.unwrap();
    within(SHOULD, "ready", handle.ready()).await.unwrap();
    handle.signal(Signal::SIGHUP).unwrap();
    wait_line(&mut lines, "daemon", "reloaded").await;
    assert!(handle.status().is_ready(), "{}", handle.status());
    handle.signal(Signal::SIGHUP).unwrap();
    wait_line(&mut lines, "daemon", "reloaded").await;

    let end = handle.terminate(SHOULD, "test").await.unwrap();
    assert!(
        matches!(end, ProcStatus::Killed { signal: 15, .. }),
        "{end}"
    );
    match handle.signal(Signal::SIGHUP) {
        Err(TerminateError::AlreadyTerminated { status, .. }) => assert_eq!(status, end),
        other => panic!("expected AlreadyTerminated, got {other:?}"),
    }
}

#[tokio::test]
async fn stop_signal_sigint_is_the_polite_request() {
    // SIGTERM is ignored: only SIGINT makes it leave, with code 7.
    let script = trapping("trap '' TERM; trap 'echo bye; exit 7' INT");
    let (manager, sink) = watched_with(
        BootstrapProcManager::builder(sh(&script)).readiness(Readiness::log_line("armed", tcp(1))),
    );
    let mut lines = sink.subscribe();
    let config = BootstrapProcConfig::default().stop_signal(Signal::SIGINT);
    let handle = manager
        .spawn_with(id("pg"), backend(), config)
        .await
        .unwrap();
    within(SHOULD, "ready", handle.ready()).await.unwrap();
    let end = handle.terminate(SHOULD, "test").await.unwrap();
    assert_eq!(
        end,
        ProcStatus::Stopped {
            exit_code: 7,
            stderr_tail: vec![]
        }
    );
    wait_line(&mut lines, "pg", "bye").await;

    // The manager-wide setting does the same.
    let (manager, _sink) = watched_with(
        BootstrapProcManager::builder(sh(&script))
            .readiness(Readiness::log_line("armed", tcp(1)))
            .stop_signal(Signal::SIGINT),
    );
    let handle = manager.spawn(id("pg2"), backend()).await.unwrap();
    within(SHOULD, "ready", handle.ready()).await.unwrap();
    let end = handle
        .terminate(Duration::from_secs(20), "test")
        .await
        .unwrap();
    assert!(
        matches!(end, ProcStatus::Stopped { exit_code: 7, .. }),
        "{end}"
    );
}
