//! `fake-child` scripts about calling back and stopping, each against a
//! hand-written manager: call back (at once, late, wrong token, never),
//! exit after a delay, exit on shutdown, ignore shutdown, manager gone.

mod support;

use std::os::unix::process::ExitStatusExt as _;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use proc_manager_bootstrap::child::EXIT_MANAGER_GONE;
use proc_manager_bootstrap::protocol::ChildFrame;
use support::*;

#[tokio::test]
async fn no_config_serves_echo_and_exits_zero_on_stop() {
    let manager = FakeManager::new(None);
    let child = manager.spawn();
    let (mut control, addr) = manager.hello(&child).await;
    let back = echo_round_trip(&addr, "ping").await;
    assert_eq!(back.as_deref(), Some("ping"));

    control.stop("done").await.unwrap();
    let out = output(child).await;
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fake-child: shutdown requested (stop requested by the manager: done)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn exit_with_code_after_a_delay_and_never_call_back() {
    let script = FakeChildScript::new().exit_after(7, Duration::from_millis(100));
    let manager = FakeManager::new(Some(&script));
    let started = Instant::now();
    let out = output(manager.spawn()).await;
    assert_eq!(out.status.code(), Some(7));
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert!(manager.no_call_back_pending(), "it must never call back");
}

#[tokio::test]
async fn call_back_after_a_delay() {
    let script = FakeChildScript::new().call_back_after(Duration::from_millis(150));
    let manager = FakeManager::new(Some(&script));
    let started = Instant::now();
    let mut child = manager.spawn();
    let (_control, _addr) = manager.hello(&child).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    signal(&child, Signal::SIGTERM);
    assert_eq!(wait(&mut child).await.code(), Some(0));
}

#[tokio::test]
async fn wrong_token_then_right_one() {
    let script = FakeChildScript::new()
        .call_back_with_wrong_token()
        .call_back();
    let manager = FakeManager::new(Some(&script));
    let child = manager.spawn();
    let (bad, frame) = manager.accept().await;
    let ChildFrame::Hello { token, .. } = frame else {
        panic!("expected a hello, got {frame:?}");
    };
    assert_ne!(token, manager.token());
    // The manager drops a bad call-back; that is not a shutdown request.
    drop(bad);
    let (mut control, _addr) = manager.hello(&child).await;
    control.stop("bye").await.unwrap();
    let out = output(child).await;
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("(stop requested by the manager: bye)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn exit_on_shutdown_after_a_delay_with_a_code() {
    let script = FakeChildScript::serving().exit_on_shutdown(5, Duration::from_millis(200));
    let manager = FakeManager::new(Some(&script));
    let mut child = manager.spawn();
    let (mut control, _addr) = manager.hello(&child).await;
    let asked = Instant::now();
    control.stop("now").await.unwrap();
    assert_eq!(wait(&mut child).await.code(), Some(5));
    assert!(asked.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn ignore_shutdown_survives_stop_and_sigterm_until_killed() {
    let script = FakeChildScript::serving().ignore_shutdown();
    let manager = FakeManager::new(Some(&script));
    let mut child = manager.spawn();
    let mut stderr = stderr_lines(&mut child);
    let (mut control, addr) = manager.hello(&child).await;
    // SIGTERM's default action would kill it: the message shows it was
    // caught and ignored.
    signal(&child, Signal::SIGTERM);
    stderr_until(&mut stderr, "ignoring shutdown request (received SIGTERM)").await;
    control.stop("please").await.unwrap();
    // Still serving after both requests.
    let back = echo_round_trip(&addr, "still there?").await;
    assert_eq!(back.as_deref(), Some("still there?"));
    assert!(child.try_wait().unwrap().is_none());
    signal(&child, Signal::SIGKILL);
    assert_eq!(wait(&mut child).await.signal(), Some(libc::SIGKILL));
    drop(control);
}

#[tokio::test]
async fn a_child_ignoring_shutdown_still_goes_when_the_manager_is_gone() {
    let script = FakeChildScript::serving().ignore_shutdown();
    let manager = FakeManager::new(Some(&script));
    let child = manager.spawn();
    let (control, _addr) = manager.hello(&child).await;
    drop(control);
    let out = output(child).await;
    assert_eq!(out.status.code(), Some(EXIT_MANAGER_GONE), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ignoring shutdown request (the manager's control connection closed)"),
        "{stderr}"
    );
    assert!(stderr.contains("the manager is gone"), "{stderr}");
}

#[tokio::test]
async fn log_records_reach_the_log_channel() {
    let script = FakeChildScript::serving().log("warn", "disk almost full");
    let manager = FakeManager::new(Some(&script));
    let mut child = manager.spawn();
    let (_control, _addr) = manager.hello(&child).await;
    let mut log = manager.accept_log().await;
    assert_eq!(
        read(&mut log).await,
        Some(ChildFrame::LogHello {
            token: manager.token().to_owned(),
            pid: child.id().unwrap()
        })
    );
    assert_eq!(
        read(&mut log).await,
        Some(ChildFrame::Log {
            level: "warn".into(),
            message: "disk almost full".into()
        })
    );
    signal(&child, Signal::SIGTERM);
    assert_eq!(wait(&mut child).await.code(), Some(0));
}

#[tokio::test]
async fn a_bad_script_is_an_error_exit() {
    let manager = FakeManager::with_config(Some(serde_json::json!({"steps": 5})));
    let out = output(manager.spawn()).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad script"), "{stderr}");
}

#[test]
fn path_finds_the_built_binary() {
    let found = proc_manager_fake_child::path().unwrap();
    assert_eq!(
        found.canonicalize().unwrap(),
        std::path::Path::new(PROGRAM).canonicalize().unwrap()
    );
    assert_eq!(proc_manager_fake_child::command().program, found);
}
