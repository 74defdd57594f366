//! Readiness without a call-back, against programs nobody here wrote:
//! `python3 -m http.server` ready by `Connect`, `systemd-notify` from a
//! shell script ready by `Notify` (and a `READY=1` from outside the proc,
//! garbage and oversized datagrams ignored), a script ready by `LogLine`, a
//! watchdog that fires, the ready timeout's polite stop, and bad input
//! refused before anything starts.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcConfig, BootstrapProcManager, ChannelAddr, ProcHandle,
    ProcManager, ProcStatus, Readiness, SpawnError, StdinMode, StdioMode,
};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SYSTEMD_NOTIFY: &str = "/usr/bin/systemd-notify";

/// A TCP port free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn tcp(port: u16) -> ChannelAddr {
    format!("tcp:127.0.0.1:{port}").parse().unwrap()
}

/// A manager whose default command must never run.
fn any_program_manager() -> (BootstrapProcManager, proc_manager_bootstrap::ChannelSink) {
    watched_with(BootstrapProcManager::builder(BootstrapCommand::new(
        "/nonexistent/not-this-one",
    )))
}

fn have_systemd_notify() -> bool {
    let present = std::path::Path::new(SYSTEMD_NOTIFY).exists();
    if !present {
        eprintln!("!!! {SYSTEMD_NOTIFY} is missing: the systemd-notify checks are NOT run");
    }
    present
}

#[tokio::test]
async fn python_http_server_is_ready_by_connect_serves_and_stops_on_sigterm() {
    let (manager, _sink) = any_program_manager();
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("hello.txt"), "hello from python\n").unwrap();
    let port = free_port();
    let python = BootstrapCommand::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .cwd(root.path());
    let config = BootstrapProcConfig::default()
        .command(python)
        .readiness(Readiness::Connect(tcp(port)));
    let handle = manager
        .spawn_with(id("web"), backend(), config)
        .await
        .unwrap();
    let addr = within(SHOULD, "python ready", handle.ready())
        .await
        .unwrap();
    assert_eq!(addr, tcp(port));

    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(b"GET /hello.txt HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    within(SHOULD, "GET response", stream.read_to_string(&mut response))
        .await
        .unwrap();
    assert!(response.starts_with("HTTP/1.0 200"), "{response}");
    assert!(response.ends_with("hello from python\n"), "{response}");

    // No control connection: the polite request is SIGTERM, which ends it.
    let status = within(SHOULD, "terminate", handle.terminate(SHOULD, "test"))
        .await
        .unwrap();
    assert!(
        matches!(status, ProcStatus::Killed { signal: 15, .. }),
        "{status}"
    );
    assert!(status.to_string().contains("SIGTERM"), "{status}");
}

#[tokio::test]
async fn systemd_notify_script_is_ready_by_notify_with_its_status() {
    if !have_systemd_notify() {
        return;
    }
    let (manager, _sink) = any_program_manager();
    let addr = tcp(4711);
    let script = format!(
        "{SYSTEMD_NOTIFY} --status='warming up' && \
         {SYSTEMD_NOTIFY} --ready --status='serving 3 shards' && exec sleep 60"
    );
    let config = BootstrapProcConfig::default()
        .command(sh(&script))
        .readiness(Readiness::Notify(addr.clone()));
    let handle = manager
        .spawn_with(id("daemon"), backend(), config)
        .await
        .unwrap();
    assert_eq!(within(SHOULD, "ready", handle.ready()).await.unwrap(), addr);
    // STATUS= came in the same datagram as READY=1, and is applied first.
    assert_eq!(handle.status_text().as_deref(), Some("serving 3 shards"));
    let status = handle.terminate(SHOULD, "test").await.unwrap();
    assert!(
        matches!(status, ProcStatus::Killed { signal: 15, .. }),
        "{status}"
    );
}

