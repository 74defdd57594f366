//! The `proc-bootstrap` child refusing bad payloads, refusing to run for a
//! manager that is already gone, and dying with its manager.

mod child_support;

use std::process::Stdio;

use base64::Engine as _;
use child_support::*;
use proc_manager_bootstrap::child::{EXIT_BAD_PAYLOAD, EXIT_MANAGER_GONE};
use proc_manager_bootstrap::protocol::{BOOTSTRAP_MODE_ENV, ChildFrame};
use tokio::io::AsyncWriteExt;

const PROGRAM: &str = env!("CARGO_BIN_EXE_proc-bootstrap");

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

async fn assert_refused(harness: &ChildHarness, encoded: Option<&str>, what: &str) {
    let out = output(spawn_raw(harness, PROGRAM, encoded)).await;
    assert_eq!(out.status.code(), Some(EXIT_BAD_PAYLOAD), "{what}: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().count(),
        1,
        "{what}: one line, got {stderr:?}"
    );
    assert!(stderr.contains(BOOTSTRAP_MODE_ENV), "{what}: {stderr:?}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr:?}");
    assert!(out.stdout.is_empty(), "{what}: {out:?}");
}

#[tokio::test]
async fn bad_payloads_exit_2_with_one_line_naming_the_variable() {
    let harness = harness();
    let good = harness.payload(None).encode().unwrap();
    let json = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&good)
            .unwrap(),
    )
    .unwrap();
    let truncated = &good[..good.len() / 2 / 4 * 4];
    let wrong_version = b64(&json.replace("\"version\":1", "\"version\":7"));
    assert_ne!(wrong_version, good);

    assert_refused(&harness, None, "missing").await;
    assert_refused(&harness, Some(""), "empty").await;
    assert_refused(&harness, Some(truncated), "truncated").await;
    assert_refused(&harness, Some("not base64 at all!"), "non-base64").await;
    assert_refused(&harness, Some(&b64("{\"mode\": \"proc\", ")), "bad json").await;
    assert_refused(&harness, Some(&b64("[1, 2, 3]")), "json of another shape").await;
    assert_refused(&harness, Some(&wrong_version), "wrong version").await;
}

#[tokio::test]
async fn a_parent_that_is_not_the_manager_makes_the_child_exit_at_once() {
    let harness = harness();
    let not_parent = std::process::id().wrapping_add(1_000_000);
    let payload = harness.payload_for_parent(not_parent, None);
    let out = output(spawn(&harness, PROGRAM, &payload)).await;
    assert_eq!(out.status.code(), Some(EXIT_MANAGER_GONE), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("manager is gone"), "{stderr:?}");
    assert!(stderr.contains(&not_parent.to_string()), "{stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        !harness.call_back_pending().unwrap(),
        "the child must not call back"
    );
}

/// A shell plays the manager: it starts the child in the background and
/// waits. When the shell is SIGKILLed the child must die too (parent-death
/// signal), which the test sees through a pidfd.
#[tokio::test]
async fn the_child_dies_with_its_manager_process() {
    let harness = harness();
    let mut shell = tokio::process::Command::new("sh")
        .arg("-c")
        .arg("read payload; PROC_MANAGER_BOOTSTRAP_MODE=\"$payload\" \"$0\" & wait")
        .arg(PROGRAM)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let shell_pid = shell.id().unwrap();
    let payload = harness
        .payload_for_parent(shell_pid, None)
        .encode()
        .unwrap();
    let mut stdin = shell.stdin.take().unwrap();
    stdin
        .write_all(format!("{payload}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);

    let (mut control, hello) = accept_hello(&harness).await;
    let ChildFrame::Hello { pid, .. } = hello else {
        panic!("expected a hello, got {hello:?}");
    };
    assert_ne!(pid, shell_pid);
    // The shell has not reaped its child yet, so this is the right process.
    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::PidfdFlags::empty(),
    )
    .unwrap();
    // The AsyncFd owns the OwnedFd, so the I/O-safety concern behind the
    // deprecation does not arise here.
    #[allow(deprecated)]
    let pidfd = tokio::io::unix::AsyncFd::new(pidfd).unwrap();
    shell.start_kill().unwrap();
    tokio::time::timeout(LONG, shell.wait())
        .await
        .unwrap()
        .unwrap();
    let gone = tokio::time::timeout(LONG, pidfd.readable()).await;
    assert!(gone.is_ok(), "child {pid} outlived its manager");
    assert_eq!(
        read(&mut control).await,
        None,
        "its control connection ended"
    );
}
