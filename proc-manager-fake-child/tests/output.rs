//! `fake-child` scripts about output: lines on both streams with a final
//! partial line, floods with and without newlines, closing stdout early,
//! reporting inherited fds.

mod support;

use nix::sys::signal::Signal;
use proc_manager_fake_child::Stream;
use support::*;
use tokio::io::AsyncReadExt as _;

#[tokio::test]
async fn lines_on_both_streams_then_a_partial_line_then_exit_3() {
    let script = FakeChildScript::new()
        .stdout_lines(3)
        .stderr_lines(2)
        .partial_line(Stream::Stdout, "no newline")
        .exit(3);
    let manager = FakeManager::new(Some(&script));
    let out = output(manager.spawn()).await;
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "stdout line 1\nstdout line 2\nstdout line 3\nno newline"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "stderr line 1\nstderr line 2\n"
    );
    assert!(manager.no_call_back_pending());
}

#[tokio::test]
async fn flood_writes_exactly_n_bytes_of_100_byte_lines() {
    let bytes = 3_000_050;
    let script = FakeChildScript::new().flood_stdout(bytes).exit(0);
    let manager = FakeManager::new(Some(&script));
    let out = output(manager.spawn()).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout.len() as u64, bytes);
    let lines: Vec<&[u8]> = out.stdout.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 30_001);
    assert!(
        lines[..30_000]
            .iter()
            .all(|l| l.len() == 100 && l[..99].iter().all(|&b| b == b'x'))
    );
    assert_eq!(lines[30_000], &[b'x'; 50][..]);
}

#[tokio::test]
async fn flood_without_newlines_on_stderr() {
    let script = FakeChildScript::new()
        .flood_without_newlines(Stream::Stderr, 1 << 20)
        .exit(0);
    let manager = FakeManager::new(Some(&script));
    let out = output(manager.spawn()).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stderr.len(), 1 << 20);
    assert!(!out.stderr.contains(&b'\n'));
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn close_stdout_early_and_keep_running() {
    let script = FakeChildScript::serving()
        .stdout_lines(2)
        .close_stdout()
        .stderr_lines(1);
    let manager = FakeManager::new(Some(&script));
    let mut child = manager.spawn();
    let (_control, _addr) = manager.hello(&child).await;
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    tokio::time::timeout(LONG, stdout.read_to_string(&mut seen))
        .await
        .expect("stdout reaches end of file while the child runs")
        .unwrap();
    assert_eq!(seen, "stdout line 1\nstdout line 2\n");
    let mut stderr = stderr_lines(&mut child);
    stderr_until(&mut stderr, "stderr line 1").await;
    assert!(child.try_wait().unwrap().is_none(), "still running");
    signal(&child, Signal::SIGTERM);
    assert_eq!(wait(&mut child).await.code(), Some(0));
}

#[tokio::test]
async fn report_fds_lists_what_was_inherited() {
    let script = FakeChildScript::new().report_fds().exit(0);
    let manager = FakeManager::new(Some(&script));
    let out = output(manager.spawn()).await;
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("fake-child: inherited fds: "))
        .unwrap_or_else(|| panic!("no fd report in {stderr:?}"));
    let fds: Vec<(&str, &str)> = line
        .split(' ')
        .map(|entry| entry.split_once('=').unwrap())
        .collect();
    assert_eq!(fds[0], ("0", "/dev/null"), "{line}");
    assert!(fds[1].0 == "1" && fds[1].1.starts_with("pipe:"), "{line}");
    assert!(fds[2].0 == "2" && fds[2].1.starts_with("pipe:"), "{line}");
    // Our listeners are close-on-exec: no socket reaches the child.
    assert!(
        fds.iter().all(|(_, target)| !target.starts_with("socket:")),
        "{line}"
    );
}

#[tokio::test]
async fn shutdown_is_honoured_while_blocked_on_a_full_pipe() {
    // Nobody reads stdout: the flood blocks in write(2) once the pipe is
    // full, and the stop request must still end the child.
    let script = FakeChildScript::serving()
        .flood_stdout(u64::MAX)
        .exit_on_shutdown(6, std::time::Duration::ZERO);
    let manager = FakeManager::new(Some(&script));
    let mut child = manager.spawn();
    let (mut control, _addr) = manager.hello(&child).await;
    control.stop("enough").await.unwrap();
    assert_eq!(wait(&mut child).await.code(), Some(6));
}