#[tokio::test]
async fn ready_from_a_process_outside_the_proc_is_ignored() {
    if !have_systemd_notify() {
        return;
    }
    let (manager, sink) = any_program_manager();
    let mut lines = sink.subscribe();
    let addr = tcp(4712);
    // Prints its socket, waits for a line on stdin, then says READY=1.
    let script = format!(
        "echo \"socket=$NOTIFY_SOCKET\"; read go; {SYSTEMD_NOTIFY} --ready --status=mine; \
         exec sleep 60"
    );
    let config = BootstrapProcConfig::default()
        .command(sh(&script))
        .readiness(Readiness::Notify(addr.clone()))
        .stdin(StdinMode::Piped);
    let handle = manager
        .spawn_with(id("guarded"), backend(), config)
        .await
        .unwrap();
    let socket = within(SHOULD, "socket line", async {
        loop {
            let line = lines.recv().await.unwrap();
            if let Some(path) = line.text().strip_prefix("socket=") {
                return path.to_owned();
            }
        }
    })
    .await;
    assert!(!socket.is_empty());

    // The test process is outside the proc's process group. systemd-notify
    // waits on its barrier, which the manager answers only after it has
    // read (and refused) the READY=1 before it: once it returns, the
    // manager has decided.
    let outsider = tokio::process::Command::new(SYSTEMD_NOTIFY)
        .args(["--ready", "--status=forged"])
        .env("NOTIFY_SOCKET", &socket)
        .status();
    let outsider = within(SHOULD, "outsider's systemd-notify", outsider)
        .await
        .unwrap();
    assert!(outsider.success(), "{outsider}");
    assert!(
        matches!(handle.status(), ProcStatus::Running { .. }),
        "{}",
        handle.status()
    );
    assert_eq!(handle.status_text(), None);

    // The proc's own READY=1 counts.
    let mut stdin = handle.take_stdin().unwrap();
    stdin.write_all(b"go\n").await.unwrap();
    assert_eq!(within(SHOULD, "ready", handle.ready()).await.unwrap(), addr);
    assert_eq!(handle.status_text().as_deref(), Some("mine"));
    handle.kill().await.unwrap();
}

/// A python leader sending datagrams itself (it is the leader, so its
/// credentials are checked without a look-up, even after it exits).
fn python_notify(body: &str) -> BootstrapCommand {
    let program = format!(
        "import os, socket, sys, time\n\
         s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         s.connect(os.environ['NOTIFY_SOCKET'])\n\
         {body}\n"
    );
    BootstrapCommand::new("python3").args(["-c", &program])
}

#[tokio::test]
async fn garbage_and_oversized_datagrams_change_nothing() {
    let (manager, _sink) = any_program_manager();
    let addr = tcp(4713);
    let body = "s.send(b'STATUS=evil\\nthis is not an assignment')\n\
                s.send(b'STATUS=too big\\n' + b'x' * 8000)\n\
                s.send(b'\\xff\\xfe READY=1')\n\
                s.send(b'READY=1')\n\
                time.sleep(60)";
    let config = BootstrapProcConfig::default()
        .command(python_notify(body))
        .readiness(Readiness::Notify(addr.clone()));
    let handle = manager
        .spawn_with(id("noisy"), backend(), config)
        .await
        .unwrap();
    assert_eq!(within(SHOULD, "ready", handle.ready()).await.unwrap(), addr);
    // Datagrams are handled in order: the three before READY=1 were dropped.
    assert_eq!(handle.status_text(), None);
    handle.kill().await.unwrap();
}

#[tokio::test]
async fn errno_sent_before_exiting_is_in_the_failure_reason() {
    let (manager, _sink) = any_program_manager();
    let body = "s.send(b'STATUS=giving up\\nERRNO=2')\n\
                sys.stderr.write('config file missing\\n')\n\
                sys.exit(1)";
    let config = BootstrapProcConfig::default()
        .command(python_notify(body))
        .readiness(Readiness::Notify(tcp(4714)));
    let handle = manager
        .spawn_with(id("doomed"), backend(), config)
        .await
        .unwrap();
    let err = within(SHOULD, "ready error", handle.ready())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("exit code 1; the proc reported ERRNO=2 (ENOENT"),
        "{message}"
    );
    assert!(message.contains("config file missing"), "{message}");
}

#[tokio::test]
async fn stopping_from_the_proc_makes_it_stopping() {
    let (manager, _sink) = any_program_manager();
    let body = "s.send(b'READY=1')\n\
                s.send(b'STOPPING=1')\n\
                sys.stdin.read()";
    let config = BootstrapProcConfig::default()
        .command(python_notify(body))
        .readiness(Readiness::Notify(tcp(4715)))
        .stdin(StdinMode::Piped);
    let handle = manager
        .spawn_with(id("leaving"), backend(), config)
        .await
        .unwrap();
    let mut rx = handle.watch();
    within(SHOULD, "stopping", rx.wait_for(ProcStatus::is_stopping))
        .await
        .unwrap();
    drop(handle.take_stdin());
    assert_eq!(
        wait_end(&handle).await,
        ProcStatus::Stopped {
            exit_code: 0,
            stderr_tail: vec![]
        }
    );
}

#[tokio::test]
async fn a_silent_proc_is_stopped_by_its_watchdog() {
    if !have_systemd_notify() {
        return;
    }
    let (manager, sink) = any_program_manager();
    let mut lines = sink.subscribe();
    let script = format!(
        "echo \"usec=$WATCHDOG_USEC\"; {SYSTEMD_NOTIFY} --ready WATCHDOG=1 && exec sleep 60"
    );
    let config = BootstrapProcConfig::default()
        .command(sh(&script))
        .readiness(Readiness::Notify(tcp(4716)))
        .watchdog(Duration::from_millis(300));
    let handle = manager
        .spawn_with(id("silent"), backend(), config)
        .await
        .unwrap();
    wait_line(&mut lines, "silent", "usec=300000").await;
    // No `ready()` here: on a slow machine the watchdog may already have
    // fired. Its reason says the proc was ready (the clock starts there).
    match wait_end(&handle).await {
        ProcStatus::Failed { reason, .. } => {
            assert_eq!(reason, "watchdog: no WATCHDOG=1 within 300ms")
        }
        other => panic!("expected a watchdog failure, got {other}"),
    }
}

#[tokio::test]
async fn log_line_makes_a_script_ready() {
    let (manager, _sink) = any_program_manager();
    let addr = tcp(4717);
    let script =
        "echo booting; echo 'warming caches' >&2; echo 'listening on port 4717'; exec sleep 60";
    let config = BootstrapProcConfig::default()
        .command(sh(script))
        .readiness(Readiness::log_line(r"listening on port \d+$", addr.clone()));
    let handle = manager
        .spawn_with(id("logger"), backend(), config)
        .await
        .unwrap();
    assert_eq!(within(SHOULD, "ready", handle.ready()).await.unwrap(), addr);
    assert!(
        handle
            .stdout_tail()
            .contains(&"listening on port 4717".to_string())
    );
    handle.kill().await.unwrap();
}

#[tokio::test]
async fn ready_timeout_stops_politely_then_fails() {
    let (manager, sink) = any_program_manager();
    let mut lines = sink.subscribe();
    // Never listens; says goodbye on SIGTERM.
    let script = "trap 'echo polite; exit 0' TERM; echo armed; while :; do sleep 5 & wait $!; done";
    let config = BootstrapProcConfig::default()
        .command(sh(script))
        .readiness(Readiness::Connect(tcp(free_port())))
        .ready_timeout(Duration::from_millis(300));
    let handle = manager
        .spawn_with(id("mute"), backend(), config)
        .await
        .unwrap();
    wait_line(&mut lines, "mute", "armed").await;
    match wait_end(&handle).await {
        ProcStatus::Failed { reason, .. } => assert_eq!(reason, "not ready within 300ms"),
        other => panic!("expected Failed, got {other}"),
    }
    assert!(handle.stdout_tail().contains(&"polite".to_string()));
}

#[tokio::test]
async fn ready_timeout_kills_after_the_stop_timeout() {
    let (manager, sink) = any_program_manager();
    let mut lines = sink.subscribe();
    let script = "trap '' TERM; echo armed; while :; do sleep 5 & wait $!; done";
    let config = BootstrapProcConfig::default()
        .command(sh(script))
        .readiness(Readiness::log_line("never printed", tcp(4718)))
        .ready_timeout(Duration::from_millis(200))
        .stop_timeout(Duration::from_millis(200));
    let handle = manager
        .spawn_with(id("stubborn"), backend(), config)
        .await
        .unwrap();
    wait_line(&mut lines, "stubborn", "armed").await;
    match wait_end(&handle).await {
        ProcStatus::Failed { reason, .. } => assert_eq!(reason, "not ready within 200ms"),
        other => panic!("expected Failed, got {other}"),
    }
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_starts() {
    let (manager, _sink) = any_program_manager();
    let marker = tempfile::tempdir().unwrap();
    let witness = marker.path().join("ran");
    let command = sh(&format!("touch {}", witness.display()));
    let cases = [
        (
            BootstrapProcConfig::default().readiness(Readiness::log_line("(unclosed", tcp(1))),
            "invalid pattern",
        ),
        (
            BootstrapProcConfig::default()
                .readiness(Readiness::Connect("local:4".parse().unwrap())),
            "in-process only",
        ),
        (
            BootstrapProcConfig::default().readiness(Readiness::Notify("local:5".parse().unwrap())),
            "in-process only",
        ),
        (
            BootstrapProcConfig::default().watchdog(Duration::from_secs(1)),
            "watchdog needs Readiness::Notify",
        ),
    ];
    for (config, expected) in cases {
        let err = manager
            .spawn_with(id("bad"), backend(), config.command(command.clone()))
            .await
            .unwrap_err();
        assert!(matches!(err, SpawnError::BadConfig { .. }), "{err}");
        let message = err.to_string();
        assert!(message.starts_with("proc bad: bad config:"), "{message}");
        assert!(message.contains(expected), "{message}");
    }
    assert!(manager.proc_ids().is_empty());
    assert_eq!(manager.live_groups(), 0);
    assert!(!witness.exists(), "a refused spawn ran its command");

    // LogLine cannot see lines that are not captured.
    let inherit = BootstrapProcManager::builder(command.clone())
        .stdio(StdioMode::Inherit)
        .build();
    let err = inherit
        .spawn_with(
            id("blind"),
            backend(),
            BootstrapProcConfig::default().readiness(Readiness::log_line("x", tcp(1))),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("captured stdio"), "{err}");
}
